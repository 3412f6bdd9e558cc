"""Station latency: per-part time from trigger to verdict written to the PLC.

Builds a demo project in a temporary folder (simulated camera, the demo's
preprocessing), trains the demo anomaly model, then runs the station for N
parts with the simulated PLC (or a real Modbus TCP server with --modbus) and
prints the median and p99 of trigger -> PLC write, plus the parts per second, twice:\npaced (a part every --interval seconds, as on a line) and free-run (as fast as\nit goes; the latency then includes waiting in the station's two-part queues).

    .venv/bin/python benchmarks/station_latency.py [--parts 300] [--images 60] [--interval 0.1] [--modbus]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def percentile(values: list[float], q: float) -> float:
    xs = sorted(values)
    k = min(len(xs) - 1, max(0, round(q / 100 * (len(xs) - 1))))
    return xs[k]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", type=int, default=300)
    ap.add_argument("--interval", type=float, default=0.1, help="seconds between triggers for the paced run")
    ap.add_argument("--images", type=int, default=60, help="simulated images to train on")
    ap.add_argument("--size", type=int, default=None, help="model input size (default: the demo's)")
    ap.add_argument("--modbus", action="store_true", help="serve Modbus TCP on 127.0.0.1 instead of the sim PLC")
    args = ap.parse_args()

    from studio.capture.acquire import capture_to_project
    from studio.capture.camera import open_camera
    from studio.inference.model import session_providers
    from studio.project import Project
    from studio.station import Station
    from studio.training.runner import run_training

    tmp = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    project = Project.create(tmp / "demo", template="demo")
    if args.size:
        project.settings["preprocessing"]["size"] = args.size
        project.save()
    t0 = time.perf_counter()
    with open_camera(project.camera_spec) as cam:
        capture_to_project(project, cam, args.images, label_truth=True)
    t_capture = time.perf_counter() - t0
    t0 = time.perf_counter()
    trained = run_training(project.root, "anomaly")
    t_train = time.perf_counter() - t0

    plc = "sim"
    if args.modbus:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            plc = f"modbus-server://127.0.0.1:{s.getsockname()[1]}"

    def run(interval_s: float, data: str) -> dict:
        latencies: list[float] = []
        station = Station(project, plc_spec=plc, max_parts=args.parts, interval_s=interval_s,
                          data_dir=tmp / data)
        station.events.subscribe(
            lambda kind, p: latencies.append(p["result"].latency_ms) if kind == "part" else None)
        t0 = time.perf_counter()
        station.run()
        wall = time.perf_counter() - t0
        steady = latencies[5:] or latencies          # the first parts include ONNX Runtime warm-up
        return {"parts": len(latencies),
                "latency_ms_median": round(statistics.median(steady), 2),
                "latency_ms_p99": round(percentile(steady, 99), 2),
                "latency_ms_max": round(max(steady), 2),
                "parts_per_second": round(len(latencies) / wall, 1)}

    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "providers": session_providers(),
        "image": project.camera_spec, "model_input": project.preprocessing.size,
        "model_id": trained["model_id"], "plc": plc.split(":")[0],
        "capture_s": round(t_capture, 1), "train_s": round(t_train, 1),
        # paced: a part every `interval` seconds, as on a line; the latency is the station's own
        f"paced_{1 / args.interval:g}_parts_per_s": run(args.interval, "paced"),
        # free-run: triggers as fast as the station takes them; latency includes waiting in the queues
        "free_run": run(0.0, "free"),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
