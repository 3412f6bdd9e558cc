"""``studio fleet`` (the plant's stations from the central store) and ``studio station sync`` (a one-shot send)."""
from __future__ import annotations

import argparse

from studio.cli.output import emit


def _station_subparsers(sub: argparse._SubParsersAction) -> argparse._SubParsersAction | None:
    """The ``studio station`` command's own subcommands (made by station_commands)."""
    station = sub.choices.get("station")
    if station is None:
        return None
    return next((a for a in station._actions if isinstance(a, argparse._SubParsersAction)), None)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    f = sub.add_parser("fleet", help="every station in the central store: project, model, parts and reject rate "
                                     "per hour, alerts, forwarder lag, a project compared across stations")
    f.add_argument("url", help="the central store: postgresql://USER@HOST:PORT/DATABASE")
    f.add_argument("--hours", type=float, default=24.0, help="how far back the figures go (default 24)")
    f.add_argument("--json", action="store_true")
    f.set_defaults(handler=__name__ + ":cmd_fleet")
    ssub = _station_subparsers(sub)
    if ssub is None:
        return
    s = ssub.add_parser("sync", help="send a station's log, alerts and audit entries to the central store now "
                                     "(a backfill; a resend never duplicates)")
    s.add_argument("data_dir", help="the station's data directory (holds results.sqlite)")
    s.add_argument("--to", dest="url", required=True, help="the central store: postgresql://USER@HOST:PORT/DATABASE")
    s.add_argument("--station-id", help="the station's name there (default: this PC's host name)")
    s.add_argument("--project", help="the project's name, for rows and the stations table")
    s.add_argument("--reject-images-to", help="also copy reject images to this shared folder")
    s.add_argument("--json", action="store_true")
    s.set_defaults(handler=__name__ + ":cmd_station_sync")


def cmd_fleet(args: argparse.Namespace) -> int:
    import psycopg

    from studio.central import connect, safe_url
    from studio.central.fleet import describe, fleet
    from studio.core.errors import StudioError

    try:
        conn = connect(args.url)
    except psycopg.Error as e:
        raise StudioError(f"cannot reach the central store at {safe_url(args.url)}: {str(e).strip().splitlines()[0]}",
                          hint="check the address, that the server runs and that this PC may log in") from None
    try:
        view = fleet(conn, hours=args.hours)
    finally:
        conn.close()
    emit(args, view, describe(view))
    return 0


def cmd_station_sync(args: argparse.Namespace) -> int:
    from pathlib import Path

    from studio.central.forwarder import Forwarder
    from studio.core.errors import StudioError
    from studio.results.schema import FILE_NAME

    data_dir = Path(args.data_dir)
    if not (data_dir / FILE_NAME).is_file() and not (data_dir / "audit.jsonl").is_file():
        raise StudioError("no result log here", file=data_dir,
                          hint="give the station's data directory (the folder holding results.sqlite)")
    fw = Forwarder(data_dir, args.url, args.station_id, project=args.project,
                   reject_images_to=args.reject_images_to, status_file=False)
    out = fw.sync()
    emit(args, out, f"station {out['station_id']} -> {out['url']}: {out['forwarded_rows']} rows, "
                    f"{out['forwarded'] - out['forwarded_rows']} alerts and audit entries sent"
                    + (f", {out['resent']} already there" if out["resent"] else "")
                    + f"; {out['rows']} rows behind")
    return 0
