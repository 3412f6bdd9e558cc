"""Colours and the one style sheet of the studio: plain, high-contrast, readable at arm's length."""
from __future__ import annotations

PASS_GREEN = "#1e9e4a"
REJECT_RED = "#d32f2f"
FAULT_AMBER = "#f29900"
BORDERLINE_AMBER = "#e08e0b"
MUTED = "#6b7280"
ACCENT = "#1f6feb"

REVIEW_VIOLET = "#7c3aed"

VERDICT_COLOURS = {"pass": PASS_GREEN, "reject": REJECT_RED, "fault": FAULT_AMBER, "review": REVIEW_VIOLET}
LABEL_COLOURS = {"ok": PASS_GREEN, "ng": REJECT_RED, "borderline": BORDERLINE_AMBER}

STYLE_SHEET = f"""
QWidget {{ font-size: 10.5pt; }}
QLabel[role="title"] {{ font-size: 17pt; font-weight: 600; }}
QLabel[role="subtitle"] {{ color: {MUTED}; }}
QLabel[role="big-number"] {{ font-size: 20pt; font-weight: 600; }}
QLabel[role="caption"] {{ color: {MUTED}; font-size: 9pt; }}
QPushButton {{ padding: 5px 12px; }}
QPushButton[role="primary"] {{ background: {ACCENT}; color: white; border: none; border-radius: 4px;
                               padding: 7px 16px; font-weight: 600; }}
QPushButton[role="primary"]:disabled {{ background: #9db8e8; }}
QPushButton[role="ok"] {{ background: {PASS_GREEN}; color: white; border: none; border-radius: 4px;
                          padding: 9px 14px; font-weight: 600; font-size: 12pt; }}
QPushButton[role="ng"] {{ background: {REJECT_RED}; color: white; border: none; border-radius: 4px;
                          padding: 9px 14px; font-weight: 600; font-size: 12pt; }}
QPushButton[role="borderline"] {{ background: {BORDERLINE_AMBER}; color: white; border: none;
                                  border-radius: 4px; padding: 9px 14px; font-weight: 600; font-size: 12pt; }}
QPushButton[role="ok"]:disabled, QPushButton[role="ng"]:disabled, QPushButton[role="borderline"]:disabled
    {{ background: #c9c9c9; }}
QListWidget#steps {{ font-size: 12pt; border: none; background: #f3f4f6; padding-top: 8px; }}
QListWidget#steps::item {{ padding: 10px 6px; }}
QListWidget#steps::item:selected {{ background: #dbe7fd; color: black; border-left: 4px solid {ACCENT}; }}
QGroupBox {{ font-weight: 600; margin-top: 10px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; padding: 0 4px; }}
"""
