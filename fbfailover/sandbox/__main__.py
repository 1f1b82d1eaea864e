"""``python -m fbfailover.sandbox``: the same as ``fbfailover sandbox``."""

from __future__ import annotations

import argparse
import sys

from .cli import add_arguments, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fbfailover sandbox", description="Run the offline Vonage sandbox.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
