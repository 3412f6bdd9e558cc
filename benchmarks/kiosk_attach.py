"""The kiosk in another process: what publishing the station's status costs the line, and how late
an attached kiosk sees a part.

Runs the station in this process (simulated camera 160x120, simulated PLC, a tiny ONNX anomaly
model, a part every --interval s) three times: with the status publisher (as shipped) and an
attached kiosk handle, with the publisher alone, and with it replaced by a no-op (the station
before it), and prints the trigger -> PLC latency of each. In the first run an
``AttachedStation`` (the kiosk's handle, reading the log and the status file as another process
would, here in the station's process: a pessimistic case, it shares the GIL) records for each part the time from its verdict (``t_decided``) to the moment the handle
emitted it, and the status file's writes per second.

    .venv/bin/python benchmarks/kiosk_attach.py [--parts 300] [--interval 0.05]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def percentile(values: list[float], q: float) -> float:
    xs = sorted(values)
    return xs[min(len(xs) - 1, max(0, round(q / 100 * (len(xs) - 1))))] if xs else float("nan")


def tiny_model(project) -> None:
    import torch

    from studio.training.export import to_onnx

    class Anomaly(torch.nn.Module):
        def forward(self, image):
            amap = -image[:, :1]
            return amap.flatten(1).max(dim=1).values, amap

    size = project.preprocessing.size
    folder = project.models_dir / "m-bench"
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(to_onnx(Anomaly(), torch.zeros(2, 3, size, size), ["score", "anomaly_map"]))
    (folder / "card.json").write_text(json.dumps({
        "model_id": "m-bench", "task": "anomaly", "created": "2026-01-01T00:00:00", "backbone": "bench",
        "preprocessing": project.preprocessing.to_dict(), "classes": ["good", "anomaly"],
        "class_ids": {"good": 0, "anomaly": 0}, "threshold": 0.0, "metrics": {}}))


def run(project, data: Path, parts: int, interval: float, attach: bool) -> dict:
    from studio.station import Station
    from studio.station.handle import AttachedStation

    station = Station(project, "sim:seed=7,defect_rate=0.3,width=160,height=120", "sim", data_dir=data,
                      max_parts=parts, interval_s=interval)
    latencies, delays = [], []
    station.events.subscribe(lambda k, p: k == "part" and latencies.append(p["result"].latency_ms))
    handle = None
    t0 = time.monotonic()
    station.start()
    if attach:
        handle = AttachedStation(data)
        handle.events.subscribe(lambda k, p: k == "part" and delays.append(time.time() - p["result"].t_decided))
        handle.start()
    station.wait(parts * interval * 10 + 60)
    seconds = time.monotonic() - t0
    writes = station.status.writes if station.status is not None else 0
    station.stop()
    if handle is not None:
        time.sleep(0.5)
        handle.close()
    lat = latencies[5:]
    out = {"parts": len(latencies), "latency_ms_median": round(statistics.median(lat), 2),
           "latency_ms_p99": round(percentile(lat, 99), 2), "seconds": round(seconds, 1)}
    if attach:
        d = [x * 1000 for x in delays]
        out.update({"kiosk_parts_seen": len(delays), "kiosk_delay_ms_median": round(statistics.median(d), 1),
                    "kiosk_delay_ms_p99": round(percentile(d, 99), 1), "kiosk_delay_ms_max": round(max(d), 1),
                    "status_writes_per_s": round(writes / seconds, 2)})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", type=int, default=300)
    ap.add_argument("--interval", type=float, default=0.05)
    args = ap.parse_args()
    from studio.project import Project
    from studio.station import runtime

    with tempfile.TemporaryDirectory() as tmp:
        project = Project.create(Path(tmp) / "bench", template="demo")
        project.settings["preprocessing"]["size"] = 64
        project.save()
        tiny_model(project)
        with_status = run(project, Path(tmp) / "data-a", args.parts, args.interval, attach=True)
        status_only = run(project, Path(tmp) / "data-c", args.parts, args.interval, attach=False)

        class NoStatus:                         # the station as it was before the status file
            writes = 0

            def __init__(self, station):
                pass

            def start(self):
                return self

            def close(self):
                pass

        real = runtime.StatusPublisher
        runtime.StatusPublisher = NoStatus
        try:
            without = run(project, Path(tmp) / "data-b", args.parts, args.interval, attach=False)
        finally:
            runtime.StatusPublisher = real
    print(json.dumps({"interval_s": args.interval, "with_status_and_attached_kiosk": with_status,
                      "with_status": status_only, "without_status": without}, indent=2))


if __name__ == "__main__":
    main()
