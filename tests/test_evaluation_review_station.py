"""The review band from the model card to the PLC: parts in the band get verdict code 4, never a pass."""
import math
import sqlite3
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from studio.plc import register_map as rm
from studio.station.decide import decide


class BandModel:
    """The inference interface with a known score; the card carries the review band."""

    threshold = 0.5

    def __init__(self, score, band=None):
        self.score = score
        self.card = {"review_band": band} if band is not None else {}

    def predict(self, image):
        return SimpleNamespace(score=self.score, defective=self.score >= self.threshold, defect_class="dent",
                               class_id=2, anomaly_map=None)


def test_decide_sends_the_band_to_review_and_never_passes_it():
    band = {"low": 0.5, "high": 0.8}
    assert decide(BandModel(0.3, band), None).verdict == "pass"
    d = decide(BandModel(0.6, band), None)
    assert (d.verdict, d.verdict_code, d.defect_class, d.class_id) == ("review", 4, "dent", 2)
    assert decide(BandModel(0.8, band), None).verdict == "reject"          # the upper end rejects
    assert decide(BandModel(0.6), None).verdict == "reject"                # no band: as before
    assert decide(BandModel(0.6, {"low": 0.5}), None).verdict == "reject"  # a broken band rejects
    assert decide(BandModel(math.nan, band), None).verdict == "fault"      # faults still fail safe


def test_register_map_has_the_review_code():
    assert rm.VERDICT_REVIEW == 4 and rm.VERDICT_CODES["review"] == 4
    assert rm.result_words(7, rm.VERDICT_REVIEW, 0.6, 2) == [7, 4, 600, 2]
    assert "4 review" in rm.markdown_table()
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "4 review" in readme


def test_station_sends_review_to_the_plc_with_a_real_model(tmp_path):
    import onnxruntime  # noqa: F401  a core dependency: a broken install fails, never skips
    import torch  # noqa: F401  a core dependency: a broken install fails, never skips
    sys.path.insert(0, str(Path(__file__).parent))
    from test_training_support import make_project, write_fake_model

    from studio.capture.camera import open_camera
    from studio.evaluation.evaluate import evaluate
    from studio.project.model_card import set_threshold
    from studio.inference.model import InspectionModel
    from studio.plc.sim import SimPlc
    from studio.station import Station

    project = make_project(tmp_path / "p", good_train=0, good_test=3, bad_train=0, bad_test=2)
    write_fake_model(project, "m1", "anomaly", threshold=100.0)
    ev = evaluate(project, "m1")
    good = max(r["score"] for r in ev["scores"] if not r["defective"])
    bad = max(r["score"] for r in ev["scores"] if r["defective"])
    set_threshold(project, "m1", (good + min(r["score"] for r in ev["scores"] if r["defective"])) / 2,
                  review_up_to=bad + 1.0)                               # every defective plate is in the band
    model = InspectionModel.load(project, "m1")
    station = Station(project, model=model, camera=open_camera(f"folder:{project.root / 'images'}"),
                      plc=SimPlc(), data_dir=tmp_path / "data", max_parts=5)
    assert station.run(timeout=60) is True
    con = sqlite3.connect(station.log_path)
    logged = con.execute("SELECT verdict, verdict_code FROM results ORDER BY part").fetchall()
    con.close()
    # folder camera: images in name order: bad3, bad4, good0, good1, good2
    assert logged == [("review", 4), ("review", 4), ("pass", 1), ("pass", 1), ("pass", 1)]
    assert [p.verdict_code for p in station.plc.history] == [4, 4, 1, 1, 1]
    stats = station.stats()
    assert stats["reviewed"] == 2 and stats["passed"] == 3 and stats["faults"] == 0
    assert np.isfinite(stats["latency_ms_median"])
