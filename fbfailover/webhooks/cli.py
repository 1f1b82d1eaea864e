"""The `fbfailover webhooks` subcommand (being written)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `webhooks` subcommand to the top-level parser."""
    parser = subparsers.add_parser("webhooks", help="not available yet")
    parser.set_defaults(func=lambda args: 2)
