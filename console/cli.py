"""`duty-console` command line: sub-commands are added by the parts that own them."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="duty-console", description=__doc__)
    parser.parse_args(argv)
    print("duty-console: nothing to run yet", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
