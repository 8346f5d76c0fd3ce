"""`run_sweep`: plan a sweep spec's cells, compute the unfinished ones (in process or on Dask), then
merge every cell into the results file."""

from __future__ import annotations

from collections.abc import Iterable

from .. import provenance
from ..errors import LthbenchError
from ..experiment.chain import chain_fingerprint
from ..experiment.identity import check_resume
from ..experiment.spec import chain_rewind, check_rewind_step
from ..results import RunStore, check_results_output
from .executors import SweepReport, connect, local_cluster, plan, require_dask, run_dask, run_inprocess
from .plugins import add_plugins_to_path, plugin_paths, upload_plugins
from .spec import ChainSpec, SweepSpec, chain_task


def run_sweep(
    spec: SweepSpec,
    out: str | None = None,
    *,
    scheduler: str = "inprocess",
    scheduler_file: str | None = None,
    n_workers: int | None = None,
    client=None,
    progress: bool = True,
    finalize: bool = True,
    on_cell=None,
    plugins: Iterable[str] = (),
    fresh: bool = False,
) -> SweepReport:
    """Plan the spec's cells, compute the unfinished ones, then merge every cell into the results file.

    scheduler: 'inprocess' (default; no Dask), 'local' (a LocalCluster of `n_workers` processes) or an
    address 'tcp://host:port'; or scheduler_file; or an existing `client`. User methods' modules (and
    `plugins`, files or package directories) are uploaded to Dask workers. The output is locked while
    the sweep runs; finished cells computed with other settings (another fingerprint) are refused,
    unless `fresh`, which discards the output and its cells first. Raises LthbenchError when a cell
    fails (after the others have finished and been stored).
    """
    out = out or spec.out
    check_results_output(out)
    extra = tuple(spec.plugins) + tuple(plugins)
    add_plugins_to_path(extra)
    cells = plan(spec.chains)
    identities = validate_chains(spec.chains)  # before any training
    if client is None and (scheduler != "inprocess" or scheduler_file):
        require_dask()  # before any file is touched
    uploads = (
        plugin_paths(spec.chains, extra) if client is not None or scheduler != "inprocess" or scheduler_file else []
    )
    store = RunStore(out)
    with store.lock():
        if fresh:
            store.discard()
        check_resume(store.fingerprint_records(), identities, str(out))
        report = execute(cells, store, client, scheduler, scheduler_file, n_workers, uploads, progress, on_cell)
        if report.failed:
            key, err = report.failed[0]
            raise LthbenchError(f"{len(report.failed)} cell(s) failed, first {key.stem}: {err}")
        if finalize:
            store.finalize(
                provenance.collect(
                    extra={
                        "sweep": spec.source,
                        "n_cells_planned": len(report.planned),
                        "scheduler": scheduler_file or scheduler,
                    }
                )
            )
    return report


def execute(cells, store, client, scheduler, scheduler_file, n_workers, uploads, progress, on_cell) -> SweepReport:
    """Run the planned cells on `client`, in this process, or on a cluster started or reached here."""
    if client is not None:
        upload_plugins(client, uploads)
        return run_dask(cells, store, client, progress=progress, on_cell=on_cell)
    if scheduler == "inprocess" and not scheduler_file:
        return run_inprocess(cells, store, progress=progress, on_cell=on_cell)
    distributed = require_dask()
    cluster = local_cluster(n_workers) if scheduler == "local" and not scheduler_file else None
    client = distributed.Client(cluster) if cluster is not None else connect(scheduler, scheduler_file)
    try:
        upload_plugins(client, uploads)
        return run_dask(cells, store, client, progress=progress, on_cell=on_cell)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def validate_chains(chains: Iterable[ChainSpec], *, compute_reference: bool = True) -> list[tuple]:
    """`validate` of every distinct chain: [(task id, label, identity, fingerprint)]. Imports user
    methods and checks them; trains nothing (and with compute_reference=False computes nothing)."""
    return [validate(chain, compute_reference) for chain in dict.fromkeys(chains)]


def validate(chain: ChainSpec, compute_reference: bool = True) -> tuple:
    """The checks `run_protocol` makes before training (LthbenchError for bad input); returns the
    chain's (task id, label, identity, fingerprint)."""
    task = chain_task(chain)
    rewind = chain_rewind(chain.protocol, chain.rewind)
    _, label, identity, fp = chain_fingerprint(
        task, chain.method, chain.protocol, rewind, compute_reference=compute_reference
    )
    check_rewind_step(task, chain.protocol, rewind)
    return task.id, label, identity, fp
