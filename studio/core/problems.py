"""A problem found while validating a file: where it is and what to do."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Problem:
    file: str
    field: str
    message: str
    hint: str

    def __str__(self) -> str:
        return f"{self.file}: field '{self.field}': {self.message}\n  What to do: {self.hint}"
