"""Operators overrule the station; the part lands in the review queue and, once decided, in training."""
import numpy as np
import pytest

from studio.cli.main import main
from studio.core.errors import StudioError
from studio.labels.review import decide, review_queue
from studio.station.feedback import send_back
from tests.test_station import FakeModel, make, rows


@pytest.fixture
def ran(demo_project, tmp_path):
    station, _ = make(demo_project, tmp_path, max_parts=8)
    assert station.run(timeout=30)
    return demo_project, station.data_dir, rows(station)


def test_a_wrong_reject_goes_to_the_review_queue_and_the_decision_trains(ran):
    project, data_dir, logged = ran
    rejected = next(r for r in logged if r["verdict"] == "reject")
    out = send_back(project, data_dir, rejected["part"], "ok", operator="maria", note="only a water mark")

    record = project.dataset.get(out["image_id"])
    assert record.source == "station" and record.meta["station_part"] == rejected["part"]
    assert record.meta["model_verdict"] == "reject"
    logged_image = np.asarray(__import__("cv2").imread(str(data_dir / rejected["image_path"]), -1))
    assert project.dataset.load(record).shape[:2] == logged_image.shape[:2]

    queue = review_queue(project)
    assert [it.image_id for it in queue] == [out["image_id"]] and queue[0].reason == "disputed"
    assert set(queue[0].labels) == {f"model:{FakeModel.model_id}", "operator:maria"}
    assert project.labels.get(out["image_id"]) is None          # disputed: not a training label yet

    decide(project, out["image_id"], "ok", labeler="lead", rationale="water marks are cosmetic (rule 4.2)")
    assert review_queue(project) == []
    assert project.labels.get(out["image_id"]).verdict == "ok"


def test_agreeing_twice_or_an_unknown_part_is_refused_with_a_reason(ran):
    project, data_dir, logged = ran
    passed = next(r for r in logged if r["verdict"] == "pass")
    with pytest.raises(StudioError, match="already said pass"):
        send_back(project, data_dir, passed["part"], "ok", operator="maria")
    with pytest.raises(StudioError, match="not in the station's result log"):
        send_back(project, data_dir, 999, "ng", operator="maria")
    send_back(project, data_dir, passed["part"], "ng", "scratch", operator="maria")
    with pytest.raises(StudioError, match="already sent back"):
        send_back(project, data_dir, passed["part"], "ng", "scratch", operator="maria")
    assert len(project.dataset) == 1


def test_cli_station_disagree(ran, capsys):
    project, data_dir, logged = ran
    part = next(r for r in logged if r["verdict"] == "pass")["part"]
    code = main(["station", "disagree", str(project.root), "--part", str(part), "--verdict", "ng",
                 "--class", "dent", "--operator", "ali", "--data-dir", str(data_dir), "--json"])
    assert code == 0
    out = __import__("json").loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["operator_verdict"] == "ng" and out["defect_class"] == "dent" and out["station_verdict"] == "pass"
    assert main(["station", "disagree", str(project.root), "--part", str(part), "--verdict", "ng",
                 "--class", "nonsense", "--data-dir", str(data_dir)]) == 2
