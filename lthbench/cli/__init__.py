"""`lthbench` command line: one module per subcommand, registered here.

Each subcommand module exposes `register(subparsers)`, which adds its parser and sets
`func(args) -> int` as the default. User errors (LthbenchError) print one line to stderr and exit 2,
with no traceback (`--debug`, anywhere on the command line, adds the traceback of the error's cause,
e.g. the user's pruning method); argparse usage errors also exit 2. Anything else is a bug: one line,
exit 1 (`--debug` shows its traceback).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from ..errors import LthbenchError, one_line
from .tasks_cmd import glue_option_values

# Subcommand modules, in the order `lthbench --help` lists them. A module not yet present is skipped.
SUBCOMMANDS = (
    "systems",
    "exact",
    "tasks",
    "run",
    "report",
    "compare",
    "claims",
    "sweep",
    "baselines",
    "export",
    "bench",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lthbench",
        description="Sparse neural quantum states: lottery-ticket benchmarks on spin models.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"lthbench {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="on an error, also print the Python traceback (anywhere on the command line)",
    )
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
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = glue_option_values([a for a in argv if a != "--debug"])
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except LthbenchError as err:
        print(f"lthbench {args.command}: error: {' '.join(str(err).split())}", file=sys.stderr)
        if debug:
            traceback.print_exception(err.__cause__ or err)
        return 2
    except KeyboardInterrupt:
        print(f"lthbench {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - a bug in lthbench, not the user's input
        print(
            f"lthbench {args.command}: internal error: {one_line(err)} (a bug; --debug shows the traceback)",
            file=sys.stderr,
        )
        if debug:
            traceback.print_exception(err)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
