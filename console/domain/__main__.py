"""`python -m console.domain`: print the state machines' transition tables and the outcome rules."""

from __future__ import annotations

import sys

from console.domain.agent import AGENT_TABLE
from console.domain.callback import describe_callback_rules
from console.domain.caller_call import describe_leg_ranks
from console.domain.outcome import describe_outcomes
from console.domain.script import SCRIPT_TABLE
from console.domain.survey import SURVEY_TABLE


def main() -> int:
    tables = [t.describe() for t in (SURVEY_TABLE, SCRIPT_TABLE, AGENT_TABLE)]
    sys.stdout.write("\n\n".join([*tables, describe_outcomes(), describe_leg_ranks(),
                                   describe_callback_rules()]))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
