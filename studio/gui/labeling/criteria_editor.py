"""Edit the acceptance-criteria document: every save is a new version with author and reason; print for the line."""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout,
                               QLabel, QLineEdit, QListWidget, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget)

from studio.gui.widgets import error_dialog

SEVERITIES = ["critical", "major", "minor", "cosmetic"]
MEASURES = ["", "length", "width", "diameter", "area", "count"]


class CriteriaEditor(QWidget):
    saved = Signal()

    def __init__(self, project: Any, author: Callable[[], str], parent: QWidget | None = None):
        super().__init__(parent)
        self.project = project
        self._author = author
        self.class_list = QListWidget()
        self.class_list.setFixedWidth(200)
        self.class_list.currentRowChanged.connect(self._show)
        self.name = QLineEdit()
        self.definition = QPlainTextEdit()
        self.definition.setFixedHeight(60)
        self.severity = QComboBox()
        self.severity.addItems(SEVERITIES)
        self.rule = QPlainTextEdit()
        self.rule.setFixedHeight(60)
        self.measure = QComboBox()
        self.measure.addItems(MEASURES)
        self.limit = QDoubleSpinBox()
        self.limit.setRange(0, 100000)
        self.limit.setDecimals(3)
        self.surface = QLineEdit()
        self.pixel = QDoubleSpinBox()
        self.pixel.setRange(0, 100)
        self.pixel.setDecimals(4)
        self.pixel.setSuffix(" mm/px")
        self.preview = QLabel()
        self.preview.setWordWrap(True)
        self.preview.setStyleSheet("border: 2px solid #333; padding: 4px; font-weight: 600;")
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("why this change (required)")
        form = QFormLayout()
        for text, w in (("Name", self.name), ("Definition", self.definition), ("Severity", self.severity),
                        ("Rule in words", self.rule), ("Measure", self.measure), ("Reject above", self.limit),
                        ("Surface", self.surface), ("Pixel size (calibration)", self.pixel),
                        ("The rule reads", self.preview), ("Reason for the change", self.reason)):
            form.addRow(text, w)
        for sig in (self.measure.currentIndexChanged, self.limit.valueChanged, self.pixel.valueChanged):
            sig.connect(lambda *_: self._update_preview())
        self.surface.textChanged.connect(lambda *_: self._update_preview())
        save = QPushButton("Save as a new version")
        save.setProperty("role", "primary")
        save.clicked.connect(self.save)
        new = QPushButton("New class")
        new.clicked.connect(self._new_class)
        print_button = QPushButton("Print for the line (HTML)…")
        print_button.clicked.connect(lambda: self.print_html())
        pdf_button = QPushButton("PDF…")
        pdf_button.setToolTip("One page per defect class, with its example images")
        pdf_button.clicked.connect(lambda: self.print_pdf())
        self.history = QListWidget()
        hist = QGroupBox("Versions")
        QVBoxLayout(hist).addWidget(self.history)
        right = QVBoxLayout()
        right.addLayout(form)
        buttons = QHBoxLayout()
        for b in (save, new, print_button, pdf_button):
            buttons.addWidget(b)
        right.addLayout(buttons)
        right.addWidget(hist, 1)
        lay = QHBoxLayout(self)
        lay.addWidget(self.class_list)
        lay.addLayout(right, 1)

    def refresh(self) -> None:
        doc = self.project.criteria
        keep = self.class_list.currentRow()
        self.class_list.blockSignals(True)
        self.class_list.clear()
        for c in doc.classes:
            self.class_list.addItem(f"{c.id}  {c.name}")
        self.class_list.blockSignals(False)
        self.pixel.setValue(doc.pixel_size_mm or 0.0)
        self.history.clear()
        for h in reversed(doc.history):
            self.history.addItem(f"v{h.get('version')}  {h.get('date', '')}  {h.get('author', '')}: "
                                 f"{h.get('reason', '')}")
        if doc.classes:
            row = keep if 0 <= keep < len(doc.classes) else 0
            self.class_list.setCurrentRow(row)
            self._show(row)

    def _show(self, r: int) -> None:
        classes = self.project.criteria.classes
        if not 0 <= r < len(classes):
            return
        c = classes[r]
        self.name.setText(c.name)
        self.definition.setPlainText(c.definition)
        self.severity.setCurrentText(c.severity)
        self.rule.setPlainText(c.rule)
        self.measure.setCurrentText(c.measure or "")
        self.limit.setValue(c.limit or 0.0)
        self.surface.setText(c.surface)
        self._update_preview()

    def _new_class(self) -> None:
        self.class_list.clearSelection()
        self.class_list.setCurrentRow(-1)
        for w in (self.name, self.surface):
            w.clear()
        for w in (self.definition, self.rule):
            w.clear()
        self.measure.setCurrentIndex(0)
        self.name.setFocus()

    def _update_preview(self) -> None:
        from studio.criteria.document import DefectClass

        c = DefectClass(0, self.name.text() or "defect", rule=self.rule.toPlainText(),
                        measure=self.measure.currentText() or None,
                        limit=self.limit.value() if self.measure.currentText() else None,
                        surface=self.surface.text())
        self.preview.setText(c.rule_text(self.pixel.value() or None))

    def save(self) -> None:
        from studio.criteria.versions import edit

        from studio.gui.sign_in import session_for

        signed = session_for(self.project).allow(self, "engineer", "Changing the acceptance criteria",
                                                 action="criteria.version")
        if signed is None:
            return
        author = self._author() if signed.open else signed.name     # the signed-in person, never a typed name
        r = self.class_list.currentRow()
        old_name = self.project.criteria.classes[r].name if r >= 0 else None
        name = self.name.text().strip()

        def change(doc: Any) -> None:
            c = doc.get(old_name) if old_name else None
            if c is None:
                c = doc.add_class(name)
            c.name = name
            c.definition = self.definition.toPlainText()
            c.severity = self.severity.currentText()
            c.rule = self.rule.toPlainText()
            c.measure = self.measure.currentText() or None
            c.limit = self.limit.value() if c.measure else None
            c.surface = self.surface.text()
            doc.pixel_size_mm = self.pixel.value() or None

        try:
            if not name:
                raise ValueError("a defect class needs a name")
            edit(self.project, author, self.reason.text(), change)
        except Exception as e:
            error_dialog(self, e, "Could not save the criteria")
            return
        self.reason.clear()
        self.refresh()
        self.saved.emit()

    def print_html(self, path: str | None = None) -> str | None:
        from studio.criteria.printing import write_html

        if not path:
            path, _ = QFileDialog.getSaveFileName(self, "Print the criteria", "criteria.html", "HTML (*.html)")
        if not path:
            return None
        try:
            write_html(self.project, path)
        except Exception as e:
            error_dialog(self, e, "Could not write the criteria")
            return None
        return path

    def print_pdf(self, path: str | None = None) -> str | None:
        """The document as a PDF, one page per class (Qt's own renderer: no browser needed)."""
        from PySide6.QtCore import QMarginsF, QUrl
        from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter, QTextDocument

        from studio.criteria.printing import render_html
        from studio.gui.widgets.image_view import to_qimage

        if not path:
            path, _ = QFileDialog.getSaveFileName(self, "Criteria as PDF", "criteria.pdf", "PDF (*.pdf)")
        if not path:
            return None
        doc = QTextDocument()

        def src(image_id: str) -> str:
            try:
                img = self.project.dataset.load(self.project.dataset.get(image_id))
            except Exception:
                return ""
            url = f"example://{image_id}"
            q = to_qimage(img)
            doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(url),
                            q.scaled(360, 360, Qt.AspectRatioMode.KeepAspectRatio))
            return url

        try:
            doc.setHtml(render_html(self.project, image_src=src))
            writer = QPdfWriter(path)
            writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                             QMarginsF(15, 15, 15, 15)))
            writer.setTitle(f"Acceptance criteria v{self.project.criteria.version}")
            doc.print_(writer)
        except Exception as e:
            error_dialog(self, e, "Could not write the PDF")
            return None
        return path
