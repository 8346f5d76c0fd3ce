"""`lthbench` command line: one module per subcommand, registered here.

Each subcommand module exposes `register(subparsers)`, which adds its parser and sets
`func(args) -> int` as the default. User errors (LthbenchError) print one line to stderr and exit 2,
with no traceback; argparse usage errors also exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import LthbenchError

# Subcommand modules, in the order `lthbench --help` lists them. A module not yet present is skipped.
SUBCOMMANDS = (
    "systems", "exact", "tasks", "run", "report", "compare", "claims", "sweep", "baselines", "export", "bench",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lthbench",
        description="Sparse neural quantum states: lottery-ticket benchmarks on spin models.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"lthbench {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"{__name__}.{name}_cmd")
        except ModuleNotFoundError as err:
            if err.name == f"{__name__}.{name}_cmd":
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except LthbenchError as err:
        print(f"lthbench {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"lthbench {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
