"""``studio station run``: the on-line inspection station, headless or in kiosk mode."""
from __future__ import annotations

import argparse
import os
import sys

from studio.cli.output import emit


def add_parsers(sub: argparse._SubParsersAction) -> None:
    st = sub.add_parser("station", help="run the inspection station")
    ssub = st.add_subparsers(dest="station_command", required=True)
    r = ssub.add_parser("run", help="trigger, capture, infer, signal the PLC, log every part")
    r.add_argument("project")
    r.add_argument("--camera", help="camera spec (default: station.yaml, then the project's)")
    r.add_argument("--plc", default=None, help="sim, modbus-server://HOST:PORT, modbus-client://HOST:PORT?unit=1"
                                               "&base=0 or opcua-server://HOST:PORT (default: station.yaml, then sim)")
    r.add_argument("--trigger", choices=["free", "hardware", "plc"], default=None,
                   help="what starts an inspection (default: station.yaml's trigger, else free)")
    r.add_argument("--parts", type=int, help="stop after this many parts")
    r.add_argument("--model", help="model id (default: the newest)")
    r.add_argument("--data-dir", help="where the result log and part images go")
    r.add_argument("--interval", type=float, default=0.0, help="seconds between triggers (free-run: 0)")
    r.add_argument("--kiosk", action="store_true", help="full-screen operator view")
    r.add_argument("--json", action="store_true")
    r.set_defaults(handler=__name__ + ":cmd_station_run")
    d = ssub.add_parser("disagree", help="an operator overrules the station on a part: it goes to the review queue")
    d.add_argument("project")
    d.add_argument("--part", type=int, required=True, help="the part number the station showed")
    d.add_argument("--verdict", required=True, choices=["ok", "ng"], help="what the part really is")
    d.add_argument("--class", dest="defect_class", help="the defect class, for ng")
    d.add_argument("--operator", default=os.environ.get("USER", "operator"))
    d.add_argument("--note", default="", help="what the operator saw")
    d.add_argument("--data-dir", help="the station's data directory (default: as 'station run')")
    d.add_argument("--json", action="store_true")
    d.set_defaults(handler=__name__ + ":cmd_station_disagree")
    u = ssub.add_parser("plc-user", help="add, change or remove a PLC account of the OPC UA server")
    u.add_argument("project")
    u.add_argument("name", help="the account name the PLC logs in with")
    how = u.add_mutually_exclusive_group()
    how.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    how.add_argument("--remove", action="store_true", help="remove the account")
    u.add_argument("--json", action="store_true")
    u.set_defaults(handler=__name__ + ":cmd_station_plc_user")


def cmd_station_run(args: argparse.Namespace) -> int:
    from studio.project import Project
    from studio.station import Station
    from studio.station import exit_codes

    project = Project.open(args.project)
    settings = project.station_settings()
    plc = args.plc or settings.get("plc", "sim")
    station = Station(project, camera_spec=args.camera, plc_spec=plc, model_id=args.model,
                      data_dir=args.data_dir, max_parts=args.parts, interval_s=args.interval,
                      trigger=args.trigger)

    def announce(kind: str, payload: dict) -> None:      # what runs, once it runs: camera, PLC, model, data
        if kind == "state" and payload.get("state") == "running":
            print(f"station running: {station.describe()}", file=sys.stderr, flush=True)

    station.events.subscribe(announce)
    if args.kiosk:
        from studio.cli.front_ends import hand_over

        code = hand_over("kiosk", station)      # exit_codes.for_station, as below
    else:
        def on_event(kind: str, payload: dict) -> None:
            if kind == "alert":
                kind_of = f" [{payload['key']}]" if payload.get("key") else ""     # camera, model, plc, log, ...
                print(f"ALERT{kind_of}: {payload.get('message')}", file=sys.stderr, flush=True)
            elif kind == "part" and not args.json:
                r = payload["result"]
                print(f"part {r.part:6d}  {(r.part_id or '-'):<16} {r.verdict:<6}  score {r.score:8.4f}  "
                      f"{r.defect_class or '':<12} {r.latency_ms:6.1f} ms", flush=True)

        station.events.subscribe(on_event)
        station.run()
        code = exit_codes.for_station(station)
        if station.fault:
            print(f"station stopped: {station.fault}", file=sys.stderr, flush=True)
    stats = station.stats()
    emit(args, stats, f"{stats['parts']} parts: {stats['passed']} pass, {stats['rejected']} reject, "
                      f"{stats['faults']} fault"
                      + (f", {stats['reviewed']} review" if stats.get("reviewed") else "")
                      + f"; reject rate {100 * stats['reject_rate']:.1f} %"
                      + f"; latency median {stats['latency_ms_median']} ms, "
                      f"p99 {stats['latency_ms_p99']} ms")
    return code


def cmd_station_disagree(args: argparse.Namespace) -> int:
    from studio.project import Project
    from studio.station import resolve_data_dir
    from studio.station.feedback import send_back

    project = Project.open(args.project)
    data_dir = resolve_data_dir(project, args.data_dir)
    out = send_back(project, data_dir, args.part, args.verdict, args.defect_class, operator=args.operator,
                    note=args.note)
    emit(args, out, f"part {out['part']}: station said {out['station_verdict']}, {out['operator']} says "
                    f"{out['operator_verdict']} {out['defect_class'] or ''}".rstrip()
                    + f"; image {out['image_id']} waits in the review queue")
    return 0


def cmd_station_plc_user(args: argparse.Namespace) -> int:
    from studio.core.errors import StudioError
    from studio.plc.accounts import set_user
    from studio.project import Project

    project = Project.open(args.project)
    password: str | None = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not args.remove:
        import getpass

        if not sys.stdin.isatty():
            raise StudioError("no password given", hint="pipe it in with --password-stdin, or run in a terminal")
        password = getpass.getpass(f"password for PLC account {args.name}: ")
        if getpass.getpass("again: ") != password:
            raise StudioError("the two passwords differ", hint="type the same password twice")
    out = set_user(project, args.name, password)
    emit(args, out, f"PLC account {out['user']} {out['action']} in {out['file']} "
                    f"(accounts: {', '.join(out['users']) or 'none'}); a running station reads it at its next start")
    return 0
