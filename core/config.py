"""Typed schemas for experiment arguments.

Every experiment is a plain function with annotated keyword arguments; nested groups are
dataclasses. :func:`call_checked` builds those arguments from a plain config dict and
rejects unknown keys and wrong types before any work starts, with a message that names
the key and the valid choices.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

from core.errors import ConfigError


def require(condition: bool, message: str) -> None:
    """Raise ConfigError(message) unless ``condition``: range checks in ``__post_init__``."""
    if not condition:
        raise ConfigError(message)


def build(tp: Any, value: Any, where: str) -> Any:
    """Convert ``value`` to the annotated type ``tp`` or raise ConfigError naming ``where``."""
    if tp is Any or tp is inspect.Parameter.empty:
        return value
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)

    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return build(arg, value, where)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{where}: {value!r} fits no type")

    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}={value!r} is not one of {list(args)}")
        return value

    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where} must be a group of keys, got {value!r}")
        return from_dict(tp, value, where)

    if origin in (list, tuple) or tp in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list like [1,2], got {value!r}")
        inner = args[0] if args else Any
        return [build(inner, v, f"{where}[{i}]") for i, v in enumerate(value)]

    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where} must be a group of keys, got {value!r}")
        return dict(value)

    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(f"{where} must be an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {value!r}")
        return value
    return value


def from_dict(cls: type, data: Mapping[str, Any], where: str = "") -> Any:
    """Instantiate dataclass ``cls`` from ``data``, checking keys and types recursively."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(
            f"unknown key {prefix}{unknown[0]}; valid keys of {where or cls.__name__}: "
            f"{', '.join(sorted(fields))}"
        )
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = build(hints[name], value, f"{where}.{name}" if where else name)
    missing = [
        n
        for n, f in fields.items()
        if n not in kwargs
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"{where or cls.__name__} needs {', '.join(missing)}")
    return cls(**kwargs)


def call_checked(
    fn: Callable[..., Any],
    kwargs: Mapping[str, Any],
    names: Mapping[str, str] | None = None,
    **extra: Any,
) -> Any:
    """Call ``fn(**kwargs, **extra)`` after checking ``kwargs`` against its annotations.

    ``names`` maps an argument to the config key the user types (``train_cfg`` ->
    ``train``), so that messages name what to fix on the command line.
    """
    names = names or {}
    sig = inspect.signature(fn)
    hints = typing.get_type_hints(fn)
    unknown = sorted(set(kwargs) - set(sig.parameters))
    if unknown:
        valid = sorted(p for p in sig.parameters if p not in extra)
        raise ConfigError(f"unknown argument {unknown[0]}; {fn.__name__} takes {', '.join(valid)}")
    built = {
        name: build(hints.get(name, Any), value, names.get(name, name))
        for name, value in kwargs.items()
    }
    return fn(**built, **extra)
