"""The pilot trial from the command line: incumbent verdicts, disagreements to review, promotion.

``studio station incumbent DATA_DIR FILE.csv`` imports the existing inspection's verdicts;
``studio station review DATA_DIR --disagreements`` sends the shadow comparison's disagreements to the
reference labeler's review queue; ``studio station promote PROJECT --model ID --reason ...`` checks the
promotion gate and makes the model live (``--rollback``: the one before).
"""
from __future__ import annotations

import argparse
import sys

from studio.cli.credentials import add_credentials, reason, signed_in
from studio.cli.output import emit
from studio.cli.station_subcommands import project_for, station_group


def add_parsers(sub: argparse._SubParsersAction) -> None:
    ssub = station_group(sub)
    i = ssub.add_parser("incumbent", help="import the existing inspection's verdicts (CSV) for the shadow comparison")
    i.add_argument("data_dir", help="the station's data directory")
    i.add_argument("file", help="CSV with a verdict column (pass/reject, ok/ng) and part, part_id or time")
    i.add_argument("--within", type=float, default=2.0, help="keyed by time: seconds to the nearest part (2)")
    i.add_argument("--project", help="the project whose accounts govern (default: the data directory's)")
    i.add_argument("--json", action="store_true")
    add_credentials(i, reason=True)
    i.set_defaults(handler=__name__ + ":cmd_station_incumbent")
    r = ssub.add_parser("review", help="send the shadow comparison's disagreements to the review queue")
    r.add_argument("data_dir", help="the station's data directory")
    r.add_argument("--disagreements", action="store_true", required=True,
                   help="every part on which the candidate and the live side disagree")
    r.add_argument("--project", help="the project (default: the one the data directory is in)")
    r.add_argument("--model", help="the candidate model id (default: the one in the log)")
    r.add_argument("--against", choices=["auto", "live", "incumbent"], default="auto")
    r.add_argument("--json", action="store_true")
    r.set_defaults(handler=__name__ + ":cmd_station_review")
    p = ssub.add_parser("promote", help="make a model the station's live model, if it passes the promotion gate")
    p.add_argument("project")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--model", help="the model to promote")
    what.add_argument("--rollback", action="store_true", help="restore the previous live model")
    p.add_argument("--reason", required=True, help="why (recorded in models/live.yaml and the audit trail)")
    p.add_argument("--data-dir", help="the station's data directory with the shadow comparison "
                                      "(default: as 'station run')")
    p.add_argument("--json", action="store_true")
    add_credentials(p, reason=True)
    p.set_defaults(handler=__name__ + ":cmd_station_promote")


def cmd_station_incumbent(args: argparse.Namespace) -> int:
    from studio.audit.trail import AuditTrail
    from studio.station.incumbent import import_csv

    # the incumbent's verdicts decide the promotion: an engineer's action, with a reason
    project = project_for(args.data_dir, args.project)
    who = signed_in(args, "engineer", project=project, trail=args.data_dir, action="incumbent.imported").name
    out = import_csv(args.data_dir, args.file, within_s=args.within, who=who)
    if out["imported"]:
        AuditTrail(args.data_dir).append("incumbent.imported", actor=who, what=out["file"], reason=reason(args),
                                         after={"imported": out["imported"], "key": out["key"],
                                                "rejects": out["rejects"]})
    for line in out["problems"][:20]:
        print(f"  {line}", file=sys.stderr)
    emit(args, out, f"{out['imported']} of {out['lines']} incumbent verdicts imported (keyed by {out['key']}; "
                    f"{out['rejects']} rejects)" + (f"; {len(out['problems'])} lines not matched"
                                                    if out["problems"] else ""))
    return 0 if out["imported"] or not out["lines"] else 1


def cmd_station_review(args: argparse.Namespace) -> int:
    from studio.core.errors import StudioError
    from studio.monitoring.shadow import send_disagreements

    project = project_for(args.data_dir, args.project)
    if project is None:
        raise StudioError("no project for this data directory", hint="name it with --project PATH")
    out = send_disagreements(project, args.data_dir, model_id=args.model, against=args.against)
    emit(args, out, f"{out['disagreements']} disagreements: {out['sent']} sent to the review queue"
                    + (f", {out['already']} were already there" if out["already"] else "")
                    + (f", {out['no_image']} without a kept image" if out["no_image"] else ""))
    return 0


def cmd_station_promote(args: argparse.Namespace) -> int:
    from studio.monitoring.gate import evaluate, in_words
    from studio.project import Project
    from studio.project import live
    from studio.station import resolve_data_dir

    project = Project.open(args.project)
    actor = signed_in(args, "engineer", project=project,
                      action="model.rolled_back" if args.rollback else "model.promoted").name
    if args.rollback:
        out = live.rollback(project, actor=actor, reason=args.reason)
        emit(args, out, f"rolled back: the live model is {out['after'] or '(none: the newest)'} again "
                        f"(was {out['before']}); recorded for {actor}")
        return 0
    live.refuse_retired(project, args.model)         # before the gate: a retired model is never made live
    data_dir = resolve_data_dir(project, args.data_dir)
    gate = evaluate(project, data_dir if data_dir.exists() else None, args.model)
    if not gate["defined"]:
        result = {"promoted": False, "model_id": args.model, "gate": gate,
                  "why": "the project has no promotion gate"}
        emit(args, result, "refused: the project has no promotion gate (promotion_gate.yaml); write one "
                           "before the trial")
        return 1
    if gate.get("model_id") not in (None, args.model) or not gate["passed"]:
        wrong = gate.get("model_id") not in (None, args.model)
        why = (f"the shadow comparison in {data_dir} is of {gate['model_id']}, not {args.model}" if wrong
               else in_words(gate))
        emit(args, {"promoted": False, "model_id": args.model, "gate": gate, "why": why},
             f"refused: {args.model} does not pass the promotion gate: {why}")
        return 1
    out = live.promote(project, args.model, actor=actor, reason=args.reason)
    emit(args, {"promoted": True, **out, "gate": gate},
         f"{args.model} is the live model (was {out['before'] or 'none: the newest'}); promoted by {actor}: "
         f"{out['reason']}; the station runs it from its next start")
    return 0
