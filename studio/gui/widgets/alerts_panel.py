"""The alerts of the result log, newest first, with an Acknowledge button.

``AlertsPanel(log_path, who=...)`` reads the log's ``alerts`` table
read-only (``ResultReader``, WAL: never in the station's way) every
``POLL_MS`` and on ``refresh()``; *Acknowledge* marks the selected alert
(or, with none selected, the newest open one) with who acknowledged it and
when (``studio.results.alerts.acknowledge``). ``who`` is a name or a
function returning one (the kiosk's operator, the logged-in user); without
it the panel uses $USER.
"""
from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from studio.gui.style import FAULT_AMBER, REJECT_RED

POLL_MS = 3000
ROWS = 100
LEVEL_COLOURS = {"error": REJECT_RED, "warning": FAULT_AMBER, "info": "#3b82f6"}


class AlertsPanel(QWidget):
    acknowledged = Signal(int, str)         # alert id, by whom

    def __init__(self, log_path: str | Path | None = None, *, who: str | Callable[[], str] | None = None,
                 dark: bool = False, point_size: int = 10, parent: QWidget | None = None):
        super().__init__(parent)
        self.log_path = Path(log_path) if log_path else None
        self.who = who
        self.alerts: list[dict[str, Any]] = []
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Time", "Kind", "Alert", "Ack."])
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(False)
        head = self.table.horizontalHeader()
        for c, mode in enumerate((QHeaderView.ResizeMode.ResizeToContents, QHeaderView.ResizeMode.ResizeToContents,
                                  QHeaderView.ResizeMode.Stretch, QHeaderView.ResizeMode.ResizeToContents)):
            head.setSectionResizeMode(c, mode)
        self.ack_button = QPushButton("Acknowledge")
        self.ack_button.setObjectName("acknowledgeAlert")
        self.ack_button.setToolTip("Mark the selected alert (or the newest open one) as seen, with your name")
        self.ack_button.clicked.connect(self.acknowledge_selected)
        self.summary = QLabel("")
        fg = "#e8eaed" if dark else "#222"
        if dark:
            self.table.setStyleSheet(f"QTableWidget {{ background: #15181d; color: {fg}; gridline-color: #2a2e35;"
                                     f" font-size: {point_size}pt; }} QHeaderView::section {{ background: #22262d;"
                                     f" color: #9aa0a6; border: none; }}")
            self.ack_button.setStyleSheet(f"QPushButton {{ font-size: {point_size}pt; color: {fg}; background: #2a2f36;"
                                          " border: 1px solid #5f6368; border-radius: 6px; padding: 4px 14px; }"
                                          " QPushButton:disabled { color: #4b5058; }")
            self.summary.setStyleSheet(f"color: #9aa0a6; font-size: {point_size}pt;")
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.summary, 1)
        top.addWidget(self.ack_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    def set_log(self, log_path: str | Path | None) -> None:
        self.log_path = Path(log_path) if log_path else None
        self.refresh()

    def person(self) -> str:
        who = self.who() if callable(self.who) else self.who
        return str(who or os.environ.get("USER") or "operator")

    def refresh(self) -> None:
        alerts: list[dict[str, Any]] = []
        if self.log_path is not None and self.log_path.is_file():
            from studio.results.reader import ResultReader

            try:
                reader = ResultReader(self.log_path)
                try:
                    alerts = reader.alerts(ROWS)
                finally:
                    reader.close()
            except Exception:  # noqa: BLE001  a busy or half-written log: next poll
                return
        keep = self.selected_id()
        self.alerts = alerts
        self.table.setRowCount(len(alerts))
        for r, a in enumerate(alerts):
            when = _dt.datetime.fromtimestamp(a["time"]).strftime("%H:%M:%S")
            ack = f"✓ {a['acked_by']}" if a.get("acked_by") else "open"
            ack_tip = (f"acknowledged by {a['acked_by']} at "
                       f"{_dt.datetime.fromtimestamp(a['acked_at']).strftime('%Y-%m-%d %H:%M:%S')}"
                       if a.get("acked_by") else "not acknowledged yet")
            for c, v in enumerate((when, a["kind"], a["message"], ack)):
                item = QTableWidgetItem(str(v))
                item.setData(Qt.ItemDataRole.UserRole, a["id"])
                if c == 2:
                    item.setToolTip(str(a["message"]))
                if c == 3:
                    item.setToolTip(ack_tip)
                if c == 1:
                    item.setForeground(QColor(LEVEL_COLOURS.get(a["level"], "#888")))
                if not a.get("acked_by") and a["level"] != "info":
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(r, c, item)
            if a["id"] == keep:
                self.table.selectRow(r)
        open_ = [a for a in alerts if not a.get("acked_by") and a["level"] != "info"]
        self.summary.setText(f"Alerts: {len(open_)} open" if alerts else "Alerts: none")
        self.ack_button.setEnabled(bool([a for a in alerts if not a.get("acked_by")]))

    def selected_id(self) -> int | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return None if item is None else int(item.data(Qt.ItemDataRole.UserRole))

    def acknowledge_selected(self) -> None:
        alert_id = self.selected_id()
        if alert_id is None:
            open_ = [a for a in self.alerts if not a.get("acked_by")]
            if not open_:
                return
            alert_id = open_[0]["id"]
        self.acknowledge(alert_id)

    def acknowledge(self, alert_id: int) -> None:
        from studio.results.alerts import acknowledge

        if self.log_path is None:
            return
        who = self.person()
        try:
            acknowledge(self.log_path, alert_id, who)
        except Exception as e:  # noqa: BLE001  a refusal is a message, never a crash
            from studio.gui.widgets.errors import error_dialog

            error_dialog(self, e, "Alert not acknowledged")
            return
        self.refresh()
        self.acknowledged.emit(int(alert_id), who)
