"""``studio lighting ...``: audit the lighting, keep a baseline, browse the history, edit the limits.

``studio lighting audit`` exits 0 when the audit passes and 1 when a check
fails (a gate for scripts); errors exit 2 as everywhere.
"""
from __future__ import annotations

import argparse
import sys

from studio.cli.credentials import actor, add_credentials, reason, signed_in
from studio.cli.output import emit
from studio.core.errors import StudioError


def add_parsers(sub: argparse._SubParsersAction) -> None:
    lt = sub.add_parser("lighting", help="audit the lighting before training, keep a baseline")
    lsub = lt.add_subparsers(dest="lighting_command", required=True)

    a = lsub.add_parser("audit", help="grab frames and check exposure, uniformity, focus, noise, "
                                      "stability, glare and defect contrast")
    a.add_argument("project")
    a.add_argument("--camera", help="camera spec (default: the project's camera with its settings); "
                                    "folder:DIR audits those images as a sequence")
    a.add_argument("--frames", type=int, default=10, help="frames to grab (default 10; 3+ judge stability)")
    a.add_argument("--roi", help="x,y,width,height in pixels (default: the project's region of interest)")
    a.add_argument("--save-baseline", action="store_true", help="if the audit passes, make it the baseline")
    a.add_argument("--no-save", action="store_true", help="do not keep the report in the project")
    a.add_argument("--json", action="store_true")
    add_credentials(a, reason=True)
    a.set_defaults(handler=__name__ + ":cmd_audit")

    b = lsub.add_parser("baseline", help="make a passing audit the station's lighting baseline")
    b.add_argument("project")
    b.add_argument("--audit", help="audit id (default: the newest)")
    b.add_argument("--show", action="store_true", help="only show the current baseline")
    b.add_argument("--json", action="store_true")
    add_credentials(b, reason=True)
    b.set_defaults(handler=__name__ + ":cmd_baseline")

    h = lsub.add_parser("history", help="list the project's lighting audits, newest first")
    h.add_argument("project")
    h.add_argument("--json", action="store_true")
    h.set_defaults(handler=__name__ + ":cmd_history")

    m = lsub.add_parser("limits", help="show the limits in force, or change one")
    m.add_argument("project")
    m.add_argument("--set", action="append", default=[], metavar="CHECK.LIMIT=VALUE",
                   help="e.g. --set noise.sigma_max=4 (repeatable)")
    m.add_argument("--json", action="store_true")
    add_credentials(m, reason=True)
    m.set_defaults(handler=__name__ + ":cmd_limits")


def _audit_baseline(args: argparse.Namespace, project, base: dict | None) -> None:
    from studio.audit.trail import AuditTrail

    if base:
        AuditTrail(project.root).append("lighting.baseline", actor=actor(args), what=base.get("audit_id"),
                                        reason=reason(args))


def _roi(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        roi = [int(v) for v in text.split(",")]
    except ValueError:
        roi = []
    if len(roi) != 4 or min(roi) < 0 or roi[2] == 0 or roi[3] == 0:
        raise StudioError(f"--roi '{text}' is not x,y,width,height", field="--roi",
                          hint="write it as e.g. --roi 40,30,320,240 (pixels)")
    return roi


def _table(result: dict) -> str:
    lines = [f"lighting audit {result.get('audit_id') or '(not kept)'}: {result['verdict'].upper()}  "
             f"({result['frames']} frames from {result['source']})"]
    for c in result["checks"]:
        status = "skip" if c["passed"] is None else ("PASS" if c["passed"] else "FAIL")
        value = "-" if c["value"] is None else f"{c['value']:.3g}"
        limit = c["limit"]
        limit = f"{limit[0]:g}..{limit[1]:g}" if isinstance(limit, list) else f"{limit:g}"
        lines.append(f"  {status}  {c['name']:<16} {value:>8}  limit {limit:<10} {c['unit']}")
        if c["advice"]:
            lines.append(f"        -> {c['advice']}")
        elif c["passed"] is None and c.get("measures", {}).get("why"):
            lines.append(f"        ({c['measures']['why']})")
    return "\n".join(lines)


def cmd_audit(args: argparse.Namespace) -> int:
    from studio.core.task import TaskContext
    from studio.lighting import store
    from studio.lighting.run import audit_project
    from studio.project import Project

    project = Project.open(args.project)
    if args.save_baseline:                  # before grabbing: a refusal costs no audit
        signed_in(args, "engineer", project=project, action="lighting.baseline")
    task = TaskContext(on_status=None if args.json else (lambda t: print(f"  {t}", file=sys.stderr)))
    audit = audit_project(project, args.camera, args.frames, roi=_roi(args.roi), save=not args.no_save, task=task)
    result = audit.to_dict()
    text = _table(result)
    if audit.audit_id:
        text += f"\nreport: {project.audits_dir / audit.audit_id / 'report.html'}"
    if args.save_baseline:
        if args.no_save:
            raise StudioError("--save-baseline needs the audit kept in the project", hint="drop --no-save")
        if audit.verdict == "pass":
            base = store.save_baseline(project, audit.audit_id)
            _audit_baseline(args, project, base)
            result["baseline_saved"] = base["audit_id"]
            text += f"\nsaved as the lighting baseline"
        else:
            result["baseline_saved"] = None
            text += "\nnot saved as the baseline: the audit failed"
    emit(args, result, text)
    return 0 if audit.verdict == "pass" else 1


def cmd_baseline(args: argparse.Namespace) -> int:
    from studio.lighting import store
    from studio.project import Project

    project = Project.open(args.project)
    if args.show:
        base = store.load_baseline(project)
        emit(args, {"baseline": base}, "no lighting baseline yet" if base is None else
             f"baseline: audit {base['audit_id']} of {base['time']}: " +
             ", ".join(f"{k} {v}" for k, v in base["summary"].items() if not isinstance(v, dict)))
        return 0
    signed_in(args, "engineer", project=project, action="lighting.baseline")
    base = store.save_baseline(project, args.audit)
    _audit_baseline(args, project, base)
    emit(args, {"baseline": base}, f"audit {base['audit_id']} is now the lighting baseline")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from studio.lighting import store
    from studio.project import Project

    project = Project.open(args.project)
    past = store.history(project)
    lines = [f"{h['audit_id']:<20} {h['time'] or '':<20} {(h['verdict'] or '?').upper():<5} "
             f"{'BASELINE ' if h['baseline'] else ''}{('failed: ' + ', '.join(h['failed'])) if h['failed'] else ''}"
             for h in past]
    emit(args, {"audits": past}, "\n".join(lines) if lines else "no lighting audits yet")
    return 0


def cmd_limits(args: argparse.Namespace) -> int:
    from studio.lighting import limits as L
    from studio.project import Project

    project = Project.open(args.project)
    current = L.load(project)
    if args.set:
        signed_in(args, "engineer", project=project, action="lighting.limits")
    for item in args.set:
        name, eq, value = item.partition("=")
        check, dot, key = name.strip().partition(".")
        try:
            number = float(value)
        except ValueError:
            number = None
        if not eq or not dot or number is None:
            raise StudioError(f"--set '{item}' is not CHECK.LIMIT=NUMBER", field="--set",
                              hint="e.g. --set noise.sigma_max=4")
        before = (current.get(check) or {}).get(key)
        current = L.set_limit(project, check, key, number)
        from studio.audit.trail import AuditTrail

        AuditTrail(project.root).append("lighting.limits", actor=actor(args), what=f"{check}.{key}", before=before,
                                        after=number, reason=reason(args))
    lines = [f"{check:<16} " + ", ".join(f"{k}={v:g}" for k, v in vals.items()) for check, vals in current.items()]
    emit(args, {"limits": current, "file": str(L.limits_path(project))}, "\n".join(lines))
    return 0
