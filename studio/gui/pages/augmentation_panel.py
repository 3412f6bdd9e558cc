"""Train page, Augmentation tab: the project's augmentation and synthetic defects, with a preview."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt, Slot
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGridLayout, QHBoxLayout, QLabel,
                               QPushButton, QSpinBox, QVBoxLayout, QWidget)

from studio.gui.pages.base import caption
from studio.gui.widgets import TaskRunner
from studio.gui.widgets.image_view import to_pixmap

SYNTHETIC = [("none", "None"), ("cutpaste", "Cut-paste (a patch of the part, moved)"),
             ("procedural", "Procedural (scratch or blob)")]
THUMB = 112
PREVIEW_COUNT = 8


class AugmentationPanel(QWidget):
    """Edits ``training.augmentation`` in project.yaml; *Preview* shows what training will feed the model."""

    def __init__(self, project: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.project = project
        self.flip_h = QCheckBox("Flip left-right")
        self.flip_v = QCheckBox("Flip up-down")
        self.rotate = self._spin(0, 180, 1, " °")
        self.crop = self._spin(0, 90, 5, " %")
        self.brightness = self._spin(0, 100, 5, " %")
        self.contrast = self._spin(0, 100, 5, " %")
        self.blur = self._spin(0, 100, 10, " % of images")
        self.noise = self._spin(0, 30, 1, " %")
        self.synthetic = QComboBox()
        for key, text in SYNTHETIC:
            self.synthetic.addItem(text, key)
        self.synthetic_count = QSpinBox()
        self.synthetic_count.setRange(0, 10_000)
        self.synthetic_count.setSuffix(" images")

        form = QFormLayout()
        form.addRow(self.flip_h, self.flip_v)
        form.addRow("Rotate up to ±", self.rotate)
        form.addRow("Zoom in (random crop) up to", self.crop)
        form.addRow("Brightness ±", self.brightness)
        form.addRow("Contrast ±", self.contrast)
        form.addRow("Blur", self.blur)
        form.addRow("Sensor noise", self.noise)
        form.addRow("Synthetic defects", self.synthetic)
        form.addRow("… how many", self.synthetic_count)

        self.preview_button = QPushButton("Preview")
        self.preview_button.clicked.connect(self.preview)
        self.save_button = QPushButton("Save to project")
        self.save_button.setProperty("role", "primary")
        self.save_button.clicked.connect(self.save)
        self.note = caption("Parts on a line are fixtured and lit the same way: augment only the variation "
                            "that really happens. Synthetic defects help rare classes; they are scored apart "
                            "from real ones.")
        self.note.setWordWrap(True)
        left = QVBoxLayout()
        left.addLayout(form)
        buttons = QHBoxLayout()
        buttons.addWidget(self.preview_button)
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        left.addLayout(buttons)
        left.addWidget(self.note)
        left.addStretch(1)

        self.grid = QGridLayout()
        self.thumbs: list[QLabel] = []
        for i in range(PREVIEW_COUNT):
            label = QLabel()
            label.setFixedSize(QSize(THUMB, THUMB + 18))
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setStyleSheet("border: 1px solid #d0d7de; background: #f6f8fa;")
            self.grid.addWidget(label, i // 4, i % 4)
            self.thumbs.append(label)
        self.preview_status = caption("Press Preview to see augmented training images.")
        right = QVBoxLayout()
        right.addLayout(self.grid)
        right.addWidget(self.preview_status)
        right.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 1)
        layout.addLayout(right, 2)

        self.runner = TaskRunner(self)
        self.runner.finished.connect(self._show_preview)
        self.runner.failed.connect(lambda e: self.preview_status.setText(f"Preview failed: {e}"))
        self.load()

    @staticmethod
    def _spin(lo: float, hi: float, step: float, suffix: str) -> QDoubleSpinBox:
        s = QDoubleSpinBox()
        s.setRange(lo, hi)
        s.setSingleStep(step)
        s.setDecimals(0)
        s.setSuffix(suffix)
        return s

    # ---- values <-> widgets ---------------------------------------------------------
    def load(self) -> None:
        from studio.core.errors import StudioError
        from studio.training.augment import DEFAULTS, options

        try:
            v = options(self.project)
        except StudioError as e:
            self.preview_status.setText(str(e).splitlines()[0] + " (showing the defaults)")
            v = dict(DEFAULTS)
        self.set_values(v)

    def set_values(self, v: dict[str, Any]) -> None:
        self.flip_h.setChecked(bool(v["flip_h"]))
        self.flip_v.setChecked(bool(v["flip_v"]))
        self.rotate.setValue(float(v["rotate"]))
        self.crop.setValue(100 * float(v["crop"]))
        self.brightness.setValue(100 * float(v["brightness"]))
        self.contrast.setValue(100 * float(v["contrast"]))
        self.blur.setValue(100 * float(v["blur"]))
        self.noise.setValue(100 * float(v["noise"]))
        self.synthetic.setCurrentIndex(max(0, self.synthetic.findData(v["synthetic"])))
        self.synthetic_count.setValue(int(v["synthetic_count"]))

    def values(self) -> dict[str, Any]:
        return {"flip_h": self.flip_h.isChecked(), "flip_v": self.flip_v.isChecked(),
                "rotate": self.rotate.value(), "crop": self.crop.value() / 100,
                "brightness": self.brightness.value() / 100, "contrast": self.contrast.value() / 100,
                "blur": self.blur.value() / 100, "noise": self.noise.value() / 100,
                "synthetic": self.synthetic.currentData(), "synthetic_count": self.synthetic_count.value()}

    @Slot()
    def save(self) -> None:
        from studio.training.augment import options

        current = dict((self.project.settings.get("training", {}) or {}).get("augmentation", {}) or {})
        merged = options(None, {**current, **self.values()})
        self.project.settings.setdefault("training", {})["augmentation"] = merged
        self.project.save()
        self.preview_status.setText("Saved: the next training run uses these settings.")

    # ---- preview -------------------------------------------------------------------------
    def _preview_images(self) -> list:
        current = self.project.labels.current()
        recs = [r for r in self.project.dataset.records("train") if r.id in current][:PREVIEW_COUNT]
        return [self.project.dataset.load(r) for r in recs]

    @Slot()
    def preview(self) -> None:
        from studio.training.augment import options, preview, synthetic_set

        images = self._preview_images()
        if not images:
            self.preview_status.setText("No labelled training images to preview yet.")
            return
        aug = options(None, self.values())
        pre = self.project.preprocessing
        n_syn = min(PREVIEW_COUNT // 2, aug["synthetic_count"]) if aug["synthetic"] != "none" else 0

        def work(_ctx):
            base = [images[i % len(images)] for i in range(PREVIEW_COUNT - n_syn)]
            shown = [(img, "augmented") for img in preview(base, aug, pre, seed=int(__import__("time").time()) % 1000)]
            goods = [pre.prepare(im) for im in images]
            shown += [(img, "synthetic") for img, _ in synthetic_set(goods, n_syn, aug["synthetic"])]
            return shown

        self.preview_status.setText("Preparing the preview …")
        self.runner.start(work)

    def _show_preview(self, shown: Any) -> None:
        for label in self.thumbs:
            label.clear()
        for label, (img, kind) in zip(self.thumbs, shown or []):
            label.setPixmap(to_pixmap(img, QSize(THUMB, THUMB)))
            label.setToolTip(kind)
        n_syn = sum(1 for _, k in shown or [] if k == "synthetic")
        self.preview_status.setText(f"{len(shown or []) - n_syn} augmented training images"
                                    + (f" and {n_syn} with synthetic defects (last)" if n_syn else "")
                                    + ". Press Preview again for new random draws.")

    def shutdown(self) -> None:
        self.runner.shutdown()
