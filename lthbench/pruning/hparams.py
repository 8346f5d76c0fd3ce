"""A method's hyperparameters and the method part of a label (open_lth: a strategy declares its own).

A method declares its hyperparameters as the keyword arguments of its class's constructor (a
dataclass's fields) or a function's parameters after the five of the method signature. In a label they
are written 'name[k=v,...]': keys sorted, values in canonical text (`format_value`), the ones equal to
their defaults left out, so 'synflow[iterations=10]' is 'synflow'.

No registry here (see `registry`): this module reads names and hyperparameters off method objects.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable

import numpy as np

from ..errors import LthbenchError

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VALUE = re.compile(r"[A-Za-z0-9_.:+-]+")
_INT = re.compile(r"[+-]?\d+")


def parse_method_spec(spec: str) -> tuple[str, dict]:
    """'synflow[iterations=20]' -> ('synflow', {'iterations': 20}); 'pkg.mod:Name' -> ('pkg.mod:Name', {}).

    Values are read as true/false (bool), integers, floats, or else plain words (letters, digits and
    `_.:+-`). LthbenchError (one line) for a malformed spec.
    """
    text = str(spec).strip()
    m = re.fullmatch(r"([^\[\]]+?)\s*(?:\[([^\[\]]*)\])?", text)
    if not m or not m.group(1).strip():
        raise LthbenchError(f"bad pruning method {text!r}: use name, name[k=v,...] or package.module:Name[k=v,...]")
    name, body = m.group(1).strip(), m.group(2)
    kwargs: dict = {}
    for part in [] if body is None or not body.strip() else body.split(","):
        key, eq, value = (x.strip() for x in part.partition("="))
        if not eq or not _KEY.fullmatch(key) or not _VALUE.fullmatch(value):
            raise LthbenchError(f"bad hyperparameter {part.strip()!r} in method {text!r}: use key=value")
        if key in kwargs:
            raise LthbenchError(f"hyperparameter {key!r} given twice in method {text!r}")
        kwargs[key] = _parse_value(value)
    return name, kwargs


def _parse_value(text: str):
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if _INT.fullmatch(text):
        return int(text)
    try:
        value = float(text)
    except ValueError:
        return text
    return value if np.isfinite(value) else text


def format_value(value) -> str:
    """The canonical text of a hyperparameter value in a label: true/false, 20, 0.5, 1e-05, word."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value)


def format_label(name: str, kwargs: dict) -> str:
    """'name' or 'name[k=v,...]' (kwargs in the order given, values in canonical text)."""
    if not kwargs:
        return name
    return f"{name}[{','.join(f'{k}={format_value(v)}' for k, v in kwargs.items())}]"


def hyperparameters(target: Callable) -> dict[str, inspect.Parameter]:
    """The hyperparameters a method declares: the keyword arguments of a class's constructor (a
    dataclass's fields), or a function's parameters after the five of the method signature.

    {name: inspect.Parameter}; empty when the signature cannot be read.
    """
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return {}
    params = [p for p in sig.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if not isinstance(target, type):
        params = params[5:]
    return {p.name: p for p in params}


def _coerce(spec: str, param: inspect.Parameter, value):
    """value converted to the type of the parameter's default (int -> float allowed), else an error."""
    default = param.default
    if default is inspect.Parameter.empty or default is None:
        return value
    want = type(default)
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif isinstance(default, str):
        ok, value = True, format_value(value)
    else:
        ok = True
    if not ok:
        raise LthbenchError(
            f"hyperparameter {param.name}={format_value(value)} of method {spec!r} must be "
            f"{want.__name__} (default {format_value(default)})"
        )
    return want(value) if want in (int, float) else value


def check_kwargs(target: Callable, kwargs: dict, spec: str) -> dict:
    """kwargs validated against the method's declared hyperparameters and coerced to their types."""
    if not kwargs:
        return {}
    declared = hyperparameters(target)
    unknown = sorted(set(kwargs) - set(declared))
    if unknown:
        valid = ", ".join(declared) or "none"
        raise LthbenchError(f"method {spec!r} has no hyperparameter {', '.join(unknown)}; valid: {valid}")
    return {k: _coerce(spec, declared[k], v) for k, v in sorted(kwargs.items())}


def non_default(target: Callable, kwargs: dict) -> dict:
    """The kwargs whose value differs from the declared default (those go into the label), sorted."""
    declared = hyperparameters(target)
    out = {}
    for k in sorted(kwargs):
        p = declared.get(k)
        if p is None or p.default is inspect.Parameter.empty or not _same_value(kwargs[k], p.default):
            out[k] = kwargs[k]
    return out


def _same_value(a, b) -> bool:
    try:
        return (
            type(a) is type(b)
            and bool(a == b)
            or (
                isinstance(a, (int, float))
                and isinstance(b, (int, float))
                and not isinstance(a, bool)
                and not isinstance(b, bool)
                and float(a) == float(b)
            )
        )
    except Exception:  # noqa: BLE001 - incomparable values are different
        return False


def method_target(method: Callable):
    """The class (for instances) or function whose code a method runs (a partial's function)."""
    if isinstance(method, functools.partial):
        return method_target(method.func)
    if isinstance(method, type) or inspect.isfunction(method) or inspect.ismethod(method) or inspect.isbuiltin(method):
        return method
    return type(method)


def qualified_name(method: Callable) -> str:
    """'module:QualName' of the class or function a method runs."""
    target = method_target(method)
    return f"{getattr(target, '__module__', '?')}:{getattr(target, '__qualname__', type(target).__name__)}"


def method_kwargs(method: Callable) -> dict:
    """The hyperparameters of a method object that differ from their defaults, sorted by name.

    A partial's bound keywords; for instances, each constructor keyword read back from the attribute
    of the same name (so store hyperparameters under their own names, as dataclasses do).
    """
    if isinstance(method, functools.partial):
        return non_default(method.func, dict(method.keywords))
    if isinstance(method, type) or inspect.isroutine(method):
        return {}
    declared = hyperparameters(type(method))
    values = {k: getattr(method, k) for k in declared if hasattr(method, k)}
    return non_default(type(method), values)


def own_name(method: Callable) -> str | None:
    """The `name` a method gives itself: on the instance or function, or on its own class (an inherited
    name does not count: a nameless subclass of Magnitude is not magnitude)."""
    target = method.func if isinstance(method, functools.partial) else method
    own = getattr(target, "__dict__", {}).get("name")
    if own is None and not (isinstance(target, type) or inspect.isroutine(target)):
        own = type(target).__dict__.get("name")
    return own if isinstance(own, str) and own else None


def object_label(method: Callable) -> str:
    """The method part of a label for a method object: its own `name` (else its qualified name
    'module:QualName') and its non-default hyperparameters, 'name[k=v,...]'."""
    return format_label(own_name(method) or qualified_name(method), method_kwargs(method))
