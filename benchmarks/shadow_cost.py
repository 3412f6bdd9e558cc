"""Shadow cost: the live trigger-to-PLC latency with and without a shadow model, in the same run.

Builds the demo project in a temporary folder, trains the demo anomaly model, then runs the station
paced at --rate parts/s with the sim PLC (or a real Modbus TCP server with --modbus) in each
configuration, alternating them --rounds times so that a change of machine load hits both alike.
The shadow is a second ONNX Runtime session of the model (the cost of a candidate of the same
architecture), loaded as the station loads one (``shadow.load_shadow``: one thread) and judging
every part after the PLC write on its own niced thread. Prints p50/p99 per
configuration and the p99 ratio (the live path must not slow by more than 10 %), with the load.

    .venv/bin/python benchmarks/shadow_cost.py [--parts 300] [--rate 10] [--rounds 2] [--modbus]

To add a configuration (e.g. "dashboard polled"), write a function that takes the Station before its
start and returns a stop callable, and add it to CONFIGS; ``run_config`` does the rest.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")

WARMUP = 5          # parts left out of the figures (ONNX Runtime warm-up)


def percentile(values: list[float], q: float) -> float:
    xs = sorted(values)
    k = min(len(xs) - 1, max(0, round(q / 100 * (len(xs) - 1))))
    return xs[k]


def run_config(project: Any, data_dir: Path, *, parts: int, interval_s: float, plc: str = "sim",
               shadow: Any = None, around: Callable[[Any], Callable[[], None]] | None = None) -> dict[str, Any]:
    """One station run; returns the live latency figures (p50/p99/max ms) and what the shadow did.

    ``around(station)`` may start something beside the station (a dashboard poller) and returns how to stop it."""
    from studio.station import Station

    latencies: list[float] = []
    station = Station(project, plc_spec=plc, max_parts=parts, interval_s=interval_s, data_dir=data_dir,
                      shadow=shadow)
    station.events.subscribe(lambda kind, p: latencies.append(p["result"].latency_ms) if kind == "part" else None)
    stop = around(station) if around is not None else None
    t0 = time.perf_counter()
    try:
        station.run()
    finally:
        if stop is not None:
            stop()
    wall = time.perf_counter() - t0
    steady = latencies[WARMUP:] or latencies
    stats = station.stats()
    return {"parts": len(latencies), "p50_ms": round(percentile(steady, 50), 2),
            "p99_ms": round(percentile(steady, 99), 2), "max_ms": round(max(steady), 2),
            "parts_per_second": round(len(latencies) / wall, 2),
            "shadow_judged": stats.get("shadow_judged"), "shadow_skipped": stats.get("shadow_skipped")}


def pooled(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Figures of several rounds of one configuration: the median of each figure over the rounds."""
    import statistics

    keys = ("p50_ms", "p99_ms", "max_ms", "parts_per_second")
    out = {k: round(statistics.median(r[k] for r in runs), 2) for k in keys}
    out["rounds"] = [{k: r[k] for k in (*keys, "shadow_judged", "shadow_skipped")} for r in runs]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", type=int, default=300)
    ap.add_argument("--rate", type=float, default=10.0, help="parts per second (paced)")
    ap.add_argument("--rounds", type=int, default=2, help="alternations of the configurations")
    ap.add_argument("--images", type=int, default=40, help="simulated images to train on")
    ap.add_argument("--modbus", action="store_true", help="serve Modbus TCP on 127.0.0.1 instead of the sim PLC")
    args = ap.parse_args()

    from studio.capture.acquire import capture_to_project
    from studio.capture.camera import open_camera
    from studio.station.shadow import load_shadow
    from studio.inference.model import session_providers
    from studio.project import Project
    from studio.training.runner import run_training

    tmp = Path(tempfile.mkdtemp(prefix="studio-shadow-bench-"))
    project = Project.create(tmp / "demo", template="demo")
    with open_camera(project.camera_spec) as cam:
        capture_to_project(project, cam, args.images, label_truth=True)
    t0 = time.perf_counter()
    trained = run_training(project.root, "anomaly")
    t_train = time.perf_counter() - t0
    plc = "sim"
    if args.modbus:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            plc = f"modbus-server://127.0.0.1:{s.getsockname()[1]}"

    def shadow_model() -> Any:
        return load_shadow(project, trained["model_id"])      # its own session, as the station loads a shadow

    CONFIGS: dict[str, dict[str, Any]] = {
        "live only": {},
        "live + shadow model": {"shadow": "model"},
    }
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in CONFIGS}
    load_before = os.getloadavg()
    for rnd in range(args.rounds):
        for name, cfg in CONFIGS.items():
            shadow = shadow_model() if cfg.get("shadow") == "model" else None
            results[name].append(run_config(project, tmp / f"data-{rnd}-{len(results[name])}-{name[:4]}",
                                            parts=args.parts, interval_s=1.0 / args.rate, plc=plc, shadow=shadow,
                                            around=cfg.get("around")))
    load_after = os.getloadavg()
    figures = {name: pooled(runs) for name, runs in results.items()}
    base, with_shadow = figures["live only"]["p99_ms"], figures["live + shadow model"]["p99_ms"]
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_avg_1m_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "providers": session_providers(), "model_id": trained["model_id"], "train_s": round(t_train, 1),
        "plc": plc.split(":")[0], "rate_parts_per_s": args.rate, "parts_per_run": args.parts,
        "configurations": figures,
        "p99_ratio_shadow_vs_live": round(with_shadow / base, 3) if base else None,
        "within_10_percent": bool(base and with_shadow <= 1.10 * base),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
