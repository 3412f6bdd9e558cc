"""Project, capture, import and label commands."""
from __future__ import annotations

import argparse

from studio.cli.main import emit
from studio.core.task import TaskContext


def cmd_gui(args: argparse.Namespace) -> int:
    from studio.gui.app import main as gui_main

    return gui_main(args.project)


def cmd_project_new(args: argparse.Namespace) -> int:
    from studio.project import Project

    project = Project.create(args.path, name=args.name, template=args.template)
    emit(args, {"path": str(project.root), "name": project.name, "task": project.task},
         f"created project '{project.name}' in {project.root}")
    return 0


def cmd_project_check(args: argparse.Namespace) -> int:
    from studio.project import check

    problems = check(args.path)
    result = {"path": args.path, "valid": not problems,
              "problems": [{"file": p.file, "field": p.field, "message": p.message, "hint": p.hint}
                           for p in problems]}
    if args.json or not problems:
        emit(args, result, "project is valid")
    else:
        import sys

        print("\n".join(str(p) for p in problems), file=sys.stderr)
    return 0 if not problems else 1


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
    from studio.capture.acquire import capture_to_project
    from studio.capture.camera import open_camera
    from studio.project import Project

    project = Project.open(args.project)
    spec = args.camera or project.camera_spec
    with open_camera(spec, project.camera_settings) as camera:
        records = capture_to_project(project, camera, args.count, label_truth=args.label_truth,
                                     task=_console_task(args.json))
    emit(args, {"captured": len(records), "image_ids": [r.id for r in records], "camera": spec},
         f"captured {len(records)} images from {spec}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from studio.dataset.importers import run_import
    from studio.project import Project

    project = Project.open(args.project)
    report = run_import(project, args.format, args.source, labeler=args.labeler,
                        task=_console_task(args.json))
    lines = [f"imported {report.imported} images"]
    if report.classes_added:
        lines.append(f"defect classes added to the criteria: {', '.join(report.classes_added)}")
    for f, reason in report.skipped:
        lines.append(f"skipped {f}: {reason}")
    emit(args, report.to_dict(), "\n".join(lines))
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    from studio.core.errors import StudioError
    from studio.project import Project

    project = Project.open(args.project)
    project.dataset.get(args.image_id)
    if args.verdict == "ng" and args.defect_class and args.defect_class not in project.criteria.class_names():
        raise StudioError(f"defect class '{args.defect_class}' is not in the criteria document",
                          hint=f"use one of: {', '.join(project.criteria.class_names())}")
    label = project.labels.add(args.image_id, args.verdict, args.defect_class, labeler=args.labeler,
                               criteria_version=project.criteria.version)
    emit(args, label.__dict__, f"{args.image_id}: {label.verdict} {label.defect_class or ''}".rstrip())
    return 0
