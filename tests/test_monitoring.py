"""Production monitoring: control limits, drift, shifts, and real station runs on a folder camera.

The station runs use a real ONNX model through InspectionModel (a tiny
"contrast" anomaly model: its map is how far each pixel is from the plate's
mean, so a dark blob scores high and a black frame scores 0), a folder
camera, the simulated PLC and a real SQLite result log.
"""
import datetime as dt
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_training_support import make_project, plate  # noqa: E402

from studio.monitoring import drift as D  # noqa: E402
from studio.monitoring.control import RejectRateWatch, p_limits  # noqa: E402
from studio.monitoring.shifts import shift_of  # noqa: E402

SHIFTS = [{"name": "A", "start": "06:00"}, {"name": "B", "start": "14:00"}, {"name": "C", "start": "22:00"}]


def at(hh, mm=0, day=2):
    return dt.datetime(2026, 3, day, hh, mm).astimezone().timestamp()


# ---- the pieces ----------------------------------------------------------
def test_shift_of_wraps_past_midnight():
    assert shift_of(at(6), SHIFTS) == "A"
    assert shift_of(at(13, 59), SHIFTS) == "A"
    assert shift_of(at(14), SHIFTS) == "B"
    assert shift_of(at(23, 30), SHIFTS) == "C"
    assert shift_of(at(2), SHIFTS) == "C"           # before the first start: last night's shift
    assert shift_of(at(7), {"A": "06:00", "B": "18:00"}) == "A"
    assert shift_of(at(7), None) == ""


def test_shift_of_refuses_a_bad_time():
    from studio.core.errors import StudioError

    with pytest.raises(StudioError, match="not a time of day"):
        shift_of(at(7), [{"name": "A", "start": "25:00"}])


def test_p_chart_limits_and_the_watch_alert_once_per_excursion():
    lo, hi = p_limits(0.02, 50)
    assert lo == 0.0 and hi == pytest.approx(0.02 + 3 * np.sqrt(0.02 * 0.98 / 50))
    w = RejectRateWatch(0.02, window=50)
    assert all(w.add(False) is None for _ in range(60))
    signals = [w.add(True) for _ in range(20)]
    ups = [s for s in signals if s is not None]
    assert len(ups) == 1 and ups[0].direction == "up"
    assert signals.index(ups[0]) < 6                # caught within a few defective parts
    back = [w.add(False) for _ in range(200)]
    assert [s.direction for s in back if s is not None] == ["back"]


def test_cusum_catches_a_small_sustained_drop():
    w = RejectRateWatch(0.3, window=30)
    rng = np.random.default_rng(1)
    assert [w.add(bool(r)) for r in rng.random(300) < 0.3].count(None) >= 299    # in control: quiet
    found = next(i for i in range(200) if (s := w.add(bool(rng.random() < 0.08))) is not None)
    assert s.direction == "down" and found < 120


def test_psi_and_ks_see_a_shift_and_not_noise():
    rng = np.random.default_rng(0)
    ref = rng.normal(0.5, 0.05, 500)
    same = rng.normal(0.5, 0.05, 200)
    moved = rng.normal(0.6, 0.05, 200)
    assert D.psi(ref, same) < 0.1 and D.ks(ref, same)[1] > 0.01
    assert D.psi(ref, moved) > 0.25 and D.ks(ref, moved)[1] < 1e-6
    from scipy.stats import ks_2samp

    for a in (same, moved, moved[:40]):
        d, p = D.ks(ref, a)
        want = ks_2samp(a, ref, method="asymp")
        assert d == pytest.approx(want.statistic) and p == pytest.approx(want.pvalue, rel=1e-6, abs=1e-12)
    ref_block = {"good_scores": sorted(ref.tolist())}
    assert D.score_drift(None, 1.0, same)["note"].startswith("no reference")
    assert D.score_drift(ref_block, 1.0, moved)["drifted"] is True


# ---- real station runs --------------------------------------------------------
def write_contrast_model(project, model_id="contrast"):
    """A real ONNX anomaly model: map = |pixel - plate mean|, score = its maximum."""
    import torch

    from studio.training.export import to_onnx

    class Contrast(torch.nn.Module):
        def forward(self, image):
            x = image[:, :1]
            amap = (x - x.mean(dim=(2, 3), keepdim=True)).abs()
            return amap.flatten(1).max(dim=1).values, amap

    size = project.preprocessing.size
    folder = project.models_dir / model_id
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(to_onnx(Contrast(), torch.zeros(2, 3, size, size), ["score", "anomaly_map"]))
    card = {"model_id": model_id, "task": "anomaly", "created": "2026-01-01T00:00:00", "backbone": "test",
            "preprocessing": project.preprocessing.to_dict(), "classes": ["good", "anomaly"],
            "class_ids": {"good": 0, "anomaly": 0}, "threshold": 100.0, "metrics": {}}
    (folder / "card.json").write_text(json.dumps(card))
    return model_id


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """A project whose model was evaluated (the card holds the monitoring reference) at a sound threshold."""
    from studio.evaluation.evaluate import evaluate
    from studio.project.model_card import set_threshold

    root = tmp_path_factory.mktemp("mon")
    project = make_project(root / "p", good_train=0, good_test=16, bad_train=0, bad_test=6, size=64)
    mid = write_contrast_model(project)
    ev = evaluate(project, mid)
    good = max(r["score"] for r in ev["scores"] if not r["defective"])
    bad = min(r["score"] for r in ev["scores"] if r["defective"])
    assert good < bad
    set_threshold(project, mid, (good + bad) / 2)
    return project, mid, ev


def scratch(rng):
    """A plate with a long thin dark scratch: a defect type the test split never showed (it has stains)."""
    img = plate(rng, False)
    y0, x0 = rng.integers(20, 76), rng.integers(10, 30)
    for i in range(50):
        img[y0 + i // 5 - 3: y0 + i // 5 - 1, x0 + i] = 35
    return img


def write_frames(folder: Path, kinds: str, seed: int = 3):
    """One image file per letter: g good plate, b stained plate, s scratched plate, k black frame
    (name order = order)."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i, k in enumerate(kinds):
        img = np.zeros((96, 96), np.uint8) if k == "k" else scratch(rng) if k == "s" else plate(rng, k == "b")
        cv2.imwrite(str(folder / f"p{i:04d}.png"), img)
    return folder


def run_station(project, mid, frames: Path, data_dir: Path, n: int, monitoring: dict):
    import yaml

    from studio.capture.camera import open_camera
    from studio.inference.model import InspectionModel
    from studio.plc.sim import SimPlc
    from studio.station import Station

    (Path(project.root) / "station.yaml").write_text(yaml.safe_dump({"monitoring": monitoring, "shifts": SHIFTS}))
    station = Station(project, model=InspectionModel.load(project, mid), camera=open_camera(f"folder:{frames}"),
                      plc=SimPlc(), data_dir=data_dir, max_parts=n)
    alerts = []
    station.events.subscribe(lambda kind, p: alerts.append(p) if kind == "alert" else None)
    assert station.run(timeout=120) is True
    return station, alerts


def logged_alerts(data_dir: Path, kind: str):
    con = sqlite3.connect(data_dir / "results.sqlite")
    con.row_factory = sqlite3.Row
    out = [dict(r) | {"figures": json.loads(r["figures"]) if r["figures"] else None}
           for r in con.execute("SELECT * FROM alerts WHERE kind = ? ORDER BY id", (kind,))]
    con.close()
    return out


def part_of_alert(data_dir: Path, alert) -> int:
    """The parts logged by the time of the alert (figures.parts counts the monitor's parts)."""
    return int(alert["figures"]["parts"])


def test_the_card_holds_the_monitoring_reference_after_evaluation(evaluated):
    from studio.project import model_card

    project, mid, ev = evaluated
    card = model_card.load(project.models_dir / mid)
    ref = card["monitoring"]
    good = sorted(r["score"] for r in ev["scores"] if not r["defective"])
    assert ref["n_good"] == 16 and ref["n_defective"] == 6
    assert ref["good_scores"] == pytest.approx(good, rel=1e-5)
    assert np.asarray(ref["map_mean"]).shape == (16, 16)
    assert card["threshold"] > max(good)        # set_threshold kept the block


def test_switch_to_defective_parts_raises_a_reject_rate_spike_within_ten_parts(evaluated, tmp_path):
    project, mid, _ = evaluated
    good_first = 80
    frames = write_frames(tmp_path / "frames", "g" * good_first + "b" * 40)
    data = tmp_path / "data"
    station, events = run_station(project, mid, frames, data, 120, {"expected_defect_rate": 0.02})

    spikes = logged_alerts(data, "reject_rate")
    ups = [a for a in spikes if a["figures"]["direction"] == "up"]
    assert len(ups) == 1, spikes
    f = ups[0]["figures"]
    assert f["expected"] == pytest.approx(0.02, abs=1e-6) and "model card" in f["expected_source"]
    assert good_first < part_of_alert(data, ups[0]) <= good_first + 10       # the bound
    assert f["reject_rate"] > f["upper"] or f["rule"] == "CUSUM"
    assert not [a for a in spikes if a["figures"]["direction"] == "down"]
    assert any(e.get("figures", {}) and e["figures"].get("direction") == "up" for e in events)  # kiosk saw it
    assert station.stats()["monitor_dropped"] == 0

    # the report, from the data directory alone, against the rows
    out = subprocess.run([sys.executable, "-m", "studio", "station", "report", str(data), "--json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"parts", "hours", "alerts", "drift", "shadow", "gate"} <= set(report)
    con = sqlite3.connect(data / "results.sqlite")
    n, rejected = con.execute("SELECT COUNT(*), SUM(verdict IN ('reject', 'fault')) FROM results "
                              "WHERE shadow = 0").fetchone()
    hours = con.execute("SELECT CAST(t_decided / 3600 AS INTEGER) * 3600, COUNT(*), "
                        "SUM(verdict IN ('reject', 'fault')) FROM results GROUP BY 1 ORDER BY 1").fetchall()
    n_alerts = con.execute("SELECT COUNT(*) FROM alerts").fetchone()[0]
    con.close()
    assert report["parts"] == n == 120 and rejected == 40
    assert [(h["start"], h["parts"], h["rejected"]) for h in report["hours"]] == [tuple(map(float, h[:1])) + h[1:]
                                                                                  for h in hours]
    for h in report["hours"]:
        lo, hi = p_limits(0.02, h["parts"])
        assert h["reject_rate"] == pytest.approx(h["rejected"] / h["parts"])
        assert (h["lower"], h["upper"]) == (pytest.approx(lo, abs=1e-6), pytest.approx(hi, abs=1e-6))
    assert len(report["alerts"]) == n_alerts
    first_up = next(a for a in report["alerts"] if a["kind"] == "reject_rate" and a["figures"]["direction"] == "up")
    assert set(first_up) >= {"time", "kind", "level", "message", "figures"}
    assert set(report["drift"]) >= {"psi", "ks_p", "window"}
    assert report["shifts"] and {s["shift"] for s in report["shifts"]} <= {"A", "B", "C"}
    assert sum(s["parts"] for s in report["shifts"]) == 120

    # words for people
    words = subprocess.run([sys.executable, "-m", "studio", "station", "report", str(data)],
                           capture_output=True, text=True, timeout=120)
    assert words.returncode == 0 and "reject rate spike" in words.stdout and "expected reject rate" in words.stdout


def test_black_frames_raise_the_drop_and_a_score_drift_alert(evaluated, tmp_path):
    project, mid, _ = evaluated
    mixed = ("gbggbggbgg" * 10)                     # 30 % defective, as the plant said
    frames = write_frames(tmp_path / "frames", mixed + "k" * 80)
    data = tmp_path / "data"
    run_station(project, mid, frames, data, 180, {"expected_defect_rate": 0.3, "window_parts": 30,
                                                  "drift_window": 60, "drift_min_parts": 30, "drift_every": 10})
    rate = logged_alerts(data, "reject_rate")
    downs = [a for a in rate if a["figures"]["direction"] == "down"]
    assert len(downs) == 1 and not [a for a in rate if a["figures"]["direction"] == "up"], rate
    assert 100 < part_of_alert(data, downs[0]) <= 100 + 35
    assert downs[0]["figures"]["expected"] == pytest.approx(0.3, abs=1e-6)
    drift = [a for a in logged_alerts(data, "score_drift") if a["level"] == "warning"]
    assert len(drift) == 1
    f = drift[0]["figures"]
    assert f["psi"] >= 0.25 and f["ks_p"] < 0.001 and f["window"] >= 30
    assert f["live_median"] < f["reference_median"]
    assert "map" in f and f["map"]["parts"] > 0     # an anomaly model: where on the part the maps moved
    # no drift alert while the parts were still good
    assert part_of_alert(data, drift[0]) > 100


def test_a_card_without_reference_says_no_reference(tmp_path):
    from studio.monitoring.live import LineMonitor

    m = LineMonitor({"model_id": "old", "threshold": 0.5}, {})
    for i in range(60):
        m.add(i, 1e9 + i, "pass", 0.1)
    assert m.drift["note"].startswith("no reference") and m.drift["psi"] is None
    assert m.expected["source"] == "baseline"


def test_baseline_from_the_first_parts_when_nothing_says_the_expected_rate():
    from studio.monitoring.live import LineMonitor

    m = LineMonitor({}, {"monitoring": {"baseline_parts": 100, "window_parts": 50}})
    found = []
    for i in range(100):
        found += m.add(i, 1e9 + i, "reject" if i % 10 == 0 else "pass", 0.1)
    assert [a["key"] for a in found] == ["reject_rate-baseline"]
    assert m.p0() == pytest.approx(0.1) and "first 100 parts" in m.expected["source"]
    for i in range(30):
        found += m.add(200 + i, 1e9 + 200 + i, "reject", 0.9)
    assert [a["figures"]["direction"] for a in found if a["kind"] == "reject_rate"][-1] == "up"


def test_wrong_monitoring_settings_are_refused_with_the_key():
    from studio.core.errors import StudioError
    from studio.monitoring.settings import monitoring_settings

    with pytest.raises(StudioError, match="window_part"):
        monitoring_settings({"monitoring": {"window_part": 3}})
    with pytest.raises(StudioError, match="expected_defect_rate"):
        monitoring_settings({"monitoring": {"expected_defect_rate": 3}})


@pytest.mark.slow      # a station run and four CLI processes: ~20 s on the shared VM
def test_rejects_of_an_unknown_defect_type_are_grouped_and_offered_for_labeling(evaluated, tmp_path):
    project, mid, _ = evaluated
    kinds = "gggbgggsgg" * 8                    # stains (known: the test split's class) and scratches (new)
    frames = write_frames(tmp_path / "frames", kinds)
    data = tmp_path / "data"
    run_station(project, mid, frames, data, len(kinds), {"expected_defect_rate": 0.2})
    scratched = [i + 1 for i, k in enumerate(kinds) if k == "s"]       # part numbers start at 1
    stained = [i + 1 for i, k in enumerate(kinds) if k == "b"]
    con = sqlite3.connect(data / "results.sqlite")
    rejected = {p for (p,) in con.execute("SELECT part FROM results WHERE verdict = 'reject'")}
    con.close()
    assert rejected == set(scratched) | set(stained)                   # the model rejects both kinds
    alerts = logged_alerts(data, "new_defect")
    assert len(alerts) == 1 and set(alerts[0]["figures"]["parts"]) <= set(scratched)
    assert alerts[0]["figures"]["nearest_known"] == "stain"

    out = subprocess.run([sys.executable, "-m", "studio", "station", "report", str(data), "--new-defects",
                          "--json"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    groups = json.loads(out.stdout.strip().splitlines()[-1])["new_defects"]
    assert len(groups) == 1 and sorted(groups[0]["parts"]) == scratched       # every scratch, no stain
    images = groups[0]["images"]
    assert sorted(map(int, images)) == scratched and all(Path(p).is_file() for p in images.values())

    # offered for labeling: into the review queue of a project (a copy: the fixture's is shared)
    import shutil

    from studio.labels.review import review_queue
    from studio.project import Project

    copy = Project.open(shutil.copytree(project.root, tmp_path / "copy"))
    before = len(copy.dataset)
    cmd = [sys.executable, "-m", "studio", "station", "report", str(data), "--project", str(copy.root),
           "--to-review", "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    offered = json.loads(out.stdout.strip().splitlines()[-1])["offered"]
    assert sorted(a["part"] for a in offered["added"]) == scratched and offered["skipped"] == []
    copy = Project.open(copy.root)
    assert len(copy.dataset) == before + len(scratched)
    queued = {it.image_id for it in review_queue(copy)}
    assert {a["image_id"] for a in offered["added"]} <= queued
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)     # never twice
    assert json.loads(again.stdout.strip().splitlines()[-1])["offered"]["added"] == []


def test_shift_span_is_reused_until_the_next_shift():
    from studio.monitoring.shifts import parse_shifts, shift_span

    table = parse_shifts(SHIFTS)
    name, start, end = shift_span(at(23), table)
    assert name == "C" and start == at(22) and end == at(6, day=3)
    assert shift_span(at(6, day=3), table)[:2] == ("A", at(6, day=3))


def test_report_since_counts_only_what_came_after(tmp_path):
    from studio.monitoring.report import build_report
    from studio.results.log import ResultLog

    log = ResultLog(tmp_path / "results.sqlite")
    t0 = at(13, 10)                                  # shift A, then B from 14:00
    for i in range(120):
        t = t0 + i * 60                              # one part a minute: 13:10 .. 15:09
        verdict = "reject" if i % 10 == 0 else "pass"
        log.append({"part": i + 1, "frame_id": i + 1, "verdict": verdict, "verdict_code": 2 if verdict == "reject" else 1,
                    "score": 0.9 if verdict == "reject" else 0.1, "t_trigger": t, "t_captured": t, "t_decided": t,
                    "t_actuated": t, "latency_ms": 1.0})
    log.alert("reject_rate", "warning", "old", {"direction": "up"})
    assert log.flush(5)
    log.close()
    (tmp_path / "monitoring.json").write_text(json.dumps(
        {"model_id": "m", "expected": {"rate": 0.1, "source": "station.yaml"}, "shifts_setting": SHIFTS}))
    whole = build_report(tmp_path, now=t0 + 3 * 3600)
    assert whole["parts"] == 120 and [h["parts"] for h in whole["hours"]] == [50, 60, 10]
    assert whole["expected"]["rate"] == 0.1 and whole["hours"][1]["upper"] == pytest.approx(p_limits(0.1, 60)[1],
                                                                                           abs=1e-6)
    assert [(s["shift"], s["parts"]) for s in whole["shifts"]] == [("A", 50), ("B", 70)]
    since = dt.datetime.fromtimestamp(at(14, 30)).isoformat()
    later = build_report(tmp_path, since=since, now=t0 + 3 * 3600)
    assert later["parts"] == 40                      # 14:30 .. 15:09
    assert [h["parts"] for h in later["hours"]] == [30, 10]
    assert [a["message"] for a in later["alerts"]] == ["old"]          # raised now, after --since
    future = build_report(tmp_path, since=dt.datetime.fromtimestamp(time.time() + 60).isoformat())
    assert future["parts"] == 0 and future["alerts"] == [] and future["hours"] == []
    from studio.core.errors import StudioError

    with pytest.raises(StudioError, match="not a date"):
        build_report(tmp_path, since="yesterday")


def test_the_monitor_never_waits_and_drops_what_it_cannot_hold():
    from studio.station import monitor_watch
    from studio.station.monitor_watch import Monitor

    mon = Monitor({}, {}, alert=lambda *a: None)            # not started: nothing takes from the queue
    amap = np.zeros((64, 64), np.float32)
    t0 = time.perf_counter()
    for i in range(monitor_watch.QUEUE_PARTS + 10):
        mon.put(i, 1e9 + i, "pass", 0.1, amap)
    assert time.perf_counter() - t0 < 2.0                   # put_nowait: never blocks
    assert mon.dropped == 10
    assert mon.maps_skipped == monitor_watch.QUEUE_PARTS + 10 - monitor_watch.MAPS_PENDING   # the rest: figures only
    mon.start()
    mon.stop()
    assert mon.seen == monitor_watch.QUEUE_PARTS and mon.snapshot()["dropped"] == 10


def test_a_station_with_a_wrong_monitoring_setting_refuses_to_start(demo_project, tmp_path):
    import yaml

    from studio.core.errors import StudioError
    from studio.plc.sim import SimPlc
    from studio.station import Station
    from test_station import FakeCamera, FakeModel

    (Path(demo_project.root) / "station.yaml").write_text(yaml.safe_dump({"monitoring": {"window_part": 30}}))
    station = Station(demo_project, model=FakeModel(), camera=FakeCamera(), plc=SimPlc(), data_dir=tmp_path / "d",
                      max_parts=3)
    with pytest.raises(StudioError, match="window_part") as e:
        station.start()
    assert "window_parts" in e.value.hint and station.state == "stopped" and station.pipeline is None
