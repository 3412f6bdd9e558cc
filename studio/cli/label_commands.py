"""Labeling commands: agreement, review queue, assignment, audit trail, readiness, export, criteria."""
from __future__ import annotations

import argparse
import os

from studio.cli.credentials import add_credentials, identity, signed_in
from studio.cli.output import emit

ME = os.environ.get("USER", "engineer")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    from studio.interchange import EXPORTERS

    h = __name__ + ":"
    lab = sub.add_parser("labels", help="several labelers: agreement, review queue, assignment, audit trail")
    ls = lab.add_subparsers(dest="labels_command", required=True)

    a = ls.add_parser("agreement", help="Cohen's / Fleiss' kappa, per class, IoU of shapes, disputed images")
    a.add_argument("project")
    a.add_argument("--json", action="store_true")
    a.set_defaults(handler=h + "cmd_agreement")

    r = ls.add_parser("review", help="the reference labeler's review queue")
    rs = r.add_subparsers(dest="review_command", required=True)
    rl = rs.add_parser("list", help="disputed and borderline images waiting for a decision")
    rl.add_argument("project")
    rl.add_argument("--json", action="store_true")
    rl.set_defaults(handler=h + "cmd_review_list")
    rd = rs.add_parser("decide", help="decide one image as the reference labeler (becomes the training label)")
    rd.add_argument("project")
    rd.add_argument("image_id")
    rd.add_argument("--verdict", required=True, choices=["ok", "ng"])
    rd.add_argument("--class", dest="defect_class")
    rd.add_argument("--rationale", required=True, help="why: the rule and the measurement")
    rd.add_argument("--criterion", help="the criteria clause applied (default: the class's rule)")
    rd.add_argument("--example", choices=["reject", "accept", "borderline"],
                    help="also add the image to the criteria document as this kind of example")
    rd.add_argument("--labeler", default=None, help="default: the signed-in person (before any account: $USER)")
    rd.add_argument("--json", action="store_true")
    add_credentials(rd)
    rd.set_defaults(handler=h + "cmd_review_decide")

    s = ls.add_parser("assign", help="set the labelers, the reference labeler and the overlap share")
    s.add_argument("project")
    s.add_argument("--labelers", help="comma-separated names")
    s.add_argument("--reference", help="the reference labeler")
    s.add_argument("--overlap", type=float, help="share of images sent to several labelers, e.g. 0.2")
    s.add_argument("--copies", type=int, help="labelers per overlap image (default 2)")
    s.add_argument("--json", action="store_true")
    add_credentials(s, reason=True)
    s.set_defaults(handler=h + "cmd_assign")

    t = ls.add_parser("todo", help="a labeler's images still to label (blind: only their own labels count)")
    t.add_argument("project")
    t.add_argument("--labeler", default=ME)
    t.add_argument("--json", action="store_true")
    t.set_defaults(handler=h + "cmd_todo")

    hi = ls.add_parser("history", help="the audit trail: who changed which label when")
    hi.add_argument("project")
    hi.add_argument("image_id", nargs="?")
    hi.add_argument("--json", action="store_true")
    hi.set_defaults(handler=h + "cmd_history")

    rd2 = ls.add_parser("readiness", help="usable labeled images per class against the usual needs")
    rd2.add_argument("project")
    rd2.add_argument("--json", action="store_true")
    rd2.set_defaults(handler=h + "cmd_readiness")

    ex = sub.add_parser("export", help="export the images with their training labels")
    ex.add_argument("project")
    ex.add_argument("dest")
    ex.add_argument("--format", required=True, choices=EXPORTERS.names())
    ex.add_argument("--json", action="store_true")
    ex.set_defaults(handler=h + "cmd_export")

    cr = sub.add_parser("criteria", help="the acceptance-criteria document")
    cs = cr.add_subparsers(dest="criteria_command", required=True)
    sh = cs.add_parser("show", help="the rules (of the current or an older version)")
    sh.add_argument("project")
    sh.add_argument("--version", type=int)
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(handler=h + "cmd_criteria_show")
    ed = cs.add_parser("set", help="change a class's rule (a new version with author and reason)")
    ed.add_argument("project")
    ed.add_argument("name", help="defect class (added when new)")
    ed.add_argument("--definition")
    ed.add_argument("--severity", choices=["critical", "major", "minor", "cosmetic"])
    ed.add_argument("--rule")
    ed.add_argument("--measure", choices=["length", "width", "diameter", "area", "count"])
    ed.add_argument("--limit", type=float, help="reject above this (mm, mm² for area)")
    ed.add_argument("--surface")
    ed.add_argument("--pixel-size-mm", type=float, help="calibration: mm per image pixel")
    ed.add_argument("--author", default=None, help="default: the signed-in person (before any account: $USER)")
    ed.add_argument("--reason", required=True)
    ed.add_argument("--json", action="store_true")
    add_credentials(ed, reason=True)
    ed.set_defaults(handler=h + "cmd_criteria_set")
    eg = cs.add_parser("example", help="add a labeled image as a reject / accept / borderline example")
    eg.add_argument("project")
    eg.add_argument("name")
    eg.add_argument("image_id")
    eg.add_argument("--kind", required=True, choices=["reject", "accept", "borderline"])
    eg.add_argument("--note", default="")
    eg.add_argument("--author", default=None, help="default: the signed-in person (before any account: $USER)")
    eg.add_argument("--json", action="store_true")
    add_credentials(eg)
    eg.set_defaults(handler=h + "cmd_criteria_example")
    pr = cs.add_parser("print", help="write the document as HTML, one page per class, for the line")
    pr.add_argument("project")
    pr.add_argument("out", help="HTML file to write")
    pr.add_argument("--json", action="store_true")
    pr.set_defaults(handler=h + "cmd_criteria_print")


def _fmt(k) -> str:
    return "n/a" if k is None else f"{k:.3f}"


def cmd_agreement(args: argparse.Namespace) -> int:
    from studio.labels.agreement import agreement_report
    from studio.project import Project

    rep = agreement_report(Project.open(args.project))
    lines = [f"{rep['images_with_multiple_labels']} images labeled by two or more of "
             f"{len(rep['labelers'])} labelers ({', '.join(rep['labelers']) or 'none'})"]
    for p in rep["cohen_kappa"]:
        lines.append(f"  Cohen's kappa {p['labelers'][0]} / {p['labelers'][1]}: {_fmt(p['kappa'])} "
                     f"on {p['n']} images")
    lines.append(f"  Fleiss' kappa (all labelers): {_fmt(rep['fleiss_kappa'])}")
    for c, v in rep["per_class"].items():
        lines.append(f"  {c:>16}: kappa {_fmt(v['kappa'])}, specific agreement "
                     f"{_fmt(v['specific_agreement'])}, {v['ratings']} labels")
    for k in ("boxes", "masks"):
        if rep["iou"][k]["pairs"]:
            lines.append(f"  IoU agreement, {k}: {_fmt(rep['iou'][k]['mean_iou'])} over "
                         f"{rep['iou'][k]['pairs']} labeler pairs")
    for r in rep["reference_agreement"]:
        lines.append(f"  {r['labeler']} agrees with the reference on {r['agreement'] * 100:.0f} % "
                     f"of {r['n']} decided images")
    lines.append(f"{len(rep['disputed'])} images wait for the reference labeler")
    emit(args, rep, "\n".join(lines))
    return 0


def cmd_review_list(args: argparse.Namespace) -> int:
    from studio.labels.review import review_queue
    from studio.project import Project

    items = review_queue(Project.open(args.project))
    lines = [f"{len(items)} images to review"] + [
        f"  {it.image_id} ({it.reason}): " + ", ".join(f"{n} {l.category}" for n, l in sorted(it.labels.items()))
        for it in items]
    emit(args, {"queue": [it.to_dict() for it in items]}, "\n".join(lines))
    return 0


def cmd_review_decide(args: argparse.Namespace) -> int:
    from studio.labels.review import decide
    from studio.project import Project

    project = Project.open(args.project)
    signed_in(args, "reference", project=project, action="review.decision")
    label = decide(project, args.image_id, args.verdict, args.defect_class, labeler=identity(args, args.labeler, ME),
                   rationale=args.rationale, criterion=args.criterion, example=args.example)
    emit(args, label.to_dict(), f"{args.image_id}: reference decision {label.category} by {label.labeler}")
    return 0


def cmd_assign(args: argparse.Namespace) -> int:
    from studio.labels.assignment import LabelingPlan
    from studio.project import Project

    project = Project.open(args.project)
    changing = any(v is not None for v in (args.labelers, args.reference, args.overlap, args.copies))
    if changing:                            # who labels and who reviews: an engineer's decision
        signed_in(args, "engineer", project=project, action="labels assign")
    plan = LabelingPlan.load(project.root)
    before = plan.__dict__.copy() if changing else None
    if args.labelers is not None:
        plan.labelers = [x.strip() for x in args.labelers.split(",") if x.strip()]
    if args.reference is not None:
        plan.reference = args.reference or None
    if args.overlap is not None:
        plan.overlap = args.overlap
    if args.copies is not None:
        plan.copies = args.copies
    plan.save(project.root)
    if changing:
        from studio.audit.trail import AuditTrail
        from studio.cli.credentials import actor, reason

        after = {k: plan.__dict__.get(k) for k in ("labelers", "reference", "overlap", "copies")}
        AuditTrail(project.root).append("labels.plan", actor=actor(args), what="labeling plan",
                                        before={k: before.get(k) for k in after}, after=after, reason=reason(args))
    ids = [r.id for r in project.dataset]
    per = {n: sum(n in plan.assigned(i) for i in ids) for n in plan.labelers}
    overlap = sum(plan.in_overlap(i) for i in ids) if plan.labelers else 0
    result = {"labelers": plan.labelers, "reference": plan.reference, "overlap": plan.overlap,
              "copies": plan.copies, "images": len(ids), "overlap_images": overlap, "per_labeler": per}
    emit(args, result, f"{len(ids)} images, {overlap} in the overlap set; " +
         ", ".join(f"{n}: {k}" for n, k in per.items()) + f"; reference labeler: {plan.reference or 'none'}")
    return 0


def cmd_todo(args: argparse.Namespace) -> int:
    from studio.labels.assignment import LabelingPlan
    from studio.project import Project

    project = Project.open(args.project)
    plan = LabelingPlan.load(project.root)
    todo = plan.queue([r.id for r in project.dataset], args.labeler, project.labels.view(args.labeler))
    emit(args, {"labeler": args.labeler, "todo": todo}, f"{len(todo)} images for {args.labeler}: "
         + " ".join(todo[:20]) + (" ..." if len(todo) > 20 else ""))
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from studio.project import Project

    hist = Project.open(args.project).labels.history(args.image_id)
    rows = [l.to_dict() for l in hist]
    lines = [f"{l.time}  {l.labeler:<14} {l.kind:<9} {l.image_id}  "
             f"{l.category if l.kind != 'withdraw' else '(withdrawn)'}  v{l.criteria_version}"
             + (f"  — {l.rationale}" if l.rationale else "") for l in hist]
    emit(args, {"history": rows}, "\n".join(lines) or "no labels yet")
    return 0


def cmd_readiness(args: argparse.Namespace) -> int:
    from studio.labels.readiness import readiness
    from studio.project import Project

    r = readiness(Project.open(args.project))
    lines = [f"{r['good']} good, {r['defect_images']} defect images (defect rate {r['defect_rate'] * 100:.1f} %)"]
    for task, v in r["tasks"].items():
        lines.append(f"  {task:<15} {v['level']:<16} {v['have']} of {v['need'][0]}–{v['need'][1]} {v['what']}")
    lines.append(f"Recommendation: {r['recommendation']['task']} — {r['recommendation']['why']}")
    emit(args, r, "\n".join(lines))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from studio.interchange import run_export
    from studio.project import Project

    report = run_export(Project.open(args.project), args.format, args.dest)
    text = f"exported {report['exported']} images to {args.dest} ({args.format})"
    for r in report.get("renamed", []):
        text += f"\nrenamed {r['name']} -> {r['exported_as']}: two images share that name in one folder"
    emit(args, report, text)
    return 0


def cmd_criteria_show(args: argparse.Namespace) -> int:
    from studio.criteria.versions import load_version
    from studio.project import Project

    project = Project.open(args.project)
    doc = load_version(project.root, args.version) if args.version else project.criteria
    lines = [f"criteria version {doc.version}" + (f", {doc.pixel_size_mm:g} mm/px" if doc.pixel_size_mm else "")]
    for c in doc.classes:
        lines.append(f"  {c.id} {c.name} ({c.severity}): {c.rule_text(doc.pixel_size_mm)}"
                     + (f"  [{len(c.examples)} examples]" if c.examples else ""))
    for h in doc.history:
        lines.append(f"  v{h.get('version')} {h.get('date', '')} {h.get('author', '')}: {h.get('reason', '')}")
    emit(args, doc.to_dict(), "\n".join(lines))
    return 0


def cmd_criteria_set(args: argparse.Namespace) -> int:
    from studio.criteria.versions import edit
    from studio.project import Project

    project = Project.open(args.project)
    signed_in(args, "engineer", project=project, action="criteria.version")
    author = identity(args, args.author, ME, option="--author")

    def change(doc) -> None:
        c = doc.get(args.name) or doc.add_class(args.name)
        for key in ("definition", "severity", "rule", "measure", "limit", "surface"):
            v = getattr(args, key)
            if v is not None:
                setattr(c, key, v)
        if args.pixel_size_mm is not None:
            doc.pixel_size_mm = args.pixel_size_mm

    doc = edit(project, author, args.reason, change)
    c = doc.get(args.name)
    emit(args, doc.to_dict(), f"criteria version {doc.version}: {c.name}: {c.rule_text(doc.pixel_size_mm)}")
    return 0


def cmd_criteria_example(args: argparse.Namespace) -> int:
    from studio.criteria.examples import add_example
    from studio.project import Project

    project = Project.open(args.project)
    signed_in(args, "reference", project=project, action="criteria.version")
    doc = add_example(project, args.name, args.image_id, args.kind,
                      author=identity(args, args.author, ME, option="--author"), note=args.note)
    emit(args, doc.to_dict(), f"criteria version {doc.version}: {args.image_id} is a {args.kind} "
                              f"example of {args.name}")
    return 0


def cmd_criteria_print(args: argparse.Namespace) -> int:
    from studio.criteria.printing import write_html
    from studio.project import Project

    path = write_html(Project.open(args.project), args.out)
    emit(args, {"path": str(path)}, f"wrote {path} (one page per class; print it from a browser)")
    return 0
