"""Production monitoring: what it costs per part, and that the PLC path does not feel it.

1. Per part, off the actuation path: the event thread's hand-over
   (``Monitor.on_event``: one ``put_nowait``), the 16×16 pooling of the
   model's anomaly map (28×28 PatchCore at 224 px, 64×64, 256×256), and the
   monitor's own work (``LineMonitor.add``: counts, p-chart, CUSUM, the
   anomaly-map window, new-defect matching for rejects; the drift (PSI + KS
   on a 200-part window against 500 reference scores) judged every 25 parts,
   amortised and alone).
2. The station, paced at 10 parts/s with a stand-in camera and a stand-in
   model that returns a 28×28 map: trigger → PLC write median and p99 with
   the monitor and without it, in the same process, runs interleaved.

    .venv/bin/python benchmarks/monitoring_cost.py [--parts 300] [--interval 0.1] [--rounds 2]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def per_call_us(fn, n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - t0) / n * 1e6


def percentile(values: list[float], q: float) -> float:
    xs = sorted(values)
    return xs[min(len(xs) - 1, max(0, round(q / 100 * (len(xs) - 1))))]


class Camera:
    def __init__(self):
        self.frame_id = 0

    def open(self):
        pass

    def grab(self, timeout=2.0):
        self.frame_id += 1
        image = np.full((480, 640, 3), 100 + self.frame_id % 7, np.uint8)
        return SimpleNamespace(image=image, frame_id=self.frame_id, timestamp=time.time(), meta={})

    def close(self):
        pass


class Model:
    """Scores around 0.3, one part in 20 above the threshold; a 28x28 anomaly map like PatchCore's."""
    model_id = "bench-anomaly"
    task = "anomaly"
    threshold = 0.6

    def __init__(self, card):
        self.card = card
        self.rng = np.random.default_rng(0)

    def predict(self, image):
        s = float(self.rng.normal(0.3, 0.05)) + (0.5 if self.rng.random() < 0.05 else 0.0)
        return SimpleNamespace(score=s, defective=s >= self.threshold, defect_class=None, class_id=0,
                               anomaly_map=self.rng.random((28, 28), dtype=np.float32) * s)


def card() -> dict:
    from studio.evaluation.monitoring_reference import build

    rng = np.random.default_rng(1)
    scores = np.concatenate([rng.normal(0.3, 0.05, 500), rng.normal(0.8, 0.1, 50)])
    y = np.r_[np.zeros(500, bool), np.ones(50, bool)]
    maps = [rng.random((28, 28), dtype=np.float32) * s for s in scores]
    return {"model_id": "bench-anomaly", "task": "anomaly", "threshold": 0.6, "classes": ["good", "anomaly"],
            "monitoring": build(scores, y, maps=maps, classes=["stain"] * len(y))}


def micro() -> None:
    from studio.monitoring.drift import score_drift
    from studio.monitoring.live import LineMonitor
    from studio.monitoring.reference import coarse_map, reference_of
    from studio.station.monitor_watch import Monitor

    import scipy.stats  # noqa: F401  imported at the monitor's start, as in the station

    c = card()
    rng = np.random.default_rng(2)
    mon = Monitor(c, {"monitoring": {"expected_defect_rate": 0.05}}, alert=lambda *a: None)
    r = SimpleNamespace(part=1, t_decided=time.time(), verdict="pass", score=0.3, anomaly_map=None, defect_class=None)
    mon._queue.maxsize = 10 ** 7
    print(f"event thread hand-over (Monitor.on_event): {per_call_us(lambda i: mon.on_event('part', {'result': r}), 20000):.2f} µs/part")
    for size in (28, 64, 256):
        m = rng.random((size, size), dtype=np.float32)
        print(f"coarse 16x16 map from {size}x{size}: {per_call_us(lambda i, m=m: coarse_map(m), 5000):.1f} µs/part")
    eng = LineMonitor(c, {"monitoring": {"expected_defect_rate": 0.05}})
    scores = rng.normal(0.3, 0.05, 20000)
    coarse = [coarse_map(rng.random((28, 28), dtype=np.float32)) for _ in range(64)]
    t0 = time.time()
    us = per_call_us(lambda i: eng.add(i, t0 + i, "reject" if i % 20 == 0 else "pass", float(scores[i]),
                                       coarse[i % 64]), 20000)
    print(f"LineMonitor.add with a map (drift every 25 parts, amortised): {us:.1f} µs/part")
    eng2 = LineMonitor(c, {"monitoring": {"expected_defect_rate": 0.05, "drift_every": 10 ** 9}})
    us2 = per_call_us(lambda i: eng2.add(i, t0 + i, "reject" if i % 20 == 0 else "pass", float(scores[i]),
                                         coarse[i % 64]), 20000)
    print(f"LineMonitor.add with a map, no drift check: {us2:.1f} µs/part")
    ref = reference_of(c)
    window = scores[:200]
    print(f"one drift check (PSI + KS, 200 parts vs {len(ref['good_scores'])} reference scores): "
          f"{per_call_us(lambda i: score_drift(ref, 0.6, window), 500):.0f} µs")
    print(f"snapshot for the views (hours, histogram, drift): {per_call_us(lambda i: eng.snapshot(), 500):.0f} µs")


def station_runs(parts: int, interval: float, rounds: int) -> None:
    import yaml

    from studio.plc.sim import SimPlc
    from studio.project import Project
    from studio.station import Station
    from studio.station import monitor_watch

    tmp = Path(tempfile.mkdtemp(prefix="studio-bench-mon-"))
    project = Project.create(tmp / "p", template="demo")
    (project.root / "station.yaml").write_text(yaml.safe_dump({"monitoring": {"expected_defect_rate": 0.05}}))
    c = card()
    real_start = monitor_watch.Monitor.start
    results: dict[str, list[float]] = {"with monitor": [], "without monitor": []}
    seen = {}
    for rnd in range(rounds):
        for label in ("without monitor", "with monitor"):
            monitor_watch.Monitor.start = real_start if label == "with monitor" else (lambda self, events=None: None)
            st = Station(project, model=Model(c), camera=Camera(), plc=SimPlc(), data_dir=tmp / f"d{rnd}-{label.replace(' ', '-')}",
                         max_parts=parts, interval_s=interval)
            assert st.run(timeout=parts * interval * 3 + 60)
            import sqlite3

            con = sqlite3.connect(st.log_path)
            lat = [r[0] for r in con.execute("SELECT latency_ms FROM results WHERE latency_ms IS NOT NULL")]
            con.close()
            results[label] += lat
            if label == "with monitor":
                seen = {"seen": st.monitor.seen, "dropped": st.monitor.dropped,
                        "monitor_us": 1e6 * st.monitor.cost_s / max(1, st.monitor.seen)}
    monitor_watch.Monitor.start = real_start
    print(f"\nstation paced at {1 / interval:g} parts/s, {parts} parts x {rounds} rounds each, interleaved:")
    for label, lat in results.items():
        print(f"  {label:<16} trigger->PLC median {statistics.median(lat):6.2f} ms  p99 {percentile(lat, 99):6.2f} ms"
              f"  ({len(lat)} parts)")
    print(f"  monitor: {seen['seen']} parts seen, {seen['dropped']} dropped, "
          f"{seen['monitor_us']:.0f} µs of monitor thread per part (in the run, map pooling included)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", type=int, default=300)
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    micro()
    station_runs(args.parts, args.interval, args.rounds)
    print(f"load at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
