"""Run the command line: ``python -m fbfailover``."""

from fbfailover.cli import main

raise SystemExit(main())
