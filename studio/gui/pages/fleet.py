"""The Fleet page: every station of the plant from the central store (PostgreSQL).

A table of the stations (project, live model, state, when last heard of,
forwarder lag, parts and reject rate of the window, alerts), a pyqtgraph plot
of each station's reject rate per hour, and each project compared across the
stations that run it. The figures are ``studio.central.fleet.fleet`` (the one
reject-rate definition of ``studio.results.rates``), read in the background so
a database that is away never freezes the window; the page refreshes itself
every ``REFRESH_MS``. Opened from the main window's View menu (``open_fleet_window``).
"""
from __future__ import annotations

import datetime as _dt
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QDoubleSpinBox, QHeaderView, QLabel, QLineEdit, QPushButton,
                               QTableWidget, QTableWidgetItem, QWidget)

from studio.gui.pages.base import Page, caption, row
from studio.gui.style import ACCENT, FAULT_AMBER, MUTED, PASS_GREEN, REJECT_RED, REVIEW_VIOLET
from studio.gui.widgets import Banner, TaskRunner
from studio.results import rates

REFRESH_MS = 10_000
LINE_COLOURS = (ACCENT, REJECT_RED, PASS_GREEN, FAULT_AMBER, REVIEW_VIOLET, "#0891b2", "#be185d", "#4d7c0f",
                "#9333ea", "#b45309")
STATION_COLUMNS = ("Station", "Project", "Model", "State", "Last seen", "Lag", "Parts", "Reject rate", "Alerts")
PROJECT_COLUMNS = ("Project", "Station", "Parts", "Reject rate", "Models")


def load_fleet(url: str, hours: float) -> dict[str, Any]:
    """The fleet view from the database at ``url`` (runs off the GUI thread)."""
    import psycopg

    from studio.central import connect, safe_url
    from studio.central.fleet import fleet
    from studio.core.errors import StudioError

    try:
        conn = connect(url)
    except psycopg.Error as e:
        raise StudioError(f"cannot reach the central store at {safe_url(url)}: {str(e).strip().splitlines()[0]}",
                          hint="check the address, that the server runs and that this PC may log in") from None
    try:
        return fleet(conn, hours=hours)
    finally:
        conn.close()


def _item(text: Any, colour: str | None = None, align_right: bool = False) -> QTableWidgetItem:
    it = QTableWidgetItem("" if text is None else str(text))
    if colour:
        it.setForeground(QColor(colour))
    if align_right:
        it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return it


def _table(columns: tuple[str, ...]) -> QTableWidget:
    t = QTableWidget(0, len(columns))
    t.setHorizontalHeaderLabels(list(columns))
    t.verticalHeader().hide()
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    return t


class FleetPage(Page):
    title = "Fleet"
    subtitle = "Every station in the plant's central store: parts, reject rate per hour, alerts, forwarder lag."

    def __init__(self, project: Any = None, parent: QWidget | None = None, url: str | None = None):
        super().__init__(project, parent)
        self.view: dict[str, Any] | None = None
        if url is None and project is not None:
            try:
                url = project.station_settings().get("central")
            except Exception:       # an invalid station.yaml: the person types the address
                url = None
        self.url_edit = QLineEdit(str(url or ""))
        self.url_edit.setPlaceholderText("postgresql://USER@HOST:PORT/DATABASE")
        self.url_edit.returnPressed.connect(self.reload)
        self.hours = QDoubleSpinBox()
        self.hours.setRange(1, 24 * 31)
        self.hours.setValue(24)
        self.hours.setSuffix(" h")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setProperty("role", "primary")
        self.refresh_button.clicked.connect(self.reload)
        self.state_label = caption("")
        self.root_layout.addLayout(row(QLabel("Central store"), self.url_edit, QLabel("Last"), self.hours,
                                       self.refresh_button))
        self.banner = Banner()
        self.root_layout.addWidget(self.banner)
        self.root_layout.addWidget(self.state_label)
        self.stations = _table(STATION_COLUMNS)
        self.root_layout.addWidget(self.stations, 2)
        self.plot = pg.PlotWidget(background="w", title="Reject rate per hour, per station",
                                  axisItems={"bottom": pg.DateAxisItem(orientation="bottom", utcOffset=0)})
        self.plot.setLabel("left", "reject rate", units="%")
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.addLegend(offset=(10, 10))
        self.plot.setMinimumHeight(220)
        self.root_layout.addWidget(self.plot, 3)
        self.root_layout.addWidget(QLabel("The same project on several stations"))
        self.projects = _table(PROJECT_COLUMNS)
        self.root_layout.addWidget(self.projects, 2)
        self.runner = TaskRunner(self, show_errors=False)
        self.runner.finished.connect(self.show_view)
        self.runner.failed.connect(self._failed)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.reload)

    # ---- loading ----------------------------------------------------------------------------
    def refresh(self) -> None:
        self.reload()
        self.timer.start()

    @Slot()
    def reload(self) -> bool:
        url, hours = self.url_edit.text().strip(), float(self.hours.value())
        if not url:
            self.state_label.setText("Type the central store's address (station.yaml's central:) and press Refresh.")
            return False
        if self.runner.start(lambda ctx: load_fleet(url, hours)):
            self.state_label.setText("Reading the central store …")
            return True
        return False

    @Slot(object)
    def _failed(self, err: Any) -> None:
        self.banner.show_error(str(err))
        self.state_label.setText("The central store could not be read; the figures below are the last ones read.")

    # ---- showing ----------------------------------------------------------------------------
    @Slot(object)
    def show_view(self, view: dict[str, Any]) -> None:
        self.view = view
        self.banner.clear_message()
        stations = view["stations"]
        when = view["time"][:19].replace("T", " ")
        self.state_label.setText(f"{len(stations)} station(s), last {view['hours']:g} h, read {when} UTC")
        self.stations.setRowCount(len(stations))
        for i, s in enumerate(stations):
            lag = f"{s['lag_rows']} rows, {s['lag_s']:.0f} s" if s["lag_rows"] else "up to date"
            seen = "never" if s["seen_s_ago"] is None else _ago(s["seen_s_ago"])
            alerts = s["alerts"]
            cells = [(s["station_id"], None), (s["project"] or "-", None), (s["model_id"] or "-", None),
                     (s["state"] or "-", REJECT_RED if s["state"] == "faulted" else None),
                     (seen, MUTED), (lag, FAULT_AMBER if s["lag_rows"] else PASS_GREEN), (s["parts"], None),
                     (rates.percent(s["reject_rate"]), None),
                     (f"{alerts['total']}" + (f" ({alerts.get('error', 0)} errors)" if alerts.get("error") else ""),
                      REJECT_RED if alerts.get("error") else None)]
            for j, (text, colour) in enumerate(cells):
                self.stations.setItem(i, j, _item(text, colour, align_right=j in (6, 7)))
        self.plot.clear()
        legend = self.plot.plotItem.legend
        if legend is not None:
            legend.clear()
        for i, s in enumerate(stations):
            hours = s["hours"]
            if not hours:
                continue
            colour = LINE_COLOURS[i % len(LINE_COLOURS)]
            self.plot.plot([h["hour"] + 1800 for h in hours], [100 * h["rate"] for h in hours],
                           pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=6, symbolBrush=colour,
                           name=s["station_id"])
        rows = [(p, s) for p in view["projects"] for s in p["stations"]]
        self.projects.setRowCount(len(rows))
        for i, (p, s) in enumerate(rows):
            spread = f"  (spread {rates.percent(p['spread'])})" if len(p["stations"]) > 1 else ""
            cells = [f"{p['project']}{spread}", s["station_id"], s["parts"], rates.percent(s["reject_rate"]),
                     ", ".join(s["models"])]
            for j, text in enumerate(cells):
                self.projects.setItem(i, j, _item(text, align_right=j in (2, 3)))

    def shutdown(self) -> None:
        self.timer.stop()
        self.runner.shutdown()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(event)


def _ago(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min ago"
    return (_dt.datetime.now(_dt.UTC) - _dt.timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M UTC")


def open_fleet_window(parent: QWidget | None, project: Any = None, url: str | None = None) -> FleetPage:
    """The Fleet page in a window of its own (it is not a step of the project)."""
    page = FleetPage(project, url=url)
    page.setParent(parent, Qt.WindowType.Window)
    page.setWindowTitle("Fleet — Inspection Studio")
    page.resize(1100, 800)
    page.show()
    page.refresh()
    return page
