"""The station at 5 MP: real camera-size frames through ROI crop, resize and a default-fit model.

A model is fit once at the studio's defaults (``fit_memory_bank`` with ``DEFAULTS``: lazy exact
coreset, bank capped at 4,096) on 200 good magnetic tiles (../shared/data/magnetic_tile, every
k-th of ``MT_Free``) at the production input size, exported to ONNX and written as a model of a
benchmark project; the bank, the training scores and the test tiles' patch features are cached
in ``--cache`` (default /tmp/studio-station5mp-<size>) so later runs start at once.

5 MP frames (2448 x 2048, RGB and Mono8) are synthesised from real tiles: each tile upscaled to
2048 x 2048 (bicubic) and placed at x = 200 on a dark belt; the model's ROI is that square, so
the crop + resize gives the model what the tile alone would. A camera serves them from a ring,
copying each out of its buffer as a driver does (the "capture copy").

Measured, in one run:

* ``stages``: each step of a part on its own, alternating RGB and Mono8: capture copy, ROI crop,
  area resize (uint8: the studio's banded resize for mono, OpenCV's general path beside it), grey -> RGB, float conversion (scale, ImageNet normalisation, CHW), the
  model graph (ONNX Runtime, the station's 2 threads), log commit (SQLite row), PLC write (sim);
  ``preprocess_total`` is ``Preprocessing.apply`` as the station calls it (checked to give the
  same tensor as the steps); beside them, not on the station's path: the resize with a ROI side
  that is a whole multiple of the input size, to 256 px, and the kept image's PNG encode (the
  result log's background writer);
* ``station``: the real ``Station`` (three threads, real result log, sim PLC) for ``--parts``
  parts, paced at ``--rate`` parts/s and free-run; trigger -> PLC p99, and where a paced part's
  time goes (capture, inference = preprocessing + graph, actuation = log commit + PLC write);
  ``--pass-images 1,0.1`` repeats the runs with station.yaml's ``retention: pass_images`` set;
  ``--threads 2,1`` repeats them with the live model on that many ONNX Runtime threads (station.yaml
  ``inference_threads``; 2 is the default);
* ``levers`` (``--levers``): the bank search against today's exact search on the same cached
  test-tile features (150 good + 392 defective): image AUROC and ONNX Runtime graph ms for a
  half-precision bank, fewer feature dimensions (the ``feature_dims`` projection), smaller
  banks (prefixes of the greedy order = the exact greedy's smaller banks) and faiss-cpu's flat
  L2 index (``--faiss-path`` where faiss-cpu is installed, if not in the venv).

    nice -n 5 .venv/bin/python benchmarks/station_5mp.py [--size 256] [--parts 150] [--levers [--no-auroc]]
        [--pass-images 1,0.1] [--faiss-path /tmp/faisslib]
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

FRAME_W, FRAME_H = 2448, 2048
ROI = [200, 0, 2048, 2048]          # the part's square in the frame
BELT = 24                           # grey level around the part


def percentile(values, q: float) -> float:
    xs = sorted(values)
    return xs[min(len(xs) - 1, max(0, round(q / 100 * (len(xs) - 1))))]


def summary(ms) -> dict:
    ms = list(ms)
    return {"median": round(statistics.median(ms), 2), "p99": round(percentile(ms, 99), 2),
            "max": round(max(ms), 2)}


def load_avg() -> float:
    return round(os.getloadavg()[0], 1)


# ---- the model, fit once at the defaults ---------------------------------------------------------
def fit_or_load(cache: Path, size: int, n_train: int, n_test_good: int, options: dict | None = None) -> dict:
    """The benchmark project with a default-fit model, plus the cached bank and test features."""
    import numpy as np
    import torch

    from anomaly_benchmark import load, split, tile_files
    from studio.project import Project

    state = cache / "levers.pt"
    if state.is_file():
        data = torch.load(state)
        data["project"] = Project.open(cache / "project")
        data["cached"] = True
        return data

    from studio.evaluation.metrics import roc_auc
    from studio.training.anomaly import DEFAULTS, feature_runner, fit_memory_bank, pick_threshold
    from studio.training.export import MAX_RELATIVE_DIFF, card_fields, check_onnx, to_onnx, write_model
    from studio.training.report import Report

    torch.set_num_threads(2)
    cache.mkdir(parents=True, exist_ok=True)
    good, bad = tile_files()
    train, test_good = split(good, n_train, n_test_good)
    t0 = time.monotonic()
    opts = {**DEFAULTS, **(options or {}), "device": "cpu"}
    from studio.training import anomaly_levers

    size = anomaly_levers.read(opts).tiles(size).input_size     # with tiles: the whole ROI, as train_anomaly reads it
    x_train = load(train, size)
    graph, train_scores, info = fit_memory_bank(x_train, opts, Report())
    fit_s = time.monotonic() - t0
    x_test = load(test_good + bad, size)
    y_test = np.array([0] * len(test_good) + [1] * len(bad), bool)
    tiles = getattr(graph, "tiles", None)
    # with tiles the graph cuts the image before its features: the features are the tiles'
    run = feature_runner(graph.features, tiles.cut(torch.from_numpy(x_test[:2])).numpy() if tiles else x_test[:2],
                         torch.device("cpu"))
    feats = torch.cat([run(tiles.cut(torch.from_numpy(x_test[i:i + 16])).numpy() if tiles else x_test[i:i + 16]).half()
                       for i in range(0, len(x_test), 16)])
    with torch.no_grad():
        step = 16 * (tiles.grid ** 2 if tiles else 1)        # whole images' tiles per batch
        test_scores = torch.cat([graph.head(feats[i:i + step].float())[0] for i in range(0, len(feats), step)]).numpy()
    threshold, source = pick_threshold(train_scores, y_test, test_scores)

    project = Project.create(cache / "project", name="station-5mp")
    project.settings["preprocessing"]["size"] = size
    project.settings["preprocessing"]["roi"] = ROI       # the model sees the part's square of the 5 MP frame
    project.save()
    onnx_bytes = to_onnx(graph, torch.from_numpy(x_train[:2]), ["score", "anomaly_map"])
    max_diff = check_onnx(onnx_bytes, graph, x_train[:4], ["score", "anomaly_map"], MAX_RELATIVE_DIFF)
    metrics = {"image_auroc": roc_auc(y_test, test_scores), "bank_size": info["bank_size"],
               "feature_dims": info["feature_dims"], "threshold_source": source}
    card = write_model(project, "anomaly", onnx_bytes, card_fields(
        project, task="anomaly", backbone=opts.get("backbone", "efficientnet_lite0"), classes=["good", "anomaly"],
        threshold=threshold,
        metrics=metrics, n_train=len(train), n_test=len(y_test), dataset_digest="magnetic-tile-benchmark",
        training_options=opts, seconds=fit_s, max_abs_diff=max_diff, outputs=["score", "anomaly_map"],
        anomaly_map_size=info["anomaly_map_size"], backend="studio"))
    bank = graph.center + torch.cat([getattr(graph, f"bank_t{i}").t() for i in range(graph.n_chunks)])
    data = {"bank": bank.contiguous(), "train_scores": torch.from_numpy(train_scores), "test_features": feats,
            "y_test": torch.from_numpy(y_test), "model_id": card["model_id"], "fit_s": round(fit_s, 1),
            "fit_seconds": info["seconds"], "fit_load": load_avg(), "auroc": round(metrics["image_auroc"], 4),
            "test_tiles": [str(p) for p in test_good[:4] + bad[::60]]}
    torch.save(data, state)
    data["project"] = project
    data["cached"] = False
    del graph
    return data


# ---- 5 MP frames and the camera that serves them --------------------------------------------------
def make_frames(tiles: list[str]) -> dict[str, list]:
    import cv2
    import numpy as np

    from studio.dataset.store import read_image

    out = {"rgb": [], "mono8": []}
    for path in tiles:
        tile = read_image(Path(path))
        grey = tile if tile.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(tile[..., :3]), cv2.COLOR_RGB2GRAY)
        part = cv2.resize(grey, (ROI[2], ROI[3]), interpolation=cv2.INTER_CUBIC)
        mono = np.full((FRAME_H, FRAME_W), BELT, np.uint8)
        mono[ROI[1]:ROI[1] + ROI[3], ROI[0]:ROI[0] + ROI[2]] = part
        out["mono8"].append(mono)
        out["rgb"].append(cv2.cvtColor(mono, cv2.COLOR_GRAY2RGB))
    return out


def ring_camera(frames: list):
    from studio.capture.camera import Camera, Frame, now

    class RingCamera(Camera):
        """Frames already in memory, each grab copied out of the ring as a driver copies its buffer."""

        def __init__(self) -> None:
            super().__init__("ring:5mp")
            self.count = 0

        def open(self) -> None:
            self.is_open = True

        def close(self) -> None:
            self.is_open = False

        def info(self) -> dict:
            h, w = frames[0].shape[:2]
            return {"model": "5 MP ring", "width": w, "height": h}

        def grab(self, timeout: float = 2.0) -> Frame:
            image = frames[self.count % len(frames)].copy()
            self.count += 1
            return Frame(image=image, frame_id=self.count, timestamp=now())

    return RingCamera()


def line_tiles(model, n_train: int, n_test_good: int, n_good: int = 9) -> list[str]:
    """Ten test tiles as a line sees them: nine good ones the model passes, then one defective
    (a line rejects few parts: every reject's 5 MP image is kept, a pass image by the policy)."""
    from anomaly_benchmark import split, tile_files
    from studio.dataset.store import read_image

    good, bad = tile_files()
    _, test_good = split(good, n_train, n_test_good)
    pre = model.preprocessing.__class__(size=model.preprocessing.size)     # the tile alone: no ROI
    passing = []
    for p in test_good:
        if float(model.run(pre.apply(read_image(p))[None])[0][0]) < model.threshold:
            passing.append(str(p))
        if len(passing) == n_good:
            break
    return passing + [str(bad[0])]


def tiles_check(model, tiles: list[str]) -> float:
    """Largest |score of the 5 MP frame - score of the tile itself|: the frame path keeps the verdicts."""
    from studio.dataset.store import read_image

    pre = model.preprocessing.__class__(size=model.preprocessing.size)
    frames = make_frames(tiles)["mono8"]
    diffs = [abs(float(model.run(pre.apply(read_image(Path(p)))[None])[0][0])
                 - float(model.run(model.preprocessing.apply(f)[None])[0][0])) for p, f in zip(tiles, frames)]
    return round(max(diffs), 3)


# ---- each stage on its own -----------------------------------------------------------------------
def stage_times(model, frames: dict[str, list], data_dir: Path, rounds: int) -> dict:
    import cv2
    import numpy as np

    from studio.dataset.area_resize import area_resize
    from studio.dataset.preprocessing import IMAGENET_MEAN, IMAGENET_STD
    from studio.plc import open_plc
    from studio.core.png import encode_png
    from studio.results.log import ResultLog
    from studio.station.part import PartResult

    pre = model.preprocessing
    size = pre.size
    log = ResultLog(data_dir / "results.sqlite", on_error=lambda m: None)
    plc = open_plc("sim", data_dir=data_dir, settings={})
    times: dict[str, dict[str, list]] = {k: {} for k in frames}
    sizes: dict[str, list] = {k: [] for k in frames}     # kept image's PNG bytes: ours, OpenCV's
    part = 0
    for r in range(rounds + 3):
        for kind, ring in frames.items():           # alternate RGB and Mono8
            src = ring[r % len(ring)]
            t = {}
            a = time.perf_counter()
            img = src.copy()
            t["capture_copy"] = time.perf_counter() - a
            a = time.perf_counter()
            x, y, w, h = ROI
            crop = img[y:y + h, x:x + w]
            t["crop"] = time.perf_counter() - a
            a = time.perf_counter()
            small = area_resize(crop, size, size)       # what Preprocessing does (OpenCV's own for colour)
            t["resize_area_uint8"] = time.perf_counter() - a
            a = time.perf_counter()
            cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
            t["resize_area_uint8_opencv"] = time.perf_counter() - a     # beside it: OpenCV's general path
            # the same frame with a ROI side that is a whole multiple of the input size: OpenCV's
            # integer area path (2,016 = 9 x 224; 2,048 = 8 x 256); not on the station's path
            a = time.perf_counter()
            side = size * (ROI[2] // size)
            cv2.resize(img[y + (h - side) // 2:y + (h - side) // 2 + side, x + (w - side) // 2:x + (w - side) // 2 + side],
                       (size, size), interpolation=cv2.INTER_AREA)
            t[f"resize_area_uint8_roi{side}"] = time.perf_counter() - a
            a = time.perf_counter()
            cv2.resize(crop, (256, 256), interpolation=cv2.INTER_AREA)
            t["resize_area_uint8_to_256px"] = time.perf_counter() - a
            a = time.perf_counter()
            rgb = cv2.cvtColor(small, cv2.COLOR_GRAY2RGB) if small.ndim == 2 else small
            t["grey_to_rgb"] = time.perf_counter() - a
            a = time.perf_counter()
            f = (rgb.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
            inputs = np.ascontiguousarray(f.transpose(2, 0, 1))[None]
            t["float_conversion"] = time.perf_counter() - a
            a = time.perf_counter()
            ref = pre.apply(img)[None]
            t["preprocess_total"] = time.perf_counter() - a
            assert np.array_equal(ref, inputs), "the stage-by-stage path must give the station's tensor"
            a = time.perf_counter()
            score = float(model.run(inputs)[0][0])
            t["model_graph"] = time.perf_counter() - a
            part += 1
            result = PartResult(part=part, frame_id=part, model_id=model.model_id, image=None,
                                t_trigger=time.time(), t_mono=time.monotonic())
            result.verdict, result.verdict_code, result.score = "pass", 1, score
            a = time.perf_counter()
            log.commit(result)
            t["log_commit"] = time.perf_counter() - a
            a = time.perf_counter()
            plc.publish(part, 1, score, 0, part_id="", defect_class="")
            t["plc_write"] = time.perf_counter() - a
            # the kept image, written by the log's background writer (not on the trigger -> PLC path,
            # but on the same two cores): every reject's, and pass images by ``pass_images``
            a = time.perf_counter()
            png_bytes = encode_png(img)
            t["image_png_encode_background"] = time.perf_counter() - a
            a = time.perf_counter()                  # beside it: OpenCV's encoder (libpng + zlib, level 1)
            ok, cv_png = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 1])
            t["image_png_encode_opencv"] = time.perf_counter() - a
            sizes[kind].append((len(png_bytes), len(cv_png)))
            if r >= 3:                               # the first rounds warm ONNX Runtime and the caches
                for k, v in t.items():
                    times[kind].setdefault(k, []).append(v * 1e3)
    log.close()
    if hasattr(plc, "stop"):
        plc.stop()
    out = {kind: {k: summary(v) for k, v in d.items()} for kind, d in times.items()}
    for kind, pairs in sizes.items():
        out[kind]["png_mb_ours_opencv"] = [round(statistics.median(p[i] for p in pairs) / 1e6, 2) for i in (0, 1)]
    return out


# ---- the real station -----------------------------------------------------------------------------
def keep_pass_images(project, share: float | None, cpu_latency: str | None = None) -> None:
    """station.yaml's ``retention: pass_images`` and ``cpu_latency_us`` (None: the defaults)."""
    path = Path(project.root) / "station.yaml"
    lines = []
    if share is not None and share < 1.0:
        lines.append(f"retention:\n  pass_images: {share}")
    if cpu_latency is not None:
        lines.append(f"cpu_latency_us: {cpu_latency}")
    if lines:
        path.write_text("\n".join(lines) + "\n")
    else:
        path.unlink(missing_ok=True)


class TimedPlc:
    """The sim PLC, its publish timed (the actuation stage's PLC write)."""

    def __init__(self, plc) -> None:
        self._plc, self.publish_ms = plc, []

    def publish(self, *a, **kw):
        t = time.perf_counter()
        try:
            return self._plc.publish(*a, **kw)
        finally:
            self.publish_ms.append((time.perf_counter() - t) * 1e3)

    def __getattr__(self, name):
        return getattr(self._plc, name)


def stamps(result):
    """A finished part's times and verdict, without its image and anomaly map."""
    from types import SimpleNamespace

    return SimpleNamespace(**{k: getattr(result, k) for k in
                              ("t_trigger", "t_captured", "t_decided", "t_actuated", "latency_ms", "verdict")})


def station_run(project, model, frames: list, parts: int, interval_s: float, data_dir: Path) -> dict:
    from studio.plc import open_plc
    from studio.station import Station

    results = []
    plc = TimedPlc(open_plc("sim", data_dir=data_dir, settings={}))
    station = Station(project, plc_spec="sim", camera=ring_camera(frames), plc=plc, model=model,
                      max_parts=parts, interval_s=interval_s, data_dir=data_dir)
    # keep the stamps, not the part: holding every 5 MP image would make each frame fresh memory
    # (page faults in the capture copy) where a station reuses what the finished parts freed
    station.events.subscribe(lambda kind, p: results.append(stamps(p["result"])) if kind == "part" else None)
    load_before = load_avg()
    t0 = time.perf_counter()
    station.run()
    wall = time.perf_counter() - t0
    steady = results[5:] or results                 # the first parts include ONNX Runtime warm-up

    def ms(a: str, b: str) -> list[float]:
        return [(getattr(r, b) - getattr(r, a)) * 1e3 for r in steady]

    return {"parts": len(results), "load_before": load_before, "load_after": load_avg(),
            "trigger_to_plc_ms": summary(r.latency_ms for r in steady),
            "capture_ms": summary(ms("t_trigger", "t_captured")),
            "inference_ms": summary(ms("t_captured", "t_decided")),
            "actuation_ms": summary(ms("t_decided", "t_actuated")),
            "plc_write_ms": summary(plc.publish_ms[5:] or plc.publish_ms),
            "verdicts": {v: sum(r.verdict == v for r in results) for v in {r.verdict for r in results}},
            "image_states": image_states(data_dir),
            # the cores kept awake (station.yaml cpu_latency_us; None: off, or not allowed here)
            "cpu_latency_us": station.cpu_hold.max_us if station.cpu_hold is not None else None,
            "parts_per_second": round(len(results) / wall, 1)}


def image_states(data_dir: Path) -> dict:
    """How many parts' images the result log saved, skipped by the retention policy ('skipped'), or
    could not keep up with ('behind') (a free-run ceiling with images left behind is not one the line can hold)."""
    import sqlite3

    found = {}
    for db in data_dir.rglob("*.sqlite"):
        with contextlib.closing(sqlite3.connect(db)) as conn:
            try:
                # the log's notes when its writer could not keep up: BEHIND_NOTE and "...was behind"
                rows = conn.execute("SELECT CASE WHEN note LIKE '%was behind%' THEN 'behind' ELSE image_state END, "
                                    "COUNT(*) FROM results GROUP BY 1").fetchall()
            except sqlite3.Error:
                continue
        for state, n in rows:
            found[str(state)] = found.get(str(state), 0) + n
    return found


# ---- bank-search levers -------------------------------------------------------------------------
def project_features(f, w):
    """Cached feature maps [N, 152, h, w] through the ``feature_dims`` projection ``w`` [d, 152]."""
    import torch

    return torch.einsum("nchw,dc->ndhw", f, w)


def levers(data: dict, size: int, repeats: int, faiss_path: str | None, with_auroc: bool = True) -> dict:
    import numpy as np
    import onnxruntime as ort
    import torch
    import torch.nn.functional as F

    from studio.evaluation.metrics import roc_auc
    from studio.training.anomaly import build_feature_module, build_graph
    from studio.training.backbone import efficientnet_lite0
    from studio.training.export import to_onnx

    torch.set_num_threads(2)
    bank, feats, y = data["bank"].float(), data["test_features"], data["y_test"].numpy()
    backbone = efficientnet_lite0(pretrained=True)
    base_features = build_feature_module(backbone, None, 0)
    rng = np.random.default_rng(0)
    x_in = rng.standard_normal((4, 3, size, size)).astype(np.float32)
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads, so.log_severity_level = 2, 1, 3

    def graph_ms(graph) -> float:
        sess = ort.InferenceSession(to_onnx(graph, torch.from_numpy(x_in[:1]), ["score", "anomaly_map"]), so,
                                    providers=["CPUExecutionProvider"])
        for i in range(3):
            sess.run(["score"], {"image": x_in[i % 4][None]})
        times = []
        for i in range(repeats):
            t = time.perf_counter()
            sess.run(["score"], {"image": x_in[i % 4][None]})
            times.append((time.perf_counter() - t) * 1e3)
        return round(statistics.median(times), 1)

    def head_scores(graph, f, prefixes):
        """``graph.head``'s image scores for the bank's first k columns, every k in one product
        (the bank is one chunk: bank_chunk 4,096); k = the whole bank is exactly ``graph.head``."""
        q = f.permute(0, 2, 3, 1).reshape(-1, f.shape[1]) - graph.center
        bank_t = graph.bank_t0
        d2 = torch.addmm(graph.bank_sq0, q, bank_t, alpha=-2.0)
        n, _, h, w = f.shape
        out = {}
        for k in prefixes:
            best = bank_t.index_select(1, d2[:, :k].argmin(dim=1)).t()
            dist = ((q - best) ** 2).sum(1).sqrt().reshape(n, 1, h, w)
            amap = F.conv2d(F.pad(dist, (1, 1, 1, 1), mode="replicate"), graph.blur)
            out[k] = amap.flatten(1).max(dim=1).values
        return out

    def aurocs(graph, prefixes, project=None) -> dict:
        scores = {k: [] for k in prefixes}
        with torch.no_grad():
            for i in range(0, len(feats), 16):
                f = feats[i:i + 16].float()
                if project is not None:
                    f = project(f)
                for k, s in head_scores(graph, f, prefixes).items():
                    scores[k].append(s)
            if project is None and prefixes[0] == len(bank):      # the helper is the graph's own head
                f = feats[:4].float()
                assert torch.allclose(head_scores(graph, f, prefixes)[len(bank)], graph.head(f)[0], rtol=1e-5)
        return {k: round(float(roc_auc(y, torch.cat(v).numpy())), 4) for k, v in scores.items()}

    out: dict = {"load_before": load_avg(), "bank": len(bank), "dims": int(bank.shape[1]),
                 "test_tiles": int(len(y)), "test_defective": int(y.sum())}
    assert len(bank) <= 4096, "head_scores assumes one bank chunk (bank_chunk 4,096)"
    exact = build_graph(base_features, bank)
    # (name, graph for the timing, graph for the scores, prefixes, projection of the cached features)
    runs = [("exact", exact, [len(bank), 2048, 1024], None),
            # half-precision bank: its values rounded to float16 (what storing it so would cost in
            # quality); ONNX Runtime's CPU Gemm computes in float32 either way
            ("fp16 bank", build_graph(base_features, bank.half().float()), [len(bank)], None)]
    for d in (96, 64):
        feat_d = build_feature_module(backbone, d, 0)
        w = feat_d.projection.weight.data[:, :, 0, 0]              # [d, 152]: the feature_dims projection
        proj = functools.partial(project_features, w=w)
        runs.append((f"feature_dims {d}", build_graph(feat_d, bank @ w.t()), [len(bank)], proj))
    graphs = {}
    for name, graph, prefixes, proj in runs:
        t = time.monotonic()
        found = aurocs(graph, prefixes, proj) if with_auroc else {k: None for k in prefixes}
        took = round(time.monotonic() - t, 1)
        for k, a in found.items():
            label = name if k == len(bank) else f"bank {k} (greedy prefix)"
            graphs[label] = graph if k == len(bank) else build_graph(base_features, bank[:k])
            out[label] = {"auroc": a, "auroc_s": took, "load": load_avg()}
            print(json.dumps({label: out[label]}), flush=True)
    if with_auroc:
        base = out["exact"]["auroc"]
        for row in out.values():
            if isinstance(row, dict) and row.get("auroc") is not None:
                row["auroc_points_vs_exact"] = round((row["auroc"] - base) * 100, 2)

    # faiss-cpu: the nearest-neighbour search out of the graph, against the same search in the graph
    if faiss_path:
        sys.path.insert(0, faiss_path)
    try:
        import faiss
    except ImportError as e:
        out["faiss"] = f"not measured: {e}"
        out["alternated_ms"] = alternated(graphs, {}, size, repeats)
        return out
    faiss.omp_set_num_threads(2)
    center = bank.mean(0, keepdim=True)
    index = faiss.IndexFlatL2(bank.shape[1])
    index.add((bank - center).numpy())
    feat_sess = ort.InferenceSession(to_onnx(base_features, torch.from_numpy(x_in[:1]), ["features"]), so,
                                     providers=["CPUExecutionProvider"])
    head_only = exact.eval()
    q = feats[:8].float()
    qs = [(f.permute(1, 2, 0).reshape(-1, f.shape[0]) - center).contiguous().numpy() for f in q]
    blur = exact.blur

    def faiss_head(qi, h, w):
        dist, _ = index.search(qi, 1)
        d = torch.from_numpy(np.sqrt(np.maximum(dist[:, 0], 0))).reshape(1, 1, h, w)
        amap = F.conv2d(F.pad(d, (1, 1, 1, 1), mode="replicate"), blur)
        return float(amap.max())

    h, w = q.shape[-2:]
    agree = []
    with torch.no_grad():
        for i in range(len(q)):
            agree.append(abs(faiss_head(qs[i], h, w) - float(head_only.head(q[i:i + 1])[0][0])))
    def timed(fn) -> float:
        for i in range(3):
            fn(i)
        times = []
        for i in range(repeats):
            t = time.perf_counter()
            fn(i)
            times.append((time.perf_counter() - t) * 1e3)
        return round(statistics.median(times), 2)

    def torch_head(i):
        with torch.no_grad():
            head_only.head(q[i % len(q)][None])

    def features_plus_faiss(i):
        f = torch.from_numpy(feat_sess.run(None, {"image": x_in[i % 4][None]})[0])
        faiss_head((f[0].permute(1, 2, 0).reshape(-1, f.shape[1]) - center).contiguous().numpy(), h, w)

    # one loop after the other (faiss's OpenMP workers spin after a search and would slow what
    # runs right after them); the whole graph in ONNX Runtime again, in this same stretch
    row = {"version": faiss.__version__, "index": "IndexFlatL2 (exact)", "load_before": load_avg(),
           "graph_ms_onnx_exact": graph_ms(exact),
           "head_ms_torch_matmul": timed(torch_head)}
    for threads in (2, 1):
        faiss.omp_set_num_threads(threads)
        row[f"head_ms_faiss_{threads}_threads"] = timed(lambda i: faiss_head(qs[i % len(qs)], h, w))
        row[f"features_onnx_plus_faiss_ms_{threads}_threads"] = timed(features_plus_faiss)
    row["features_onnx_ms"] = timed(lambda i: feat_sess.run(None, {"image": x_in[i % 4][None]}))
    row["max_score_diff_vs_graph"] = float(max(agree))
    row["load"] = load_avg()
    out["faiss"] = row
    faiss.omp_set_num_threads(1)
    out["alternated_ms"] = alternated(graphs, {"features (ONNX) + faiss search (1 thread)": features_plus_faiss},
                                      size, repeats)
    return out


def run_session(sess, x, i: int):
    return sess.run(["score"], {"image": x[i % len(x)][None]})


def alternated(graphs: dict, extra: dict, size: int, rounds: int = 40) -> dict:
    """ONNX Runtime graph ms of every variant, a short block of each in turn per round (the machine
    is shared: a load swing then hits every variant alike); median and p90 over the rounds."""
    import numpy as np
    import onnxruntime as ort
    import torch

    from studio.training.export import to_onnx

    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads, so.log_severity_level = 2, 1, 3
    x = np.random.default_rng(1).standard_normal((4, 3, size, size)).astype(np.float32)
    runs = {}
    for name, graph in graphs.items():
        sess = ort.InferenceSession(to_onnx(graph, torch.from_numpy(x[:1]), ["score", "anomaly_map"]), so,
                                    providers=["CPUExecutionProvider"])
        runs[name] = functools.partial(run_session, sess, x)
    runs.update(extra)
    times = {name: [] for name in runs}
    load_before = load_avg()
    for r in range(rounds // 3 + 1):
        for name, fn in runs.items():
            # in blocks of four, the first not counted: ONNX Runtime's worker threads spin for a
            # while after a run, so the run right after another variant's would pay for its spin
            for j in range(4):
                t = time.perf_counter()
                fn(4 * r + j)
                if r >= 1 and j:
                    times[name].append((time.perf_counter() - t) * 1e3)
    out = {name: {"median": round(float(np.median(v)), 1), "p90": round(float(np.percentile(v, 90)), 1)}
           for name, v in times.items()}
    out["load"] = [load_before, load_avg()]
    return out


def main() -> None:
    from studio.dataset.preprocessing import Preprocessing

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=Preprocessing.size,
                    help=f"model input size (the studio's default: {Preprocessing.size})")
    ap.add_argument("--train", type=int, default=200)
    ap.add_argument("--test-good", type=int, default=150)
    ap.add_argument("--parts", type=int, default=200)
    ap.add_argument("--rate", type=float, default=10.0, help="parts per second of the paced run")
    ap.add_argument("--pass-images", default="1",
                    help="station.yaml retention pass_images for the station runs, a list (1: the default)")
    ap.add_argument("--rounds", type=int, default=40, help="stage timings: parts of each kind")
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--levers", action="store_true", help="also measure the bank-search levers")
    ap.add_argument("--only-levers", action="store_true")
    ap.add_argument("--no-auroc", action="store_true", help="levers: the timings only (the AUROCs take minutes)")
    ap.add_argument("--faiss-path", default=os.environ.get("FAISS_PATH"),
                    help="a folder with faiss-cpu installed (pip install --target), if not in the venv")
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--cpu-latency", default="default",
                    help="station.yaml cpu_latency_us for the station runs, a list (default: the default, 0; "
                         "e.g. 0,off to compare the cores kept awake with the cores sleeping)")
    ap.add_argument("--threads", default="2",
                    help="the live model's ONNX Runtime threads for the station runs (station.yaml "
                         "inference_threads), a list (default 2, the default; e.g. 2,1)")
    ap.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                    help="a trainer option over the defaults (e.g. tiles=2x2, backbone=efficientnet_lite2); "
                         "the fit is cached per option set")
    args = ap.parse_args()

    from studio.inference.model import InspectionModel

    options = dict(o.split("=", 1) for o in args.option)
    suffix = "".join(f"-{k}-{v}" for k, v in sorted(options.items()))
    cache = args.cache or Path(tempfile.gettempdir()) / f"studio-station5mp-{args.size}{suffix}"
    out: dict = {"machine": f"{os.cpu_count()} cores", "load_start": load_avg(), "size": args.size,
                 "frame": [FRAME_W, FRAME_H], "roi": ROI, "options": options}
    t = time.monotonic()
    data = fit_or_load(cache, args.size, args.train, args.test_good, options)
    out["model"] = {"cached": data["cached"], "bank": int(len(data["bank"])), "dims": int(data["bank"].shape[1]),
                    "fit_s": data["fit_s"], "fit_load": data["fit_load"], "fit_seconds": data["fit_seconds"],
                    "auroc": data["auroc"], "ready_s": round(time.monotonic() - t, 1)}
    print(json.dumps(out), flush=True)
    if not args.only_levers:
        project = data["project"]
        model = InspectionModel.load(project, data["model_id"], threads=2)
        tiles = line_tiles(model, args.train, args.test_good)
        out["frames_from"] = {"tiles": len(tiles), "scores_5mp_vs_tile": tiles_check(model, tiles)}
        frames = make_frames(tiles)
        work = Path(tempfile.mkdtemp(prefix="studio-5mp-"))
        out["stages"] = stage_times(model, frames, work / "stages", args.rounds)
        out["stages_load"] = load_avg()
        print(json.dumps({"stages": out["stages"]}), flush=True)
        out["station"] = {}
        threads = [int(v) for v in args.threads.split(",")]
        models = {n: model if n == 2 else InspectionModel.load(project, data["model_id"], threads=n) for n in threads}
        for share in [float(v) for v in args.pass_images.split(",")]:
            for kind in ("rgb", "mono8"):
                for name, interval in ((f"paced_{args.rate:g}", 1.0 / args.rate), ("free_run", 0.0)):
                    for latency in args.cpu_latency.split(","):     # interleaved: a load swing hits each alike
                        for n, m in models.items():
                            keep_pass_images(project, share, None if latency == "default" else latency)
                            label = f"{kind}_{name}_pass_images_{share:g}" + (
                                "" if latency == "default" else f"_cpu_latency_{latency}") + (
                                "" if args.threads == "2" else f"_threads_{n}")
                            r = station_run(project, m, frames[kind], args.parts, interval, work / label)
                            out["station"][label] = r
                            print(json.dumps({label: r}), flush=True)
        keep_pass_images(project, None)
    if args.levers or args.only_levers:
        out["levers"] = levers(data, args.size, args.repeats, args.faiss_path, with_auroc=not args.no_auroc)
    out["load_end"] = load_avg()
    print(json.dumps(out, indent=1), flush=True)


if __name__ == "__main__":
    main()
