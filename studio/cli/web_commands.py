"""``studio station web DATA_DIR``: the read-only web dashboard of a data directory, on its own.

Also the child that ``studio station run --web`` starts (``--fd``: the
socket the station bound for it; it ends when the station's pipe closes).
"""
from __future__ import annotations

import argparse
import sys

WEB_HELP = ("serve the read-only web dashboard at HOST:PORT (e.g. 127.0.0.1:8080; 0.0.0.0:8080 for the plant "
            "network; off: none, whatever station.yaml's web: says)")


def add_station_web(ssub: argparse._SubParsersAction) -> None:
    w = ssub.add_parser("web", help="serve the read-only web dashboard of a data directory")
    w.add_argument("data_dir", help="the station's data directory (or its results.sqlite)")
    w.add_argument("--listen", default="127.0.0.1:8080", help="HOST:PORT (default 127.0.0.1:8080; port 0: any free)")
    w.add_argument("--project", help="the station's project, for the model card and the promotion gate")
    w.add_argument("--central", help="the plant's central store (postgresql://...) for the Fleet page "
                                     "(default: central: in the project's station.yaml)")
    w.add_argument("--fd", type=int, help=argparse.SUPPRESS)      # the station's child: serve this socket
    w.set_defaults(handler=__name__ + ":cmd_station_web")


def cmd_station_web(args: argparse.Namespace) -> int:
    import socket
    from pathlib import Path

    from studio.core.errors import StudioError
    from studio.web.listen import bind, parse_listen, url_of
    from studio.web.server import serve_forever

    data_dir = Path(args.data_dir).expanduser()
    if not data_dir.exists():
        raise StudioError("no such data directory", file=data_dir,
                          hint="give the folder the station writes results.sqlite to (its --data-dir)")
    if args.central:
        from studio.central import check_url

        wrong = check_url(args.central)
        if wrong:
            raise StudioError(f"--central: the central store's address {wrong}",
                              hint="give postgresql://USER@HOST:PORT/DATABASE (the password in ~/.pgpass)")
    if args.fd is not None:
        sock = socket.socket(fileno=args.fd)
        sock.setblocking(False)
        serve_forever(data_dir, sock, args.project, stop_on_stdin_eof=True, central=args.central)
        return 0
    listen = parse_listen(args.listen, "--listen")
    if listen is None:
        raise StudioError("--listen off leaves nothing to serve", hint="give HOST:PORT, e.g. 127.0.0.1:8080")
    sock = bind(*listen)
    print(f"web dashboard of {data_dir}: {url_of(sock)} (read-only; Ctrl-C stops it)", file=sys.stderr, flush=True)
    try:
        serve_forever(data_dir, sock, args.project, central=args.central)
    except KeyboardInterrupt:
        pass
    return 0


def start_web(args: argparse.Namespace, settings: dict, station, project):
    """``station run``'s dashboard (``--web``, else station.yaml's ``web:``): a child process, or None."""
    from studio.web import resolve_listen, start_dashboard

    from pathlib import Path

    listen = resolve_listen(getattr(args, "web", None), settings, Path(project.root) / "station.yaml")
    web = start_dashboard(listen, station.data_dir, project.root)
    if web:
        print(f"web dashboard: {web.url} (read-only)", file=sys.stderr, flush=True)
    return web
