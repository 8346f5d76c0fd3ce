"""Generate docs/reproduction.md's tables of our values from a directory of results datasets.

    python -m lthbench.analysis.reproduction [--dir DIR] [--write docs/reproduction.md | --check docs/reproduction.md]

DIR defaults to the shipped baselines (`lthbench.experiment.baselines.BASELINE_DIR`). For every `*.nc` in DIR
(sorted by name) the claims (`lthbench.analysis.claims`) become a Markdown table, and the claims that compare
tasks (`scan_claims`: collapse across alpha, trend with L) over all of them one more; the tables replace the text
between the GENERATED markers of the document (`--write`), or are compared with it (`--check`: exit 1
and a unified diff on a difference). Output is deterministic (fixed bootstrap seeds, fixed number
formats), so a check fails only when the data or the analysis changed.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

from ..errors import LthbenchError
from ..experiment.baselines import BASELINE_DIR
from .claims import claims_markdown, claims_of_files

BEGIN = "<!-- BEGIN GENERATED: python -m lthbench.analysis.reproduction --write docs/reproduction.md -->"
END = "<!-- END GENERATED -->"
ACROSS = "Across the datasets (Fig 2: collapse across alpha; Fig 3: trend with L)"
EMPTY = "_No datasets in {dir}: nothing generated yet (the baselines have not been run)._"


def datasets_in(directory) -> list[Path]:
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.nc") if p.is_file())


def generate(directory, *, label=None) -> str:
    """The generated Markdown (one section per dataset) for the datasets in `directory`."""
    paths = datasets_in(directory)
    shown = label or str(directory)
    if not paths:
        return EMPTY.format(dir=shown)
    per_path, across = claims_of_files(paths)
    parts = [f"#### `{path.name}`\n\n{claims_markdown(claims)}\n" for path, claims in zip(paths, per_path)]
    if across:
        parts.append(f"#### {ACROSS}\n\n{claims_markdown(across)}\n")
    return "\n".join(parts).rstrip("\n")


def replace_section(document: str, generated: str) -> str:
    """`document` with the text between BEGIN and END replaced by `generated`."""
    if BEGIN not in document or END not in document:
        raise LthbenchError("the document lacks the GENERATED markers (see lthbench/analysis/reproduction.py)")
    head, rest = document.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{generated}\n{END}{tail}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lthbench.analysis.reproduction",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dir", default=None, help="directory of results datasets (default: shipped baselines)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", metavar="DOC", help="replace the generated section of DOC")
    group.add_argument("--check", metavar="DOC", help="exit 1 when DOC's generated section differs")
    args = parser.parse_args(argv)
    directory = Path(args.dir) if args.dir else BASELINE_DIR
    label = args.dir or "lthbench/data/baselines"
    try:
        generated = generate(directory, label=label)
        if not (args.write or args.check):
            print(generated)
            return 0
        doc = Path(args.write or args.check)
        if not doc.is_file():
            raise LthbenchError(f"no document {str(doc)!r}")
        old = doc.read_text()
        new = replace_section(old, generated)
    except LthbenchError as err:
        print(f"lthbench.analysis.reproduction: error: {err}", file=sys.stderr)
        return 2
    if args.write:
        doc.write_text(new)
        return 0
    if new != old:
        sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True), str(doc), "regenerated"))
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
