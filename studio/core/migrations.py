"""Versioned files: one ``schema_version`` per persistent file, and the steps between versions.

In the style of napari's settings migrators: every step is one small
function that turns a version-N document into version N+1, registered with
``@migrator.step(N)``. Reading a file runs the steps in memory
(``Migrator.migrate``); before the studio first writes the upgraded
document back, the old file is copied to ``<file>.v<N>.bak``
(``Migrator.backup``), so a migration can always be undone by hand. A file
from a newer studio is refused with a clear error, never half-understood.

One ``Migrator`` per kind of file, kept next to the code that owns the file::

    CARD = Migrator("model card", current=1)

    @CARD.step(0)
    def _add_schema_version(card):      # cards written before schema_version
        return card

A file without ``schema_version`` counts as version ``unversioned`` (0 for
files that had none before; ``None`` makes the field required).
"""
from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any, Callable

from studio.core.errors import ProjectError

FIELD = "schema_version"
Step = Callable[[dict[str, Any]], dict[str, Any]]


class Migrator:
    def __init__(self, what: str, current: int, *, unversioned: int | None = 0,
                 steps: dict[int, Step] | None = None):
        self.what = what                    # "model card", "station.yaml", ... for messages
        self.current = int(current)
        self.unversioned = unversioned
        self.steps: dict[int, Step] = steps if steps is not None else {}

    def step(self, from_version: int) -> Callable[[Step], Step]:
        """Register ``fn`` as the step from ``from_version`` to ``from_version + 1``."""
        def register(fn: Step) -> Step:
            self.steps[int(from_version)] = fn
            return fn
        return register

    def version_of(self, data: Any) -> int | None:
        """The document's version (``unversioned`` when it has none); None when it cannot be told."""
        if not isinstance(data, dict):
            return None
        v = data.get(FIELD, self.unversioned)
        return v if isinstance(v, int) and not isinstance(v, bool) else None

    def problem(self, data: Any) -> str | None:
        """Why ``data``'s version cannot be brought to ``current``, in words; None when it can."""
        v = self.version_of(data)
        if v is None:
            got = data.get(FIELD) if isinstance(data, dict) else None
            return f"schema_version is {got!r}, not a whole number"
        if v > self.current:
            return f"schema_version is {v}, newer than this studio understands ({self.current})"
        missing = [n for n in range(v, self.current) if n not in self.steps]
        if missing:
            return f"schema_version is {v}, and no migration exists from version {missing[0]}"
        return None

    def migrate(self, data: dict[str, Any], file: str | Path | None = None) -> tuple[dict[str, Any], int]:
        """``data`` at ``current`` (a new dict when steps ran; ``data`` itself otherwise) and the version it had.

        Raises ProjectError for a version that is newer, unknown or not a
        number, and when a step fails (the file is left as it is).
        """
        why = self.problem(data)
        if why:
            newer = "newer" in why
            raise ProjectError(why, file=file, field=FIELD,
                               hint="open it with a newer Inspection Studio" if newer else
                               f"restore the {self.what} from a backup, or set schema_version to "
                               f"{self.current} if it already has the current layout")
        version = self.version_of(data)
        assert version is not None
        start = version
        if version == self.current:
            return data, start
        out = copy.deepcopy(data)
        while version < self.current:
            try:
                out = self.steps[version](out)
            except Exception as e:  # noqa: BLE001  a failed step leaves the file untouched
                raise ProjectError(f"could not be upgraded from schema_version {version} to {version + 1} "
                                   f"({type(e).__name__}: {e})", file=file, field=FIELD,
                                   hint=f"restore the {self.what} from a backup, or fix it by hand") from None
            version += 1
            out[FIELD] = version
        return out, start

    def backup(self, path: str | Path, old_version: int | None) -> Path | None:
        """Before the upgraded document replaces ``path``: copy the old file to ``<name>.v<N>.bak`` once."""
        path = Path(path)
        if old_version is None or old_version >= self.current or not path.exists():
            return None
        target = path.with_name(f"{path.name}.v{old_version}.bak")
        if not target.exists():
            shutil.copy2(path, target)
        return target
