"""Two models side by side on the same test split, each at its saved operating point."""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QHeaderView, QLabel, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from studio.gui.pages.base import caption, row
from studio.gui.widgets import TaskRunner

ROWS = [("image_auroc", "Image AUROC"), ("average_precision", "Average precision"), ("threshold", "Threshold"),
        ("recall", "Recall"), ("precision", "Precision"), ("false_reject_rate", "False-reject rate"),
        ("accuracy", "Accuracy"), ("escapes", "Defective parts passed"), ("false_rejects", "Good parts not passed")]


def cell(model: dict[str, Any], key: str) -> str:
    c = model.get("confusion") or {}
    if key == "escapes":
        return f"{c.get('fn', 0)} of {c.get('fn', 0) + c.get('tp', 0)}"
    if key == "false_rejects":
        return f"{c.get('fp', 0)} of {c.get('fp', 0) + c.get('tn', 0)}"
    v = model.get(key)
    if v is None:
        return "n/a"
    if key in ("image_auroc", "average_precision"):
        return f"{v:.3f}"
    if key == "threshold":
        band = model.get("review_band")
        return f"{v:.4g}" + (f"   (review up to {band['high']:.4g})" if band else "")
    iv = (model.get("intervals") or {}).get(key)
    text = f"{100 * v:.1f} %"
    if iv:
        lo, hi = iv["wilson"]
        text += f"   [{100 * lo:.1f} – {100 * hi:.1f} %]"
    return text


class CompareDialog(QDialog):
    def __init__(self, project: Any, cards: list[dict[str, Any]], parent: QWidget | None = None):
        super().__init__(parent)
        self.project = project
        self.result: dict[str, Any] | None = None
        self.setWindowTitle("Compare two models on the same test split")
        self.resize(760, 480)
        self.first, self.second = QComboBox(), QComboBox()
        for combo in (self.first, self.second):
            for card in cards:
                combo.addItem(f"{card['model_id']} ({card.get('task', '')})", card["model_id"])
        if len(cards) > 1:
            self.second.setCurrentIndex(1)
        self.button = QPushButton("Compare")
        self.button.setProperty("role", "primary")
        self.button.clicked.connect(self.run)
        self.status = caption("Both models score the project's test split; each is judged at its saved threshold. "
                              "Brackets: 95 % Wilson confidence intervals.")
        self.table = QTableWidget(len(ROWS), 2)
        self.table.setVerticalHeaderLabels([name for _, name in ROWS])
        self.table.setHorizontalHeaderLabels(["first", "second"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addLayout(row(QLabel("Compare"), self.first, QLabel("with"), self.second, self.button, stretch_last=True))
        lay.addWidget(self.status)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.verdict)
        self.runner = TaskRunner(self)
        self.runner.finished.connect(self.show_result)
        self.runner.failed.connect(lambda e: self.status.setText("The comparison failed."))
        self.runner.running_changed.connect(lambda busy: self.button.setEnabled(not busy))
        self.runner.status.connect(self.status.setText)

    def run(self) -> None:
        from studio.evaluation.compare import compare

        a, b = self.first.currentData(), self.second.currentData()
        if a == b:
            self.status.setText("Choose two different models.")
            return
        project = self.project
        self.status.setText(f"Scoring the test split with {a} and {b} …")
        self.runner.start(lambda ctx: compare(project, a, b, task_ctx=ctx))

    def show_result(self, result: dict[str, Any]) -> None:
        self.result = result
        a, b = result["models"]
        self.table.setHorizontalHeaderLabels([a["model_id"], b["model_id"]])
        for r, (key, _) in enumerate(ROWS):
            for c, model in enumerate((a, b)):
                self.table.setItem(r, c, QTableWidgetItem(cell(model, key)))
        p = result["paired"]
        chance = ("could well be chance" if p["mcnemar_p"] >= 0.05 else "is unlikely to be chance")
        self.verdict.setText(f"On the same {p['n']} test images: only {a['model_id']} is right on "
                             f"{p['only_first_right']}, only {b['model_id']} on {p['only_second_right']}, both wrong "
                             f"on {p['both_wrong']}. The difference {chance} (McNemar p = {p['mcnemar_p']:.3g}).")
        self.status.setText(f"Test split {result['test_split']['digest']}: the same images for both models.")

    def done(self, r: int) -> None:   # noqa: D401  closing waits for a running comparison
        self.runner.shutdown()
        super().done(r)
