"""The demo opens with content: on first open it fills itself (parts with labels, a baseline, a model)."""
import shutil
from pathlib import Path

import pytest

from studio.lighting import store as lighting_store
from studio.project import Project
from studio.training.demo import fill_demo, fill_settings, needs_fill

REPO = Path(__file__).resolve().parents[1]


def _demo_copy(tmp_path, **overrides):
    dest = tmp_path / "demo"
    dest.mkdir()
    for f in (REPO / "projects" / "demo").glob("*.yaml"):
        shutil.copy(f, dest / f.name)
    if overrides:
        import yaml

        cfg = yaml.safe_load((dest / "demo.yaml").read_text())
        cfg.update(overrides)
        (dest / "demo.yaml").write_text(yaml.safe_dump(cfg))
    return Project.open(dest)


def test_the_bundled_demo_fills_itself_and_a_template_project_does_not(tmp_path):
    demo = _demo_copy(tmp_path)
    assert fill_settings(demo)["parts"] >= 40 and fill_settings(demo)["train"] == "anomaly"
    assert needs_fill(demo)
    fresh = Project.create(tmp_path / "fresh", template="demo")      # the README's whole pass starts empty
    assert not needs_fill(fresh) and len(fresh.dataset) == 0


def test_a_bad_demo_file_is_a_clear_error(tmp_path):
    demo = _demo_copy(tmp_path)
    (demo.root / "demo.yaml").write_text("partz: 3\n")
    with pytest.raises(Exception, match="keys the demo fill does not know"):
        needs_fill(demo)


@pytest.mark.gui
def test_the_gui_fills_a_new_demo_in_the_background_with_progress(qtbot, tmp_path):
    import PySide6  # noqa: F401  a core dependency: a broken install fails, never skips
    from studio.gui.main_window import MainWindow

    demo = _demo_copy(tmp_path, parts=6, train="")
    w = MainWindow(demo)
    qtbot.addWidget(w)
    w.show()
    assert w.fill_runner.is_running() and w.fill_bar.isVisible()
    assert "Preparing the demo" in w.fill_label.text()
    qtbot.waitUntil(lambda: not w.fill_runner.is_running(), timeout=120_000)
    assert "Demo ready: 6 labelled parts, a lighting baseline" in w.fill_label.text()
    assert len(demo.dataset) == 6 and len(demo.labels.current()) == 6
    assert lighting_store.load_baseline(demo) is not None
    assert "6 images" in w.status_label.text()
    assert not w.fill_demo_if_new()                 # once: it has content now
    w.shutdown_pages()


@pytest.mark.slow
def test_fill_demo_makes_parts_a_baseline_and_a_model(tmp_path):
    demo = _demo_copy(tmp_path, parts=30)
    events = []

    from studio.core.task import TaskContext

    out = fill_demo(demo, TaskContext(events.append))
    assert out["audit"] == "pass" and out["baseline"] and out["parts"] == 30 and out["model_id"]
    assert events and events[-1] == pytest.approx(1.0) and all(b >= a - 1e-9 for a, b in zip(events, events[1:]))
    labels = demo.labels.current()
    assert {labels[r.id].verdict for r in demo.dataset} == {"ok", "ng"}
    assert (demo.root / "models" / out["model_id"]).is_dir()
    assert not needs_fill(demo)
