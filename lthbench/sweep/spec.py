"""Sweep specs: many IMP chains (tasks x methods x protocols x rewind targets x seeds), parsed from a
TOML (or JSON) file with the keys documented in docs/sweeps.md. Each chain is a `ChainSpec` (a task
id, the chain's settings and budget overrides); `ChainSpec.chain()` is the experiment's `Chain`, whose
`plan()` says which cells it has.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import LthbenchError
from ..experiment.chain import Chain
from ..experiment.schedule import check_rounds
from ..experiment.spec import (
    DEFAULT_CONTROLS,
    IMP_WR,
    chain_rewind,
    check_protocol,
    check_rewind,
    method_label,
    parse_controls,
    parse_seeds,
)
from ..experiment.tasks import get_task, list_tasks, quick_variant
from ..pruning import format_value, parse_method_spec

BUDGET_KEYS = ("dense_steps", "round_steps", "n_samples")  # TaskSpec fields a spec may override
SPEC_KEYS = (
    "out",
    "tasks",
    "methods",
    "protocols",
    "rewind",
    "controls",
    "seeds",
    "rounds",
    "quick",
    "batch_controls",
    "plugins",
) + BUDGET_KEYS
TASK_KEYS = ("id", "rounds") + BUDGET_KEYS
BATCH_CHOICES = (False, True, "vmap", "map")


@dataclass(frozen=True)
class ChainSpec:
    """One IMP chain of a sweep: the arguments of one `run_protocol` call (all hashable)."""

    task: str
    method: str = "magnitude"
    protocol: str = IMP_WR
    rewind: str = "trained"
    controls: tuple = DEFAULT_CONTROLS
    seed: int = 0
    n_rounds: int | None = None
    batch_controls: bool | str = False  # True/'vmap'/'map': a round's controls as one batched training
    budget: tuple = ()  # sorted (TaskSpec field, value) overrides: dense_steps, round_steps, n_samples

    def chain(self) -> Chain:
        """The experiment's `Chain` of this spec (the task with its budget overrides)."""
        return Chain(
            chain_task(self),
            self.method,
            self.protocol,
            self.rewind,
            self.controls,
            self.seed,
            self.n_rounds,
            self.batch_controls,
        )


def chain_label(chain: ChainSpec) -> str:
    """The method label of a chain spec's cells."""
    return method_label(chain.method, chain.protocol, chain_rewind(chain.protocol, chain.rewind))


def chain_task(chain: ChainSpec):
    """The chain's TaskSpec: the registry's, with the chain's budget overrides (`dataclasses.replace`,
    so they are part of the cell identity)."""
    return apply_budget(get_task(chain.task), dict(chain.budget))


def apply_budget(task, budget: dict):
    """`dataclasses.replace(task, **budget)` after checking each value is an integer >= 1, and that the
    result is a trainable config (n_samples a multiple of n_chains, ...). LthbenchError otherwise."""
    for name, value in budget.items():
        if name not in BUDGET_KEYS:
            raise LthbenchError(f"unknown budget override {name!r}; choose from {', '.join(BUDGET_KEYS)}")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise LthbenchError(f"{name} must be an integer >= 1, got {value!r}")
    if not budget:
        return task
    task = dataclasses.replace(task, **budget)
    task.train_config(1)  # the trainer's own checks (LthbenchError), before anything runs
    return task


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep file: the chains (in run order) and the default output path."""

    chains: tuple
    out: str = "sweep.nc"
    source: dict = field(default_factory=dict, compare=False)
    plugins: tuple = ()  # files or directories shipped to Dask workers (see docs/sweeps.md)


def _as_list(value, name: str) -> list:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise LthbenchError(f"sweep spec: {name!r} must be a string or a list, got {type(value).__name__}")


def expand_tasks(patterns: Iterable[str], quick: bool = False) -> list[str]:
    """Task ids or fnmatch patterns ('tfim2d-*x*-k3.04438-ffnn-a8') -> task ids, in the given order.

    Patterns match the registry's ids (test-only 'tiny-*' tasks only when named explicitly);
    quick=True replaces each task by its '-quick' variant. LthbenchError when a pattern matches nothing.
    """
    ids: list[str] = []
    for pattern in patterns:
        if any(ch in str(pattern) for ch in "*?["):
            matched = [
                t.id
                for t in list_tasks(include_test=str(pattern).startswith("tiny-"))
                if fnmatch.fnmatchcase(t.id, str(pattern))
            ]
            if not matched:
                raise LthbenchError(
                    f"sweep spec: task pattern {pattern!r} matches no task; `lthbench tasks` lists them"
                )
        else:
            matched = [get_task(str(pattern)).id]
        for tid in matched:
            tid = quick_variant(tid).id if quick else tid
            if tid not in ids:
                ids.append(tid)
    return ids


def method_spec(entry) -> str:
    """A spec's method entry -> a method spec string: 'synflow[iterations=20]' as is, or a table
    {name = 'synflow', kwargs = {iterations = 20}} -> 'synflow[iterations=20]'."""
    if isinstance(entry, str):
        parse_method_spec(entry)
        return entry
    if not isinstance(entry, dict):
        raise LthbenchError(
            f"sweep spec: a method is a string or a table {{name = ..., kwargs = {{...}}}}, got {entry!r}"
        )
    unknown = sorted(set(entry) - {"name", "kwargs"})
    if unknown or not isinstance(entry.get("name"), str):
        raise LthbenchError(f"sweep spec: a method table has a string 'name' and optional 'kwargs', got {entry!r}")
    kwargs = entry.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise LthbenchError(f"sweep spec: kwargs of method {entry['name']!r} must be a table, got {kwargs!r}")
    for k, v in kwargs.items():
        if not isinstance(v, (bool, int, float, str)):
            raise LthbenchError(
                f"sweep spec: hyperparameter {k} of method {entry['name']!r} must be a number, "
                f"a boolean or a word, got {v!r}"
            )
    if parse_method_spec(entry["name"])[1]:
        raise LthbenchError(f"sweep spec: give the hyperparameters of {entry['name']!r} in kwargs, not in the name")
    text = entry["name"] + (
        f"[{','.join(f'{k}={format_value(v)}' for k, v in sorted(kwargs.items()))}]" if kwargs else ""
    )
    parse_method_spec(text)  # values the label grammar cannot hold (spaces, commas) are refused here
    return text


def _rounds_value(value, where: str):
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise LthbenchError(f"sweep spec: {where} must be an integer >= 1, got {value!r}")
    return value


def _task_entries(data: dict, quick: bool) -> list[tuple[str, int | None, tuple]]:
    """(task id, rounds, budget) for each task of the spec: strings, or tables {id = ..., rounds,
    dense_steps, round_steps, n_samples} (per-task values override the spec's top-level ones)."""
    top = {k: data[k] for k in BUDGET_KEYS if k in data}
    rounds = _rounds_value(data.get("rounds"), "rounds")
    entries: dict[str, tuple] = {}
    for item in _as_list(data["tasks"], "tasks"):
        if isinstance(item, dict):
            unknown = sorted(set(item) - set(TASK_KEYS))
            if unknown or not isinstance(item.get("id"), str):
                raise LthbenchError(
                    f"sweep spec: a task table has a string 'id' and optional {', '.join(TASK_KEYS[1:])}; got {item!r}"
                )
            pattern = item["id"]
            n = _rounds_value(item.get("rounds", rounds), f"rounds of {pattern!r}")
            budget = {**top, **{k: item[k] for k in BUDGET_KEYS if k in item}}
        elif isinstance(item, str):
            pattern, n, budget = item, rounds, dict(top)
        else:
            raise LthbenchError(f"sweep spec: a task is an id, a pattern or a table {{id = ...}}, got {item!r}")
        for tid in expand_tasks([pattern], quick):
            entry = (tid, n, tuple(sorted(budget.items())))
            if entries.setdefault(tid, entry) != entry:
                raise LthbenchError(
                    f"sweep spec: task {tid} is listed twice with different rounds or budgets "
                    "(their cells would collide; use two sweeps with two outputs)"
                )
    return list(entries.values())


def parse_spec(data: dict) -> SweepSpec:
    """A sweep spec dict (see docs/sweeps.md) -> SweepSpec. LthbenchError (one line) for bad input.

    Keys: tasks (ids, patterns, or tables {id, rounds, dense_steps, round_steps, n_samples}; required),
    methods ['magnitude'] (strings 'synflow[iterations=20]' or tables {name, kwargs}),
    protocols ['imp-wr'], rewind ['trained'], controls [ticket, reinit, random-mask] (or 'none' / []),
    seeds ('0-2', [0, 1] or 3; default 0), rounds (int; default each task's n_rounds),
    dense_steps / round_steps / n_samples (budget overrides for every task), quick (bool),
    out ('sweep.nc'), batch_controls (false | true | 'vmap' | 'map': train a round's controls as one
    batched program), plugins (files or directories to ship to Dask workers).
    The chains are the product tasks x methods x protocols x rewind x seeds, in that nesting order.
    Rounds beyond what pruning can remove are refused here (nothing is planned or trained).
    """
    if not isinstance(data, dict):
        raise LthbenchError("sweep spec must be a table (TOML) or an object (JSON)")
    unknown = sorted(set(data) - set(SPEC_KEYS))
    if unknown:
        raise LthbenchError(f"sweep spec: unknown key(s) {', '.join(unknown)}; known: {', '.join(SPEC_KEYS)}")
    if "tasks" not in data:
        raise LthbenchError("sweep spec: 'tasks' is required (task ids or patterns)")
    quick = data.get("quick", False)
    if not isinstance(quick, bool):
        raise LthbenchError(f"sweep spec: quick must be true or false, got {quick!r}")
    tasks = _task_entries(data, quick)
    methods = [method_spec(m) for m in _as_list(data.get("methods", ["magnitude"]), "methods")]
    protocols = [check_protocol(_word(p, "protocols")) for p in _as_list(data.get("protocols", [IMP_WR]), "protocols")]
    rewinds = [check_rewind(_word(r, "rewind")) for r in _as_list(data.get("rewind", ["trained"]), "rewind")]
    controls, seeds, batch, plugins, out = _controls(data), _seeds(data), _batch(data), _plugins(data), _out(data)
    if not tasks or not methods or not protocols or not rewinds:
        raise LthbenchError("sweep spec: tasks, methods, protocols and rewind must not be empty")
    chains = []
    for task_id, rounds, budget in tasks:
        task = chain_task(ChainSpec(task_id, budget=budget))
        check_rounds(task, task.n_rounds if rounds is None else rounds)
        for method in methods:
            for protocol in protocols:
                # imp-ct never rewinds: one chain whatever the rewind list says
                for rewind in dict.fromkeys(chain_rewind(protocol, r) for r in rewinds):
                    for seed in seeds:
                        chain = ChainSpec(task_id, method, protocol, rewind, controls, int(seed), rounds, batch, budget)
                        if chain not in chains:
                            chains.append(chain)
    return SweepSpec(tuple(chains), out, dict(data), plugins)


def _controls(data: dict) -> tuple[str, ...]:
    controls = data.get("controls", list(DEFAULT_CONTROLS))
    if isinstance(controls, str):
        return parse_controls(controls)
    return parse_controls(",".join(_word(c, "controls") for c in _as_list(controls, "controls")))


def _seeds(data: dict) -> list[int]:
    seeds = data.get("seeds", 0)
    if (
        isinstance(seeds, (dict, float))
        or isinstance(seeds, list)
        and not all(isinstance(x, int) and not isinstance(x, bool) for x in seeds)
    ):
        raise LthbenchError(f"sweep spec: seeds must be '0-2', '0,3', an integer or a list of integers, got {seeds!r}")
    return parse_seeds(",".join(map(str, seeds)) if isinstance(seeds, list) else str(seeds))


def _batch(data: dict) -> bool | str:
    batch = data.get("batch_controls", False)
    if not isinstance(batch, (bool, str)) or batch not in BATCH_CHOICES:
        raise LthbenchError(f"sweep spec: batch_controls must be true, false, 'vmap' or 'map', got {batch!r}")
    return batch


def _plugins(data: dict) -> tuple[str, ...]:
    return tuple(_word(p, "plugins") for p in _as_list(data.get("plugins", []), "plugins"))


def _out(data: dict) -> str:
    out = data.get("out", "sweep.nc")
    if not isinstance(out, str) or not out:
        raise LthbenchError(f"sweep spec: out must be a file name, got {out!r}")
    return out


def _word(value, name: str) -> str:
    if not isinstance(value, str):
        raise LthbenchError(f"sweep spec: entries of {name!r} must be strings, got {value!r}")
    return value


def load_spec(path: str | os.PathLike) -> SweepSpec:
    """Read a sweep spec file: TOML (.toml) or JSON (.json)."""
    path = Path(path)
    if not path.is_file():
        raise LthbenchError(f"no sweep spec file {str(path)!r}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise LthbenchError(f"sweep spec {str(path)!r} is not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise LthbenchError(f"cannot read sweep spec {str(path)!r}: {err.strerror}") from None
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            data = tomllib.loads(text)
    except (ValueError, RecursionError) as err:  # TOMLDecodeError, JSONDecodeError are ValueErrors
        raise LthbenchError(f"cannot parse sweep spec {str(path)!r}: {(str(err).splitlines() or [''])[0]}") from None
    return parse_spec(data)
