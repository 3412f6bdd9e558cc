"""The training worker subprocess: events, done, cancel, errors and crashes."""
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_training_support import make_project  # noqa: E402

from studio.core.errors import Cancelled, ModelError  # noqa: E402
from studio.core.task import TaskContext  # noqa: E402
from studio.training import runner  # noqa: E402


def test_anomaly_end_to_end_in_a_subprocess(tmp_path):
    project = make_project(tmp_path / "p", good_train=4, good_test=1, bad_train=0, bad_test=1)
    events, fractions, texts = [], [], []
    ctx = TaskContext(on_progress=fractions.append, on_status=texts.append)
    done = runner.run_training(project.root, "anomaly", {"coreset_ratio": 0.2}, on_event=events.append,
                               task_ctx=ctx, timeout=300)
    assert done["event"] == "done" and done["task"] == "anomaly"
    assert {"model_id", "metrics", "seconds", "run_id"} <= done.keys()
    assert (project.models_dir / done["model_id"] / "model.onnx").is_file()
    assert {"status", "progress", "metric", "done"} <= {e["event"] for e in events}
    assert fractions and fractions[-1] == 1.0 and texts          # forwarded to the task context
    logged = [json.loads(line) for line in
              (project.runs_dir / done["run_id"] / "events.jsonl").read_text().splitlines()]
    assert logged[-1]["event"] == "done" and logged[-1]["model_id"] == done["model_id"]
    assert len(logged) == len(events)


def test_cancel_terminates_the_worker(tmp_path, monkeypatch):
    project = make_project(tmp_path / "p", good_train=4, good_test=0, bad_train=0, bad_test=0)
    started = []

    class Recorded(runner.TrainingProcess):
        def start(self):
            started.append(self)
            return super().start()

    monkeypatch.setattr(runner, "TrainingProcess", Recorded)
    ctx = TaskContext()
    seen = []

    def on_event(event):
        seen.append(event)
        ctx.cancel()

    with pytest.raises(Cancelled):
        runner.run_training(project.root, "anomaly", on_event=on_event, task_ctx=ctx, timeout=120)
    assert len(seen) == 1
    assert started[0].process.poll() is not None                   # the worker is gone
    assert not any(project.models_dir.iterdir())                   # and left no model behind
    log = (project.runs_dir / started[0].run_id / "events.jsonl").read_text().splitlines()
    assert json.loads(log[-1])["event"] == "cancelled"


def test_worker_error_is_a_model_error_with_its_message(tmp_path):
    from studio.project import Project

    project = Project.create(tmp_path / "empty", template="demo")
    events = []
    with pytest.raises(ModelError) as err:
        runner.run_training(project.root, "anomaly", on_event=events.append, timeout=120)
    assert "at least 3 good" in str(err.value) and "there are 0" in str(err.value)
    assert events[-1]["event"] == "error"


def test_unknown_task_is_reported(tmp_path):
    from studio.project import Project

    project = Project.create(tmp_path / "p", template="demo")
    with pytest.raises(ModelError, match="unknown trainer 'panoptic'"):
        runner.run_training(project.root, "panoptic", timeout=120)


def _fake_worker(monkeypatch, code):
    monkeypatch.setattr(runner, "worker_command", lambda *a, **k: [sys.executable, "-c", code])


def test_crash_without_done_carries_stderr(tmp_path, monkeypatch):
    _fake_worker(monkeypatch, "import sys; print('{\"event\": \"progress\", \"fraction\": 0.1}', flush=True); "
                              "sys.stderr.write('Segmentation fault in libsomething\\n'); sys.exit(139)")
    with pytest.raises(ModelError) as err:
        runner.run_training(tmp_path, "anomaly", timeout=60)
    assert "exit code 139" in str(err.value) and "libsomething" in str(err.value)


def test_plain_stdout_lines_become_status_events(tmp_path, monkeypatch):
    _fake_worker(monkeypatch, "print('loading weights...'); "
                              "print('{\"event\": \"done\", \"model_id\": \"m\", \"task\": \"anomaly\", "
                              "\"metrics\": {}, \"seconds\": 0.1}')")
    events = []
    done = runner.run_training(tmp_path, "anomaly", on_event=events.append, timeout=60)
    assert events[0] == {"event": "status", "text": "loading weights..."}
    assert done["model_id"] == "m"


def test_bad_option_values_are_user_errors(tmp_path):
    from studio.project import Project
    from studio.training.options import merge_options

    project = Project.create(tmp_path / "p", template="demo")
    defaults = {"epochs": 8, "lr": 1e-3, "device": None}
    assert merge_options(project, "classification", defaults, {"epochs": "3", "device": "cpu"})["epochs"] == 3
    assert merge_options(project, "classification", defaults, None)["epochs"] == 5     # the demo's project.yaml
    with pytest.raises(ModelError, match="'epochs' is 'three', not a whole number"):
        merge_options(project, "classification", defaults, {"epochs": "three"})
    with pytest.raises(ModelError, match="unknown classification training option: epoch"):
        merge_options(project, "classification", defaults, {"epoch": 3})
