"""Anomaly quality on hard real surfaces: image AUROC, pixel AUROC, PRO and per-class recall.

For one data set (``magnetic_tile`` or ``deeppcb``, see ``anomaly_data.py``)
and a list of option sets, each fit on the same good training images and
scored on the same test images:

* image AUROC, and recall per defect class plus good parts rejected at the
  chosen threshold (the trainer's choice: best F1 on the test split,
  ``studio.training.anomaly.pick_threshold``), and again at the threshold
  that rejects at most 5 % of the good test parts;
* pixel AUROC and PRO (up to FPR 0.3, ``studio.evaluation.localisation``),
  with the anomaly maps upsampled (bilinear) and the masks resized (nearest)
  to ``--eval-size`` px (256) to bound memory (~30 bytes a pixel);
* fit seconds (features, coreset, training scores; reading the images apart).

A variant is ``--variant name:key=val,key=val``; its options go through the
trainer's own path (``merge_options`` over ``anomaly.DEFAULTS``: values parsed
as in ``studio train --option``, checked against the defaults' types, unknown
names refused) into ``fit_memory_bank``, so a new trainer option works here
as soon as it exists. ``size`` is the input size (the project's
preprocessing; the trainer's ``input_size`` option, when set, wins as in
``train_anomaly``). With ``tiles=RxR`` ``size`` is one tile's side and the
images are read at the grid's input size (``TileGrid.input_size``: 416 px
for 2x2 tiles of 224), as ``train_anomaly`` does; the peer is skipped there
(anomalib has no tiling) and runs with its own image score (max) for topk.
Without ``--variant``: the studio's defaults at the default project size (256 px).

``--peer`` fits anomalib's PatchCore (``anomalib_peer``, same backbone
weights) for every variant in the same run, on the same images and input
size. Its k-center greedy takes one full pass over the patches per centre, so
it runs at ``--peer-ratio`` (default 0.01) rather than the studio's 0.1.

    nice -n 10 .venv/bin/python benchmarks/anomaly_quality.py --data magnetic_tile --peer
    nice -n 10 .venv/bin/python benchmarks/anomaly_quality.py --data deeppcb --peer
    nice -n 10 .venv/bin/python benchmarks/anomaly_quality.py --data magnetic_tile \\
        --variant s224:size=224 --variant s256:size=256 --variant s320:size=320

Each result is a JSON line with the command and the load average
(``/proc/loadavg``) before and after; a table follows at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import anomaly_data  # noqa: E402

from studio.dataset.preprocessing import Preprocessing  # noqa: E402
from studio.training import anomaly_levers  # noqa: E402

DEFAULT_SIZE = Preprocessing.size     # Preprocessing's default: what a new project gets (256 px)
FRR_CAP = 0.05                # recall is also reported where at most 5 % of the good test parts are rejected


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())


class _NoProject:
    """``merge_options`` asks the project for its saved options: a benchmark has none."""

    def training_options(self, task: str) -> dict:
        return {}


def parse_variant(spec: str) -> tuple[str, int, dict]:
    """``name:key=val,key=val`` -> (name, input size, trainer options). A comma inside a value
    (``layers=2,4``) stays in it: only a comma followed by ``key=`` starts a new option."""
    name, sep, body = spec.partition(":")
    if not sep:
        name, body = spec, ""
    raw: dict = {}
    for pair in [p for p in re.split(r",(?=\s*[A-Za-z_][A-Za-z0-9_]*=)", body) if p.strip()]:
        key, eq, value = pair.partition("=")
        if not eq:
            raise SystemExit(f"variant '{spec}': '{pair}' is not key=value")
        try:
            raw[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            raw[key.strip()] = value
    size = int(raw.pop("size", DEFAULT_SIZE))
    return name or "defaults", size, raw


def trainer_options(raw: dict) -> dict:
    from studio.core.errors import StudioError
    from studio.training.anomaly import DEFAULTS
    from studio.training.options import merge_options

    try:
        opts = merge_options(_NoProject(), "anomaly", DEFAULTS, raw)
    except StudioError as e:
        raise SystemExit(f"{e} ({getattr(e, 'hint', '')})") from None
    return {**opts, "device": opts.get("device") or "cpu"}


def model_grid(opts: dict, size: int):
    """What the model sees, as ``train_anomaly`` decides it: the trainer's ``input_size`` (if set)
    over the project's ``size``; with tiles the whole ROI at the grid's ``input_size``, cut into
    tiles of that size in the graph."""
    return anomaly_levers.read(opts).tiles(size)


def load_images(paths, size: int):
    import numpy as np

    from studio.dataset.preprocessing import Preprocessing
    from studio.dataset.store import read_image

    pre = Preprocessing(size=size)
    shapes, out = [], []
    for p in paths:
        img = read_image(p)
        shapes.append(tuple(img.shape[:2]))
        out.append(pre.apply(img))
    return np.stack(out).astype(np.float32), shapes


def load_masks(cases, shapes, eval_size: int):
    import cv2
    import numpy as np

    masks = np.zeros((len(cases), eval_size, eval_size), bool)
    for i, (case, shape) in enumerate(zip(cases, shapes)):
        if case.defective:
            m = case.mask(shape).astype(np.uint8)
            masks[i] = cv2.resize(m, (eval_size, eval_size), interpolation=cv2.INTER_NEAREST) > 0
    return masks


def score(graph, x, eval_size: int, batch: int = 16):
    """Image scores and anomaly maps at ``eval_size`` through ONNX Runtime (as the station runs it)."""
    import cv2
    import numpy as np
    import onnxruntime as ort
    import torch

    from studio.inference import bank_search
    from studio.training.export import to_onnx

    so = ort.SessionOptions()
    so.intra_op_num_threads, so.log_severity_level = max(1, torch.get_num_threads()), 3
    # as a CPU station loads it: our graph's bank search in 8 bits (anomalib's graph runs as exported)
    sess, _ = bank_search.session(to_onnx(graph.cpu().eval(), torch.from_numpy(x[:2]), ["score", "anomaly_map"]),
                                  so, ["CPUExecutionProvider"])
    scores, maps = [], np.zeros((len(x), eval_size, eval_size), np.float32)
    for i in range(0, len(x), batch):
        s, m = sess.run(["score", "anomaly_map"], {"image": x[i:i + batch]})
        scores.append(s.reshape(-1))
        for j, a in enumerate(m[:, 0]):
            maps[i + j] = cv2.resize(a.astype(np.float32), (eval_size, eval_size), interpolation=cv2.INTER_LINEAR)
    return np.concatenate(scores), maps


def judge(split, y, scores, maps, masks, train_scores) -> dict:
    import numpy as np

    from studio.evaluation.localisation import localisation_metrics
    from studio.evaluation.metrics import roc_auc
    from studio.training.anomaly import pick_threshold

    threshold, source = pick_threshold(train_scores, y, scores)

    def recall_at(t):
        rejected = scores >= t
        out = {kind: f"{int((rejected & has).sum())}/{int(has.sum())}"
               for kind in split.classes for has in [np.array([kind in c.kinds for c in split.test])]}
        return out, f"{int((rejected & ~y).sum())}/{int((~y).sum())}"

    recall, good_rejected = recall_at(threshold)
    # best F1 on a split with 4x more defective than good parts rejects many good ones: also the
    # recall where at most FRR_CAP of the good test parts are rejected (the lowest such threshold)
    good_sorted = np.sort(scores[~y])[::-1]
    allowed = int(np.floor(FRR_CAP * len(good_sorted)))
    t_cap = float(np.nextafter(good_sorted[allowed], np.inf)) if allowed < len(good_sorted) else -np.inf
    recall_cap, good_rejected_cap = recall_at(t_cap)
    loc = localisation_metrics(maps, masks)
    return {"image_auroc": round(float(roc_auc(y, scores)), 4),
            "pixel_auroc": None if loc["pixel_auroc"] is None else round(loc["pixel_auroc"], 4),
            "pro": None if loc["pro"] is None else round(loc["pro"], 4),
            "regions": loc["regions"], "threshold_source": source,
            "recall": recall, "good_rejected": good_rejected,
            f"recall_at_frr{int(FRR_CAP * 100)}": recall_cap, f"good_rejected_at_frr{int(FRR_CAP * 100)}": good_rejected_cap}


def run_variant(split, name: str, size: int, raw: dict, args, command: str) -> list[dict]:
    import numpy as np

    from studio.training.anomaly import fit_anomalib, fit_memory_bank
    from studio.training.report import Report

    opts = trainer_options(raw)
    grid = model_grid(opts, size)
    size = grid.size
    load0 = loadavg()
    t = time.monotonic()
    x_train, _ = load_images(split.train, grid.input_size)
    x_test, shapes = load_images([c.path for c in split.test], grid.input_size)
    load_s = time.monotonic() - t
    masks = load_masks(split.test, shapes, args.eval_size)
    y = np.array([c.defective for c in split.test], bool)
    rows = []
    fits = [("studio", lambda x, o, r: fit_memory_bank(x, o, r, tile_size=grid.size), opts)]
    if args.peer and (not args.peer_variants or name in args.peer_variants.split(",")):
        if grid.grid > 1:       # anomalib has no tiling; untiled on the whole ROI its greedy would take hours
            print(json.dumps({"variant": name, "backend": "anomalib", "skipped": "no tiling in anomalib"}))
        else:                   # its own image score: the same backbone, layers and input size
            fits.append(("anomalib", fit_anomalib, {**opts, "coreset_ratio": args.peer_ratio, "image_score": "max"}))
    for backend, fit, o in fits:
        before = loadavg()
        t = time.monotonic()
        graph, train_scores, info = fit(x_train, o, Report())
        fit_s = time.monotonic() - t
        t = time.monotonic()
        scores, maps = score(graph, x_test, args.eval_size)
        row = {"data": split.name, "variant": name, "backend": backend, "size": size,
               "input_size": grid.input_size, "levers": info.get("levers"),
               "options": {k: v for k, v in raw.items()}, "train": len(x_train),
               "test_good": int((~y).sum()), "test_defective": int(y.sum()),
               "bank": info["bank_size"], "coreset_ratio": o["coreset_ratio"],
               "fit_s": round(fit_s, 1), "fit_steps_s": info.get("seconds"),
               "score_s": round(time.monotonic() - t, 1), "read_images_s": round(load_s, 1),
               **judge(split, y, scores, maps, masks, train_scores),
               "eval_size": args.eval_size, "load_before": before if backend != "studio" else load0,
               "load_after": loadavg(), "command": command}
        print(json.dumps(row), flush=True)
        rows.append(row)
        del graph, maps
    return rows


def table(rows: list[dict]) -> str:
    classes = sorted({k for r in rows for k in r["recall"]})
    head = ["variant", "backend", "size", "bank", "fit s", "image AUROC", "pixel AUROC", "PRO",
            *[f"{k} recall" for k in classes], "good rejected",
            *[f"{k} @FRR≤5 %" for k in classes], "load"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join(str(v) for v in [
            r["variant"], r["backend"], r["size"], r["bank"], r["fit_s"], r["image_auroc"], r["pixel_auroc"],
            r["pro"], *[r["recall"].get(k, "") for k in classes], r["good_rejected"],
            *[r.get("recall_at_frr5", {}).get(k, "") for k in classes],
            f"{r['load_before'].split()[0]}–{r['load_after'].split()[0]}"]) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", choices=["magnetic_tile", "deeppcb"], default="magnetic_tile")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME:KEY=VAL,...",
                    help="an option set (repeatable); default: the studio's defaults at the project default size")
    ap.add_argument("--train", type=int, default=100, help="good training images")
    ap.add_argument("--test-good", type=int, default=100, help="good test images")
    ap.add_argument("--test-defective", type=int, default=None,
                    help="defective test images (magnetic tile: all 392 by default; DeepPCB: 150)")
    ap.add_argument("--eval-size", type=int, default=256, help="side the pixel metrics are computed at")
    ap.add_argument("--peer", action="store_true", help="anomalib's PatchCore for every variant, same run")
    ap.add_argument("--peer-variants", default="", metavar="NAME,...",
                    help="with --peer: only these variants get the peer (default: every one)")
    ap.add_argument("--peer-ratio", type=float, default=0.01, help="anomalib's coreset ratio (slow greedy)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    command = "nice -n 10 .venv/bin/python benchmarks/anomaly_quality.py " + shlex.join(sys.argv[1:])
    try:
        split = anomaly_data.load_split(args.data, args.train, args.test_good, args.test_defective)
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(str(e)) from None
    print(json.dumps({"command": command, "load": loadavg(), "data": split.name, "train": len(split.train),
                      "test": len(split.test), "classes": split.classes}), flush=True)
    variants = [parse_variant(v) for v in args.variant] or [("defaults", DEFAULT_SIZE, {})]
    rows = []
    for name, size, raw in variants:
        rows += run_variant(split, name, size, raw, args, command)
    print(f"\n{command}\n")
    print(table(rows))


if __name__ == "__main__":
    main()
