"""The trained models of a project as a table (newest first), shared by Train and Threshold."""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from studio.project.model_card import retirement

COLUMNS = ["Model", "Task", "Created", "Image AUROC", "Threshold"]


def list_models(project: Any) -> list[dict[str, Any]]:
    """The model cards, newest first; empty when the inference package is not there yet."""
    try:
        from studio.inference.model import list_models as _list
    except ImportError:
        return []
    return list(_list(project))


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


class ModelsTable(QTableWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)

    def set_cards(self, cards: list[dict[str, Any]]) -> None:
        self.setRowCount(len(cards))
        for r, card in enumerate(cards):
            metrics = card.get("metrics") or {}
            auroc = metrics.get("image_auroc", metrics.get("auroc"))
            retired = " (retired)" if retirement(card) else ""     # studio models retire
            values = [f"{card.get('model_id', '?')}{retired}", card.get("task", ""), str(card.get("created", ""))[:19],
                      fmt(auroc), fmt(card.get("threshold"), 4)]
            for c, v in enumerate(values):
                self.setItem(r, c, QTableWidgetItem(str(v)))
