"""Train and list models (evaluate, threshold, compare: ``evaluation_commands``)."""
from __future__ import annotations

import argparse
import json
import sys

from studio.cli.credentials import actor, add_credentials, reason, signed_in
from studio.cli.output import emit


def add_parsers(sub: argparse._SubParsersAction) -> None:
    from studio.training import TRAINERS

    h = __name__ + ":"
    tr = sub.add_parser("train", help="train a model (in a subprocess) and export it to ONNX")
    tr.add_argument("project")
    tr.add_argument("--task", choices=TRAINERS.names(), help="default: the project's task")
    tr.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                    help="override a training option, e.g. --option epochs=3")
    tr.add_argument("--json", action="store_true")
    add_credentials(tr, reason=True)
    tr.set_defaults(handler=h + "cmd_train")

    mo = sub.add_parser("models", help="list trained models")
    mo.add_argument("project")
    mo.add_argument("--json", action="store_true")
    mo.set_defaults(handler=h + "cmd_models")


def _parse_options(pairs: list[str]) -> dict:
    from studio.core.errors import StudioError

    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise StudioError(f"option '{pair}' is not KEY=VALUE", hint="write e.g. --option epochs=3")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def cmd_train(args: argparse.Namespace) -> int:
    from studio.core.task import TaskContext
    from studio.project import Project

    project = Project.open(args.project)
    signed_in(args, "engineer", project=project, action="model.trained")
    from studio.training.runner import run_training

    task_name = args.task or project.task

    def on_event(event: dict) -> None:
        if args.json:
            return
        kind = event.get("event")
        if kind == "status":
            print(event.get("text", ""), file=sys.stderr, flush=True)
        elif kind == "metric":
            value = event.get("value")
            shown = f"{value:.4g}" if isinstance(value, (int, float)) else str(value)
            print(f"  {event.get('name')} step {event.get('step')}: {shown}", file=sys.stderr, flush=True)

    result = run_training(project.root, task_name, _parse_options(args.option), on_event=on_event,
                          task_ctx=TaskContext(), actor=actor(args), reason=reason(args))
    out = {k: result.get(k) for k in ("model_id", "task", "metrics", "seconds", "onnx_max_abs_diff")}
    diff = out.get("onnx_max_abs_diff")
    emit(args, out, f"trained {out['model_id']} ({out['task']}) in {out['seconds']:.1f} s\n"
                    f"metrics: {json.dumps(out['metrics'], default=str)}\n"
                    f"ONNX Runtime vs torch, largest output difference: "
                    f"{'n/a' if diff is None else f'{diff:.3g}'}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from studio.inference.model import list_models
    from studio.project import Project

    cards = list_models(Project.open(args.project))
    lines = [f"{c['model_id']}  {c['task']:<15} threshold {c.get('threshold', 0):.4g}" for c in cards]
    emit(args, {"models": cards}, "\n".join(lines) or "no models yet: run 'studio train'")
    return 0
