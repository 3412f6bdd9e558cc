"""Going live: the live trigger-to-PLC latency alone, with a shadow model, with the web dashboard polled,
and with both, in the same run (issue 11's benchmark; the live path must not slow by more than 10 %).

Builds the demo project in a temporary folder and trains its anomaly model (the defaults a user gets),
then runs the station paced at --rate parts/s with the sim PLC in each configuration, alternating them
--rounds times so a change of machine load hits all alike:

- live only;
- live + shadow model (a second ONNX Runtime session of the model, judged after the PLC write on
  its own niced thread: ``studio.station.shadow``);
- live + dashboard polled (the dashboard child process, as ``station run --web`` starts it, with
  --clients pollers every --poll s and one live page on server-sent events, in another process);
- live + shadow + dashboard.

Also prints the monitoring's cost per part as the station measured it (``monitor`` stats).

    .venv/bin/python benchmarks/going_live_cost.py [--parts 300] [--rate 10] [--rounds 2]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from dashboard_cost import _trained_demo  # noqa: E402
from shadow_cost import pooled, run_config  # noqa: E402


def dashboard_around(project: Any, clients: int, poll_s: float) -> Callable[[Any], Callable[[], None]]:
    """Start the dashboard process on the station's data directory and its load clients; return a stopper."""
    from studio.web import DashboardProcess
    from studio.web.server import lower_priority

    def around(station: Any) -> Callable[[], None]:
        station.data_dir.mkdir(parents=True, exist_ok=True)
        web = DashboardProcess(station.data_dir, "127.0.0.1", 0, project.root).start()
        here = Path(__file__).resolve().parent / "dashboard_cost.py"
        load = subprocess.Popen([sys.executable, str(here), "--load", web.url, "--clients", str(clients),
                                 "--poll", str(poll_s)], stdout=subprocess.PIPE, text=True)
        lower_priority(load.pid)        # the browsers live on other PCs: their CPU here is an artefact
        assert load.stdout is not None
        load.stdout.readline()          # "ready": every poller has had an answer

        def stop() -> None:
            load.terminate()
            try:
                load.communicate(timeout=30)
            finally:
                web.stop()
        return stop
    return around


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", type=int, default=300)
    ap.add_argument("--rate", type=float, default=10.0, help="parts per second (paced)")
    ap.add_argument("--rounds", type=int, default=2, help="alternations of the configurations")
    ap.add_argument("--images", type=int, default=40, help="simulated images to train the demo model on")
    ap.add_argument("--clients", type=int, default=5, help="dashboard pollers")
    ap.add_argument("--poll", type=float, default=0.5, help="seconds between a poller's rounds")
    args = ap.parse_args()

    from studio.inference.model import newest_model_id
    from studio.station.shadow import load_shadow

    t0 = time.perf_counter()
    project = _trained_demo(args.images)
    t_train = time.perf_counter() - t0
    model_id = newest_model_id(project)
    web = dashboard_around(project, args.clients, args.poll)
    configs: dict[str, dict[str, Any]] = {
        "live only": {},
        "live + shadow model": {"shadow": True},
        "live + dashboard polled": {"around": web},
        "live + shadow + dashboard": {"shadow": True, "around": web},
    }
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in configs}
    tmp = Path(tempfile.mkdtemp(prefix="studio-golive-"))
    load_before = os.getloadavg()
    for rnd in range(args.rounds):
        for i, (name, cfg) in enumerate(configs.items()):
            shadow = load_shadow(project, model_id) if cfg.get("shadow") else None
            results[name].append(run_config(project, tmp / f"data-{rnd}-{i}", parts=args.parts,
                                            interval_s=1.0 / args.rate, shadow=shadow, around=cfg.get("around")))
    load_after = os.getloadavg()
    figures = {name: pooled(runs) for name, runs in results.items()}
    base = figures["live only"]["p99_ms"]
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_avg_1m_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "model_id": model_id, "train_s": round(t_train, 1), "rate_parts_per_s": args.rate,
        "parts_per_run": args.parts, "configurations": figures,
        "p99_ratio_vs_live_only": {name: round(f["p99_ms"] / base, 3) if base else None
                                   for name, f in figures.items()},
        "within_10_percent": {name: bool(base and f["p99_ms"] <= 1.10 * base) for name, f in figures.items()},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
