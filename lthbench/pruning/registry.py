"""The registry of pruning methods: built-in names, user methods by import path, and labels.

A method spec is a registry name or an import path 'package.module:Name', optionally with
hyperparameters: 'synflow[iterations=20]', 'pkg.mod:Name[k=v,...]' (the grammar: `hparams`). A
plugin registers more names with `register_method` from its import-time code (`--plugin`).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import sys
from collections.abc import Callable

from ..errors import LthbenchError, UserCodeError, one_line
from .hparams import check_kwargs, format_label, non_default, object_label, parse_method_spec
from .methods import SNIP, Magnitude, RandomPruning, SynFlow

METHODS: dict[str, Callable] = {
    "magnitude": Magnitude(),
    "random": RandomPruning(),
    "snip": SNIP(),
    "synflow": SynFlow(),
}


def register_method(name: str, method: Callable) -> None:
    """Make `method` available by `name` (e.g. from a plugin's import-time code)."""
    if not callable(method):
        raise LthbenchError(f"pruning method {name!r} is not callable")
    METHODS[name] = method


def resolve_method(spec: str | Callable) -> Callable:
    """A pruning method from a spec string, a class or a callable.

    Spec: a registry name or an import path 'package.module:Name', optionally with hyperparameters,
    'synflow[iterations=20]', 'pkg.mod:Name[k=v,...]'. A class is instantiated with the
    hyperparameters (none: its defaults); a registry entry with hyperparameters is rebuilt from its
    class; a function with hyperparameters gets them bound (functools.partial). Hyperparameters are
    validated against what the method declares (`hparams.hyperparameters`).
    """
    if callable(spec) and not isinstance(spec, type):
        return spec
    if isinstance(spec, type):
        return _instantiate(spec, {}, repr(spec))
    text = str(spec)
    name, kwargs = parse_method_spec(text)
    obj = _lookup(name)
    if isinstance(obj, type):
        return _instantiate(obj, kwargs, text)
    if not callable(obj):
        raise LthbenchError(f"pruning method {text!r} is not callable")
    if not kwargs:
        return obj
    if not inspect.isroutine(obj):  # an instance (a registry entry): rebuilt from its class
        return _instantiate(type(obj), kwargs, text)
    bound = functools.partial(obj, **check_kwargs(obj, kwargs, text))
    functools.update_wrapper(bound, obj)
    return bound


def _lookup(name: str):
    """The object a method name refers to: a registry entry, or the attribute of an import path."""
    if name in METHODS:
        return METHODS[name]
    if ":" not in name:
        raise LthbenchError(
            f"unknown pruning method {name!r}; choose one of {', '.join(METHODS)} or give 'package.module:Name'"
        )
    module_name, _, attr = name.partition(":")
    if not module_name or not attr:
        raise LthbenchError(f"bad pruning method {name!r}: give it as package.module:Name")
    obj = _import(module_name)
    for part in attr.split("."):
        if not part or not hasattr(obj, part):
            raise LthbenchError(f"module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def _import(module_name: str):
    """Import a method's module; like `python -m`, also look in the current directory (kept on sys.path,
    so the module's own later imports work). Any error while importing it is one line."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        cwd = os.getcwd()
        if cwd in sys.path or "" in sys.path or not (exc.name and module_name.startswith(exc.name)):
            raise LthbenchError(f"cannot import pruning method module {module_name!r}: {exc}") from None
        sys.path.append(cwd)
        try:
            return importlib.import_module(module_name)
        except Exception as exc2:  # noqa: BLE001 - the user's module: any failure is their error
            raise _import_error(module_name, exc2) from exc2
    except Exception as exc:  # noqa: BLE001 - SyntaxError, errors raised by the module's own code
        raise _import_error(module_name, exc) from exc


def _import_error(module_name: str, exc: BaseException) -> LthbenchError:
    where = f" (line {exc.lineno})" if isinstance(exc, SyntaxError) and exc.lineno else ""
    return UserCodeError(f"cannot import pruning method module {module_name!r}{where}: {one_line(exc)}")


def _instantiate(cls: type, kwargs: dict, spec: str):
    kwargs = check_kwargs(cls, kwargs, spec)
    try:
        obj = cls(**kwargs)
    except LthbenchError:
        raise
    except TypeError as exc:
        raise LthbenchError(
            f"pruning method class {spec} must be constructible from its keyword arguments: {one_line(exc)}"
        ) from None
    except Exception as exc:  # noqa: BLE001 - the user's constructor
        raise UserCodeError(f"pruning method {spec} could not be built: {one_line(exc)}") from exc
    if not callable(obj):
        raise LthbenchError(f"instances of {spec} are not callable (define __call__)")
    return obj


def method_name(method: str | Callable) -> str:
    """The method part of a label: 'name' or 'name[k=v,...]' (kwargs sorted, canonical values, the
    ones equal to their defaults left out, so 'synflow[iterations=10]' is 'synflow').

    A string spec keeps the name as given (a registry name or an import path); an object uses the
    `name` its own class (or the object) defines, else its qualified name 'module:QualName'.
    """
    if not isinstance(method, str):
        return object_label(method)
    name, kwargs = parse_method_spec(method)
    if kwargs:
        obj = _lookup(name)
        target = obj if isinstance(obj, type) or inspect.isroutine(obj) else type(obj)
        kwargs = non_default(target, check_kwargs(target, kwargs, method))
    return format_label(name, kwargs)
