"""`python -m console.callflow`: print the call flow's transition table."""

from __future__ import annotations

import sys

from console.callflow.steps import FLOW_TABLE


def main() -> int:
    sys.stdout.write(FLOW_TABLE.describe() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
