"""The shadow comparison while one runs, on the Station page and the kiosk: where the loop stands.

``ShadowPanel(project, data_dir)`` reads ``studio.monitoring.loop.snapshot``
(the log read-only, the review queue, the gate) on a worker thread every
``REFRESH_MS`` and shows:

- the loop in one line: parts waiting for review, the candidate in shadow
  (model id, against the live model or the incumbent), the gate passed or not;
- the 2×2 table (candidate × what decides today), the agreement and Cohen's
  kappa, each with its interval;
- two thumbnail galleries from the log's ``image_path``: the candidate-only
  rejects and the candidate-only passes (newest first; a tooltip gives part,
  both verdicts and the score).

Hidden while the log holds nothing to compare (no shadow rows, no incumbent
verdicts). The GUI thread only sets labels and pixmaps; the images are read
and shrunk on the worker with OpenCV (no Qt object is made or touched
there), and the worker's result waits in a plain attribute for a timer of
the GUI thread.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QGridLayout, QGroupBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from studio.core.errors import StudioError
from studio.gui.style import MUTED, PASS_GREEN, REJECT_RED
from studio.gui.widgets.image_view import to_qimage

REFRESH_MS = 4000
THUMBS = 6              # per gallery
PICKUP_MS = 100         # while a read runs: how often the GUI thread looks for its result
COST_FACTOR = 10        # a read that took t seconds waits at least 10 t before the next (a long pilot's log
                        # in the station's own process: at most ~1/10 of a core, whatever the log's size)


def _pct(v: Any) -> str:
    return "—" if v is None else f"{100 * v:.1f} %"


def _ci(ci: Any, pct: bool) -> str:
    if not ci:
        return ""
    lo, hi = ci
    return f" [{100 * lo:.1f}–{100 * hi:.1f} %]" if pct else f" [{lo:.2f}, {hi:.2f}]"


def load_thumbs(data_dir: Path, parts: list[dict[str, Any]], size: int,
                count: int = THUMBS) -> list[tuple[dict[str, Any], Any]]:
    """The newest ``count`` parts of a gallery with their images shrunk to fit ``size`` (worker thread: numpy and
    OpenCV only, never a Qt object: a Qt call there could wait on a lock the GUI thread holds)."""
    import cv2

    from studio.dataset.store import read_image

    out = []
    for p in sorted(parts, key=lambda r: r["part"], reverse=True)[:count]:
        img = None
        if p.get("image_path"):
            try:
                img = read_image(Path(data_dir) / p["image_path"])
            except StudioError:             # gone (retention) or unreadable: a tile without an image
                img = None
            if img is not None:
                h, w = img.shape[:2]
                k = size / max(h, w)
                if k < 1:
                    img = cv2.resize(img, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA)
        out.append((p, img))
    return out


class _Gallery(QWidget):
    def __init__(self, title: str, colour: str, size: int, fg: str, count: int = THUMBS,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.title_text = title
        self.size = size
        self.title = QLabel(title)
        self.title.setStyleSheet(f"color: {colour}; font-weight: 600;")
        self.row = QHBoxLayout()
        self.row.setContentsMargins(0, 0, 0, 0)
        self.row.setSpacing(4)
        self.thumbs: list[QLabel] = []
        for _ in range(count):
            lab = QLabel()
            lab.setFixedSize(size, size)
            lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
            lab.setStyleSheet(f"border: 2px solid {colour}; border-radius: 3px; background: #111; color: {fg};")
            lab.hide()
            self.thumbs.append(lab)
            self.row.addWidget(lab)
        self.empty = QLabel("none")
        self.empty.setStyleSheet(f"color: {MUTED};")
        self.row.addWidget(self.empty)
        self.row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.title)
        lay.addLayout(self.row)
        self.parts: list[int] = []

    def show_parts(self, total: int, thumbs: list[tuple[dict[str, Any], Any]]) -> None:
        self.title.setText(f"{self.title_text} ({total})")
        self.parts = [p["part"] for p, _ in thumbs]
        for i, lab in enumerate(self.thumbs):
            if i >= len(thumbs):
                lab.hide()
                continue
            p, img = thumbs[i]
            if img is not None:
                lab.setPixmap(QPixmap.fromImage(to_qimage(img)))
            else:
                lab.clear()
                lab.setText(f"#{p['part']}\nno image")
            lab.setToolTip(f"part {p['part']}: candidate {p.get('candidate')}, line {p.get('live')}"
                           + (f", score {p['score']:.3f}" if isinstance(p.get("score"), (int, float)) else ""))
            lab.show()
        self.empty.setVisible(not thumbs)


class ShadowPanel(QGroupBox):

    def __init__(self, project: Any, data_dir: Path | str | Callable[[], Any] | None = None, *,
                 dark: bool = False, thumb: int = 64, compact: bool = False, count: int = THUMBS,
                 parent: QWidget | None = None):
        super().__init__("" if compact else "Shadow comparison", parent)
        self.setObjectName("shadowPanel")
        self.project = project
        self.data_dir = data_dir
        self.thumb = thumb
        self.compact = compact      # the kiosk: no title, the table in words
        self.count = count
        self.snap: dict[str, Any] | None = None
        self._busy = False
        self._result: tuple | None = None   # the worker's (data_dir, snapshot, thumbs, thumbs), picked up here
        self._next_at = 0.0             # monotonic time before which a timer tick reads nothing
        self.gate_panel: Any = None     # a GatePanel fed with the gate read here (``feeds``)
        self.last_read_s: float | None = None
        fg = "#e8eaed" if dark else "#222222"
        if dark:
            self.setStyleSheet(f"QGroupBox#shadowPanel {{ color: {fg}; border: 1px solid #2a2e35; border-radius: 6px;"
                               " margin-top: 14px; padding-top: 4px; } QGroupBox#shadowPanel::title"
                               " { subcontrol-origin: margin; left: 8px; } QLabel { color: #e8eaed; }")
        self.loop_label = QLabel("")
        self.loop_label.setWordWrap(True)
        self.loop_label.setTextFormat(Qt.TextFormat.PlainText)     # model ids are text, never markup
        self.loop_label.setStyleSheet("font-weight: 600;")
        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(2)
        self.cells: dict[str, QLabel] = {}
        self.live_caption = QLabel("line: reject")
        self.live_pass_caption = QLabel("line: pass")
        grid.addWidget(QLabel(""), 0, 0)
        grid.addWidget(self.live_caption, 0, 1)
        grid.addWidget(self.live_pass_caption, 0, 2)
        grid.addWidget(QLabel("candidate: reject"), 1, 0)
        grid.addWidget(QLabel("candidate: pass"), 2, 0)
        for key, r, c in (("both_reject", 1, 1), ("only_shadow_reject", 1, 2),
                          ("only_live_reject", 2, 1), ("both_pass", 2, 2)):
            lab = QLabel("0")
            lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
            lab.setMinimumWidth(56)
            agree = key.startswith("both")
            lab.setStyleSheet(f"font-weight: 700; font-size: 12pt; border-radius: 3px; padding: 1px 6px;"
                              f" background: {'rgba(30, 158, 74, 60)' if agree else 'rgba(211, 47, 47, 70)'};")
            self.cells[key] = lab
            grid.addWidget(lab, r, c)
        self.figures = QLabel("")
        self.figures.setWordWrap(True)
        left = QVBoxLayout()
        if compact:
            self.figures.setWordWrap(False)
            self.figures.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # cut, never widen
            grid_host = QWidget(self)           # the cells are kept (and read), the figures say the table
            grid_host.setLayout(grid)
            grid_host.hide()
        else:
            left.addLayout(grid)
        left.addWidget(self.figures)
        left.addStretch(1)
        self.rejects = _Gallery("Candidate-only rejects", REJECT_RED, thumb, fg, count)
        self.passes = _Gallery("Candidate-only passes", PASS_GREEN, thumb, fg, count)
        galleries = QVBoxLayout()
        galleries.setSpacing(4)
        galleries.addWidget(self.rejects)
        galleries.addWidget(self.passes)
        body = QHBoxLayout()
        body.setSpacing(18)
        body.addLayout(left, 1 if compact else 0)
        body.addLayout(galleries, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 6)
        lay.setSpacing(4)
        lay.addWidget(self.loop_label)
        lay.addLayout(body)
        self.hide()
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        # the worker never touches Qt objects (a panel may be deleted while it reads): it leaves its result
        # in a plain attribute, and this timer, on the GUI thread, picks it up
        self.pickup = QTimer(self)
        self.pickup.setInterval(PICKUP_MS)
        self.pickup.timeout.connect(self._pick_up)
        import studio.dataset.store  # noqa: F401  the worker's modules imported here, on the GUI thread,
        import studio.labels.review  # noqa: F401  so the worker never takes an import lock first
        import studio.monitoring.loop  # noqa: F401
        import studio.monitoring.report  # noqa: F401
        self.refresh()

    def feeds(self, gate_panel: Any) -> None:
        """Hand each read's gate state to ``gate_panel`` (one read of the log, off the GUI thread, for both)."""
        self.gate_panel = gate_panel

    def set_data_dir(self, data_dir: Any) -> None:
        self.data_dir = data_dir
        self.refresh(force=True)

    def _where(self) -> Path | None:
        d = self.data_dir() if callable(self.data_dir) else self.data_dir
        if d is None and self.project is not None:
            from studio.station import resolve_data_dir

            try:
                d = resolve_data_dir(self.project)
            except Exception:  # noqa: BLE001  an invalid station.yaml is shown elsewhere
                d = None
        return Path(d) if d is not None else None

    def pending(self) -> bool:
        """A read is running or its result is not shown yet."""
        return self._busy or self._result is not None

    def _pick_up(self) -> None:
        out, self._result = self._result, None
        if out is not None:
            self._apply(out)
        if not self.pending():
            self.pickup.stop()

    # ---- reading, off the GUI thread ----------------------------------------------------
    def refresh(self, force: bool = False) -> None:
        """Start one read on a worker thread (none when one is still running, or too soon after a slow one)."""
        if self._busy or (not force and time.monotonic() < self._next_at):
            return
        self._busy = True
        self.pickup.start()
        where = self._where()
        threading.Thread(target=self._read, args=(where,), name="shadow-panel", daemon=True).start()

    def read_now(self) -> dict[str, Any]:
        """The same read on the calling thread, applied at once (tests, a first paint)."""
        where = self._where()
        out = self._load(where)
        self._apply((where, *out))
        return out[0]

    def _load(self, where: Path | None) -> tuple[dict[str, Any], list, list]:
        t0 = time.monotonic()
        try:
            return self._load_timed(where)
        finally:
            self.last_read_s = time.monotonic() - t0
            self._next_at = time.monotonic() + COST_FACTOR * self.last_read_s

    def _load_timed(self, where: Path | None) -> tuple[dict[str, Any], list, list]:
        from studio.monitoring.loop import snapshot

        try:
            snap = snapshot(self.project, where)
        except Exception as e:  # noqa: BLE001  a panel beside the line never breaks the page
            snap = {"shadow": None, "review_waiting": None, "gate": None, "problems": [str(e)]}
        s = snap.get("shadow") or {}
        rej = load_thumbs(where, s.get("model_only_rejects") or [], self.thumb, self.count) if s and where else []
        pas = load_thumbs(where, s.get("model_only_passes") or [], self.thumb, self.count) if s and where else []
        return snap, rej, pas

    def _read(self, where: Path | None) -> None:
        try:
            self._result = (where, *self._load(where))
        finally:
            self._busy = False

    # ---- showing (GUI thread) -------------------------------------------------------
    def _apply(self, out: tuple[Path | None, dict[str, Any], list, list]) -> None:
        from studio.monitoring.loop import loop_line

        where, snap, rej, pas = out
        if where != self._where():      # read before the page was attached to another station: stale
            return
        if self.gate_panel is not None and not any(p.startswith("promotion gate") for p in snap.get("problems", [])):
            self.gate_panel.show_state(snap.get("gate"),      # an unreadable gate file: the gate panel says it
                                       max(REFRESH_MS / 1000, self._next_at - time.monotonic()))
        self.snap = snap
        s = snap.get("shadow")
        if s is None:
            self.hide()
            return
        line = "the incumbent" if s.get("against") == "incumbent" else "the live model"
        if not self.compact:
            self.setTitle(f"Shadow comparison: {s.get('model_id')} against {line}")
        self.live_caption.setText("incumbent: reject" if s.get("against") == "incumbent" else "live: reject")
        self.live_pass_caption.setText("incumbent: pass" if s.get("against") == "incumbent" else "live: pass")
        text = loop_line(snap)
        gate = snap.get("gate")
        self.loop_label.setText(text)
        self.loop_label.setToolTip(text)
        self.loop_label.setStyleSheet("font-weight: 600;" + (
            f" color: {PASS_GREEN};" if gate and gate.get("passed") else ""))
        for key, lab in self.cells.items():
            lab.setText(str(s["table"].get(key, 0)))
        kappa = s.get("kappa")
        t = s["table"]
        agreement = f"agreement {_pct(s.get('agreement'))}{_ci(s.get('agreement_ci'), True)}"
        kappa_text = f"Cohen's kappa {'—' if kappa is None else f'{kappa:.3f}'}{_ci(s.get('kappa_ci'), False)}"
        if self.compact:        # four short lines beside the galleries
            self.figures.setText(f"{s.get('n', 0)} parts · both {t['both_reject']} reject, {t['both_pass']} pass\n"
                                 f"only candidate rejects {t['only_shadow_reject']} · only line "
                                 f"{t['only_live_reject']}\n{agreement}\n{kappa_text}")
            self.figures.setToolTip(self.figures.text())
        else:
            self.figures.setText(f"{s.get('n', 0)} parts compared\n{agreement}\n{kappa_text}")
        self.rejects.show_parts(t.get("only_shadow_reject", 0), rej)
        self.passes.show_parts(t.get("only_live_reject", 0), pas)
        self.show()
