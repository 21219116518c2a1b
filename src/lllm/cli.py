"""The ``lllm`` command: a thin shell over the public Python API."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``lllm`` command."""
    from lllm import __version__

    parser = argparse.ArgumentParser(prog="lllm", description="Inspect and manage lllm packages.")
    parser.add_argument("--version", action="version", version=f"lllm {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``lllm`` command with ``argv`` (default: ``sys.argv[1:]``) and return its exit code."""
    parser = build_parser()
    parser.parse_args(argv)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
