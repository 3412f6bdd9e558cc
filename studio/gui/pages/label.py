"""Step 3, Label: judge each image against the acceptance criteria, draw what the task needs, review.

Tabs: Label (canvas with boxes / polygons / brush, OK / NG / borderline by
key, the rule beside the image), Review queue (the reference labeler),
Agreement & readiness, Criteria (the versioned document). Labeling is
blind: a labeler sees only their own labels.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt, Slot
from PySide6.QtGui import QBrush, QColor, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (QCheckBox, QComboBox, QGridLayout, QGroupBox, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QPushButton, QScrollArea, QTabWidget, QVBoxLayout, QWidget)

from studio.gui.labeling.canvas import LabelCanvas
from studio.gui.labeling.criteria_panel import CriteriaPanel
from studio.gui.labeling.thumbs import THUMB, ThumbLoader
from studio.gui.labeling.toolbar import ToolBar
from studio.gui.pages.base import Page, caption, row
from studio.gui.style import LABEL_COLOURS, MUTED
from studio.gui.widgets import error_dialog
from studio.labels.criterion import criterion_text

VERDICT_WORDS = {"ok": "OK", "ng": "NG", "borderline": "Borderline"}


def label_text(label: Any) -> str:
    if label is None:
        return "unlabelled"
    if label.verdict == "ng" and label.defect_class:
        return f"NG · {label.defect_class}"
    return VERDICT_WORDS.get(label.verdict, label.verdict)


class LabelPage(Page):
    title = "Label"
    subtitle = "Judge each image against the acceptance criteria. Keys: O = OK, N = NG, 1–9 = NG with " \
               "that defect, B = borderline, → / J next, ← / K previous, Ctrl+Z undo. Draw: R box, P polygon, " \
               "D brush, V pan, Ctrl+S save shapes."

    def __init__(self, project: Any, parent: QWidget | None = None):
        super().__init__(project, parent)
        self.ids: list[str] = []
        self.undo_stack: list[tuple[str, Any]] = []      # (image_id, this labeler's label before, or None)
        self.thumbs = ThumbLoader(project, self._set_icon, self)

        self.tabs = QTabWidget()
        self.label_tab = QWidget()
        self.tabs.addTab(self.label_tab, "Label")
        self.root_layout.addWidget(self.tabs, 1)

        self.image_list = QListWidget()
        self.image_list.setIconSize(THUMB)
        self.image_list.setFixedWidth(250)
        self.image_list.setUniformItemSizes(True)
        self.image_list.setTextElideMode(Qt.TextElideMode.ElideLeft)
        self.image_list.currentRowChanged.connect(self._show_row)

        self.canvas = LabelCanvas(class_colour=self._class_colour)
        self.canvas.set_placeholder("No images yet.\nCapture some on the Capture step (Ctrl+2).")
        self.canvas.shapes_changed.connect(self._on_shapes_changed)
        self.view = self.canvas
        self.tools = ToolBar(self.canvas)
        self.image_title = QLabel()
        self.image_title.setStyleSheet("font-size: 12pt; font-weight: 600;")
        self.current_label = QLabel()
        self.position_label = caption("")
        centre = QVBoxLayout()
        # the image's label beside its name, the drawing tools on a row of their own: the page fits
        # a 1280 px window with images loaded (it needed 1,176 px of page with both on one row)
        centre.addLayout(row(self.image_title, self.current_label, None, self.position_label))
        centre.addLayout(row(None, self.tools))
        centre.addWidget(self.canvas, 1)
        self.measure_label = QLabel()
        self.measure_label.setStyleSheet("font-weight: 600;")
        centre.addWidget(self.measure_label)

        side = QVBoxLayout()
        side.setSpacing(6)
        self.ok_button = QPushButton("OK   [O]")
        self.ok_button.setProperty("role", "ok")
        self.ok_button.clicked.connect(lambda: self.label_current("ok"))
        self.ng_button = QPushButton("NG   [N]")
        self.ng_button.setProperty("role", "ng")
        self.ng_button.clicked.connect(lambda: self.label_current("ng"))
        self.class_combo = QComboBox()
        self.class_combo.setToolTip("Defect class for NG and for shapes (keys 1–9 choose it and label NG at once)")
        self.class_combo.currentIndexChanged.connect(self._class_chosen)
        self.borderline_button = QPushButton("Borderline   [B]")
        self.borderline_button.setProperty("role", "borderline")
        self.borderline_button.setToolTip("Cannot tell by the rules: the reference labeler decides")
        self.borderline_button.clicked.connect(lambda: self.label_current("borderline"))
        side.addLayout(row(self.ok_button, self.ng_button))
        side.addWidget(self.class_combo)
        side.addWidget(self.borderline_button)
        self.prev_button = QPushButton("← Previous")
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.next_button = QPushButton("Next →")
        self.next_button.clicked.connect(lambda: self.step(1))
        side.addLayout(row(self.prev_button, self.next_button))
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Ctrl+Z: the last drawing step on this image, else the last label")
        self.undo_button.clicked.connect(self.undo)
        self.redo_button = QPushButton("Redo")
        self.redo_button.setToolTip("Ctrl+Shift+Z or Ctrl+Y: redo a drawing step")
        self.redo_button.clicked.connect(self.redo)
        side.addLayout(row(self.undo_button, self.redo_button))
        self.save_button = QPushButton("Save shapes  [Ctrl+S]")
        self.save_button.setToolTip("Keep the drawn shapes with your label (giving a verdict saves them too)")
        self.save_button.clicked.connect(self.save_shapes)
        side.addWidget(self.save_button)

        counts = QGroupBox("My labels")
        grid = QGridLayout(counts)
        grid.setVerticalSpacing(1)
        self.count_labels: dict[str, QLabel] = {}
        for i, (key, text) in enumerate([("ok", "OK"), ("ng", "NG"), ("borderline", "Borderline"),
                                         ("unlabelled", "Unlabelled")]):
            value = QLabel("0")
            value.setAlignment(Qt.AlignmentFlag.AlignRight)
            value.setStyleSheet(f"font-weight: 700; color: {LABEL_COLOURS.get(key, MUTED)};")
            grid.addWidget(QLabel(text), i // 2, (i % 2) * 2)
            grid.addWidget(value, i // 2, (i % 2) * 2 + 1)
            self.count_labels[key] = value
        side.addWidget(counts)
        from studio.gui.sign_in import session_for

        # with accounts the labeler is the signed-in person, never typed (before any account: free text)
        self.session = session_for(project)
        self.labeler_edit = QLineEdit(self.session.labeler())
        self.labeler_edit.editingFinished.connect(self._labeler_changed)
        self.session.changed.connect(self._signed_in_changed)
        self._signed_in_changed(refresh=False)
        side.addWidget(caption("Labeler (recorded with every label)"))
        side.addWidget(self.labeler_edit)
        self.blind_check = QCheckBox("Blind: show only my labels")
        self.blind_check.setChecked(True)
        self.blind_check.setToolTip("Off: show each image's training label (after agreement and review)")
        self.blind_check.toggled.connect(lambda _on: self._labeler_changed())
        self.mine_check = QCheckBox("Only images assigned to me")
        self.mine_check.setChecked(True)
        self.mine_check.toggled.connect(lambda _on: self.refresh())
        side.addWidget(self.blind_check)
        side.addWidget(self.mine_check)
        self.criteria_panel = CriteriaPanel(project, current_image=lambda: self.current_id,
                                            author=lambda: self.labeler)
        self.criteria_panel.example_added.connect(lambda i: self.message.setText(f"{i} added to the criteria"))
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.criteria_panel)
        side.addWidget(scroll, 1)
        self.message = caption("")
        side.addWidget(self.message)
        side_w = QWidget()
        side_w.setLayout(side)
        side_w.setFixedWidth(260)
        tab_lay = QVBoxLayout(self.label_tab)
        tab_lay.setContentsMargins(4, 6, 4, 4)
        tab_lay.addLayout(row(self.image_list, centre, side_w), 1)
        self._add_other_tabs()
        self._add_shortcuts()

    def _add_other_tabs(self) -> None:
        from studio.gui.labeling.agreement_view import AgreementView
        from studio.gui.labeling.criteria_editor import CriteriaEditor
        from studio.gui.labeling.review_view import ReviewView

        self.review = ReviewView(self.project, reviewer=lambda: self.labeler)
        self.review.decided.connect(self._after_decision)
        self.agreement = AgreementView(self.project)
        self.criteria_editor = CriteriaEditor(self.project, author=lambda: self.labeler)
        self.criteria_editor.saved.connect(self._after_decision)
        self.tabs.addTab(self.review, "Review queue")
        self.tabs.addTab(self.agreement, "Agreement && readiness")
        self.tabs.addTab(self.criteria_editor, "Criteria")
        self.tabs.currentChanged.connect(self._tab_shown)

    def _add_shortcuts(self) -> None:
        c = self.canvas
        keys = [("O", lambda: self.label_current("ok")), ("N", lambda: self.label_current("ng")),
                ("B", lambda: self.label_current("borderline")),
                (Qt.Key.Key_Right, lambda: self.step(1)), ("J", lambda: self.step(1)),
                (Qt.Key.Key_Left, lambda: self.step(-1)), ("K", lambda: self.step(-1)),
                (QKeySequence.StandardKey.Undo, self.undo), ("Ctrl+Shift+Z", self.redo),
                ("Ctrl+Y", self.redo), (QKeySequence.StandardKey.Save, self.save_shapes),
                ("R", lambda: self.tools.choose("box")), ("P", lambda: self.tools.choose("polygon")),
                ("D", lambda: self.tools.choose("brush")), ("V", lambda: self.tools.choose("pan")),
                ("F", c.fit), ("+", lambda: c.zoom_by(1.25)), ("-", lambda: c.zoom_by(0.8)),
                ("[", lambda: self.tools.brush_size(-2)), ("]", lambda: self.tools.brush_size(2)),
                (Qt.Key.Key_Delete, c.delete_last)]
        keys += [(str(k), (lambda k=k: self.label_with_class_key(k))) for k in range(1, 10)]
        self.shortcuts = []
        for key, fn in keys:
            sc = QShortcut(QKeySequence(key), self.label_tab)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(fn)
            self.shortcuts.append(sc)

    # ---- who is labeling -----------------------------------------------------
    @property
    def labeler(self) -> str:
        if self.session.enforced:
            return self.session.labeler()
        return self.labeler_edit.text().strip() or self.session.labeler() or "engineer"

    def _signed_in_changed(self, *_: Any, refresh: bool = True) -> None:
        enforced = self.session.enforced
        self.labeler_edit.setReadOnly(enforced)
        self.labeler_edit.setToolTip("The signed-in person (status bar: Sign in)" if enforced else
                                     "No accounts yet: any name (add accounts with 'studio users add')")
        if enforced:
            self.labeler_edit.setText(self.session.labeler() or "(nobody signed in)")
            if refresh:
                self._labeler_changed()

    def shown_labels(self) -> dict[str, Any]:
        """What this page may show: the labeler's own labels (blind) or the training labels."""
        if self.blind_check.isChecked():
            return self.project.labels.view(self.labeler)
        return self.project.labels.current()

    def _labeler_changed(self) -> None:
        self.image_list.setFocus()
        self.refresh()

    def _class_colour(self, name: str | None) -> str:
        from studio.gui.labeling.canvas import PALETTE

        names = self.project.criteria.class_names()
        return PALETTE[names.index(name) % len(PALETTE)] if name in names else "#ffffff"

    # ---- navigation ----------------------------------------------------------
    @property
    def current_id(self) -> str | None:
        r = self.image_list.currentRow()
        return self.ids[r] if 0 <= r < len(self.ids) else None

    def select(self, image_id: str) -> None:
        if image_id in self.ids:
            self.image_list.setCurrentRow(self.ids.index(image_id))

    @Slot()
    def step(self, delta: int) -> None:
        if self.ids:
            r = min(len(self.ids) - 1, max(0, self.image_list.currentRow() + delta))
            self.image_list.setCurrentRow(r)

    @Slot(int)
    def _show_row(self, r: int) -> None:
        if not 0 <= r < len(self.ids):
            self.canvas.set_image(None)
            for w in (self.image_title, self.current_label, self.position_label):
                w.setText("")
            return
        image_id = self.ids[r]
        label = self.shown_labels().get(image_id)
        try:
            from studio.labels.shapes import load_mask

            img = self.project.dataset.load(self.project.dataset.get(image_id))
            self.canvas.set_image(img, label.shapes if label else [],
                                  masks=lambda f: load_mask(self.project.root, f))
        except Exception as e:  # a missing file is a message, not a crash
            self.canvas.set_image(None)
            self.canvas.set_placeholder(str(e))
        self.image_title.setText(image_id)
        self.position_label.setText(f"{r + 1} of {len(self.ids)}")
        self._show_label(image_id)

    def _show_label(self, image_id: str) -> None:
        label = self.shown_labels().get(image_id)
        colour = LABEL_COLOURS.get(label.verdict, MUTED) if label else MUTED
        who = f"  — {label.labeler}, criteria v{label.criteria_version}" if label else ""
        self.current_label.setText(f"<span style='color:{colour}; font-weight:700'>{label_text(label)}</span>{who}")

    # ---- labeling ------------------------------------------------------------
    @Slot(int)
    def _class_chosen(self, _i: int) -> None:
        self.canvas.current_class = self.class_combo.currentData() or None
        self.criteria_panel.show_class(self.canvas.current_class)

    @Slot()
    def label_with_class_key(self, k: int) -> None:
        if k <= self.class_combo.count():
            self.class_combo.setCurrentIndex(k - 1)
            self.label_current("ng")

    def label_current(self, verdict: str, *, advance: bool = True) -> None:
        image_id = self.current_id
        if image_id is None:
            return
        defect = (self.class_combo.currentData() or None) if verdict == "ng" else None
        before = self.project.labels.view(self.labeler).get(image_id)
        shapes = self._canvas_shapes() if verdict != "ok" else []
        if shapes is None or not self._add(image_id, verdict, defect, shapes):
            return
        self.canvas.mark_saved()
        self.undo_stack.append((image_id, before))
        self.message.setText(f"{image_id}: {label_text(self.project.labels.view(self.labeler).get(image_id))}")
        if advance and self.image_list.currentRow() < len(self.ids) - 1:
            self.step(1)

    def _canvas_shapes(self) -> list[dict] | None:
        from studio.labels.shapes import save_mask

        try:
            return self.canvas.shapes_for_saving(lambda m: save_mask(self.project.root, m))
        except Exception as e:
            error_dialog(self, e, "Could not save the brush mask")
            return None

    @Slot()
    def save_shapes(self) -> None:
        """Keep the drawn shapes with this labeler's label (NG with the chosen class when there is none yet)."""
        image_id = self.current_id
        if image_id is None:
            return
        mine = self.project.labels.view(self.labeler).get(image_id)
        shapes = self._canvas_shapes()
        if shapes is None:
            return
        verdict = mine.verdict if mine and mine.verdict != "ok" else "ng"
        defect = mine.defect_class if mine and mine.verdict == "ng" else (self.class_combo.currentData() or None)
        if self._add(image_id, verdict, defect if verdict == "ng" else None, shapes):
            self.undo_stack.append((image_id, mine))
            self.canvas.mark_saved()
            self.message.setText(f"{image_id}: {len(shapes)} shapes saved")

    def _add(self, image_id: str, verdict: str, defect: str | None, shapes: list[dict] | None = None) -> bool:
        if self.session.allow(self, "labeler", "Labeling", action="label") is None:
            return False
        try:
            crit = self.project.criteria
            criterion = criterion_text(crit, defect)
            self.project.labels.add(image_id, verdict, defect, labeler=self.labeler, criterion=criterion,
                                    criteria_version=crit.version, shapes=shapes or [])
        except Exception as e:
            error_dialog(self, e, "Could not save the label")
            return False
        self._update_item(image_id)
        self._update_counts()
        if image_id == self.current_id:
            self._show_label(image_id)
        self.tabs.setTabText(1, f"Review queue ({self.review.count()})")
        self.changed.emit()
        return True

    @Slot()
    def undo(self) -> None:
        """Undo the last drawing step on this image; else re-label the last changed image as it was."""
        if self.canvas.is_dirty() and self.canvas.undo_stack.canUndo():
            self.canvas.undo_stack.undo()
            return
        if not self.undo_stack:
            self.message.setText("Nothing to undo.")
            return
        image_id, before = self.undo_stack.pop()
        self.select(image_id)
        if before is None:
            self.message.setText(f"{image_id} had no label before. The label log only grows, "
                                 "so give it the right label now.")
            return
        if self._add(image_id, before.verdict, before.defect_class, before.shapes):
            self.message.setText(f"Undone: {image_id} is {label_text(before)} again.")
            self._show_row(self.image_list.currentRow())

    @Slot()
    def redo(self) -> None:
        if self.canvas.undo_stack.canRedo():
            self.canvas.undo_stack.redo()

    def _on_shapes_changed(self) -> None:
        shapes = self.canvas.shapes()
        n = len(shapes)
        self.tools.set_status(f"{n} shape{'s' * (n != 1)}" + (" · unsaved" if self.canvas.is_dirty() else ""))
        self.measure_label.setText(self.measure_text(shapes[-1]) if shapes else "")

    def measure_text(self, shape: dict) -> str:
        from studio.labels.measure import judge_shape

        return judge_shape(self.project.criteria, shape)

    # ---- list ----------------------------------------------------------------
    def _update_item(self, image_id: str) -> None:
        if image_id not in self.ids:
            return
        item = self.image_list.item(self.ids.index(image_id))
        label = self.shown_labels().get(image_id)
        item.setText(f"{image_id}\n{label_text(label)}")
        item.setForeground(QBrush(QColor(LABEL_COLOURS.get(label.verdict, "#111") if label else MUTED)))

    def _update_counts(self) -> None:
        shown = self.shown_labels()
        mine = [shown[i] for i in self.ids if i in shown]
        counts = {v: sum(l.verdict == v for l in mine) for v in ("ok", "ng", "borderline")}
        counts["unlabelled"] = len(self.ids) - len(mine)
        for key, lab in self.count_labels.items():
            lab.setText(str(counts.get(key, 0)))

    def _set_icon(self, image_id: str, icon: QIcon) -> None:
        if image_id in self.ids:
            self.image_list.item(self.ids.index(image_id)).setIcon(icon)

    def _image_ids(self) -> list[str]:
        from studio.labels.assignment import LabelingPlan

        ids = [r.id for r in self.project.dataset]
        try:
            plan = LabelingPlan.load(self.project.root)
        except Exception:  # a broken plan: show everything, say so
            self.message.setText("labeling.yaml is unreadable: showing every image")
            return ids
        from PySide6.QtWidgets import QCompleter

        names = sorted(set(plan.labelers) | set(self.project.labels.labelers()) | {plan.reference or ""} - {""})
        self.labeler_edit.setCompleter(QCompleter(names, self.labeler_edit))
        assigned = plan.labels_blind(self.labeler)
        self.mine_check.setVisible(assigned)
        if assigned and not self.blind_check.isChecked():
            self.blind_check.blockSignals(True)
            self.blind_check.setChecked(True)          # the plan's rule (studio.labels.assignment)
            self.blind_check.blockSignals(False)
        self.blind_check.setEnabled(not assigned)
        if assigned and self.mine_check.isChecked():
            return [i for i in ids if self.labeler in plan.assigned(i)]
        return ids

    def refresh(self) -> None:
        keep = self.current_id
        keep_class = self.class_combo.currentIndex()
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        for i, c in enumerate(self.project.criteria.classes):
            self.class_combo.addItem(f"{i + 1}  {c.name}" if i < 9 else c.name, c.name)
            self.class_combo.setItemData(i, c.rule_text(self.project.criteria.pixel_size_mm),
                                         Qt.ItemDataRole.ToolTipRole)
        if 0 <= keep_class < self.class_combo.count():
            self.class_combo.setCurrentIndex(keep_class)
        self.class_combo.blockSignals(False)
        self._class_chosen(self.class_combo.currentIndex())
        self.ids = self._image_ids()
        self.image_list.blockSignals(True)
        self.image_list.clear()
        for image_id in self.ids:
            item = QListWidgetItem(self.thumbs.icon(image_id), image_id)
            item.setSizeHint(QSize(230, THUMB.height() + 8))
            self.image_list.addItem(item)
            self._update_item(image_id)
        self.image_list.blockSignals(False)
        self.thumbs.load(self.ids)
        for b in (self.ok_button, self.ng_button, self.borderline_button):
            b.setEnabled(bool(self.ids))
        self._update_counts()
        if self.ids:
            shown = self.shown_labels()
            start = keep if keep in self.ids else next((i for i in self.ids if i not in shown), self.ids[0])
            self.image_list.setCurrentRow(self.ids.index(start))
            self._show_row(self.ids.index(start))
        else:
            self._show_row(-1)
        self.tabs.setTabText(1, f"Review queue ({self.review.count()})")
        skipped = list(getattr(self.project.labels, "skipped", []))
        if skipped:         # the audit trail has lines the studio cannot count: never in silence
            lines = ", ".join(str(n) for n, _ in skipped[:5]) + (" ..." if len(skipped) > 5 else "")
            self.message.setText(f"labels.jsonl: {len(skipped)} line(s) cannot be read and are not counted "
                                 f"(line {lines}); 'studio project check' says what is wrong")
        self.image_list.setFocus()

    @Slot(int)
    def _tab_shown(self, index: int) -> None:
        w = self.tabs.widget(index)
        if hasattr(w, "refresh") and w is not self.label_tab:
            w.refresh()
        elif w is self.label_tab:
            self.refresh()

    def _after_decision(self) -> None:
        self.tabs.setTabText(1, f"Review queue ({self.review.count()})")
        self.changed.emit()

    def shutdown(self) -> None:
        self.thumbs.stop()
