"""What committing each part's row before the PLC write costs, measured in one run.

Two parts:

1. **commit alone**: µs per ``ResultLog.commit`` (one WAL transaction, no
   image) on the data directory's disk, for ``durability: normal``
   (synchronous=NORMAL) and ``power-loss`` (synchronous=FULL), while the
   writer thread saves images in the background as on a line; and, for
   comparison, what the old path cost the actuation thread (a row put on a
   queue).
2. **trigger -> PLC**: the station itself (simulated camera at the demo's
   400x300, a stand-in model that answers at once, so the figures are the
   camera, the log and the PLC link, not the model), paced, for the three
   write paths in turn, alternated ``--rounds`` times so a busy machine
   disturbs each alike:
   - ``queued`` -- the path before issue 9: the row and the image go on the
     writer's queue after the PLC write (the row may be lost in a crash);
   - ``commit-normal`` -- the row committed before the PLC write (default);
   - ``commit-full`` -- the same with synchronous=FULL (``durability: power-loss``).

    .venv/bin/python benchmarks/log_write_cost.py [--parts 400] [--interval 0.02] [--rounds 2] [--dir DIR] [--modbus]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def percentile(values: list[float], q: float) -> float:
    xs = sorted(values)
    return xs[min(len(xs) - 1, max(0, round(q / 100 * (len(xs) - 1))))]


def figures(values_ms: list[float]) -> dict:
    return {"n": len(values_ms), "median": round(statistics.median(values_ms), 3),
            "p99": round(percentile(values_ms, 99), 3), "max": round(max(values_ms), 3)}


class QuickModel:
    """Answers at once: every part passes except one in ten."""

    model_id = "bench-quick"
    task = "anomaly"
    threshold = 0.5
    card: dict = {}

    def __init__(self):
        self.n = 0

    def predict(self, image):
        self.n += 1
        bad = self.n % 10 == 0
        return SimpleNamespace(score=0.9 if bad else 0.1, defective=bad, defect_class="scratch" if bad else None,
                               class_id=1 if bad else 0, anomaly_map=None)


def make_logs():
    """The three write paths as ResultLog classes; each times what the actuation thread pays."""
    from studio.results.log import ResultLog

    class Timed(ResultLog):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.commit_ms: list[float] = []

        def commit(self, result):
            t0 = time.perf_counter()
            ok = super().commit(result)
            self.commit_ms.append((time.perf_counter() - t0) * 1000)
            return ok

    class Queued(Timed):
        """Before: nothing before the PLC write; after it the whole result goes to a queue."""

        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self._old: queue.Queue = queue.Queue(maxsize=4096)
            self._old_thread = threading.Thread(target=self._old_run, daemon=True)
            self._old_thread.start()

        def commit(self, result):
            return True

        def finish(self, result):
            t0 = time.perf_counter()
            self._old.put_nowait(result)
            self.commit_ms.append((time.perf_counter() - t0) * 1000)

        def _old_run(self):
            while (result := self._old.get()) is not None:
                ResultLog.commit(self, result)
                ResultLog.finish(self, result)

        def close(self, timeout=30.0):
            self._old.put(None)
            self._old_thread.join(timeout)
            super().close(timeout)

    return Timed, Queued


def commit_alone(data: Path, n: int) -> dict:
    from studio.results.log import ResultLog
    from studio.results.policy import LogPolicy

    out = {}
    image = np.random.default_rng(0).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    for durability in ("normal", "power-loss"):
        folder = Path(tempfile.mkdtemp(prefix="commit-", dir=data))
        log = ResultLog(folder / "results.sqlite", policy=LogPolicy(durability=durability))
        times = []
        for part in range(1, n + 1):
            now = time.time()
            r = dict(part=part, frame_id=part, verdict="pass", verdict_code=1, score=0.1, model_id="m",
                     image=image, t_trigger=now, t_captured=now, t_decided=now)
            t0 = time.perf_counter()
            log.commit(r)
            times.append((time.perf_counter() - t0) * 1000)
            r["t_actuated"] = time.time()
            log.finish(r)           # the writer saves images meanwhile, as on a line
            time.sleep(0.005)
        log.close()
        out[f"commit_{durability}_ms"] = figures(times)
    q: queue.Queue = queue.Queue()
    times = []
    for part in range(n):
        t0 = time.perf_counter()
        q.put_nowait({"part": part})
        times.append((time.perf_counter() - t0) * 1000)
    out["old_queue_put_ms"] = figures(times)
    return out


def station_run(project, plc: str, data: Path, mode: str, parts: int, interval: float) -> dict:
    import studio.results.log as log_module
    from studio.station import Station

    Timed, Queued = make_logs()
    settings = {"durability": "power-loss" if mode == "commit-full" else "normal"}
    (Path(project.root) / "station.yaml").write_text(json.dumps(settings))
    real = log_module.ResultLog
    log_module.ResultLog = Queued if mode == "queued" else Timed
    latencies: list[float] = []
    try:
        station = Station(project, plc_spec=plc, model=QuickModel(), max_parts=parts, interval_s=interval,
                          data_dir=data)
        station.events.subscribe(lambda kind, p: latencies.append(p["result"].latency_ms) if kind == "part" else None)
        t0 = time.perf_counter()
        station.run()
        wall = time.perf_counter() - t0
        log = station.log
    finally:
        log_module.ResultLog = real
    steady = latencies[5:] or latencies
    return {"trigger_to_plc_ms": figures(steady), "actuation_thread_log_ms": figures(log.commit_ms[5:]),
            "parts_per_second": round(len(latencies) / wall, 1), "logged_rows": log.count()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", type=int, default=400)
    ap.add_argument("--interval", type=float, default=0.02, help="seconds between triggers")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--commits", type=int, default=1000, help="commits for the commit-alone figures")
    ap.add_argument("--dir", default=None, help="a folder on the disk to measure (default: the temp folder)")
    ap.add_argument("--modbus", action="store_true", help="serve Modbus TCP on 127.0.0.1 instead of the sim PLC")
    args = ap.parse_args()

    from studio.project import Project

    base = Path(tempfile.mkdtemp(prefix="studio-logcost-", dir=args.dir))
    project = Project.create(base / "demo", template="demo")
    plc = "sim"
    if args.modbus:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            plc = f"modbus-server://127.0.0.1:{s.getsockname()[1]}"
    report: dict = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
                    "load_average": os.getloadavg(), "disk": str(base), "image": project.camera_spec,
                    "plc": plc.split(":")[0], "parts": args.parts, "interval_s": args.interval}
    report["commit_alone"] = commit_alone(base, args.commits)
    runs: dict[str, list] = {"queued": [], "commit-normal": [], "commit-full": []}
    for r in range(args.rounds):
        for mode in runs:
            runs[mode].append(station_run(project, plc, base / f"{mode}-{r}", mode, args.parts, args.interval))
    report["station"] = runs
    report["load_average_after"] = os.getloadavg()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
