"""Errors shown to a person: the message they can act on, the traceback only under "details"."""
from __future__ import annotations

import traceback

from PySide6.QtWidgets import QLabel, QMessageBox, QWidget

# Dialogs without a parent must stay referenced until closed.
_open_dialogs: list[QMessageBox] = []


def describe(err: BaseException) -> tuple[str, str | None]:
    """(what a person reads, technical details or None) for any exception."""
    from studio.core.errors import StudioError

    if isinstance(err, StudioError):
        return str(err), None
    details = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    text = str(err) or type(err).__name__
    return f"Something unexpected went wrong: {text}", details


def error_dialog(parent: QWidget | None, err: BaseException | str, title: str = "Inspection Studio",
                 details: str | None = None) -> QMessageBox:
    """Show ``err`` in a non-blocking dialog and return it (StudioError: ``str(err)``, no traceback)."""
    if isinstance(err, BaseException):
        text, tb = describe(err)
        details = details or tb
    else:
        text = err
    box = QMessageBox(QMessageBox.Icon.Critical, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("errorDialog")
    if details:
        box.setDetailedText(details)
    box.setModal(parent is not None)
    _open_dialogs.append(box)
    box.finished.connect(lambda *_: _open_dialogs.remove(box) if box in _open_dialogs else None)
    box.show()
    return box


BANNER_STYLES = {
    "banner-error": "background: #fdecea; color: #8a1c1c; border: 1px solid #d32f2f; border-radius: 4px;"
                    " padding: 7px 10px;",
    "banner-info": "background: #e8f0fe; color: #1a3d7c; border: 1px solid #1f6feb; border-radius: 4px;"
                   " padding: 7px 10px;",
}


class Banner(QLabel):
    """A coloured line across a page: errors in red, information in blue; hidden when empty."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.hide()

    def show_error(self, text: str) -> None:
        self._show(text, "banner-error")

    def show_info(self, text: str) -> None:
        self._show(text, "banner-info")

    def clear_message(self) -> None:
        self.setText("")
        self.hide()

    @property
    def kind(self) -> str | None:
        return self.property("role") if self.isVisibleTo(self.parentWidget()) else None

    def _show(self, text: str, role: str) -> None:
        self.setProperty("role", role)
        self.setStyleSheet(BANNER_STYLES[role])
        self.setText(text)
        self.show()
