"""The Train page: training runs off the GUI thread; its events reach the plot, the bar and the status line."""
import time

import pytest

import PySide6  # noqa: F401  a core dependency: a broken install fails, never skips
import pyqtgraph  # noqa: F401  a core dependency: a broken install fails, never skips


def fake_training(calls, *, steps=3, hang=False):
    def run_training(project_root, task, options=None, on_event=None, task_ctx=None, **_signed):
        import threading

        calls.append((str(project_root), task, threading.current_thread().name))
        on_event({"event": "status", "text": "extracting features"})
        for step in range(steps):
            task_ctx.check()
            on_event({"event": "metric", "name": "loss", "step": step, "value": 1.0 / (step + 1)})
            on_event({"event": "progress", "fraction": (step + 1) / steps})
        while hang:
            task_ctx.check()
            time.sleep(0.01)
        done = {"event": "done", "model_id": "anomaly-001", "task": task,
                "metrics": {"image_auroc": 0.97, "threshold_source": "f1"}, "seconds": 4.2}
        on_event(done)
        return done
    return run_training


@pytest.fixture
def page(qtbot, demo_project):
    from studio.gui.pages.train import TrainPage

    p = TrainPage(demo_project)
    qtbot.addWidget(p)
    p.show()
    p.refresh()
    yield p
    p.shutdown()
    assert not p.runner.is_running()


def test_the_page_says_what_it_will_train_on(qtbot, page, demo_project):
    import numpy as np

    assert "0 OK and 0 NG labelled images in the train split" in page.data_label.text()
    recs = [demo_project.dataset.add_image(np.zeros((8, 8), np.uint8), stem=f"p{i}") for i in range(12)]
    for r in recs[:-1]:
        demo_project.labels.add(r.id, "ok")
    page.refresh()
    train = sum(r.split == "train" for r in recs[:-1])
    assert f"{train} OK and 0 NG labelled images in the train split" in page.data_label.text()
    assert f"{11 - train} OK and 0 NG kept aside" in page.data_label.text()


def test_training_events_reach_the_plot_and_the_result(qtbot, page, demo_project, monkeypatch):
    import threading

    from studio.training import runner

    calls = []
    monkeypatch.setattr(runner, "run_training", fake_training(calls))
    assert page.task_combo.currentData() == "anomaly"              # the project's task
    page.task_combo.setCurrentIndex(page.task_combo.findData("classification"))
    page.start_button.click()
    qtbot.waitUntil(lambda: not page.runner.is_running(), timeout=10_000)
    assert calls and calls[0][1] == "classification"
    assert calls[0][2] != threading.current_thread().name         # not on the GUI thread
    xs, ys, _ = page.curves["loss"]
    assert xs == [0.0, 1.0, 2.0] and ys == pytest.approx([1.0, 0.5, 1 / 3])
    assert page.progress.value() == 1000
    assert "anomaly-001" in page.result_label.text() and "image AUROC 0.970" in page.result_label.text()
    assert "threshold_source" not in page.result_label.text()
    assert page.start_button.isEnabled() and not page.cancel_button.isEnabled()


def test_cancel_stops_training(qtbot, page, monkeypatch):
    from studio.training import runner

    monkeypatch.setattr(runner, "run_training", fake_training([], hang=True))
    page.start_training()
    qtbot.waitUntil(lambda: "loss" in page.curves and len(page.curves["loss"][0]) == 3, timeout=10_000)
    assert page.cancel_button.isEnabled() and not page.start_button.isEnabled()
    page.cancel_button.click()
    qtbot.waitUntil(lambda: not page.runner.is_running(), timeout=10_000)
    assert page.status_label.text() == "Training cancelled."
    assert page.result_label.text() == ""


def test_a_training_error_is_shown_as_its_message(qtbot, page, monkeypatch):
    from studio.core.errors import ModelError
    from studio.training import runner

    def failing(*a, **k):
        raise ModelError("no images labelled OK in the train split", hint="label some good parts")

    monkeypatch.setattr(runner, "run_training", failing)
    page.start_training()
    qtbot.waitUntil(lambda: not page.runner.is_running(), timeout=10_000)
    assert page.status_label.text() == "Training failed."
    assert "no images labelled OK" in page.banner.text() and "label some good parts" in page.banner.text()
    assert "Traceback" not in page.banner.text()
    from studio.gui.widgets import errors

    box = errors._open_dialogs[-1]                          # and a dialog says it too
    assert box.isVisible() and "no images labelled OK" in box.text() and not box.detailedText()
    box.close()
