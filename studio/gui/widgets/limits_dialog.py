"""Edit the lighting audit's limits for one project (``audits/limits.yaml``)."""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView, QLabel, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)


class LimitsDialog(QDialog):
    """One row per limit: check, limit, value (editable), default. Save writes only what differs."""

    def __init__(self, project: Any, parent: QWidget | None = None):
        from studio.lighting import limits as L

        super().__init__(parent)
        self.project = project
        self.setWindowTitle("Lighting audit limits")
        self.resize(560, 620)
        lay = QVBoxLayout(self)
        note = QLabel("Limits for this project. Changed values are kept in audits/limits.yaml; "
                      "the others follow the studio's defaults.")
        note.setWordWrap(True)
        lay.addWidget(note)
        current = L.load(project)
        rows = [(c, k, v, L.DEFAULTS[c][k]) for c, vals in current.items() for k, v in vals.items()]
        self.table = QTableWidget(len(rows), 4)
        self.table.setHorizontalHeaderLabels(["Check", "Limit", "Value", "Default"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.AllEditTriggers)
        for r, (check, key, value, default) in enumerate(rows):
            for col, text in enumerate([check, key, f"{value:g}", f"{default:g}"]):
                item = QTableWidgetItem(text)
                if col != 2:
                    item.setFlags(item.flags() & ~item.flags().ItemIsEditable)
                self.table.setItem(r, col, item)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        lay.addWidget(self.table, 1)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #9b1c1c;")
        self.error.setWordWrap(True)
        lay.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def values(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for r in range(self.table.rowCount()):
            check, key, text = (self.table.item(r, c).text() for c in range(3))
            try:
                value: Any = float(text)
            except ValueError:
                value = text                     # merge() names the field and says what is wrong
            out.setdefault(check, {})[key] = value
        return out

    def save(self) -> None:
        from studio.core.errors import StudioError
        from studio.lighting import limits as L

        from studio.gui.sign_in import engineer_change

        record = engineer_change(self, self.project, "Changing the lighting limits", "lighting.limits")
        if record is None:
            return
        try:
            L.save_overrides(self.project, self.values())
        except StudioError as e:
            self.error.setText(str(e))
            return
        record(what="audits/limits.yaml", after=self.values())
        self.accept()
