"""Project, capture, import and label commands."""
from __future__ import annotations

import argparse
import os

from studio.cli.credentials import add_credentials, identity, signed_in
from studio.cli.output import emit
from studio.core.task import TaskContext


def add_parsers(sub: argparse._SubParsersAction) -> None:
    from studio.interchange.importers import IMPORTERS

    h = __name__ + ":"
    g = sub.add_parser("gui", help="open the studio window")
    g.add_argument("project", nargs="?", help="project folder to open")
    g.set_defaults(handler=h + "cmd_gui")

    proj = sub.add_parser("project", help="create or check a project folder")
    psub = proj.add_subparsers(dest="project_command", required=True)
    n = psub.add_parser("new", help="create a project folder")
    n.add_argument("path")
    n.add_argument("--template", choices=["demo"], help="start from a template")
    n.add_argument("--name", help="project name (default: the folder name)")
    n.add_argument("--json", action="store_true")
    n.set_defaults(handler=h + "cmd_project_new")
    c = psub.add_parser("check", help="validate a project folder (exit 0 when valid)")
    c.add_argument("path")
    c.add_argument("--json", action="store_true")
    c.set_defaults(handler=h + "cmd_project_check")

    cap = sub.add_parser("capture", help="capture images from a camera into the project")
    cap.add_argument("project")
    cap.add_argument("--camera", help="camera spec (default: the project's)")
    cap.add_argument("--count", type=int, default=1)
    cap.add_argument("--label-truth", action="store_true",
                     help="label simulated parts with the simulator's ground truth")
    cap.add_argument("--json", action="store_true")
    cap.set_defaults(handler=h + "cmd_capture")

    im = sub.add_parser("import", help="import an image set with its labels")
    im.add_argument("project")
    im.add_argument("source")
    im.add_argument("--format", required=True, choices=IMPORTERS.names())
    im.add_argument("--labeler", help="record the labels as this labeler's")
    im.add_argument("--json", action="store_true")
    add_credentials(im, reason=True)
    im.set_defaults(handler=h + "cmd_import")

    lab = sub.add_parser("label", help="label one image")
    lab.add_argument("project")
    lab.add_argument("image_id")
    lab.add_argument("--verdict", required=True, choices=["ok", "ng", "borderline"])
    lab.add_argument("--class", dest="defect_class", help="defect class for NG")
    lab.add_argument("--labeler", default=None, help="default: the signed-in person (before any account: $USER)")
    lab.add_argument("--criterion", help="the criteria clause applied (default: the class's rule)")
    lab.add_argument("--box", action="append", default=[], metavar="X,Y,W,H",
                     help="a defect box in image pixels (repeatable)")
    lab.add_argument("--polygon", action="append", default=[], metavar="X,Y;X,Y;X,Y",
                     help="a defect polygon in image pixels (repeatable)")
    lab.add_argument("--json", action="store_true")
    add_credentials(lab)
    lab.set_defaults(handler=h + "cmd_label")


def cmd_gui(args: argparse.Namespace) -> int:
    from studio.cli.front_ends import hand_over

    return hand_over("studio", args.project)


def cmd_project_new(args: argparse.Namespace) -> int:
    from studio.project import Project

    project = Project.create(args.path, name=args.name, template=args.template)
    emit(args, {"path": str(project.root), "name": project.name, "task": project.task},
         f"created project '{project.name}' in {project.root}")
    return 0


def cmd_project_check(args: argparse.Namespace) -> int:
    """Every file of the project; exit 0 when nothing is wrong (warnings allowed), else 1."""
    from studio.project import check_all

    problems = check_all(args.path)
    errors = [p for p in problems if p.level != "warning"]
    result = {"path": args.path, "valid": not errors,
              "problems": [{"file": p.file, "field": p.field, "message": p.message, "hint": p.hint,
                            "level": p.level} for p in problems]}
    if args.json:
        emit(args, result, "")
    else:
        import sys

        if problems:
            print("\n".join(str(p) for p in problems), file=sys.stderr)
        if not errors:
            emit(args, result, "project is valid" + (f" ({len(problems)} warning{'s' if len(problems) > 1 else ''})"
                                                     if problems else ""))
    return 0 if not errors else 1


def _console_task(quiet: bool) -> TaskContext:
    if quiet:
        return TaskContext()
    import sys

    def on_progress(f: float) -> None:
        sys.stderr.write(f"\r{f * 100:5.1f} %")
        sys.stderr.flush()
        if f >= 1.0:
            sys.stderr.write("\n")

    return TaskContext(on_progress=on_progress)


def cmd_capture(args: argparse.Namespace) -> int:
    from studio.capture.acquire import capture_to_project, next_sim_start
    from studio.capture.camera import open_camera
    from studio.project import Project

    project = Project.open(args.project)
    spec = args.camera or project.camera_spec
    settings = dict(project.camera_settings)
    if spec.split(":", 1)[0] == "sim" and "start" not in settings:
        settings["start"] = next_sim_start(project, spec)     # new parts, not the same ones again
    with open_camera(spec, settings) as camera:
        records = capture_to_project(project, camera, args.count, label_truth=args.label_truth,
                                     task=_console_task(args.json))
    emit(args, {"captured": len(records), "image_ids": [r.id for r in records], "camera": spec},
         f"captured {len(records)} images from {spec}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from studio.interchange.importers import run_import
    from studio.project import Project

    project = Project.open(args.project)
    signed_in(args, "engineer", project=project, action="import")
    labeler = identity(args, args.labeler, None) if args.labeler else None
    report = run_import(project, args.format, args.source, labeler=labeler,
                        task=_console_task(args.json))
    from studio.audit.trail import AuditTrail
    from studio.cli import credentials

    AuditTrail(project.root).append("dataset.imported", actor=credentials.actor(args), what=str(args.source),
                                    after={"format": args.format, "imported": report.imported,
                                           "attached": report.attached, "labeler": labeler},
                                    reason=credentials.reason(args))
    lines = [f"imported {report.imported} images"]
    if report.attached:
        lines.append(f"labels added to {report.attached} images already in the project (same pixels)")
    if report.classes_added:
        lines.append(f"defect classes added to the criteria: {', '.join(report.classes_added)}")
    for f, name in report.renamed:
        lines.append(f"renamed {f} -> {name}: that name was taken in the project (exports give the original back)")
    for f, reason in report.skipped:
        lines.append(f"skipped {f}: {reason}")
    emit(args, report.to_dict(), "\n".join(lines))
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    from studio.core.errors import StudioError
    from studio.project import Project

    project = Project.open(args.project)
    signed_in(args, "labeler", project=project, action="label")
    labeler = identity(args, args.labeler, os.environ.get("USER", "engineer"))
    project.dataset.get(args.image_id)
    if args.verdict == "ng" and args.defect_class and args.defect_class not in project.criteria.class_names():
        raise StudioError(f"defect class '{args.defect_class}' is not in the criteria document",
                          hint=f"use one of: {', '.join(project.criteria.class_names())}")
    from studio.labels.criterion import criterion_text
    from studio.labels.shapes import parse_cli_shapes

    shapes = parse_cli_shapes(args.box, args.polygon, args.defect_class)
    defect = args.defect_class if args.verdict == "ng" else None
    criterion = args.criterion or criterion_text(project.criteria, defect)
    label = project.labels.add(args.image_id, args.verdict, args.defect_class, labeler=labeler,
                               criteria_version=project.criteria.version, criterion=criterion,
                               shapes=shapes)
    emit(args, label.__dict__, f"{args.image_id}: {label.verdict} {label.defect_class or ''}".rstrip())
    return 0
