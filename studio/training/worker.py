"""The training subprocess: ``python -m studio.training.worker --project PATH --task NAME``.

Training runs here, not in the studio, so an out-of-memory kill or a crash
in a native library never takes the studio (or a running station) down,
and cancel is simply ending this process. It prints one JSON event per line
on stdout (format in ``report.py``) and keeps the same lines in
``runs/<run_id>/events.jsonl``.

Exit codes: 0 done; 2 a problem the user can fix (the ``error`` event says
what to do); 1 an unexpected failure (traceback on stderr only).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
import time
import traceback
from pathlib import Path


def new_run_dir(runs_dir: Path, task: str) -> tuple[str, Path]:
    runs_dir.mkdir(parents=True, exist_ok=True)
    base = f"{task}-{_dt.datetime.now():%Y%m%d-%H%M%S}"
    for n in range(1, 10_000):
        run_id = base if n == 1 else f"{base}-{n}"
        try:
            (runs_dir / run_id).mkdir()
            return run_id, runs_dir / run_id
        except FileExistsError:
            continue
    raise RuntimeError(f"no free run id under {runs_dir}")


def run(project_path: str, task: str, options: dict, stream=None) -> int:
    from studio.core.errors import StudioError
    from studio.training.report import JsonLinesReport

    stream = stream or sys.stdout
    t0 = time.monotonic()
    report = JsonLinesReport(stream)
    try:
        from studio.project import Project
        from studio.training import TRAINERS

        project = Project.open(project_path)
        trainer = TRAINERS.get(task)
        run_id, run_dir = new_run_dir(project.runs_dir, task)
        report.events_file = run_dir / "events.jsonl"
        from studio.training import lineage

        lineage.set_run(run_id)         # the card names its run (lineage.run_id)
        started = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
        report.emit({"event": "status", "text": f"training {task} model for '{project.name}' (run {run_id})",
                     "run_id": run_id, "task": task})
        card = trainer(project, options, report)
        _record_run(run_dir, run_id, task, options, card, started, time.monotonic() - t0)
        report.emit({"event": "done", "model_id": card["model_id"], "task": task, "run_id": run_id,
                     "metrics": card.get("metrics", {}), "threshold": card.get("threshold"),
                     "onnx_max_abs_diff": (card.get("onnx_check") or {}).get("max_abs_diff"),
                     "seconds": round(time.monotonic() - t0, 2)})
        return 0
    except StudioError as e:
        report.emit({"event": "error", "message": str(e)})
        return 2
    except MemoryError:
        report.emit({"event": "error", "message": "training ran out of memory\n  What to do: lower "
                     "max_train_images or the preprocessing size, or close other programs"})
        return 1
    except Exception as e:  # the message for the studio; the traceback for whoever debugs it
        traceback.print_exc(file=sys.stderr)
        report.emit({"event": "error", "message": f"training failed unexpectedly: {type(e).__name__}: {e}"})
        return 1


def _record_run(run_dir: Path, run_id: str, task: str, options: dict, card: dict, started: str,
                seconds: float) -> None:
    """``runs/<run_id>/run.json``: which model the run made, from what (``studio trace`` reads it)."""
    from studio.core.atomic import atomic_write_json

    lin = card.get("lineage") or {}
    atomic_write_json(run_dir / "run.json", {
        "run_id": run_id, "task": task, "model_id": card.get("model_id"), "options": options,
        "started": started, "finished": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "seconds": round(seconds, 2), "code_version": lin.get("code_version"),
        "dataset_digest": lin.get("dataset_digest"), "labels_digest": lin.get("labels_digest"),
        "criteria_version": lin.get("criteria_version"), "training_set": lin.get("training_set")})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m studio.training.worker", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--project", required=True, help="project folder")
    ap.add_argument("--task", required=True, help="anomaly, classification, detection or segmentation")
    ap.add_argument("--options", default="{}", help="JSON object of training options (override project.yaml)")
    args = ap.parse_args(argv)
    try:
        options = json.loads(args.options)
        if not isinstance(options, dict):
            raise ValueError("not a JSON object")
    except ValueError as e:
        print(json.dumps({"event": "error", "message": f"--options is not a JSON object of options ({e})"}),
              flush=True)
        return 2
    return run(args.project, args.task, options)


if __name__ == "__main__":
    sys.exit(main())
