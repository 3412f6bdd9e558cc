"""The reference labeler's review queue: each disputed or borderline image with every labeler's answer,
decided with a rationale (and optionally added to the criteria document as an example)."""
from __future__ import annotations

import html
from typing import Any, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget, QPushButton,
                               QVBoxLayout, QWidget)

from studio.gui.labeling.canvas import LabelCanvas
from studio.gui.widgets import error_dialog

EXAMPLE_CHOICES = [("", "no"), ("reject", "as a clear reject"), ("accept", "as a clear accept"),
                   ("borderline", "as a borderline case")]


def history_html(project: Any, image_id: str, last: int = 8) -> str:
    """The audit trail of one image: who decided what, when (newest last)."""
    hist = project.labels.history(image_id)
    rows = []
    for l in hist[-last:]:
        what = "withdrew their label" if l.kind == "withdraw" else (
            f"decided {l.category}" if l.kind == "reference" else f"labeled {l.category}")
        rows.append(f"{html.escape(l.time[:19].replace('T', ' '))} {html.escape(l.labeler)} {what}")
    more = f" ({len(hist) - last} earlier)" if len(hist) > last else ""
    return f"History{more}:<br>" + "<br>".join(rows)


class ReviewView(QWidget):
    decided = Signal()

    def __init__(self, project: Any, reviewer: Callable[[], str], parent: QWidget | None = None):
        super().__init__(parent)
        self.project = project
        self._reviewer = reviewer
        self.items: list[Any] = []
        self.queue = QListWidget()
        self.queue.setFixedWidth(250)
        self.queue.currentRowChanged.connect(self._show)
        self.canvas = LabelCanvas()
        self.canvas.set_placeholder("Nothing to review: no disagreements and no borderline marks.")
        self.answers = QLabel()
        self.answers.setWordWrap(True)
        self.answers.setTextFormat(Qt.TextFormat.RichText)
        self.verdict = QComboBox()
        self.verdict.addItem("NG (reject)", "ng")
        self.verdict.addItem("OK (accept)", "ok")
        self.defect = QComboBox()
        self.rationale = QLineEdit()
        self.rationale.setPlaceholderText("which rule decides it, and the measurement")
        self.example = QComboBox()
        for key, text in EXAMPLE_CHOICES:
            self.example.addItem(text, key)
        self.reviewer_edit = QLineEdit()
        self.reviewer_edit.setToolTip("Decisions are recorded under the labeler name of the Label tab")
        self.decide_button = QPushButton("Decide (becomes the training label)")
        self.decide_button.setProperty("role", "primary")
        self.decide_button.clicked.connect(self.decide)
        form = QFormLayout()
        form.addRow("Decision", self.verdict)
        form.addRow("Defect class", self.defect)
        form.addRow("Rationale", self.rationale)
        form.addRow("Add to the criteria", self.example)
        form.addRow("Reference labeler", self.reviewer_edit)
        self.message = QLabel()
        self.message.setProperty("role", "caption")
        self.message.setWordWrap(True)
        side = QVBoxLayout()
        side.addWidget(self.answers)
        side.addLayout(form)
        side.addWidget(self.decide_button)
        side.addWidget(self.message)
        side.addStretch(1)
        side_w = QWidget()
        side_w.setLayout(side)
        side_w.setFixedWidth(330)
        lay = QHBoxLayout(self)
        lay.addWidget(self.queue)
        lay.addWidget(self.canvas, 1)
        lay.addWidget(side_w)

    def count(self) -> int:
        from studio.labels.review import review_queue

        try:
            return len(review_queue(self.project))
        except Exception:
            return 0

    def refresh(self) -> None:
        from studio.labels.assignment import LabelingPlan
        from studio.labels.review import review_queue

        try:
            ref = LabelingPlan.load(self.project.root).reference
        except Exception:
            ref = None
        me = self._reviewer()
        self.reviewer_edit.setText(me)
        self.reviewer_edit.setReadOnly(True)
        self.defect.clear()
        for name in self.project.criteria.class_names():
            self.defect.addItem(name, name)
        if ref and me != ref:
            # the queue shows everyone's labels: only the reference labeler may look (labeling stays blind)
            self.items = []
            self.queue.clear()
            self.canvas.set_image(None)
            self.canvas.set_placeholder(f"Only the reference labeler ({ref}) reviews.")
            self.answers.setText(f"<b>{html.escape(me)}</b> labels blind. The review queue is for "
                                 f"<b>{html.escape(ref)}</b>, the reference labeler.")
            self.decide_button.setEnabled(False)
            return
        self.items = review_queue(self.project)
        self.queue.blockSignals(True)
        self.queue.clear()
        for it in self.items:
            self.queue.addItem(f"{it.image_id}\n{it.reason}: " +
                               " / ".join(sorted({l.category for l in it.labels.values()})))
        self.queue.blockSignals(False)
        self.decide_button.setEnabled(bool(self.items))
        if self.items:
            self.queue.setCurrentRow(0)
            self._show(0)
        else:
            self.canvas.set_image(None)
            self.answers.setText("<b>The queue is empty.</b>")

    def _show(self, r: int) -> None:
        if not 0 <= r < len(self.items):
            return
        from studio.labels.shapes import load_mask

        it = self.items[r]
        shapes = [s for l in it.labels.values() for s in l.shapes]
        try:
            img = self.project.dataset.load(self.project.dataset.get(it.image_id))
            self.canvas.set_image(img, shapes, masks=lambda f: load_mask(self.project.root, f))
        except Exception as e:
            self.canvas.set_image(None)
            self.canvas.set_placeholder(str(e))
        rows = "".join(f"<li><b>{html.escape(n)}</b>: {html.escape(l.category)}"
                       f"{' (' + str(len(l.shapes)) + ' shapes)' if l.shapes else ''}"
                       f" <small>{html.escape(l.time[:16])}</small></li>" for n, l in sorted(it.labels.items()))
        self.answers.setText(f"<b>{html.escape(it.image_id)}</b> — {it.reason}<ul>{rows}</ul>"
                             f"<small>{history_html(self.project, it.image_id)}</small>")
        cls = next((l.defect_class for l in it.labels.values() if l.defect_class), None)
        if cls and self.defect.findData(cls) >= 0:
            self.defect.setCurrentIndex(self.defect.findData(cls))

    def decide(self) -> None:
        from studio.labels.review import decide

        r = self.queue.currentRow()
        if not 0 <= r < len(self.items):
            return
        it = self.items[r]
        verdict = self.verdict.currentData()
        from studio.gui.sign_in import session_for

        signed = session_for(self.project).allow(self, "reference", "Deciding a review case",
                                                 action="review.decision")
        if signed is None:
            return
        self.reviewer_edit.setText(self._reviewer() if signed.open else signed.name)
        try:
            decide(self.project, it.image_id, verdict, self.defect.currentData() if verdict == "ng" else None,
                   labeler=self.reviewer_edit.text().strip(), rationale=self.rationale.text(),
                   example=self.example.currentData() or None)
        except Exception as e:
            error_dialog(self, e, "Could not record the decision")
            return
        self.message.setText(f"{it.image_id}: decided {verdict.upper()}")
        self.rationale.clear()
        self.example.setCurrentIndex(0)
        self.refresh()
        self.decided.emit()
