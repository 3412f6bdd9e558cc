"""``studio trace DATA_DIR --part N``: from a logged part back to everything that decided it."""
from __future__ import annotations

import argparse

from studio.cli.output import emit


def add_parsers(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("trace", help="a logged part and everything that decided it: model, training, data, "
                                     "criteria, threshold, promotion",
                       description="From one part in the station's result log back to the model card, its "
                                   "training run, the exact images and labels it learnt from, the criteria "
                                   "version, the threshold decision and the promotion that made it live.")
    t.add_argument("data_dir", metavar="DATA_DIR", help="the station's data directory (it holds results.sqlite)")
    t.add_argument("--part", type=int, required=True, help="the part number the station gave the part")
    t.add_argument("--project", help="the project, when the data directory does not record it (station.json)")
    t.add_argument("--json", action="store_true")
    t.set_defaults(handler=__name__ + ":cmd_trace")


def cmd_trace(args: argparse.Namespace) -> int:
    from studio.station.trace import describe, trace_part

    chain = trace_part(args.data_dir, args.part, project=args.project)
    emit(args, chain, describe(chain))
    return 0
