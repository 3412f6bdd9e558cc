"""Training options: defaults <- project.yaml ``training.<task>`` <- this run's overrides.

Each value is checked against its default's type here, so ``--option
epochs=three`` is a message naming the option, not a traceback from the
middle of training. A misspelt override (``epoch=3``) is an error too:
silently training with the default would waste an hour.
"""
from __future__ import annotations

from typing import Any

from studio.core.errors import ModelError


def _coerce(name: str, value: Any, default: Any) -> Any:
    if default is None or value is None:
        return value
    kind = type(default)
    try:
        if kind is bool:
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                return value.lower() in ("true", "1", "yes")
            return bool(value)
        if kind is int:
            number = float(value)
            if number != int(number):
                raise ValueError
            return int(number)
        if kind is float:
            return float(value)
    except (TypeError, ValueError):
        what = {int: "a whole number", float: "a number", bool: "true or false"}[kind]
        raise ModelError(f"training option '{name}' is {value!r}, not {what}", field=name,
                         hint=f"set it like the default: {name}={default}") from None
    return value


def merge_options(project, task: str, defaults: dict[str, Any],
                  overrides: dict[str, Any] | None) -> dict[str, Any]:
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise ModelError(f"unknown {task} training option{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
                         hint=f"use one of: {', '.join(sorted(defaults))}")
    merged = {**defaults, **project.training_options(task), **overrides}
    return {k: _coerce(k, v, defaults.get(k)) for k, v in merged.items()}
