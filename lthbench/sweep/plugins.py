"""User pruning methods on Dask workers: which files to ship (`plugin_paths`), making --plugin paths
importable here (`add_plugins_to_path`), and uploading them (`upload_plugins`)."""

from __future__ import annotations

import sys
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

from ..errors import LthbenchError
from ..pruning import parse_method_spec
from .spec import ChainSpec


def plugin_paths(chains: Iterable[ChainSpec], extra: Iterable[str] = ()) -> list[Path]:
    """What Dask workers need to import the chains' user methods: for each 'pkg.mod:Name', the file
    (top-level module) or directory (package) it was imported from in this process, unless it is part
    of lthbench or installed (site-packages); plus the `extra` paths given (--plugin, spec 'plugins').
    Call after the methods were resolved (`run.validate_chains`)."""
    root = Path(__file__).resolve().parents[1]
    paths: list[Path] = []
    for method in dict.fromkeys(c.method for c in chains):
        name = parse_method_spec(method)[0]
        if ":" not in name:
            continue
        module = sys.modules.get(name.partition(":")[0].split(".")[0])
        file = getattr(module, "__file__", None)
        if not file:
            continue
        path = Path(file).resolve()
        path = path.parent if path.name == "__init__.py" else path
        if path == root or root in path.parents or {"site-packages", "dist-packages"} & set(path.parts):
            continue
        paths.append(path)
    for item in extra:
        path = Path(item).resolve()
        if not path.exists():
            raise LthbenchError(f"plugin {item!r} does not exist")
        if path.is_file() and path.suffix not in (".py", ".zip", ".egg"):
            raise LthbenchError(f"plugin {item!r} must be a .py file, a package directory, a .zip or an .egg")
        paths.append(path)
    return list(dict.fromkeys(paths))


def add_plugins_to_path(extra: Iterable[str]) -> None:
    """Make --plugin paths importable here (a file's or package's parent directory goes on sys.path)."""
    for item in extra:
        path = Path(item).resolve()
        parent = str(path if path.suffix in (".zip", ".egg") else path.parent)
        if path.exists() and parent not in sys.path:
            sys.path.insert(0, parent)


def upload_plugins(client, paths: Iterable[Path]) -> None:
    """Ship plugin modules to every worker of `client`, present and future (a `UploadFile` worker
    plugin, what `Client.upload_file` registers for workers): a .py/.zip/.egg as is, a package
    directory as a zip of it (importable under its own name).

    Only workers get it, not the scheduler: a LocalCluster's scheduler runs in this process, where
    reloading the module from the scheduler's temporary copy would point it at a file deleted when
    the cluster closes."""
    from distributed.diagnostics.plugin import UploadFile  # lazy: Dask is optional

    with tempfile.TemporaryDirectory(prefix="lthbench-plugins-") as tmp:
        for path in paths:
            if path.is_dir():
                archive = Path(tmp) / f"{path.name}.zip"
                with zipfile.ZipFile(archive, "w") as zf:
                    for file in sorted(path.rglob("*.py")):
                        zf.write(file, file.relative_to(path.parent).as_posix())
                path = archive
            client.register_plugin(UploadFile(str(path)), name=f"lthbench-plugin-{path.name}")
