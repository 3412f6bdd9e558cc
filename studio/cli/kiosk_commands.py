"""``studio kiosk DATA_DIR_OR_PROJECT``: the operator's view of a station running in another process."""
from __future__ import annotations

import argparse


def add_parsers(sub: argparse._SubParsersAction) -> None:
    k = sub.add_parser("kiosk", help="the full-screen operator view of a running station (its own process)",
                       description="Open the kiosk on the station writing to DATA_DIR (or the project's data "
                                   "directory). The station keeps inspecting whatever becomes of this window; "
                                   "a new kiosk attaches at any time.")
    k.add_argument("target", metavar="DATA_DIR_OR_PROJECT")
    k.add_argument("--windowed", action="store_true", help="a window, not full screen (commissioning)")
    k.add_argument("--companion", action="store_true", help=argparse.SUPPRESS)     # started by 'station run --kiosk'
    k.set_defaults(handler=__name__ + ":cmd_kiosk")


def cmd_kiosk(args: argparse.Namespace) -> int:
    from studio.cli.front_ends import hand_over
    from studio.station.handle import resolve

    data_dir = resolve(args.target)         # a clear error before any window
    return hand_over("attached kiosk", data_dir, companion=args.companion, windowed=args.windowed)
