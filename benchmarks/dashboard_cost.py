"""Dashboard cost: the live trigger-to-PLC latency at a paced line with and without the web dashboard polled.

Builds the demo project (simulated camera, the demo anomaly model trained on
simulated images; or ``--project`` with a trained model), then runs the
station for ``--parts`` parts at a paced ``--interval`` in each configuration,
alternating them ``--repeats`` times in one run (the machine is shared: load
drifts, so each configuration meets the same mix):

- ``none``     -- no dashboard
- ``process``  -- the dashboard as ``studio station run --web`` serves it (child process, lower priority)
- ``thread``   -- the dashboard in a thread of the station's process (shares its interpreter lock)

While a dashboard runs, a separate load process (the browsers of the plant
network, here on the same PC; at the dashboard's low priority, as their CPU
would be another PC's on a line) runs ``--clients`` pollers, each fetching every ``--poll``
seconds the overview page body, ``/api/report``, ``/api/recent?n=12`` and the
part images it has not fetched yet, plus one live page on ``/api/events``
that fetches the page body on each update, as ``dashboard.js`` does.

    .venv/bin/python benchmarks/dashboard_cost.py [--parts 300] [--repeats 3] [--interval 0.1] [--project P]

``run_configuration(project, dashboard=...)`` runs one configuration and
returns its p50 / p99 (the integrator combines it with shadow_cost.py).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
CONFIGS = ("none", "process", "thread")
WARMUP_PARTS = 5            # ONNX Runtime warm-up: left out of the statistics


def percentile(values: list[float], q: float) -> float:
    xs = sorted(values)
    k = min(len(xs) - 1, max(0, round(q / 100 * (len(xs) - 1))))
    return xs[k]


# ---- the browsers (run in their own process: --load URL) ----------------------------------------
def _load(url: str, clients: int, poll_s: float, sse: bool) -> None:
    counts: dict[str, Any] = {"requests": 0, "errors": 0, "bytes": 0, "sse_updates": 0, "error_kinds": {}}
    lock = threading.Lock()
    stop = threading.Event()

    def fetch(path: str) -> bytes | None:
        try:
            with urllib.request.urlopen(url + path, timeout=10) as r:
                body = r.read()
            with lock:
                counts["requests"] += 1
                counts["bytes"] += len(body)
            return body
        except OSError as e:
            if not stop.is_set():
                with lock:
                    counts["errors"] += 1
                    kind = f"{path.split('?')[0] or '/'}: {type(e).__name__} {getattr(e, 'code', '')}".strip()
                    counts["error_kinds"][kind] = counts["error_kinds"].get(kind, 0) + 1
            return None

    def poller() -> None:
        seen: set[str] = set()
        while not stop.is_set():
            t0 = time.monotonic()
            fetch("?fragment=1")
            fetch("api/report")
            recent = fetch("api/recent?n=12")
            for row in json.loads(recent) if recent else []:
                if row.get("image_url") and row["image_url"] not in seen:
                    seen.add(row["image_url"])
                    fetch(row["image_url"].lstrip("/"))
            stop.wait(max(0.0, poll_s - (time.monotonic() - t0)))

    def live_page() -> None:
        while not stop.is_set():
            try:
                with urllib.request.urlopen(url + "api/events", timeout=30) as r:
                    for line in r:
                        if stop.is_set():
                            return
                        if line.startswith(b"event: update"):
                            with lock:
                                counts["sse_updates"] += 1
                            fetch("?fragment=1")
            except OSError as e:
                if not stop.is_set():
                    with lock:
                        counts["errors"] += 1
                        kind = f"api/events: {type(e).__name__}"
                        counts["error_kinds"][kind] = counts["error_kinds"].get(kind, 0) + 1
                stop.wait(1.0)

    threads = [threading.Thread(target=poller, daemon=True) for _ in range(clients)]
    if sse:
        threads.append(threading.Thread(target=live_page, daemon=True))
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    for t in threads:
        t.start()
    while counts["requests"] < clients and not stop.is_set():
        time.sleep(0.05)
    print("ready", flush=True)
    while not stop.is_set():
        stop.wait(0.2)
    print(json.dumps(counts), flush=True)


# ---- one configuration ------------------------------------------------------------------------------
def run_configuration(project: Any, *, dashboard: str = "none", parts: int = 300, interval_s: float = 0.1,
                      clients: int = 5, poll_s: float = 0.5, sse: bool = True, data_dir: str | Path | None = None,
                      plc: str = "sim") -> dict[str, Any]:
    """The station's live latency (trigger -> PLC write) over ``parts`` paced parts, with ``dashboard``
    ('none', 'process' or 'thread') being polled; returns p50 / p99 / max in ms and the clients' counts."""
    from studio.station import Station
    from studio.web import DashboardProcess, DashboardThread
    from studio.web.server import lower_priority

    data_dir = Path(data_dir or tempfile.mkdtemp(prefix=f"studio-dash-{dashboard}-"))
    latencies: list[float] = []
    station = Station(project, plc_spec=plc, max_parts=parts, interval_s=interval_s, data_dir=data_dir)
    station.events.subscribe(lambda kind, p: latencies.append(p["result"].latency_ms) if kind == "part" else None)
    web: Any = None
    load: subprocess.Popen | None = None
    counts: dict[str, Any] = {}
    try:
        if dashboard == "process":
            web = DashboardProcess(data_dir, "127.0.0.1", 0, project.root).start()
        elif dashboard == "thread":
            web = DashboardThread(data_dir, "127.0.0.1", 0, project).start()
        elif dashboard != "none":
            raise ValueError(f"dashboard is none, process or thread, not {dashboard!r}")
        if web is not None:
            load = subprocess.Popen([sys.executable, __file__, "--load", web.url, "--clients", str(clients),
                                     "--poll", str(poll_s)] + ([] if sse else ["--no-sse"]),
                                    stdout=subprocess.PIPE, text=True)
            lower_priority(load.pid)        # browsers live on other PCs: their CPU here is an artefact
            assert load.stdout is not None
            if load.stdout.readline().strip() != "ready":   # every poller has had an answer
                raise RuntimeError("the dashboard's load clients did not start")
        t0 = time.perf_counter()
        station.run()
        wall = time.perf_counter() - t0
    finally:
        cpu: dict[str, float] = {}
        if load is not None:
            load.terminate()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            out, _ = load.communicate(timeout=30)
            cpu["clients_cpu_s"] = _cpu_since(before)
            counts = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
        if web is not None:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            web.stop()
            if dashboard == "process":      # the child's own CPU time, once it is reaped
                cpu["dashboard_cpu_s"] = _cpu_since(before)
        counts.update({k: round(v, 2) for k, v in cpu.items()})
    steady = latencies[WARMUP_PARTS:] or latencies
    return {"dashboard": dashboard, "parts": len(latencies),
            "latency_ms_p50": round(statistics.median(steady), 2),
            "latency_ms_p99": round(percentile(steady, 99), 2),
            "latency_ms_max": round(max(steady), 2),
            "parts_per_second": round(len(latencies) / wall, 2), "wall_s": round(wall, 1),
            "load_average_1min": round(os.getloadavg()[0], 2),
            **({"clients": clients, "poll_s": poll_s, "sse": sse, **counts} if dashboard != "none" else {})}


def _cpu_since(before: resource.struct_rusage) -> float:
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (now.ru_utime - before.ru_utime) + (now.ru_stime - before.ru_stime)


def _trained_demo(images: int) -> Any:
    from studio.capture.acquire import capture_to_project
    from studio.capture.camera import open_camera
    from studio.project import Project
    from studio.training.runner import run_training

    tmp = Path(tempfile.mkdtemp(prefix="studio-dash-"))
    project = Project.create(tmp / "demo", template="demo")
    with open_camera(project.camera_spec) as cam:
        capture_to_project(project, cam, images, label_truth=True)
    run_training(project.root, "anomaly")
    return project


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", type=int, default=300)
    ap.add_argument("--interval", type=float, default=0.1, help="seconds between triggers (0.1: 10 parts/s)")
    ap.add_argument("--repeats", type=int, default=3, help="rounds of all configurations, alternated")
    ap.add_argument("--configs", default=",".join(CONFIGS), help="which configurations (none,process,thread)")
    ap.add_argument("--clients", type=int, default=5)
    ap.add_argument("--poll", type=float, default=0.5, help="seconds between a poller's rounds")
    ap.add_argument("--no-sse", action="store_true", help="no live page (server-sent events) client")
    ap.add_argument("--images", type=int, default=60, help="simulated images to train the demo model on")
    ap.add_argument("--project", help="a project with a trained model (default: train the demo's)")
    ap.add_argument("--load", metavar="URL", help=argparse.SUPPRESS)     # the browsers' process
    args = ap.parse_args()
    if args.load:
        _load(args.load, args.clients, args.poll, not args.no_sse)
        return

    from studio.inference.model import session_providers
    from studio.project import Project

    project = Project.open(args.project) if args.project else _trained_demo(args.images)
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    runs: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    for r in range(args.repeats):
        order = configs[r % len(configs):] + configs[:r % len(configs)]      # rotate: no configuration always first
        for config in order:
            out = run_configuration(project, dashboard=config, parts=args.parts, interval_s=args.interval,
                                    clients=args.clients, poll_s=args.poll, sse=not args.no_sse)
            out["round"] = r + 1
            runs.append(out)
            print(json.dumps(out), file=sys.stderr, flush=True)
    summary: dict[str, Any] = {}
    for config in configs:
        mine = [x for x in runs if x["dashboard"] == config]
        summary[config] = {"latency_ms_p50_median": round(statistics.median(x["latency_ms_p50"] for x in mine), 2),
                           "latency_ms_p99_median": round(statistics.median(x["latency_ms_p99"] for x in mine), 2),
                           "latency_ms_p99_each": [x["latency_ms_p99"] for x in mine]}
    base = summary.get("none", {}).get("latency_ms_p99_median")
    for config in configs:
        if base and config != "none":
            summary[config]["p99_vs_none"] = round(summary[config]["latency_ms_p99_median"] / base, 3)
            # paired: each round's ratio to the 'none' run next to it (the load drifts less within a round)
            pairs = [next(x for x in runs if x["round"] == r and x["dashboard"] == config)["latency_ms_p99"]
                     / next(x for x in runs if x["round"] == r and x["dashboard"] == "none")["latency_ms_p99"]
                     for r in range(1, args.repeats + 1)]
            summary[config]["p99_vs_none_per_round"] = [round(p, 3) for p in pairs]
            summary[config]["p99_vs_none_paired_median"] = round(statistics.median(pairs), 3)
    print(json.dumps({
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_average_before": [round(x, 2) for x in load_before], "load_average_after":
            [round(x, 2) for x in os.getloadavg()],
        "providers": session_providers(), "parts": args.parts, "interval_s": args.interval,
        "clients": args.clients, "poll_s": args.poll, "sse": not args.no_sse,
        "summary": summary, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
