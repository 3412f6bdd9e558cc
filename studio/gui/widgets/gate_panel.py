"""The promotion gate's state on the Station page, live: each check, what it needs, what the trial has,
and one click to send the comparison's disagreements to the reference labeler's review queue.

Reads the result log (read-only, like any report) every ``REFRESH_MS``; never
touches the station's threads. Hidden when the project has no gate.
"""
from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QGroupBox, QLabel, QPushButton, QVBoxLayout, QWidget

from studio.gui.style import PASS_GREEN, REJECT_RED

REFRESH_MS = 5000
FED_S = 15.0        # fed by the shadow panel's worker: no read of its own on the GUI thread for this long at least


def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    return f"{v:.3g}" if isinstance(v, float) else str(v)


class GatePanel(QGroupBox):
    def __init__(self, project: Any, data_dir: Any = None, parent: QWidget | None = None):
        super().__init__("Promotion gate", parent)
        self.project = project
        self.data_dir = data_dir
        self.state: dict[str, Any] | None = None
        self._fed_until = 0.0
        self.summary = QLabel("")
        self.lines = QLabel("")
        self.lines.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addWidget(self.summary)
        lay.addWidget(self.lines)
        self.review_button = QPushButton("Send the disagreements to review")
        self.review_button.setToolTip("Every part on which the candidate and the line disagree goes to the "
                                      "reference labeler's review queue (studio station review --disagreements)")
        self.review_button.clicked.connect(self.send_to_review)
        lay.addWidget(self.review_button)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(REFRESH_MS)
        self.refresh()

    def _data_dir(self) -> Any:
        if self.data_dir is not None:
            return self.data_dir
        from studio.station import resolve_data_dir

        try:
            return resolve_data_dir(self.project)
        except Exception:  # noqa: BLE001  an invalid station.yaml is shown elsewhere
            return None

    def send_to_review(self) -> dict[str, Any] | None:
        """One click: the shadow comparison's disagreements to the review queue."""
        from studio.monitoring.shadow import send_disagreements

        data_dir = self._data_dir()
        if data_dir is None or not data_dir.exists():
            return None
        try:
            out = send_disagreements(self.project, data_dir)
        except Exception as e:  # noqa: BLE001  a refusal is a message, never a crash of the page
            self.lines.setText(f"not sent to review: {getattr(e, 'message', e)}")
            return None
        self.summary.setText(f"{out['sent']} disagreements sent to review"
                             + (f" ({out['already']} already there)" if out["already"] else "")
                             + (f", {out['no_image']} without an image" if out["no_image"] else ""))
        return out

    def show_state(self, state: dict[str, Any] | None, next_in_s: float = 0.0) -> None:
        """The gate's state as read elsewhere (the shadow panel's worker, ``monitoring.loop.snapshot``; the
        next one due in ``next_in_s``): shown at once; this panel's own read on the GUI thread pauses meanwhile."""
        self._fed_until = time.monotonic() + max(FED_S, 2 * next_in_s + 5.0)
        self._show(state or {"defined": False, "passed": False, "checks": []})

    def refresh(self) -> None:
        from studio.monitoring.gate import evaluate

        if time.monotonic() < self._fed_until:
            return
        data_dir = self._data_dir()
        try:
            self.state = evaluate(self.project, data_dir if data_dir is not None and data_dir.exists() else None)
        except Exception as e:  # noqa: BLE001  a bad gate file: say it, never break the page
            self.state = None
            self.show()
            self.summary.setText(f"the promotion gate cannot be read: {getattr(e, 'message', e)}")
            self.lines.setText("")
            return
        self._show(self.state)

    def _show(self, state: dict[str, Any]) -> None:
        self.state = state
        if not self.state["defined"]:
            self.hide()
            return
        self.show()
        ok = self.state["passed"]
        who = self.state.get("model_id") or "no candidate yet"
        self.summary.setText(f"{who}: " + ("PASSED — may be promoted" if ok else "not passed"))
        self.summary.setStyleSheet(f"color: {PASS_GREEN if ok else REJECT_RED}; font-weight: 600;")
        self.lines.setText("\n".join(f"{'✓' if c['ok'] else '✗'}  {c['name']}: needs {_fmt(c['required'])}, "
                                     f"has {_fmt(c['actual'])}" for c in self.state["checks"]))
