"""Errors a user can act on.

Every error that reaches a person says what happened, where (file and field
when there is one) and what to do. The GUI shows ``str(err)`` in a dialog and
the CLI prints it; neither shows a traceback.
"""
from __future__ import annotations

from pathlib import Path


class StudioError(Exception):
    """An error with a message a line engineer can act on."""

    def __init__(self, message: str, *, file: str | Path | None = None,
                 field: str | None = None, hint: str | None = None):
        self.message = message
        self.file = str(file) if file is not None else None
        self.field = field
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(f"{self.file}: ")
        if self.field:
            parts.append(f"field '{self.field}': ")
        parts.append(self.message)
        if self.hint:
            parts.append(f"\n  What to do: {self.hint}")
        return "".join(parts)


class ProjectError(StudioError):
    """The project folder or one of its files is missing or invalid."""


class CameraError(StudioError):
    """A camera could not be opened, or stopped delivering frames."""


class CameraTimeout(CameraError):
    """No frame came within the grab timeout, and nothing says the camera is gone.

    For a camera that waits for a hardware trigger this is a pause of the line, not a fault."""


class PlcError(StudioError):
    """The PLC link could not be started or was lost."""


class ModelError(StudioError):
    """A trained model is missing, corrupt, or does not fit the project."""


class ImportProblem(StudioError):
    """An import source is unreadable or in an unexpected layout."""


class Cancelled(Exception):
    """Raised inside long work when the user pressed cancel."""
