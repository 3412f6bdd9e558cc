"""Beside the image: the rule of the chosen defect class and its example images (reject / accept / borderline)."""
from __future__ import annotations

from typing import Any

from typing import Callable

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (QFrame, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout,
                               QWidget)

from studio.gui.style import BORDERLINE_AMBER, PASS_GREEN, REJECT_RED
from studio.gui.widgets.image_view import to_pixmap

THUMB = QSize(84, 64)
RULE_WIDTH = 196
KIND_COLOURS = {"reject": REJECT_RED, "accept": PASS_GREEN, "borderline": BORDERLINE_AMBER}


class CriteriaPanel(QGroupBox):
    example_added = Signal(str)          # the image id added to the document

    def __init__(self, project: Any, parent: QWidget | None = None, *,
                 current_image: Callable[[], str | None] | None = None,
                 author: Callable[[], str] | None = None):
        super().__init__("Acceptance criteria", parent)
        self.project = project
        self._current_image = current_image or (lambda: None)
        self._author = author or (lambda: "engineer")
        lay = QVBoxLayout(self)
        lay.setSpacing(4)
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: 700; font-size: 11pt;")
        self.rule = QLabel()
        self.rule.setWordWrap(True)
        f = self.rule.font()
        f.setBold(True)
        self.rule.setFont(f)
        rule_box = QFrame()
        rule_box.setFrameShape(QFrame.Shape.Box)
        rule_box.setLineWidth(2)
        QVBoxLayout(rule_box).addWidget(self.rule)
        self.definition = QLabel()
        self.definition.setWordWrap(True)
        self.version = QLabel()
        self.version.setProperty("role", "caption")
        self.examples = QGridLayout()
        self.examples.setSpacing(4)
        for w in (self.title, rule_box, self.definition):
            lay.addWidget(w)
        lay.addLayout(self.examples)
        add_caption = QLabel("Add the shown image as an example:")
        add_caption.setProperty("role", "caption")
        lay.addWidget(add_caption)
        add_row = QHBoxLayout()
        add_row.setSpacing(2)
        self.add_buttons: dict[str, QPushButton] = {}
        for kind in ("reject", "accept", "borderline"):
            b = QPushButton(kind)
            b.setToolTip(f"Add the shown image to this class's rule as a {kind} example (a new criteria version)")
            b.setStyleSheet(f"color: {KIND_COLOURS[kind]}; padding: 2px 2px; min-width: 0px;")
            b.clicked.connect(lambda _c=False, k=kind: self.add_current(k))
            add_row.addWidget(b)
            self.add_buttons[kind] = b
        lay.addLayout(add_row)
        lay.addWidget(self.version)
        lay.addStretch(1)
        self.class_name: str | None = None

    def add_current(self, kind: str) -> None:
        from studio.criteria.examples import add_example
        from studio.gui.widgets import error_dialog

        image_id = self._current_image()
        if not image_id or not self.class_name:
            return
        from studio.gui.sign_in import session_for

        signed = session_for(self.project).allow(self, "reference", "Adding a criteria example",
                                                 action="criteria.version")
        if signed is None:
            return
        try:
            add_example(self.project, self.class_name, image_id, kind,
                        author=self._author() if signed.open else signed.name)
        except Exception as e:
            error_dialog(self, e, "Could not add the example")
            return
        self.show_class(self.class_name)
        self.example_added.emit(image_id)

    def _set_rule(self, text: str) -> None:
        """Word-wrapped labels in a scroll area get no height-for-width: give the rule its height."""
        from PySide6.QtCore import QRect

        self.rule.setText(text)
        w = RULE_WIDTH
        self.rule.setFixedWidth(w)
        self.rule.ensurePolished()              # the style sheet's font, not the default one
        r = self.rule.fontMetrics().boundingRect(QRect(0, 0, w, 4000), Qt.TextFlag.TextWordWrap, text)
        self.rule.setFixedHeight(r.height() + 6)

    def show_class(self, name: str | None) -> None:
        self.class_name = name
        doc = self.project.criteria
        while self.examples.count():
            w = self.examples.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        self.version.setText(f"criteria version {doc.version}")
        c = doc.get(name) if name else None
        for b in self.add_buttons.values():
            b.setEnabled(c is not None)
        if c is None:
            self.title.setText("No defect class chosen")
            self._set_rule("OK when no rule of the document is broken.")
            self.definition.setText("")
            self._fit_height()
            return
        self.title.setText(f"{c.name}  ·  {c.severity}")
        self._set_rule(c.rule_text(doc.pixel_size_mm))
        self.definition.setText(c.definition)
        for i, e in enumerate(c.examples[:6]):
            pic = QLabel()
            pic.setFixedSize(THUMB)
            pic.setAlignment(Qt.AlignmentFlag.AlignCenter)
            colour = KIND_COLOURS.get(e.get("kind"), "#555")
            pic.setStyleSheet(f"border: 3px solid {colour};")
            pic.setToolTip(f"{e.get('kind')}: {e.get('image_id')}\n{e.get('note', '')}")
            try:
                img = self.project.dataset.load(self.project.dataset.get(e["image_id"]))
                pic.setPixmap(to_pixmap(img, THUMB - QSize(6, 6)))
            except Exception:  # a missing example is shown as its name
                pic.setText(e.get("image_id", "?"))
            cap = QLabel(e.get("kind", ""))
            cap.setStyleSheet(f"color: {colour}; font-size: 8pt; font-weight: 700;")
            self.examples.addWidget(pic, (i // 2) * 2, i % 2)
            self.examples.addWidget(cap, (i // 2) * 2 + 1, i % 2)
        self._fit_height()

    def _fit_height(self) -> None:
        """Grow to the content so the scroll area around the panel scrolls instead of squeezing the rule."""
        self.layout().activate()
        self.setMinimumHeight(self.layout().minimumSize().height())
