"""``studio trace``: a part from a real station run, back to its model card, training run, the exact
images and labels, the criteria version, the threshold decision and the promotion."""
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_training_support import make_project  # noqa: E402

CAMERA = "sim:seed=3,defect_rate=0.3,width=160,height=120"


def studio(*args, check=True):
    import os

    import studio as pkg

    env = dict(os.environ, PYTHONPATH=str(Path(pkg.__file__).resolve().parents[1]))
    out = subprocess.run([sys.executable, "-m", "studio", *map(str, args)], capture_output=True, text=True,
                         env=env, timeout=300)
    if check:
        assert out.returncode == 0, out.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def station_run(tmp_path_factory):
    """A project trained by the real worker, a threshold set with an audit entry, a promotion, and a
    station run on it; then the threshold changed again (after the parts)."""
    from studio.audit import AuditTrail
    from studio.project.model_card import set_threshold
    from studio.project import Project
    from studio.training import runner

    base = tmp_path_factory.mktemp("trace")
    project = make_project(base / "line", good_train=4, good_test=1, bad_train=0, bad_test=1)
    done = runner.run_training(project.root, "anomaly", {"coreset_ratio": 0.2}, timeout=300)
    model_id = done["model_id"]
    card = set_threshold(project, model_id, 0.37, chosen={"how": "cost", "escape_cost": 500.0,
                                                          "false_reject_cost": 2.0, "defect_rate": 0.01})
    AuditTrail(project.root).append("threshold.set", actor="erika", what=model_id, before=done["threshold"],
                                    after=0.37, reason="cost model: escapes cost 250x a scrapped part",
                                    meaning="approval")
    AuditTrail(project.root).append("model.promoted", actor="erika", what=model_id, reason="passed the gate",
                                    meaning="approval")
    time.sleep(1.1)             # the threshold history has one-second times: the run comes after it
    data = base / "station-data"
    studio("station", "run", project.root, "--camera", CAMERA, "--plc", "sim", "--parts", 12,
           "--data-dir", data, "--json")
    time.sleep(1.1)
    set_threshold(project, model_id, 0.5)       # after the run: not the threshold the parts were decided with
    AuditTrail(project.root).append("threshold.set", actor="otto", what=model_id, before=0.37, after=0.5,
                                    reason="later change")
    return Project.open(project.root), model_id, data, done, card


@pytest.mark.slow
def test_trace_follows_a_part_to_everything_that_decided_it(station_run):
    from studio.inference.model import DIGEST_FIELD
    from studio.project import model_card

    project, model_id, data, done, card_then = station_run
    out = studio("trace", data, "--part", 7, "--json")
    chain = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"part", "model", "training", "data", "criteria_version", "threshold", "promotion"} <= chain.keys()
    card = model_card.read(project.models_dir / model_id)

    # the result row
    p = chain["part"]
    assert p["part"] == 7 and p["model_id"] == model_id and p["verdict"] in ("pass", "reject", "review")
    assert isinstance(p["score"], float) and p["decided"] and p["t_trigger"] <= p["t_decided"]
    assert p["image"] is None or Path(p["image"]).is_file()
    # the model card
    assert chain["model"]["model_id"] == model_id
    assert chain["model"]["onnx_digest"] == card[DIGEST_FIELD] and chain["model"]["onnx_digest"]
    assert chain["model"]["card"] == str(project.models_dir / model_id / "card.json")
    # its training run: recorded by the worker
    assert chain["training"]["run_id"] == done["run_id"]
    run = chain["training"]["run"]
    assert run["model_id"] == model_id and run["task"] == "anomaly"
    assert chain["training"]["code_version"] == card["lineage"]["code_version"]
    # the data: digests, the exact images and their labels
    d = chain["data"]
    assert d["dataset_digest"] == card["lineage"]["dataset_digest"]
    assert d["labels_digest"] == card["lineage"]["labels_digest"]
    assert d["images_digest"] == card["lineage"]["training_set"]["images_digest"] == run["training_set"][
        "images_digest"]
    ids = sorted(i["image_id"] for i in d["images"])
    assert ids == sorted(card["lineage"]["images"]["train"] + card["lineage"]["images"]["test"])
    current = project.labels.current()
    for img in d["images"]:
        rec = project.dataset.get(img["image_id"])
        import hashlib

        assert img["sha256"] == hashlib.sha256(project.dataset.path(rec).read_bytes()).hexdigest()
        assert img["label"]["verdict"] == current[img["image_id"]].verdict
        assert img["label"]["id"] == current[img["image_id"]].id
    assert chain["criteria_version"] == card["lineage"]["criteria_version"] == project.criteria.version
    # the threshold decision in force when the part was decided (not today's)
    th = chain["threshold"]
    assert th["value"] == 0.37 and th["current"] == 0.5 and th["changed_since_part"]
    assert th["method"] == "cost" and th["costs"]["escape_cost"] == 500.0 == card_then["operating_point"][
        "escape_cost"]
    assert th["chosen_by"] == "erika" and "250x" in th["why"]
    assert th["decision"]["after"] == 0.37
    if p["verdict"] in ("pass", "reject"):
        assert th["agrees_with_verdict"] is True
    # the promotion
    assert chain["promotion"]["promoted"] and chain["promotion"]["by"] == "erika"
    words = studio("trace", data, "--part", 7).stdout
    assert f"model      {model_id}" in words and "erika" in words and "promotion  by erika" in words


@pytest.mark.slow
def test_trace_errors_are_clear(station_run, tmp_path):
    project, model_id, data, done, _ = station_run
    out = studio("trace", data, "--part", 9999, check=False)
    assert out.returncode == 2 and "part 9999 is not in the result log" in out.stderr
    assert "up to 12" in out.stderr and "Traceback" not in out.stderr
    out = studio("trace", tmp_path, "--part", 1, check=False)
    assert out.returncode == 2 and "no result log in this data directory" in out.stderr
    out = studio("trace", tmp_path / "nowhere", "--part", 1, check=False)
    assert out.returncode == 2 and "no such data directory" in out.stderr


def test_trace_without_lineage_or_audit_names_the_gaps(tmp_path):
    """A model from before runs were recorded, a threshold nobody signed, no promotion: said, never invented."""
    from test_training_support import write_fake_model

    from studio.project import Project
    from studio.station import Station
    from studio.station.trace import describe, trace_part

    project = Project.create(tmp_path / "p", template="demo")
    project.settings["preprocessing"]["size"] = 64
    project.save()
    write_fake_model(project, "m-old", "anomaly", threshold=-0.2)
    data = tmp_path / "data"
    assert Station(project, CAMERA, "sim", data_dir=data, max_parts=3).run(30)
    assert json.loads((data / "station.json").read_text())["project"] == str(project.root.resolve())
    chain = trace_part(data, 2)
    assert chain["model"]["model_id"] == "m-old" and chain["threshold"]["value"] == -0.2
    assert chain["training"]["run_id"] is None and chain["data"]["images"] is None
    assert chain["promotion"]["promoted"] is False and "not promoted" in chain["promotion"]["note"]
    assert any("does not name its training run" in g for g in chain["gaps"])
    assert any("who set model m-old's threshold" in g for g in chain["gaps"])
    assert "gap:" in describe(chain)
    # a data directory that does not say its project: --project says it
    (data / "station.json").unlink()
    from studio.core.errors import StudioError

    with pytest.raises(StudioError, match="does not say which project"):
        trace_part(data, 2)
    assert trace_part(data, 2, project=project.root)["model"]["model_id"] == "m-old"


def test_a_double_click_on_a_part_opens_its_chain_on_the_station_page_and_in_the_kiosk(qtbot, tmp_path):
    from test_training_support import write_fake_model

    from studio.gui.kiosk import KioskWindow
    from studio.gui.pages.station import StationPage
    from studio.gui.trace_dialog import TraceDialog
    from studio.project import Project
    from studio.station import Station
    from studio.station.handle import AttachedStation

    project = Project.create(tmp_path / "p", template="demo")
    project.settings["preprocessing"]["size"] = 64
    project.save()
    write_fake_model(project, "m-gui", "anomaly", threshold=-0.2)
    data = tmp_path / "data"
    assert Station(project, CAMERA, "sim", data_dir=data, max_parts=4).run(30)

    page = StationPage(project)
    qtbot.addWidget(page)
    page.show()
    page.station = type("S", (), {"data_dir": data})()      # the page's station wrote to data
    for part in (3, 4):
        page.recent.insertRow(0)
        from PySide6.QtWidgets import QTableWidgetItem

        page.recent.setItem(0, 0, QTableWidgetItem(f"{part} (ID-{part})"))
    page.recent.cellDoubleClicked.emit(1, 2)                  # the row of part 3
    dialog = page.trace_dialog
    assert isinstance(dialog, TraceDialog) and dialog.chain["part"]["part"] == 3
    assert dialog.chain["model"]["model_id"] == "m-gui"
    titles = [dialog.tree.topLevelItem(i).text(0) for i in range(dialog.tree.topLevelItemCount())]
    assert titles[:7] == ["Part", "Model card", "Training run", "Data", "Criteria", "Threshold decision",
                          "Promotion"] and titles[-1].startswith("Gaps")
    dialog.copy_json()
    from PySide6.QtWidgets import QApplication

    assert json.loads(QApplication.clipboard().text())["part"]["part"] == 3
    dialog.close()
    page.station = None

    handle = AttachedStation(data)
    kiosk = KioskWindow(handle, owns_station=False)
    qtbot.addWidget(kiosk)
    kiosk.show()
    handle.poll()
    qtbot.waitUntil(lambda: getattr(kiosk, "shown_part", None) == 4, timeout=5_000)
    qtbot.mouseDClick(kiosk.view, __import__("PySide6.QtCore", fromlist=["Qt"]).Qt.MouseButton.LeftButton)
    assert kiosk.trace_dialog is not None and kiosk.trace_dialog.chain["part"]["part"] == 4
    kiosk.trace_dialog.close()
    qtbot.mouseDClick(kiosk.thumbs[2].view, __import__("PySide6.QtCore", fromlist=["Qt"]).Qt.MouseButton.LeftButton)
    assert kiosk.trace_dialog.chain["part"]["part"] == 2          # a thumbnail: its own part
    kiosk.trace_dialog.close()
    kiosk.close()
    handle.close()
