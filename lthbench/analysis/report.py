"""The paper's figures from one or more results files (PNG), plus the claims as a text section.

Per task, every method overlaid in one figure:
- `<task>__error.png`: relative error and |E - E_ref|/N vs n (log-log; rho = n/N on the top axis).
  IMP chains as lines with markers, their band the 95% t interval over seeds (variance at least the
  MC one, `stats.mean_estimate`), error bars the mean Monte Carlo sigma; controls as markers only at
  the rounds where they ran (no line joining them); the dense level dash-dotted; dashed vertical lines
  at the fitted region boundaries (`claims.fit_regions`) and at rho = 4 (TFIM) or n/N = 16 (toric
  code). Hollow markers: a point with fewer finished seeds than requested (diverged seeds counted in
  the legend).
- `<task>__observables.png`: fidelity to the previous round, exact fidelity, |M_z| and M_x vs n.
- `scan__<...>.png`: relative error vs rho overlaid across L, kappa or alpha for the size, field and
  width scans (tasks that differ in one of them).
- `<task>__<method>__filters_roundNNN.png` (toric code): the surviving first-layer filters on the
  torus with a colour bar, their plaquette outlined and the sign parity written, "top 16 of K".
- `claims.txt`: `lthbench claims` of each input.

A task without a reference energy gets a warning and no error figure (never empty axes).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

from ..errors import LthbenchError
from .claims import claims_of_files, format_claims, region_boundaries
from .curves import methods_with
from .datasets import load_many
from .figures import error_figure, observables_figure, scan_figure, scan_groups, slug
from .filter_figures import draw_filters


def _boundaries(ds, task: str, methods: list[str]) -> dict[str, list[float]]:
    """{method: [n1, n2 determined]} from the claims' region fit of each IMP curve."""
    return {m: region_boundaries(ds, task, m) for m in methods}


def check_out_dir(out_dir) -> Path:
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise LthbenchError(f"--out {str(out_dir)!r} is a file; give a directory for the figures")
    parent = out_dir.parent if str(out_dir.parent) else Path(".")
    if not parent.is_dir():
        raise LthbenchError(f"directory {str(parent)!r} does not exist")
    return out_dir


def make_report(results, out_dir, *, tasks=None, methods=None, claims: bool = True) -> list[Path]:
    """Write the figures (and claims.txt) for the results; returns the paths written.

    results: one results path (or dataset) or a list of them; their methods are overlaid.
    """
    sources = list(results) if isinstance(results, (list, tuple)) else [results]
    sources = [s if hasattr(s, "data_vars") else str(s) for s in sources]
    out_dir = check_out_dir(out_dir)
    ds, origin = load_many(sources)
    out_dir.mkdir(exist_ok=True)
    written: list[Path] = []
    all_methods: list[str] = []
    task_list = [str(t) for t in ds["task"].values if not tasks or str(t) in tasks]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for task in task_list:
            ms = [m for m in methods_with(ds, task) if not methods or m in methods or m.split(" [")[0] in methods]
            if not ms:
                continue
            all_methods += [m for m in ms if m not in all_methods]
            stem = slug(task)
            e_ref = float(ds["reference_energy"].sel(task=task))
            if math.isfinite(e_ref):
                path = out_dir / f"{stem}__error.png"
                error_figure(ds, task, ms, path, _boundaries(ds, task, ms))
                written.append(path)
            else:
                warnings.warn(f"{task}: no reference energy, so no error figure (observables only)", stacklevel=2)
            path = out_dir / f"{stem}__observables.png"
            observables_figure(ds, task, ms, path)
            written.append(path)
            for m in ms:
                written += draw_filters(ds, task, m, origin.get(m), out_dir, stem)
        for key, members in scan_groups(ds, task_list).items():
            path = out_dir / f"scan__{key[0]}__{slug('_'.join(str(x) for x in key[1:] if x is not None))}.png"
            scan_figure(ds, key, members, all_methods, path)
            written.append(path)
    if not written:
        raise LthbenchError("no finished cells to plot in " + ", ".join(map(str, sources)))
    if claims:
        per_source, across = claims_of_files(sources)
        text = [
            f"# {src if isinstance(src, str) else 'dataset'}\n{format_claims(found)}\n"
            for src, found in zip(sources, per_source)
        ]
        if len(sources) > 1 and across:
            text.append(f"# across the {len(sources)} files\n{format_claims(across)}\n")
        path = out_dir / "claims.txt"
        path.write_text("\n".join(text))
        written.append(path)
    return written
