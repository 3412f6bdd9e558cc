"""Data readiness: usable labeled images per class against the usual needs; which task to start with."""
import json

from studio.cli.main import main
from studio.labels.readiness import NEEDS, readiness
from studio.labels.shapes import box


def _project(demo_project, good, defects):
    """Labels only: readiness counts labels (the pixels do not matter here)."""
    p = demo_project
    n = 0
    for cls, k in [("ok", good)] + list(defects.items()):
        for _ in range(k):
            if cls == "ok":
                p.labels.add(f"i{n}", "ok", labeler="a", fsync=False)
            else:
                p.labels.add(f"i{n}", "ng", cls, labeler="a", shapes=[box(1, 1, 2, 2, cls)], fsync=False)
            n += 1
    return p


def test_rare_defects_recommend_anomaly_detection(demo_project, capsys):
    p = _project(demo_project, 250, {"scratch": 2})
    r = readiness(p)
    assert r["good"] == 250 and r["defect_images"] == 2 and r["defect_rate"] < 0.01
    assert r["recommendation"]["task"] == "anomaly" and "rare" in r["recommendation"]["why"]
    assert r["tasks"]["anomaly"]["level"] == "enough to start"      # 250 of 200-500 good images
    assert r["tasks"]["classification"]["level"] == "too few"
    assert r["tasks"]["detection"]["classes"]["scratch"]["have"] == 2
    assert main(["labels", "readiness", str(p.root), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["recommendation"]["task"] == "anomaly"


def test_enough_of_every_class_recommends_classification(demo_project):
    low = NEEDS["classification"][0]
    p = _project(demo_project, low, {"scratch": low, "dent": low})
    p.labels.add("i0", "ng", "dent", labeler="b")                  # a dispute is not usable
    r = readiness(p)
    assert r["disputed"] == 1 and r["good"] == low - 1
    assert r["recommendation"]["task"] == "classification"
    assert r["tasks"]["classification"]["classes"]["dent"]["level"] == "enough to start"
