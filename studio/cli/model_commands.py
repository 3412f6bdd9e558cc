"""Train, list and retire models (evaluate, threshold, compare: ``evaluation_commands``).

``studio models PROJECT`` (or ``studio models list PROJECT``) lists them, newest first, retired ones marked;
``studio models retire PROJECT --model ID --reason TEXT`` retires one (an engineer's action,
``studio.project.live.retire``).
"""
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

    mo = sub.add_parser("models", help="list trained models, or retire one",
                        usage="studio models [list] PROJECT [--json]\n"
                              "       studio models retire PROJECT --model ID --reason TEXT [--user NAME]")
    # 'studio models PROJECT' predates the verbs, so the verb is an optional first word
    mo.add_argument("words", nargs="+", metavar="[list|retire] PROJECT")
    mo.add_argument("--model", metavar="ID", help="retire: the model to retire")
    mo.add_argument("--json", action="store_true")
    add_credentials(mo, reason=True)
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


VERBS = ("list", "retire")


def cmd_models(args: argparse.Namespace) -> int:
    from studio.core.errors import StudioError

    words = list(args.words)
    verb = words.pop(0) if len(words) == 2 and words[0] in VERBS else "list"
    if len(words) != 1:
        raise StudioError(f"'studio models {' '.join(args.words)}' is not a models command",
                          hint="write 'studio models PROJECT' or 'studio models retire PROJECT --model ID "
                               "--reason TEXT'")
    args.project = words[0]
    if verb == "retire":
        return cmd_models_retire(args)
    if args.model:
        raise StudioError("--model is for 'studio models retire'", hint="leave it out to list the models")
    return cmd_models_list(args)


def cmd_models_list(args: argparse.Namespace) -> int:
    from studio.inference.model import list_models
    from studio.project import Project
    from studio.project.live import live_model_id
    from studio.project.model_card import retirement

    project = Project.open(args.project)
    cards = list_models(project)
    live = live_model_id(project)

    def line(c: dict) -> str:
        r = retirement(c)
        return (f"{c['model_id']}  {c['task']:<15} threshold {c.get('threshold', 0):.4g}"
                + ("  LIVE" if c["model_id"] == live else "")
                + (f"  RETIRED by {r.get('by')} {r.get('time')}: {r.get('reason') or ''}" if r else ""))

    emit(args, {"models": cards, "live": live}, "\n".join(line(c) for c in cards) or "no models yet: run 'studio train'")
    return 0


def cmd_models_retire(args: argparse.Namespace) -> int:
    from studio.core.errors import ModelError, StudioError
    from studio.inference.model import newest_model_id
    from studio.project import Project
    from studio.project import live

    if not args.model:
        raise StudioError("which model? 'studio models retire' needs --model ID", field="--model",
                          hint="list them with 'studio models PROJECT'")
    project = Project.open(args.project)
    who = signed_in(args, "engineer", project=project, action="model.retired").name
    out = live.retire(project, args.model, actor=who, reason=reason(args) or "")
    try:
        runs = out["live"] or newest_model_id(project)
        runs_words = f"{runs} ({'promoted' if out['live'] else 'the newest not retired'})"
    except ModelError as e:
        runs, runs_words = None, f"no model ({e.message}): it will not start until one is trained"
    out["station_runs"] = runs
    emit(args, out, f"{args.model} is retired by {who}: {out['reason']}; from its next start the station runs "
                    f"{runs_words}")
    return 0
