"""A problem found while validating a file: where it is and what to do.

``level`` is ``error`` (the file is wrong: the studio refuses it or leaves
part of it out) or ``warning`` (worth knowing, nothing is lost, e.g. a label
line torn by a crash). ``studio project check`` exits 1 on errors only.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Problem:
    file: str
    field: str
    message: str
    hint: str
    level: str = "error"

    def __str__(self) -> str:
        head = "warning: " if self.level == "warning" else ""
        return f"{head}{self.file}: field '{self.field}': {self.message}\n  What to do: {self.hint}"
