"""Colours, the style sheet and the icon of the studio: plain, high-contrast, readable at arm's length.

The style sheet is ``resources/styles/studio.qss`` and the icon
``resources/icons/``; the colours code draws with are named here (the sheet
uses the same values).
"""
from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon

PASS_GREEN = "#1e9e4a"
REJECT_RED = "#d32f2f"
FAULT_AMBER = "#f29900"
BORDERLINE_AMBER = "#e08e0b"
MUTED = "#6b7280"
ACCENT = "#1f6feb"

REVIEW_VIOLET = "#7c3aed"

VERDICT_COLOURS = {"pass": PASS_GREEN, "reject": REJECT_RED, "fault": FAULT_AMBER, "review": REVIEW_VIOLET}
LABEL_COLOURS = {"ok": PASS_GREEN, "ng": REJECT_RED, "borderline": BORDERLINE_AMBER}



def load_style_sheet(name: str = "studio.qss") -> str:
    """A style sheet from ``resources/styles`` (the studio's and the kiosk's look)."""
    from studio.core.resources import resource

    return resource("styles", name).read_text(encoding="utf-8")


def app_icon() -> QIcon:
    """The application icon at every size shipped (the window, the task bar, the kiosk)."""
    from studio.core.resources import resource

    icon = QIcon()
    for size in ICON_SIZES:
        icon.addFile(str(resource("icons", f"inspection-studio-{size}.png")), QSize(size, size))
    return icon


ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
STYLE_SHEET = load_style_sheet()
