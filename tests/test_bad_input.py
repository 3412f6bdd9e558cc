"""Bad input: every project file is checked, each problem is named (file, field or line, what to do), nothing is lost."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from studio.core.errors import ModelError, ProjectError
from studio.project import Project, check_all


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "studio", *map(str, args)], capture_output=True, text=True,
                          timeout=180)


@pytest.fixture
def project(tmp_path):
    return Project.create(tmp_path / "p", template="demo")


def fields(problems, file_name):
    return {p.field for p in problems if Path(p.file).name == file_name}


# ---- labels.jsonl: the audit trail -------------------------------------------------------------

def test_a_label_line_that_is_json_but_not_an_object_is_reported_by_line_not_a_traceback(project):
    project.labels.add("a", "ok")
    with open(project.root / "labels.jsonl", "a") as f:
        f.write('["not", "a label"]\n')                       # valid JSON, not an object: was an AttributeError
        f.write('{"image_id": "b", "verdict": "maybe"}\n')
        f.write('{"image_id": "c", "verdict": "ng", "defect_class": "dent"}\n')
    store = Project.open(project.root).labels
    assert set(store.current()) == {"a", "c"}                  # every good line still counts
    assert [n for n, _ in store.skipped] == [2, 3]             # never skipped in silence
    assert "JSON list" in store.skipped[0][1]
    problems = check_all(project.root)
    assert fields(problems, "labels.jsonl") == {"line 2", "line 3"}
    assert all(p.level == "error" and p.hint for p in problems)
    r = run_cli("project", "check", project.root)
    assert r.returncode == 1 and "line 2" in r.stderr and "line 3" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_a_label_line_torn_by_a_crash_is_a_warning_and_check_still_passes(project):
    project.labels.add("a", "ok")
    with open(project.root / "labels.jsonl", "a") as f:
        f.write('{"image_id": "c", "verd')
    problems = check_all(project.root)
    assert [(p.field, p.level) for p in problems] == [("line 2", "warning")]
    assert "interrupted" in problems[0].message
    r = run_cli("project", "check", project.root)
    assert r.returncode == 0 and "1 warning" in r.stdout and "line 2" in r.stderr


def test_a_missing_brush_mask_is_reported_and_training_data_refuses_it(project):
    import numpy as np

    from studio.labels.samples import image_mask

    rec = project.dataset.add_image(np.full((32, 32), 128, np.uint8), stem="plate")
    project.dataset.add_image(np.full((32, 32), 100, np.uint8), stem="other",
                              mask=np.ones((32, 32), np.uint8))
    label = project.labels.add(rec.id, "ng", "stain",
                               shapes=[{"type": "mask", "class": "stain", "file": "label_masks/gone.png"}])
    problems = check_all(project.root)
    assert any("label_masks/gone.png" in p.message and p.field == "line 1" for p in problems)
    rec.mask = "masks/other.png"           # a dataset mask exists: it must not stand in for the painted one
    with pytest.raises(ModelError) as err:
        image_mask(project, rec, label)
    assert rec.id in str(err.value) and "label_masks/gone.png" in str(err.value)
    (project.root / "label_masks").mkdir(exist_ok=True)
    (project.root / "label_masks" / "gone.png").write_bytes(b"\x00garbage")      # there, but damaged
    assert any("is not a PNG" in p.message for p in check_all(project.root))
    with pytest.raises(ModelError, match="gone.png"):
        image_mask(project, rec, label)


# ---- dataset.json, labeling.yaml, limits, test split --------------------------------------------

def test_dataset_manifest_problems_are_named_and_opening_it_is_a_clear_error(project):
    (project.root / "dataset.json").write_text(json.dumps({"schema_version": 1, "images": [["x"]]}))
    assert fields(check_all(project.root), "dataset.json") == {"images"}
    with pytest.raises(ProjectError, match="dataset.json"):
        _ = Project.open(project.root).dataset       # the dataset is read on first use
    (project.root / "dataset.json").write_text(json.dumps({"images": [
        {"id": "a", "file": "images/a.png", "split": "train"},
        {"id": "a", "file": "images/a.png", "split": "sideways"}]}))
    assert fields(check_all(project.root), "dataset.json") == {"images[a]", "images[a].split", "images[a].file"}


def test_labeling_plan_limits_and_test_split_are_checked(project):
    (project.root / "labeling.yaml").write_text("labelers: [ann, bob]\noverlapp: 0.2\n")
    (project.root / "audits" / "limits.yaml").write_text("exposure: {mean_minn: 40}\n")
    (project.root / "test_split.json").write_text("[1, 2]")
    problems = check_all(project.root)
    assert fields(problems, "labeling.yaml") == {"overlapp"}
    assert fields(problems, "limits.yaml") == {"exposure.mean_minn"}
    assert fields(problems, "test_split.json") == {"(file)"}
    (project.root / "labeling.yaml").write_text("labelers: [ann, bob]\noverlap: 2\n")
    assert fields(check_all(project.root), "labeling.yaml") == {"(file)"}


def test_a_valid_project_with_every_file_checks_clean(project):
    import numpy as np

    from studio.dataset.splits import freeze
    from studio.labels.assignment import LabelingPlan
    from studio.lighting import limits

    rec = project.dataset.add_image(np.full((32, 32), 128, np.uint8), stem="plate")
    project.labels.add(rec.id, "ok")
    LabelingPlan(labelers=["ann", "bob"]).save(project.root)
    limits.set_limit(project, "exposure", "mean_min", 40)
    freeze(project)
    (project.root / "station.yaml").write_text("schema_version: 1\nplc: sim\ndata_dir: ../results\n")
    assert check_all(project.root) == []


# ---- station.yaml: unknown keys are refused, never fall back to a default ---------------------

def test_a_station_yaml_typo_is_named_with_did_you_mean_and_the_station_refuses_to_start(project, tmp_path):
    from studio.station import Station

    (project.root / "station.yaml").write_text("plc_spec: modbus-server://127.0.0.1:0\non_log_failure: pause\n")
    problems = check_all(project.root)
    assert fields(problems, "station.yaml") == {"plc_spec", "on_log_failure"}
    typo = next(p for p in problems if p.field == "plc_spec")
    assert "did you mean 'plc'" in typo.message and "simulated PLC" in typo.hint
    with pytest.raises(ProjectError, match="plc_spec"):
        Station(project, plc_spec=None, data_dir=tmp_path / "data")
    r = run_cli("station", "run", project.root, "--parts", "1", "--data-dir", tmp_path / "data")
    assert r.returncode == 2 and "did you mean 'plc'" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "data").exists()                  # nothing ran


def test_every_planned_station_setting_is_in_the_one_table():
    from studio.project.station_settings import SETTINGS, validate

    planned = ["plc", "camera", "data_dir", "durability", "on_log_failure", "retention", "plc_timeout_s",
               "trigger_timeout_s", "plc_heartbeat", "trigger", "users", "plc_users", "station_id", "shadow",
               "web", "central", "mqtt", "shifts", "mode"]
    assert set(planned) <= set(SETTINGS) and all(SETTINGS[k].meaning for k in planned)
    assert validate({"camera": {"spec": "genicam:viky", "settings": {"exposure_us": 800}},
                     "on_log_failure": "stop", "durability": "power-loss", "plc_timeout_s": 2.5}) == []
    assert {p.field for p in validate({"camera": {"spek": "sim"}, "plc_timeout_s": 0, "on_log_failure": "pause",
                                       "plc": 5})} == {"camera", "plc_timeout_s", "on_log_failure", "plc"}


# ---- model cards -------------------------------------------------------------------------------

def test_a_card_whose_threshold_is_null_is_a_problem_not_a_traceback(project):
    from studio.project import model_card

    folder = project.models_dir / "anomaly-x"
    folder.mkdir()
    (folder / "card.json").write_text(json.dumps({"model_id": "anomaly-x", "task": "anomaly", "threshold": None,
                                                  "preprocessing": {}, "classes": ["good", "anomaly"]}))
    assert fields(check_all(project.root), "card.json") == {"threshold"}
    with pytest.raises(ModelError) as err:
        model_card.load(folder)
    assert "anomaly-x" in str(err.value) and "threshold" in str(err.value)




@pytest.fixture
def fake_model():
    import onnxruntime  # noqa: F401  a core dependency: a broken install fails, never skips
    import torch  # noqa: F401  a core dependency: a broken install fails, never skips
    sys.path.insert(0, str(Path(__file__).parent))
    from test_training_support import write_fake_model

    return write_fake_model


def test_station_run_with_a_null_threshold_card_exits_2_naming_the_model(project, tmp_path, fake_model):
    folder = fake_model(project, "anomaly-x", "anomaly", threshold=1.0)
    card = json.loads((folder / "card.json").read_text())
    card["threshold"] = None
    (folder / "card.json").write_text(json.dumps(card))
    r = run_cli("station", "run", project.root, "--parts", "2", "--data-dir", tmp_path / "data")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "anomaly-x" in r.stderr and "threshold" in r.stderr
    # the threshold can be set again on that card: the repair is possible
    r = run_cli("threshold", project.root, "--model", "anomaly-x", "--value", "0.5")
    assert r.returncode == 0, r.stderr
    assert json.loads((folder / "card.json").read_text())["threshold"] == 0.5


def test_an_unreadable_newest_card_is_refused_unless_a_model_is_named(project, tmp_path, fake_model):
    from studio.inference import InspectionModel

    fake_model(project, "anomaly-old", "anomaly", threshold=1.0, created="2026-01-01T00:00:00")
    new = fake_model(project, "anomaly-new", "anomaly", threshold=1.0, created="2026-02-01T00:00:00")
    (new / "card.json").write_text("{ half a card")
    with pytest.raises(ModelError) as err:
        InspectionModel.load(project)                # was: anomaly-old, with a log line only
    assert "newest model 'anomaly-new'" in str(err.value) and "--model" in str(err.value)
    assert InspectionModel.load(project, "anomaly-old").model_id == "anomaly-old"
    r = run_cli("station", "run", project.root, "--parts", "2", "--data-dir", tmp_path / "d1")
    assert r.returncode == 2 and "anomaly-new" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("station", "run", project.root, "--parts", "2", "--model", "anomaly-old",
                "--data-dir", tmp_path / "d2")
    assert r.returncode == 0, r.stderr
    # station run says at start what runs
    line = next(x for x in r.stderr.splitlines() if x.startswith("station running:"))
    assert "camera sim" in line and "PLC" in line and "model anomaly-old" in line and str(tmp_path / "d2") in line


def test_yaml_station_settings_are_kept_as_written(project):
    (project.root / "station.yaml").write_text(yaml.safe_dump({"plc": "sim", "camera": {"spec": "sim:3"}}))
    assert Project.open(project.root).station_settings()["camera"] == {"spec": "sim:3"}


def test_the_bundled_demo_project_checks_clean_file_by_file():
    demo = Path(__file__).resolve().parents[1] / "projects" / "demo"
    assert check_all(demo) == []
    r = run_cli("project", "check", demo, "--json")
    assert r.returncode == 0 and json.loads(r.stdout.splitlines()[-1])["valid"] is True


def test_a_broken_lighting_baseline_is_reported_and_the_station_is_told_its_watch_is_off(project):
    from studio.lighting.drift import watch_for

    (project.root / "audits" / "baseline.json").write_text('{"audit_id": "x"}')     # no summary
    (project.root / "audits" / "20260101-000000").mkdir()
    (project.root / "audits" / "20260101-000000" / "audit.json").write_text("{ torn")
    problems = check_all(project.root)
    assert [(Path(p.file).name, p.level) for p in problems] == [("baseline.json", "error"),
                                                               ("audit.json", "warning")]
    alerts = []
    assert watch_for(project, lambda m, level="warning": alerts.append((m, level))) is None
    assert alerts and "no lighting watch" in alerts[0][0] and "baseline.json" in alerts[0][0]


def test_the_label_page_says_when_label_lines_are_not_counted(qtbot, project):
    import PySide6  # noqa: F401  a core dependency: a broken install fails, never skips
    import numpy as np

    from studio.gui.pages.label import LabelPage

    rec = project.dataset.add_image(np.full((30, 40), 90, np.uint8), stem="plate")
    project.labels.add(rec.id, "ok")
    with open(project.root / "labels.jsonl", "a") as f:
        f.write("42\n")
    fresh = Project.open(project.root)
    page = LabelPage(fresh)
    qtbot.addWidget(page)
    page.refresh()
    assert "1 line(s) cannot be read" in page.message.text() and "line 2" in page.message.text()
