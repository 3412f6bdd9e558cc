"""Bake-off: train each candidate briefly on a representative subset, and compare them side by side.

The subset is stratified by label (OK, and each defect class in proportion,
at least a few of each) from the train split; every candidate is tested on
the same images of the test split. The subset becomes a small scratch
project under ``runs/bakeoff-<time>/project`` (its images are links to the
real ones, nothing is copied), so each candidate trains exactly as a real
run does, in the worker subprocess. The table: quality (the task's own
measure: image AUROC, accuracy, mAP50, Dice), latency per image on this PC
(ONNX Runtime, 2 threads, batch 1, median), training time and model size.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from studio import tasks
from studio.core.atomic import atomic_write_json
from studio.core.errors import StudioError

# each task's measure and brief candidates are in its description (studio.tasks: measure, bakeoff)
QUALITY = {name: tasks.get(name).measure for name in tasks.names()}


@dataclass
class Candidate:
    name: str
    task: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Row:
    name: str
    task: str
    quality_metric: str
    quality: float | None = None
    image_auroc: float | None = None
    latency_ms: float | None = None
    train_s: float | None = None
    size_mb: float | None = None
    model_id: str | None = None
    error: str | None = None


def default_candidates(project, with_anomalib: bool = False) -> list[Candidate]:
    """What this project's labels can train: each task whose description says its data is there
    (anomaly always), with the task's brief candidates (the anomalib peer only when asked)."""
    out = []
    for name in tasks.names():
        description = tasks.get(name)
        trainable = description.load("trainable")
        if trainable is not None and not trainable(project):
            continue
        for label, options in description.bakeoff:
            if label in description.needs_peer and not with_anomalib:
                continue
            out.append(Candidate(label, name, dict(options)))
    return out


def stratified_subset(project, n: int, seed: int = 0) -> list[str]:
    """Image ids of about ``n`` labeled train images, each label category in proportion (at least 3 each)."""
    current = project.labels.current()
    groups: dict[str, list[str]] = {}
    for rec in project.dataset.records("train"):
        label = current.get(rec.id)
        if label is None or label.verdict not in ("ok", "ng"):
            continue
        key = "ok" if label.verdict == "ok" else f"ng:{label.defect_class or ''}"
        groups.setdefault(key, []).append(rec.id)
    total = sum(len(v) for v in groups.values())
    if total == 0:
        raise StudioError("the bake-off needs labeled training images; there are none",
                          hint="label some images on the Label page first")
    rng = np.random.default_rng(seed)
    chosen: list[str] = []
    for key, ids in sorted(groups.items()):
        want = min(len(ids), max(3, int(round(n * len(ids) / total))))
        chosen.extend(ids[i] for i in sorted(rng.choice(len(ids), want, replace=False)))
    return chosen


def subset_project(project, folder: Path, train_ids: list[str], test_limit: int | None = None):
    """A scratch project in ``folder`` holding only ``train_ids`` and the test split; images are links."""
    from studio.project import Project

    folder.mkdir(parents=True, exist_ok=True)
    for name in ("project.yaml", "criteria.yaml", "labels.jsonl"):
        if (project.root / name).exists():
            shutil.copy2(project.root / name, folder / name)
    keep = set(train_ids)
    test = [r for r in project.dataset.records("test")]
    if test_limit is not None and len(test) > test_limit:
        test = [test[i] for i in np.linspace(0, len(test) - 1, test_limit).round().astype(int)]
    records = [r for r in project.dataset.records("train") if r.id in keep] + test
    for rel in {p.split("/")[0] for r in records for p in [r.file, r.mask or r.file]} | {"label_masks"}:
        src, dst = project.root / rel, folder / rel
        if src.exists() and not dst.exists():
            try:
                os.symlink(src, dst, target_is_directory=src.is_dir())
            except OSError:           # no symlinks here (Windows without the right): copy
                (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst)
    from studio.dataset.store import MANIFEST, SCHEMA_VERSION

    atomic_write_json(folder / MANIFEST, {"schema_version": SCHEMA_VERSION, "images": [asdict(r) for r in records]})
    return Project.open(folder)


def measure_latency(project, model_id: str, images: list[np.ndarray]) -> float | None:
    from studio.inference.model import InspectionModel

    model = InspectionModel.load(project, model_id, threads=2, providers=["CPUExecutionProvider"])
    if not images:
        return None
    model.predict(images[0])                         # warm-up
    times = []
    for im in images:
        t = time.perf_counter()
        model.predict(im)
        times.append((time.perf_counter() - t) * 1000)
    return float(statistics.median(times))


def run_bakeoff(project, candidates: list[Candidate] | None = None, *, images: int = 100, seed: int = 0,
                test_limit: int | None = 100, latency_images: int = 20, in_process: bool = False,
                on_row: Callable[[Row], None] | None = None, on_event: Callable[[dict], None] | None = None,
                task_ctx=None) -> dict[str, Any]:
    """Train every candidate on the same stratified subset; returns ``{"rows": [...], "folder", ...}``."""
    candidates = candidates if candidates is not None else default_candidates(project)
    stamp = f"bakeoff-{_dt.datetime.now():%Y%m%d-%H%M%S}"
    folder = project.runs_dir / stamp
    ids = stratified_subset(project, images, seed)
    scratch = subset_project(project, folder / "project", ids, test_limit)
    test_records = scratch.dataset.records("test")
    step = max(1, len(test_records) // max(1, latency_images))
    lat_images = [scratch.dataset.load(r) for r in test_records[::step][:latency_images]]
    rows: list[Row] = []
    for cand in candidates:
        row = Row(cand.name, cand.task, QUALITY.get(cand.task, "image_auroc"))
        try:
            if task_ctx is not None:
                task_ctx.check()
                task_ctx.status(f"bake-off: training {cand.name} on {len(ids)} images")
            t0 = time.monotonic()
            if in_process:
                from studio.training import TRAINERS
                from studio.training.report import Report

                card = TRAINERS.get(cand.task)(scratch, dict(cand.options), Report())
                done = {"model_id": card["model_id"], "metrics": card["metrics"]}
            else:
                from studio.training.runner import run_training

                done = run_training(scratch.root, cand.task, dict(cand.options), on_event=on_event,
                                    task_ctx=task_ctx)
            row.train_s = round(time.monotonic() - t0, 2)
            row.model_id = done["model_id"]
            metrics = done.get("metrics") or {}
            row.quality = metrics.get(row.quality_metric)
            row.image_auroc = metrics.get("image_auroc")
            row.size_mb = round((scratch.models_dir / row.model_id / "model.onnx").stat().st_size / 1e6, 2)
            row.latency_ms = measure_latency(scratch, row.model_id, lat_images)
            if row.latency_ms is not None:
                row.latency_ms = round(row.latency_ms, 2)
        except StudioError as e:
            row.error = str(e).splitlines()[0]
        rows.append(row)
        if on_row is not None:
            on_row(row)
    result = {"folder": str(folder), "subset": {"train": len(ids), "test": len(test_records)},
              "rows": [asdict(r) for r in rows]}
    atomic_write_json(folder / "bakeoff.json", result)
    return result


def format_table(rows: list[dict[str, Any]]) -> str:
    """The bake-off as a plain-text table (the CLI's output)."""
    def fmt(v, spec):
        return "-" if v is None else format(v, spec)

    head = f"{'candidate':<28} {'quality':<20} {'AUROC':>6} {'ms/img':>7} {'train s':>8} {'MB':>6}"
    lines = [head, "-" * len(head)]
    for r in rows:
        if r.get("error"):
            lines.append(f"{r['name']:<28} failed: {r['error']}")
            continue
        q = f"{r['quality_metric']} {fmt(r['quality'], '.3f')}"
        lines.append(f"{r['name']:<28} {q:<20} {fmt(r['image_auroc'], '.3f'):>6} {fmt(r['latency_ms'], '.1f'):>7} "
                     f"{fmt(r['train_s'], '.1f'):>8} {fmt(r['size_mb'], '.1f'):>6}")
    return "\n".join(lines)


def load_last(project) -> dict[str, Any] | None:
    """The newest bake-off result of the project, if any."""
    runs = sorted(project.runs_dir.glob("bakeoff-*/bakeoff.json")) if project.runs_dir.is_dir() else []
    for path in reversed(runs):
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
    return None
