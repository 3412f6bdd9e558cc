"""Step 3, Label: OK / NG (with defect class) / borderline, by keyboard, one image after another."""
from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Slot
from PySide6.QtGui import QBrush, QColor, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (QComboBox, QGridLayout, QGroupBox, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QPushButton, QVBoxLayout, QWidget)

from studio.gui.pages.base import Page, caption, row
from studio.gui.style import LABEL_COLOURS, MUTED
from studio.gui.widgets import ImageView, error_dialog

THUMB = QSize(72, 54)
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
               "that defect, B = borderline, → / J next, ← / K previous, Ctrl+Z undo."

    def __init__(self, project: Any, parent: QWidget | None = None):
        super().__init__(project, parent)
        self.ids: list[str] = []
        self.undo_stack: list[tuple[str, Any]] = []      # (image_id, label before the change or None)
        self._thumbs: dict[str, QIcon] = {}
        self._thumb_queue: list[str] = []
        self._thumb_timer = QTimer(self)
        self._thumb_timer.setInterval(0)
        self._thumb_timer.timeout.connect(self._load_some_thumbs)

        self.image_list = QListWidget()
        self.image_list.setIconSize(THUMB)
        self.image_list.setFixedWidth(270)
        self.image_list.setUniformItemSizes(True)
        self.image_list.setTextElideMode(Qt.TextElideMode.ElideLeft)
        self.image_list.currentRowChanged.connect(self._show_row)

        self.view = ImageView(placeholder="No images yet.\nCapture some on the Capture step (Ctrl+2).",
                              zoomable=True)
        self.view.setToolTip("Mouse wheel: zoom; double-click: fit")
        self.image_title = QLabel()
        self.image_title.setStyleSheet("font-size: 12pt; font-weight: 600;")
        self.current_label = QLabel()
        self.position_label = caption("")
        centre = QVBoxLayout()
        centre.addLayout(row(self.image_title, None, self.position_label))
        centre.addWidget(self.current_label)
        centre.addWidget(self.view, 1)

        side = QVBoxLayout()
        side.setSpacing(8)
        self.ok_button = QPushButton("OK   [O]")
        self.ok_button.setProperty("role", "ok")
        self.ok_button.clicked.connect(lambda: self.label_current("ok"))
        self.ng_button = QPushButton("NG   [N]")
        self.ng_button.setProperty("role", "ng")
        self.ng_button.clicked.connect(lambda: self.label_current("ng"))
        self.class_combo = QComboBox()
        self.class_combo.setToolTip("Defect class for NG (keys 1–9 choose it and label NG at once)")
        self.borderline_button = QPushButton("Borderline   [B]")
        self.borderline_button.setProperty("role", "borderline")
        self.borderline_button.clicked.connect(lambda: self.label_current("borderline"))
        side.addWidget(self.ok_button)
        side.addWidget(self.ng_button)
        side.addWidget(caption("Defect class"))
        side.addWidget(self.class_combo)
        side.addWidget(self.borderline_button)
        self.prev_button = QPushButton("← Previous")
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.next_button = QPushButton("Next →")
        self.next_button.clicked.connect(lambda: self.step(1))
        side.addLayout(row(self.prev_button, self.next_button))
        self.undo_button = QPushButton("Undo  [Ctrl+Z]")
        self.undo_button.clicked.connect(self.undo)
        side.addWidget(self.undo_button)

        counts = QGroupBox("Labels")
        grid = QGridLayout(counts)
        self.count_labels: dict[str, QLabel] = {}
        for i, (key, text) in enumerate([("ok", "OK"), ("ng", "NG"), ("borderline", "Borderline"),
                                         ("unlabelled", "Unlabelled")]):
            name = QLabel(text)
            value = QLabel("0")
            value.setAlignment(Qt.AlignmentFlag.AlignRight)
            value.setStyleSheet(f"font-weight: 700; color: {LABEL_COLOURS.get(key, MUTED)};")
            grid.addWidget(name, i, 0)
            grid.addWidget(value, i, 1)
            self.count_labels[key] = value
        side.addWidget(counts)
        self.labeler_edit = QLineEdit(os.environ.get("USER") or os.environ.get("USERNAME") or "engineer")
        self.labeler_edit.editingFinished.connect(self.image_list.setFocus)
        side.addWidget(caption("Labeller (recorded with every label)"))
        side.addWidget(self.labeler_edit)
        self.message = caption("")
        side.addWidget(self.message)
        side.addStretch(1)
        side_w = QWidget()
        side_w.setLayout(side)
        side_w.setFixedWidth(230)
        self.root_layout.addLayout(row(self.image_list, centre, side_w), 1)

        keys = [("O", lambda: self.label_current("ok")), ("N", lambda: self.label_current("ng")),
                ("B", lambda: self.label_current("borderline")),
                (Qt.Key.Key_Right, lambda: self.step(1)), ("J", lambda: self.step(1)),
                (Qt.Key.Key_Left, lambda: self.step(-1)), ("K", lambda: self.step(-1)),
                (QKeySequence.StandardKey.Undo, self.undo)]
        keys += [(str(k), (lambda k=k: self.label_with_class_key(k))) for k in range(1, 10)]
        self.shortcuts = []
        for key, fn in keys:
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(fn)
            self.shortcuts.append(sc)

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
            self.view.set_image(None)
            self.image_title.setText("")
            self.current_label.setText("")
            self.position_label.setText("")
            return
        image_id = self.ids[r]
        try:
            rec = self.project.dataset.get(image_id)
            self.view.set_image(self.project.dataset.load(rec))
        except Exception as e:  # noqa: BLE001  a missing file is a message, not a crash
            self.view.set_image(None)
            self.view.set_placeholder(str(e))
        self.view.reset_zoom()
        self.image_title.setText(image_id)
        self.position_label.setText(f"{r + 1} of {len(self.ids)}")
        self._show_label(image_id)

    def _show_label(self, image_id: str) -> None:
        label = self.project.labels.get(image_id)
        colour = LABEL_COLOURS.get(label.verdict, MUTED) if label else MUTED
        who = f"  — {label.labeler}, criteria v{label.criteria_version}" if label else ""
        self.current_label.setText(f"<span style='color:{colour}; font-weight:700'>{label_text(label)}</span>{who}")

    # ---- labelling -----------------------------------------------------------
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
        before = self.project.labels.get(image_id)
        if not self._add(image_id, verdict, defect):
            return
        self.undo_stack.append((image_id, before))
        self.message.setText(f"{image_id}: {label_text(self.project.labels.get(image_id))}")
        if advance and self.image_list.currentRow() < len(self.ids) - 1:
            self.step(1)

    def _add(self, image_id: str, verdict: str, defect: str | None) -> bool:
        try:
            self.project.labels.add(image_id, verdict, defect,
                                    labeler=self.labeler_edit.text().strip() or "engineer",
                                    criteria_version=self.project.criteria.version)
        except Exception as e:  # noqa: BLE001
            error_dialog(self, e, "Could not save the label")
            return False
        self._update_item(image_id)
        self._update_counts()
        if image_id == self.current_id:
            self._show_label(image_id)
        self.changed.emit()
        return True

    @Slot()
    def undo(self) -> None:
        """Re-label the last changed image with its previous decision (the log keeps both)."""
        if not self.undo_stack:
            self.message.setText("Nothing to undo.")
            return
        image_id, before = self.undo_stack.pop()
        self.select(image_id)
        if before is None:
            self.message.setText(f"{image_id} had no label before. The label log only grows, "
                                 "so give it the right label now.")
            return
        if self._add(image_id, before.verdict, before.defect_class):
            self.message.setText(f"Undone: {image_id} is {label_text(before)} again.")

    # ---- list ----------------------------------------------------------------
    def _update_item(self, image_id: str) -> None:
        if image_id not in self.ids:
            return
        item = self.image_list.item(self.ids.index(image_id))
        label = self.project.labels.get(image_id)
        item.setText(f"{image_id}\n{label_text(label)}")
        item.setForeground(QBrush(QColor(LABEL_COLOURS.get(label.verdict, "#111") if label else MUTED)))

    def _update_counts(self) -> None:
        counts = self.project.labels.counts()
        current = self.project.labels.current()
        counts["unlabelled"] = sum(1 for i in self.ids if i not in current)
        for key, lab in self.count_labels.items():
            lab.setText(str(counts.get(key, 0)))

    def _load_some_thumbs(self) -> None:
        import cv2

        for _ in range(12):
            if not self._thumb_queue:
                self._thumb_timer.stop()
                return
            image_id = self._thumb_queue.pop(0)
            if image_id not in self.ids:
                continue
            try:
                path = self.project.dataset.path(self.project.dataset.get(image_id))
                img = cv2.imread(str(path), cv2.IMREAD_REDUCED_COLOR_4)
                if img is None:
                    continue
                from studio.gui.widgets.image_view import to_pixmap

                icon = QIcon(to_pixmap(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), THUMB))
            except Exception:  # noqa: BLE001  no thumbnail is fine
                continue
            self._thumbs[image_id] = icon
            self.image_list.item(self.ids.index(image_id)).setIcon(icon)

    def refresh(self) -> None:
        keep = self.current_id
        keep_class = self.class_combo.currentIndex()
        self.class_combo.clear()
        for i, c in enumerate(self.project.criteria.classes):
            self.class_combo.addItem(f"{i + 1}  {c.name}" if i < 9 else c.name, c.name)
            if i < 9:
                self.class_combo.setItemData(i, f"key {i + 1}: {c.definition}", Qt.ItemDataRole.ToolTipRole)
        if 0 <= keep_class < self.class_combo.count():
            self.class_combo.setCurrentIndex(keep_class)
        self.ids = [r.id for r in self.project.dataset]
        self.image_list.blockSignals(True)
        self.image_list.clear()
        for image_id in self.ids:
            item = QListWidgetItem(self._thumbs.get(image_id, QIcon()), image_id)
            item.setSizeHint(QSize(250, THUMB.height() + 8))
            self.image_list.addItem(item)
            self._update_item(image_id)
        self.image_list.blockSignals(False)
        self._thumb_queue = [i for i in self.ids if i not in self._thumbs]
        if self._thumb_queue:
            self._thumb_timer.start()
        for b in (self.ok_button, self.ng_button, self.borderline_button):
            b.setEnabled(bool(self.ids))
        self._update_counts()
        if self.ids:
            current = self.project.labels.current()
            start = keep if keep in self.ids else next((i for i in self.ids if i not in current), self.ids[0])
            self.image_list.setCurrentRow(self.ids.index(start))
            self._show_row(self.ids.index(start))
        else:
            self._show_row(-1)
        self.image_list.setFocus()

    def shutdown(self) -> None:
        self._thumb_timer.stop()
