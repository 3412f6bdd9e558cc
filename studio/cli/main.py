"""``studio`` — the headless command line. Every step, scriptable, with ``--json``.

The GUI and the CLI call the same functions; this module only parses
arguments, prints, and turns ``StudioError`` into a message and exit code 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable

from studio.core.errors import Cancelled, StudioError

# Subcommand handlers, looked up by name (``module:function``) and imported
# lazily, so ``studio project check`` never pays for torch or Qt.
HANDLERS: dict[str, str] = {
    "gui": "studio.cli.commands:cmd_gui",
    "project new": "studio.cli.commands:cmd_project_new",
    "project check": "studio.cli.commands:cmd_project_check",
    "capture": "studio.cli.commands:cmd_capture",
    "import": "studio.cli.commands:cmd_import",
    "label": "studio.cli.commands:cmd_label",
    "train": "studio.cli.model_commands:cmd_train",
    "evaluate": "studio.cli.model_commands:cmd_evaluate",
    "threshold": "studio.cli.model_commands:cmd_threshold",
    "models": "studio.cli.model_commands:cmd_models",
    "station run": "studio.cli.station_commands:cmd_station_run",
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="studio", description="Inspection Studio: camera to inspection station.")
    sub = p.add_subparsers(dest="command")

    g = sub.add_parser("gui", help="open the studio window")
    g.add_argument("project", nargs="?", help="project folder to open")

    proj = sub.add_parser("project", help="create or check a project folder")
    psub = proj.add_subparsers(dest="project_command", required=True)
    n = psub.add_parser("new", help="create a project folder")
    n.add_argument("path")
    n.add_argument("--template", choices=["demo"], help="start from a template")
    n.add_argument("--name", help="project name (default: the folder name)")
    n.add_argument("--json", action="store_true")
    c = psub.add_parser("check", help="validate a project folder (exit 0 when valid)")
    c.add_argument("path")
    c.add_argument("--json", action="store_true")

    cap = sub.add_parser("capture", help="capture images from a camera into the project")
    cap.add_argument("project")
    cap.add_argument("--camera", help="camera spec (default: the project's)")
    cap.add_argument("--count", type=int, default=1)
    cap.add_argument("--label-truth", action="store_true",
                     help="label simulated parts with the simulator's ground truth")
    cap.add_argument("--json", action="store_true")

    im = sub.add_parser("import", help="import an image set with its labels")
    im.add_argument("project")
    im.add_argument("source")
    im.add_argument("--format", required=True, choices=["mvtec", "folders"])
    im.add_argument("--labeler", help="record the labels as this labeler's")
    im.add_argument("--json", action="store_true")

    lab = sub.add_parser("label", help="label one image")
    lab.add_argument("project")
    lab.add_argument("image_id")
    lab.add_argument("--verdict", required=True, choices=["ok", "ng", "borderline"])
    lab.add_argument("--class", dest="defect_class", help="defect class for NG")
    lab.add_argument("--labeler", default=os.environ.get("USER", "engineer"))
    lab.add_argument("--json", action="store_true")

    tr = sub.add_parser("train", help="train a model (in a subprocess) and export it to ONNX")
    tr.add_argument("project")
    tr.add_argument("--task", choices=["anomaly", "classification"], help="default: the project's task")
    tr.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                    help="override a training option, e.g. --option epochs=3")
    tr.add_argument("--json", action="store_true")

    ev = sub.add_parser("evaluate", help="score the test split and report metrics")
    ev.add_argument("project")
    ev.add_argument("--model", help="model id (default: the newest)")
    ev.add_argument("--json", action="store_true")

    th = sub.add_parser("threshold", help="set a model's decision threshold")
    th.add_argument("project")
    th.add_argument("--model", help="model id (default: the newest)")
    th.add_argument("--value", type=float, required=True)
    th.add_argument("--json", action="store_true")

    mo = sub.add_parser("models", help="list trained models")
    mo.add_argument("project")
    mo.add_argument("--json", action="store_true")

    st = sub.add_parser("station", help="run the inspection station")
    ssub = st.add_subparsers(dest="station_command", required=True)
    r = ssub.add_parser("run", help="trigger, capture, infer, signal the PLC, log every part")
    r.add_argument("project")
    r.add_argument("--camera", help="camera spec (default: station.yaml, then the project's)")
    r.add_argument("--plc", default=None, help="sim or modbus-server://HOST:PORT (default: station.yaml, then sim)")
    r.add_argument("--parts", type=int, help="stop after this many parts")
    r.add_argument("--model", help="model id (default: the newest)")
    r.add_argument("--data-dir", help="where the result log and part images go")
    r.add_argument("--interval", type=float, default=0.0, help="seconds between triggers (free-run: 0)")
    r.add_argument("--kiosk", action="store_true", help="full-screen operator view")
    r.add_argument("--json", action="store_true")
    return p


def _command_key(args: argparse.Namespace) -> str:
    if args.command == "project":
        return f"project {args.project_command}"
    if args.command == "station":
        return f"station {args.station_command}"
    return args.command


def _resolve(target: str) -> Callable[[argparse.Namespace], int]:
    import importlib

    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def emit(args: argparse.Namespace, result: dict[str, Any], text: str) -> None:
    """Print ``text`` for people, or ``result`` as one JSON line for scripts."""
    if getattr(args, "json", False):
        print(json.dumps(result, default=str), flush=True)
    else:
        print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("YOLO_OFFLINE", "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["gui", *(argv or [])])
    try:
        return int(_resolve(HANDLERS[_command_key(args)])(args) or 0)
    except StudioError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Cancelled:
        print("cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
