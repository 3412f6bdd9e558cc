"""Backends registered by name, imported lazily.

Cameras, PLC protocols and trainers are each a ``Registry``: a dict from a
name to ``"module:attribute"``. Nothing heavy (harvesters, torch, pymodbus)
is imported until that backend is used, and adding a backend is one line,
never another ``elif``.
"""
from __future__ import annotations

import importlib
from typing import Any


class Registry:
    def __init__(self, kind: str):
        self.kind = kind
        self._targets: dict[str, str] = {}

    def register(self, name: str, target: str) -> None:
        """Register ``target`` ("package.module:attr") under ``name``."""
        self._targets[name] = target

    def names(self) -> list[str]:
        return sorted(self._targets)

    def __contains__(self, name: str) -> bool:
        return name in self._targets

    def get(self, name: str) -> Any:
        from studio.core.errors import StudioError

        try:
            target = self._targets[name]
        except KeyError:
            raise StudioError(
                f"unknown {self.kind} '{name}'",
                hint=f"use one of: {', '.join(self.names())}") from None
        return resolve(target)


def resolve(target: str) -> Any:
    """The object a ``"package.module:attr"`` target names, imported now."""
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)
