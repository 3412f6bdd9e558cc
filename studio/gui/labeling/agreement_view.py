"""Agreement between labelers (kappa per pair, Fleiss, per class, IoU, against the reference)
and data readiness (usable images per class against the usual needs, which task to start with)."""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from studio.gui.style import BORDERLINE_AMBER, PASS_GREEN, REJECT_RED

LEVEL_COLOURS = {"ready": PASS_GREEN, "enough to start": BORDERLINE_AMBER, "too few": REJECT_RED}


def _k(v: Any) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def _table(headers: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.verticalHeader().setVisible(False)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    return t


def _fill(t: QTableWidget, rows: list[list[str]]) -> None:
    t.setRowCount(len(rows))
    for r, cells in enumerate(rows):
        for c, text in enumerate(cells):
            t.setItem(r, c, QTableWidgetItem(text))


class AgreementView(QWidget):
    def __init__(self, project: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.project = project
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("font-size: 11pt;")
        self.pairs = _table(["Labelers", "Cohen's kappa", "Agreement", "Images"])
        self.classes = _table(["Class", "Kappa", "Specific agreement", "Labels"])
        self.reference = _table(["Labeler", "Agrees with reference", "Decided images", "Last week"])
        refresh = QPushButton("Recompute")
        refresh.clicked.connect(self.refresh)
        left = QVBoxLayout()
        left.addWidget(self.summary)
        for title, w in (("Labeler pairs", self.pairs), ("Per class", self.classes),
                         ("Against the reference labeler, week by week", self.reference)):
            g = QGroupBox(title)
            QVBoxLayout(g).addWidget(w)
            left.addWidget(g)
        left.addWidget(refresh)
        self.ready_table = _table(["Task", "Have", "Usual need", "Status"])
        self.ready_table.setToolTip("Usual need: images per class (anomaly: good images only); "
                                    "detection and segmentation count images with boxes / masks")
        self.recommendation = QLabel()
        self.recommendation.setWordWrap(True)
        self.recommendation.setStyleSheet("font-size: 11pt; font-weight: 600;")
        self.counts = QLabel()
        self.counts.setWordWrap(True)
        ready = QGroupBox("Data readiness")
        rl = QVBoxLayout(ready)
        rl.addWidget(self.counts)
        rl.addWidget(self.ready_table)
        rl.addWidget(self.recommendation)
        self.plan = PlanForm(project)
        right = QVBoxLayout()
        right.addWidget(ready, 1)
        right.addWidget(self.plan)
        lay = QHBoxLayout(self)
        lay.addLayout(left, 3)
        lay.addLayout(right, 2)

    def refresh(self) -> None:
        self.plan.refresh()
        self._refresh_figures()

    def _refresh_figures(self) -> None:
        from studio.labels.agreement import agreement_report
        from studio.labels.readiness import readiness

        try:
            rep = agreement_report(self.project)
            rd = readiness(self.project)
        except Exception as e:
            self.summary.setText(f"Could not compute agreement: {e}")
            return
        iou = rep["iou"]
        self.summary.setText(
            f"<b>{rep['images_with_multiple_labels']}</b> images labeled by two or more of "
            f"{len(rep['labelers'])} labelers. Fleiss' kappa: <b>{_k(rep['fleiss_kappa'])}</b>. "
            f"IoU of boxes: <b>{_k(iou['boxes']['mean_iou'])}</b> ({iou['boxes']['pairs']} pairs), "
            f"of masks: <b>{_k(iou['masks']['mean_iou'])}</b> ({iou['masks']['pairs']} pairs). "
            f"<b>{len(rep['disputed'])}</b> images wait for the reference labeler.")
        _fill(self.pairs, [[" / ".join(p["labelers"]), _k(p["kappa"]), f"{p['percent_agreement'] * 100:.0f} %",
                            str(p["n"])] for p in rep["cohen_kappa"]])
        _fill(self.classes, [[c, _k(v["kappa"]), _k(v["specific_agreement"]), str(v["ratings"])]
                             for c, v in rep["per_class"].items()])
        _fill(self.reference, [[r["labeler"], f"{r['agreement'] * 100:.0f} %", str(r["n"]),
                                f"{r['by_week'][-1]['week']}: {r['by_week'][-1]['agreement'] * 100:.0f} %"]
                               for r in rep["reference_agreement"]])
        rows = []
        for task, v in rd["tasks"].items():
            rows.append([f"{task}", str(v["have"]), f"{v['need'][0]}–{v['need'][1]}", v["level"]])
        _fill(self.ready_table, rows)
        for r, (_t, v) in enumerate(rd["tasks"].items()):
            self.ready_table.item(r, 1).setToolTip(v["what"])
        for r, (_t, v) in enumerate(rd["tasks"].items()):
            from PySide6.QtGui import QColor

            self.ready_table.item(r, 3).setForeground(QColor(LEVEL_COLOURS.get(v["level"], "#111")))
        per = ", ".join(f"{c}: {v['images']}" for c, v in rd["per_class"].items()) or "none"
        self.counts.setText(f"{rd['good']} good images; defect images per class: {per}; "
                            f"defect rate {rd['defect_rate'] * 100:.1f} %; {rd['disputed']} disputed and "
                            f"{rd['borderline']} borderline not counted.")
        rec = rd["recommendation"]
        self.recommendation.setText(f"Recommendation — start with {rec['task']}: {rec['why']}.")


class PlanForm(QGroupBox):
    """Who labels what: the labelers, the reference labeler and the share sent to several labelers."""

    def __init__(self, project: Any, parent: QWidget | None = None):
        super().__init__("Labelers and overlap set", parent)
        self.project = project
        self.labelers = QLineEdit()
        self.labelers.setPlaceholderText("anna, ben, carl")
        self.reference = QLineEdit()
        self.overlap = QDoubleSpinBox()
        self.overlap.setRange(0, 100)
        self.overlap.setSuffix(" %")
        self.copies = QSpinBox()
        self.copies.setRange(2, 10)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setProperty("role", "caption")
        save = QPushButton("Save the plan")
        save.clicked.connect(self.save)
        form = QFormLayout(self)
        form.addRow("Labelers", self.labelers)
        form.addRow("Reference labeler", self.reference)
        form.addRow("Overlap share", self.overlap)
        form.addRow("Labelers per overlap image", self.copies)
        form.addRow(save, self.info)

    def refresh(self) -> None:
        from studio.labels.assignment import LabelingPlan

        try:
            plan = LabelingPlan.load(self.project.root)
        except Exception as e:
            self.info.setText(str(e))
            return
        self.labelers.setText(", ".join(plan.labelers))
        self.reference.setText(plan.reference or "")
        self.overlap.setValue(plan.overlap * 100)
        self.copies.setValue(plan.copies)
        self._show(plan)

    def _show(self, plan: Any) -> None:
        ids = [r.id for r in self.project.dataset]
        if not plan.labelers:
            self.info.setText("No plan: every labeler sees every image.")
            return
        n = sum(plan.in_overlap(i) for i in ids)
        per = ", ".join(f"{who} {sum(who in plan.assigned(i) for i in ids)}" for who in plan.labelers)
        self.info.setText(f"{n} of {len(ids)} images go to several labelers; images each: {per}.")

    def save(self) -> None:
        from studio.gui.widgets import error_dialog
        from studio.labels.assignment import LabelingPlan

        from studio.gui.sign_in import session_for

        ok = session_for(self.project).authorize(self, "engineer", "Changing who labels and who reviews",
                                                 action="labels.plan")
        if ok is None:
            return
        plan = LabelingPlan.load(self.project.root)
        before = {k: getattr(plan, k) for k in ("labelers", "reference", "overlap", "copies")}
        plan.labelers = [x.strip() for x in self.labelers.text().split(",") if x.strip()]
        plan.reference = self.reference.text().strip() or None
        plan.overlap = self.overlap.value() / 100
        plan.copies = self.copies.value()
        try:
            plan.save(self.project.root)
        except Exception as e:
            error_dialog(self, e, "Could not save the labeling plan")
            return
        from studio.audit.trail import AuditTrail

        AuditTrail(self.project.root).append("labels.plan", actor=ok[0].name, what="labeling plan", before=before,
                                             after={k: getattr(plan, k) for k in before}, reason=ok[1])
        self._show(plan)
