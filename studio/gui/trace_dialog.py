"""A part's traceability chain in a dialog: what ``studio trace DATA_DIR --part N`` prints.

``show_trace(parent, data_dir, part)`` opens it (an error is a message, never a
crash); ``hook_part_table(table, data_dir_of, parent)`` opens it on a
double-click on a row of a table whose first column starts with the part
number (the Station page's recent parts). The kiosk opens it on a double-click
on the part shown.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QApplication, QDialog, QDialogButtonBox, QLabel, QPushButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

IMAGES_SHOWN = 200      # rows of the training set list; the JSON has them all

SECTIONS = [("part", "Part"), ("model", "Model card"), ("training", "Training run"), ("data", "Data"),
            ("criteria", "Criteria"), ("threshold", "Threshold decision"), ("promotion", "Promotion")]


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


class TraceDialog(QDialog):
    def __init__(self, chain: dict[str, Any], parent: QWidget | None = None):
        super().__init__(parent)
        self.chain = chain
        part = chain.get("part") or {}
        self.setWindowTitle(f"Part {part.get('part')}: what decided it")
        self.resize(900, 640)
        lay = QVBoxLayout(self)
        from studio.station.trace import describe

        head = QLabel(describe(chain).splitlines()[0])
        head.setTextFormat(Qt.TextFormat.PlainText)         # a PLC part id is text, never markup
        head.setStyleSheet("font-size: 15pt; font-weight: 600;")
        lay.addWidget(head)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["", ""])
        self.tree.setHeaderHidden(True)
        lay.addWidget(self.tree, 1)
        for key, title in SECTIONS:
            self._section(title, chain.get(key))
        gaps = chain.get("gaps") or []
        if gaps:
            top = QTreeWidgetItem([f"Gaps ({len(gaps)})", "links that cannot be followed"])
            for g in gaps:
                top.addChild(QTreeWidgetItem(["", g]))
            self.tree.addTopLevelItem(top)
            top.setExpanded(True)
        self.tree.resizeColumnToContents(0)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = QPushButton("Copy as JSON")
        copy.clicked.connect(self.copy_json)
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def _section(self, title: str, body: Any) -> None:
        top = QTreeWidgetItem([title, "" if isinstance(body, dict) else _text(body)])
        self.tree.addTopLevelItem(top)
        if isinstance(body, dict):
            for k, v in body.items():
                if k == "images" and isinstance(v, list):
                    item = QTreeWidgetItem([k, f"{len(v)} images and their training labels"])
                    for img in v[:IMAGES_SHOWN]:
                        label = img.get("label") or {}
                        item.addChild(QTreeWidgetItem([str(img.get("image_id")), (
                            f"{img.get('split')}  {label.get('verdict', '—')} {label.get('defect_class') or ''}  "
                            f"by {label.get('labeler', '—')}  {img.get('file', '')}  sha256 "
                            f"{str(img.get('sha256'))[:16]}")]))
                    if len(v) > IMAGES_SHOWN:
                        item.addChild(QTreeWidgetItem(["…", f"{len(v) - IMAGES_SHOWN} more (Copy as JSON)"]))
                    top.addChild(item)
                elif isinstance(v, dict) and v:
                    item = QTreeWidgetItem([k, ""])
                    for k2, v2 in v.items():
                        item.addChild(QTreeWidgetItem([str(k2), _text(v2)]))
                    top.addChild(item)
                    item.setExpanded(k in ("decision", "entry"))
                else:
                    top.addChild(QTreeWidgetItem([k, _text(v)]))
        top.setExpanded(True)

    def copy_json(self) -> None:
        QApplication.clipboard().setText(json.dumps(self.chain, indent=2, ensure_ascii=False, default=str))


def show_trace(parent: QWidget | None, data_dir: str | Path | None, part: int, project: Any = None
               ) -> TraceDialog | None:
    """Trace ``part`` of the station writing to ``data_dir`` and show it; None (after a message) on an error.
    ``project``: the project, where the data directory does not record it."""
    from studio.gui.widgets.errors import error_dialog
    from studio.station.trace import trace_part

    try:
        if data_dir is None:
            from studio.core.errors import StudioError

            raise StudioError("no station data directory to trace the part in", hint="run the station first")
        chain = trace_part(data_dir, int(part), project=project)
    except Exception as e:  # a trace that cannot be made is a message
        error_dialog(parent, e, f"Part {part} cannot be traced")
        return None
    dialog = TraceDialog(chain, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog


def part_of(text: str) -> int | None:
    """The part number at the start of a table cell ("12" or "12 (PLC-ID)")."""
    m = re.match(r"\s*(\d+)", text or "")
    return int(m.group(1)) if m else None


def hook_part_table(table: Any, data_dir_of: Callable[[], Any], parent: QWidget, project: Any = None) -> None:
    """A double-click on a row of ``table`` traces its part (first column) in ``data_dir_of()``."""
    table.setToolTip("Double-click a part: what decided it (studio trace)")
    def open_row(row: int, _column: int) -> None:
        item = table.item(row, 0)
        part = part_of(item.text()) if item is not None else None
        if part is not None:
            parent.trace_dialog = show_trace(parent, data_dir_of(), part, project)

    table.cellDoubleClicked.connect(open_row)
