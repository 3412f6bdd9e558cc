"""Bake-off: train each candidate model briefly on a representative subset and compare them."""
from __future__ import annotations

import argparse
import sys

from studio.cli.output import emit


def add_parsers(sub: argparse._SubParsersAction) -> None:
    bo = sub.add_parser("bakeoff", help="train every candidate briefly on a stratified subset and compare them")
    bo.add_argument("project")
    bo.add_argument("--images", type=int, default=100, help="training images in the subset (default 100)")
    bo.add_argument("--tasks", help="comma-separated tasks to try (default: every task the labels support)")
    bo.add_argument("--anomalib", action="store_true", help="add anomalib's PatchCore as a candidate")
    bo.add_argument("--seed", type=int, default=0)
    bo.add_argument("--json", action="store_true")
    bo.set_defaults(handler=__name__ + ":cmd_bakeoff")


def cmd_bakeoff(args: argparse.Namespace) -> int:
    from studio.core.errors import StudioError
    from studio.core.task import TaskContext
    from studio.project import Project
    from studio.training.bakeoff import default_candidates, format_table, run_bakeoff

    project = Project.open(args.project)
    candidates = default_candidates(project, with_anomalib=args.anomalib)
    if args.tasks:
        wanted = [t.strip() for t in args.tasks.split(",") if t.strip()]
        known = {c.task for c in candidates}
        missing = [t for t in wanted if t not in known]
        if missing:
            raise StudioError(f"this project's labels cannot train {', '.join(missing)}",
                              hint=f"candidates here: {', '.join(sorted(known))}")
        candidates = [c for c in candidates if c.task in wanted]

    def on_row(row) -> None:
        if not args.json:
            state = f"failed: {row.error}" if row.error else f"{row.quality_metric} {row.quality}"
            print(f"  {row.name}: {state}", file=sys.stderr, flush=True)

    result = run_bakeoff(project, candidates, images=args.images, seed=args.seed, on_row=on_row,
                         task_ctx=TaskContext())
    text = (f"bake-off on {result['subset']['train']} training images, {result['subset']['test']} test images "
            f"(results in {result['folder']})\n" + format_table(result["rows"]))
    emit(args, result, text)
    return 0
