"""Step 4, Train: train a model in the background and watch its metrics arrive."""
from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Slot
from PySide6.QtWidgets import QComboBox, QLabel, QProgressBar, QPushButton, QTabWidget, QVBoxLayout, QWidget

from studio import tasks
from studio.gui.pages.augmentation_panel import AugmentationPanel
from studio.gui.pages.bakeoff_panel import BakeoffPanel
from studio.gui.pages.base import Page, caption, row
from studio.gui.pages.models_table import ModelsTable, fmt, list_models
from studio.gui.widgets import Banner, TaskRunner

TASKS = [(name, tasks.get(name).title) for name in tasks.names()]     # studio.tasks: one description each
# what the result line shows from a model's metrics, in this order
METRIC_WORDS = {"image_auroc": "image AUROC", "average_precision": "average precision", "accuracy": "accuracy",
                "map50": "mAP50", "dice": "Dice",
                "final_loss": "final loss", "n_test_defective": "defective test images"}
PEN_COLOURS = ["#1f6feb", "#d32f2f", "#1e9e4a", "#f29900", "#8e44ad", "#00838f"]


class TrainPage(Page):
    title = "Train"
    subtitle = "Train a model on the labelled images. Training runs in the background; you can keep labelling."

    def __init__(self, project: Any, parent: QWidget | None = None):
        super().__init__(project, parent)
        self.task_combo = QComboBox()
        for key, text in TASKS:
            self.task_combo.addItem(text, key)
        self._task_chosen = False
        self.task_combo.activated.connect(lambda *_: setattr(self, "_task_chosen", True))
        self.start_button = QPushButton("Start training")
        self.start_button.setProperty("role", "primary")
        self.start_button.clicked.connect(self.start_training)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_training)
        self.root_layout.addLayout(row(QLabel("Task"), self.task_combo, self.start_button, self.cancel_button,
                                       stretch_last=True))
        self.data_label = caption("")
        self.root_layout.addWidget(self.data_label)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status_label = QLabel("Ready.")
        self.root_layout.addLayout(row(self.progress, self.status_label))
        self.banner = Banner()
        self.root_layout.addWidget(self.banner)

        pg.setConfigOptions(antialias=True)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "value")
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.addLegend(offset=(-10, 10))
        self.plot.setMinimumHeight(220)
        self.plot_hint = caption("Metrics (loss, accuracy, …) appear here while a model trains.")
        progress_tab = QWidget()
        tab_layout = QVBoxLayout(progress_tab)
        tab_layout.setContentsMargins(0, 4, 0, 0)
        tab_layout.addWidget(self.plot_hint)
        tab_layout.addWidget(self.plot, 1)
        self.augmentation = AugmentationPanel(self.project)
        self.bakeoff = BakeoffPanel(self.project)
        self.tabs = QTabWidget()
        self.tabs.addTab(progress_tab, "Training progress")
        self.tabs.addTab(self.augmentation, "Augmentation")
        self.tabs.addTab(self.bakeoff, "Bake-off")
        self.root_layout.addWidget(self.tabs, 3)
        self.curves: dict[str, tuple[list[float], list[float], Any]] = {}

        self.result_label = QLabel()
        self.result_label.setWordWrap(True)
        self.root_layout.addWidget(self.result_label)
        self.root_layout.addWidget(QLabel("Trained models (newest first)"))
        self.models_table = ModelsTable()
        self.models_table.setMinimumHeight(110)
        self.root_layout.addWidget(self.models_table, 2)

        self.runner = TaskRunner(self)
        self.runner.event.connect(self.on_event)
        self.runner.progress.connect(self._set_progress)
        self.runner.status.connect(self.status_label.setText)
        self.runner.finished.connect(self._finished)
        self.runner.failed.connect(self._failed)
        self.runner.cancelled.connect(self._cancelled)
        self.runner.running_changed.connect(self._update_controls)
        self._update_controls()

    # ---- training -------------------------------------------------------------
    @Slot()
    def start_training(self) -> None:
        from studio.training.runner import run_training

        if self.runner.is_running():
            return
        from studio.gui.sign_in import session_for

        ok = session_for(self.project).authorize(self, "engineer", "Training a model", action="model.trained")
        if ok is None:
            return
        (who, why) = ok[0].name, ok[1]
        task = self.task_combo.currentData()
        root, runner = self.project.root, self.runner
        self.clear_plot()
        self.banner.clear_message()
        self.result_label.setText("")
        self.progress.setValue(0)
        self.status_label.setText(f"Starting {task} training …")
        self.runner.start(lambda ctx: run_training(root, task, None, on_event=runner.emit_event, task_ctx=ctx,
                                                   actor=who, reason=why))

    @Slot()
    def cancel_training(self) -> None:
        self.runner.cancel()
        self.status_label.setText("Cancelling …")

    @Slot(object)
    def on_event(self, ev: Any) -> None:
        """One event from the trainer (GUI thread)."""
        if not isinstance(ev, dict):
            return
        kind = ev.get("event")
        if kind == "status":
            self.status_label.setText(str(ev.get("text", "")))
        elif kind == "progress":
            self._set_progress(float(ev.get("fraction", 0.0)))
        elif kind == "metric":
            self.add_metric(str(ev.get("name", "metric")), ev.get("step"), ev.get("value"))
        elif kind == "done":
            self.show_result(ev)
        elif kind == "error":
            self.banner.show_error(str(ev.get("message") or ev.get("text") or "training failed"))

    def add_metric(self, name: str, step: Any, value: Any) -> None:
        try:
            y = float(value)
        except (TypeError, ValueError):
            return
        if name not in self.curves:
            pen = pg.mkPen(PEN_COLOURS[len(self.curves) % len(PEN_COLOURS)], width=2)
            item = self.plot.plot([], [], pen=pen, symbol="o", symbolSize=5,
                                  symbolBrush=pen.color(), symbolPen=None, name=name)
            self.curves[name] = ([], [], item)
        xs, ys, item = self.curves[name]
        xs.append(float(step) if step is not None else float(len(xs)))
        ys.append(y)
        item.setData(xs, ys)
        self.plot_hint.hide()

    def clear_plot(self) -> None:
        for _, _, item in self.curves.values():
            self.plot.removeItem(item)
        legend = self.plot.plotItem.legend
        if legend is not None:
            legend.clear()
        self.curves.clear()
        self.plot_hint.show()

    def show_result(self, ev: dict[str, Any]) -> None:
        metrics = ev.get("metrics") or {}
        shown = " · ".join(f"{words} {fmt(metrics[k])}" for k, words in METRIC_WORDS.items() if k in metrics)
        secs = ev.get("seconds")
        took = f" in {secs:.0f} s" if isinstance(secs, (int, float)) else ""
        self.result_label.setText(f"<b>Trained model {ev.get('model_id', '?')}</b> ({ev.get('task', '')}){took}"
                                  + (f"<br>{shown}" if shown else "")
                                  + "<br>Next: choose its threshold on the <b>Threshold</b> step (Ctrl+5).")

    def _set_progress(self, f: float) -> None:
        self.progress.setValue(int(max(0.0, min(1.0, f)) * 1000))

    def _finished(self, result: Any) -> None:
        self._set_progress(1.0)
        if isinstance(result, dict) and result.get("model_id"):
            if not self.result_label.text():
                self.show_result(result)
            self.status_label.setText(f"Done: model {result.get('model_id')}.")
        else:
            self.status_label.setText("Done.")
        self.refresh()
        self.changed.emit()

    def _failed(self, err: BaseException) -> None:
        from studio.gui.widgets.errors import describe

        self.status_label.setText("Training failed.")
        self.banner.show_error(describe(err)[0])

    def _cancelled(self) -> None:
        self.status_label.setText("Training cancelled.")
        self.progress.setValue(0)

    # ---- page ------------------------------------------------------------------
    def _update_controls(self, *_: Any) -> None:
        busy = self.runner.is_running()
        self.start_button.setEnabled(not busy)
        self.task_combo.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)

    def _data_summary(self) -> str:
        current = self.project.labels.current()
        split = {"train": {"ok": 0, "ng": 0}, "test": {"ok": 0, "ng": 0}}
        for rec in self.project.dataset:
            label = current.get(rec.id)
            if label is not None and label.verdict in ("ok", "ng") and rec.split in split:
                split[rec.split][label.verdict] += 1
        tr, te = split["train"], split["test"]
        return (f"Training data: {tr['ok']} OK and {tr['ng']} NG labelled images in the train split; "
                f"{te['ok']} OK and {te['ng']} NG kept aside for testing. Borderline and unlabelled images "
                "are left out. Anomaly detection learns from the OK images only.")

    def refresh(self) -> None:
        self.data_label.setText(self._data_summary())
        if not self.runner.is_running():
            i = self.task_combo.findData(self.project.task)
            if i >= 0 and not self._task_chosen:
                self.task_combo.setCurrentIndex(i)
        try:
            self.models_table.set_cards(list_models(self.project))
        except Exception as e:  # a broken card is a message, not a crash
            self.banner.show_error(f"Could not list the models: {e}")
        self.bakeoff.refresh()

    def shutdown(self) -> None:
        self.runner.shutdown()
        self.augmentation.shutdown()
        self.bakeoff.shutdown()
