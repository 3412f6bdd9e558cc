"""``studio station run``: the on-line inspection station, headless or in kiosk mode."""
from __future__ import annotations

import argparse
import sys

from studio.cli.output import emit


def add_parsers(sub: argparse._SubParsersAction) -> None:
    st = sub.add_parser("station", help="run the inspection station")
    ssub = st.add_subparsers(dest="station_command", required=True)
    r = ssub.add_parser("run", help="trigger, capture, infer, signal the PLC, log every part")
    r.add_argument("project")
    r.add_argument("--camera", help="camera spec (default: station.yaml, then the project's)")
    r.add_argument("--plc", default=None, help="sim or modbus-server://HOST:PORT (default: station.yaml, then sim)")
    r.add_argument("--parts", type=int, help="stop after this many parts")
    r.add_argument("--model", help="model id (default: the newest)")
    r.add_argument("--data-dir", help="where the result log and part images go")
    r.add_argument("--interval", type=float, default=0.0, help="seconds between triggers (free-run: 0)")
    r.add_argument("--kiosk", action="store_true", help="full-screen operator view")
    r.add_argument("--json", action="store_true")
    r.set_defaults(handler=__name__ + ":cmd_station_run")


def cmd_station_run(args: argparse.Namespace) -> int:
    from studio.project import Project
    from studio.station import Station

    project = Project.open(args.project)
    settings = project.station_settings()
    plc = args.plc or settings.get("plc", "sim")
    station = Station(project, camera_spec=args.camera, plc_spec=plc, model_id=args.model,
                      data_dir=args.data_dir, max_parts=args.parts, interval_s=args.interval)

    if args.kiosk:
        from studio.core.display import require_display

        require_display()
        from studio.gui.kiosk import run_kiosk

        code = run_kiosk(station)
    else:
        def on_event(kind: str, payload: dict) -> None:
            if kind == "alert":
                print(f"ALERT: {payload.get('message')}", file=sys.stderr, flush=True)
            elif kind == "part" and not args.json:
                r = payload["result"]
                print(f"part {r.part:6d}  {r.verdict:<6}  score {r.score:8.4f}  "
                      f"{r.defect_class or '':<12} {r.latency_ms:6.1f} ms", flush=True)

        station.events.subscribe(on_event)
        completed = station.run()
        code = 0 if completed or station.fault is None else 3
        if station.fault:
            print(f"station stopped: {station.fault}", file=sys.stderr, flush=True)
    stats = station.stats()
    emit(args, stats, f"{stats['parts']} parts: {stats['passed']} pass, {stats['rejected']} reject, "
                      f"{stats['faults']} fault"
                      + (f", {stats['reviewed']} review" if stats.get("reviewed") else "")
                      + f"; latency median {stats['latency_ms_median']} ms, "
                      f"p99 {stats['latency_ms_p99']} ms")
    return code
