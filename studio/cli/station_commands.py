"""``studio station run``: the on-line inspection station, headless or in kiosk mode."""
from __future__ import annotations

import argparse
import sys

from studio.cli.main import emit


def cmd_station_run(args: argparse.Namespace) -> int:
    from studio.project import Project
    from studio.station import Station

    project = Project.open(args.project)
    settings = project.station_settings()
    plc = args.plc or settings.get("plc", "sim")
    station = Station(project, camera_spec=args.camera, plc_spec=plc, model_id=args.model,
                      data_dir=args.data_dir, max_parts=args.parts, interval_s=args.interval)

    if args.kiosk:
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
        station.run()
        code = 0
    stats = station.stats()
    emit(args, stats, f"{stats['parts']} parts: {stats['passed']} pass, {stats['rejected']} reject, "
                      f"{stats['faults']} fault; latency median {stats['latency_ms_median']} ms, "
                      f"p99 {stats['latency_ms_p99']} ms")
    return code
