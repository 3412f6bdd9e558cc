"""Anomaly fit: ours vs anomalib's PatchCore, on magnetic tiles (../shared/data/magnetic_tile).

Trains on ``--train`` good tiles (MT_Free, spread over the folder) at 256 px and
tests on ``--test-good`` other good tiles plus every defective tile. Measured
in one run, on the same machine:

* our fit in total (read + preprocess the images, patch features, grouped
  greedy coreset, graph, training scores): seconds;
* on the *same* patch embeddings and the same coreset ratio: our grouped
  greedy coreset vs anomalib's ``KCenterGreedy`` (the exact greedy): seconds,
  ratio, and image AUROC of each bank scored by the same graph;
* anomalib's PatchCore end to end (its own feature extractor, pooling and
  score re-weighting, same EfficientNet-Lite0 weights, same ratio): image AUROC;
* peak RSS of our fit (in a fresh process) for ``--rss`` image counts.

    nice -n 10 .venv/bin/python benchmarks/anomaly_benchmark.py [--train 200] [--ratio 0.01] [--rss 200,1000]
    nice -n 5 .venv/bin/python benchmarks/anomaly_benchmark.py --defaults --size 256 --rss 200,1000

``--defaults`` measures what a user gets at the studio's default options (see ``defaults_run``).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = Path(os.environ.get("STUDIO_SHARED_DATA", REPO.parent / "shared" / "data")) / "magnetic_tile"


def tile_files(data: Path = DATA) -> tuple[list[Path], list[Path]]:
    good = sorted((data / "MT_Free" / "Imgs").glob("*.jpg"))
    bad = sorted(p for d in sorted(data.glob("MT_*")) if d.name != "MT_Free" for p in (d / "Imgs").glob("*.jpg"))
    if not good:
        sys.exit(f"no magnetic tile images under {data} (set STUDIO_SHARED_DATA)")
    return good, bad


def split(good: list[Path], n_train: int, n_test_good: int) -> tuple[list[Path], list[Path]]:
    """Every k-th good tile trains (spread over the capture), others test."""
    import numpy as np

    idx = set(np.linspace(0, len(good) - 1, n_train).round().astype(int).tolist())
    train = [p for i, p in enumerate(good) if i in idx]
    rest = [p for i, p in enumerate(good) if i not in idx]
    step = max(1, len(rest) // max(1, n_test_good))
    return train, rest[::step][:n_test_good]


def load(paths, size: int):
    import numpy as np

    from studio.dataset.preprocessing import Preprocessing
    from studio.dataset.store import read_image

    pre = Preprocessing(size=size)
    return np.stack([pre.apply(read_image(p)) for p in paths]).astype(np.float32)


def opts(ratio: float, **over):
    from studio.training.anomaly import DEFAULTS

    return {**DEFAULTS, "coreset_ratio": ratio, "max_bank": 10 ** 7, "max_patches": 10 ** 7, "device": "cpu", **over}


def auroc(graph, x, y) -> float:
    import numpy as np
    import torch

    from studio.evaluation.metrics import roc_auc

    with torch.no_grad():
        s = np.concatenate([graph(torch.from_numpy(x[i:i + 16]))[0].numpy() for i in range(0, len(x), 16)])
    return float(roc_auc(y, s))


def peak_rss_mib() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: Linux carries ru_maxrss over
    exec, so a child started from a big parent would report the parent's size."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_child(n: int, size: int, ratio: float) -> None:
    """Fit on ``n`` good tiles (repeating, flipped, past the folder's end) and print the peak RSS."""
    import numpy as np

    from studio.training.anomaly import fit_memory_bank
    from studio.training.report import Report

    import torch

    torch.set_num_threads(2)
    baseline = peak_rss_mib()          # torch and its libraries, before any image
    good, _ = tile_files()
    paths = [good[i % len(good)] for i in range(n)]
    t0 = time.monotonic()
    x = load(paths, size)
    over = len(paths) - len(good)
    if over > 0:
        x[len(good):] = x[len(good):, :, :, ::-1]       # the repeats are mirror images, not copies
    from studio.training.anomaly import DEFAULTS

    # the studio's own caps: at most 200,000 candidate patches, spread over the images
    _, _, info = fit_memory_bank(np.ascontiguousarray(x), opts(ratio, max_patches=DEFAULTS["max_patches"],
                                                               max_bank=DEFAULTS["max_bank"]), Report())
    peak = peak_rss_mib()
    print(json.dumps({"images": n, "peak_rss_mib": round(peak, 1), "bank": info["bank_size"],
                      "baseline_rss_mib": round(baseline, 1),
                      "seconds": round(time.monotonic() - t0, 1)}))


def defaults_run(args) -> dict:
    """What a user gets: the studio's default options and input size, every fit step timed.

    Steps: read + preprocess, patch features, coreset (lazy exact greedy), training scores
    (threshold statistics), ONNX export and its ONNX Runtime check. Then, on the same
    embeddings: the plain exact greedy (one matrix-vector pass per centre) for the first
    ``--exact-prefix`` centres, checked to pick the same centres, its per-centre cost
    extrapolated to the bank; and the station's graph latency (ONNX Runtime, batch 1) with the
    default bank against a 16,384-patch bank (the old cap; patches drawn at random from the
    training patches: the latency depends only on the size).
    """
    import math

    import numpy as np
    import torch

    torch.set_num_threads(2)
    from studio.training.anomaly import DEFAULTS, build_graph, fit_memory_bank
    from studio.training.coreset import _exact_greedy, _lazy_greedy
    from studio.training.export import MAX_RELATIVE_DIFF, check_onnx, to_onnx
    from studio.training.report import Report

    good, bad = tile_files()
    train, test_good = split(good, args.train, args.test_good)
    out: dict = {"mode": "defaults", "train": len(train), "size": args.size, "load_before": os.getloadavg()[0],
                 "defaults": {k: DEFAULTS[k] for k in ("coreset_ratio", "max_bank", "max_patches",
                                                       "coreset_projection")}}
    t0 = time.monotonic()
    x_train = load(train, args.size)
    out["load_s"] = round(time.monotonic() - t0, 2)
    graph, train_scores, info = fit_memory_bank(x_train, {**DEFAULTS, "device": "cpu"}, Report())
    out.update({f"{k}_s": v for k, v in info["seconds"].items()})
    out["bank"], out["patches"] = info["bank_size"], info["n_patches"]
    t = time.monotonic()
    onnx_bytes = to_onnx(graph, torch.from_numpy(x_train[:2]), ["score", "anomaly_map"])
    out["onnx_check_max_diff"] = check_onnx(onnx_bytes, graph, x_train[:4], ["score", "anomaly_map"],
                                            MAX_RELATIVE_DIFF)
    out["onnx_export_check_s"] = round(time.monotonic() - t, 2)
    out["fit_total_s"] = round(time.monotonic() - t0, 2)
    out["load_after"] = os.getloadavg()[0]
    x_test = load(test_good + bad, args.size)
    y_test = np.array([0] * len(test_good) + [1] * len(bad), bool)
    out["auroc"] = round(auroc(graph, x_test, y_test), 4)
    print(json.dumps(out), flush=True)

    # ---- same embeddings: lazy exact greedy vs the plain exact greedy ----------------------
    from studio.training.anomaly import feature_runner

    run = feature_runner(graph.features, x_train[:2], torch.device("cpu"))
    emb = torch.cat([run(x_train[i:i + 16]) for i in range(0, len(x_train), 16)])
    emb = emb.permute(0, 2, 3, 1).reshape(-1, emb.shape[1]).contiguous()
    g = torch.Generator().manual_seed(0)
    p = int(DEFAULTS["coreset_projection"])
    z = emb @ (torch.randn(emb.shape[1], p, generator=g) / math.sqrt(p))
    k = out["bank"]
    t = time.monotonic()
    lazy = _lazy_greedy(z, k, torch.Generator().manual_seed(1))
    out["lazy_greedy_s"] = round(time.monotonic() - t, 2)
    m = min(k, args.exact_prefix)
    t = time.monotonic()
    exact = _exact_greedy(z, m, torch.Generator().manual_seed(1))
    te = time.monotonic() - t
    out["exact_greedy_prefix"] = m
    out["exact_greedy_prefix_s"] = round(te, 2)
    out["exact_greedy_extrapolated_s"] = round(te / m * k, 1)
    out["prefix_same_centres"] = int((exact == lazy[:m]).sum())
    out["lazy_speedup_vs_exact"] = round(out["exact_greedy_extrapolated_s"] / max(out["lazy_greedy_s"], 1e-6), 1)
    # memory-bandwidth floor of the plain greedy: N x p x 4 bytes per centre
    a = z.contiguous()
    v = torch.empty(len(a))
    t = time.monotonic()
    for _ in range(10):
        torch.mv(a, a[0], out=v)
    per_pass = (time.monotonic() - t) / 10
    out["mv_pass_ms"] = round(per_pass * 1e3, 2)
    out["mv_bandwidth_gb_s"] = round(a.numel() * 4 / per_pass / 1e9, 2)
    out["exact_floor_s"] = round(a.numel() * 4 * k / (out["mv_bandwidth_gb_s"] * 1e9), 1)
    out["load_coreset"] = os.getloadavg()[0]
    print(json.dumps(out), flush=True)

    # ---- the station's graph: default bank vs the old 16,384 cap, ONNX Runtime batch 1 ------
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads, so.log_severity_level = 2, 1, 3
    big = emb[torch.randperm(len(emb), generator=g)[:16384]]
    for name, gr in (("default", graph), ("bank16384", build_graph(graph.features, big))):
        sess = ort.InferenceSession(to_onnx(gr, torch.from_numpy(x_test[:1]), ["score", "anomaly_map"]), so,
                                    providers=["CPUExecutionProvider"])
        times = []
        for i in range(args.latency_images + 3):
            t = time.perf_counter()
            sess.run(["score"], {"image": x_test[i % len(x_test)][None]})
            times.append(time.perf_counter() - t)
        times = np.array(times[3:]) * 1e3
        out[f"graph_ms_{name}"] = {"median": round(float(np.median(times)), 1),
                                   "p90": round(float(np.percentile(times, 90)), 1)}
    out["load_end"] = os.getloadavg()[0]
    print(json.dumps(out), flush=True)
    return out


def frames_run(args) -> dict:
    """5 MP camera frames (2448 x 2048, RGB and Mono8) through the studio's preprocessing
    (ROI crop, INTER_AREA resize on uint8, then float): ms per frame, median and p99."""
    import numpy as np

    from studio.dataset.preprocessing import Preprocessing

    rng = np.random.default_rng(0)
    out: dict = {"mode": "frames", "size": args.size, "load_before": os.getloadavg()[0]}
    frames = {"rgb": rng.integers(0, 255, (2048, 2448, 3), dtype=np.uint8),
              "mono8": rng.integers(0, 255, (2048, 2448), dtype=np.uint8)}
    for roi_name, roi in (("full", None), ("roi2048", [200, 0, 2048, 2048])):
        pre = Preprocessing(size=args.size, roi=roi)
        for name, frame in frames.items():
            times = []
            for _ in range(60):
                t = time.perf_counter()
                pre.apply(frame)
                times.append(time.perf_counter() - t)
            ms = np.array(times[5:]) * 1e3
            out[f"{name}_{roi_name}_ms"] = {"median": round(float(np.median(ms)), 2),
                                            "p99": round(float(np.percentile(ms, 99)), 2)}
    out["load_after"] = os.getloadavg()[0]
    print(json.dumps(out), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", type=int, default=200)
    ap.add_argument("--test-good", type=int, default=150)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--ratio", type=float, default=0.01)
    ap.add_argument("--rss", default="200,1000", help="image counts for the peak-RSS runs ('' to skip)")
    ap.add_argument("--skip-anomalib-coreset", action="store_true")
    ap.add_argument("--skip-anomalib", action="store_true", help="skip anomalib's PatchCore end to end")
    ap.add_argument("--cells", type=int, default=64, help="the grouped coreset's cells, compared as well")
    ap.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--defaults", action="store_true",
                    help="the fit a user gets (default options; --size: the project default, 256 px), every step timed; then the same-run comparisons")
    ap.add_argument("--exact-prefix", type=int, default=200, help="--defaults: centres the plain exact greedy runs")
    ap.add_argument("--latency-images", type=int, default=30)
    ap.add_argument("--frames", action="store_true", help="5 MP frames through the preprocessing, ms per frame")
    args = ap.parse_args()
    if args.rss_child:
        return rss_child(args.rss_child, args.size, args.ratio)
    if args.frames:
        return frames_run(args)
    if args.defaults:
        from studio.training.anomaly import DEFAULTS

        args.ratio = DEFAULTS["coreset_ratio"]
        defaults_run(args)
        return _rss(args, {})

    import numpy as np
    import torch

    torch.set_num_threads(2)
    from studio.training.anomaly import build_graph, fit_memory_bank
    from studio.training.report import Report

    good, bad = tile_files()
    train, test_good = split(good, args.train, args.test_good)
    out: dict = {"train": len(train), "test_good": len(test_good), "test_defective": len(bad),
                 "size": args.size, "ratio": args.ratio, "threads": torch.get_num_threads()}

    # ---- ours, in total -------------------------------------------------------------
    t0 = time.monotonic()
    x_train = load(train, args.size)
    t_load = time.monotonic() - t0
    graph, _, info = fit_memory_bank(x_train, opts(args.ratio), Report())
    out["ours_fit_total_s"] = round(time.monotonic() - t0, 2)
    out["ours_load_s"] = round(t_load, 2)
    out["bank"] = info["bank_size"]
    out["coreset_groups"] = info["coreset_groups"]
    x_test = load(test_good + bad, args.size)
    y_test = np.array([0] * len(test_good) + [1] * len(bad), bool)
    out["ours_auroc"] = auroc(graph, x_test, y_test)
    print(json.dumps(out), flush=True)

    # ---- same embeddings, same ratio: grouped greedy vs anomalib's k-center greedy ---------
    from studio.training.anomaly import coreset_groups, greedy_coreset

    features = graph.features
    with torch.no_grad():
        emb = torch.cat([features(torch.from_numpy(x_train[i:i + 16])) for i in range(0, len(x_train), 16)])
    emb = emb.permute(0, 2, 3, 1).reshape(-1, emb.shape[1]).contiguous()
    k = max(1, int(round(len(emb) * args.ratio)))
    t = time.monotonic()
    ours = greedy_coreset(emb, k, 128, 0, groups=coreset_groups(k))
    out["ours_coreset_s"] = round(time.monotonic() - t, 3)
    out["ours_coreset_auroc"] = auroc(build_graph(features, emb[ours]), x_test, y_test)
    if args.cells > 1:
        t = time.monotonic()
        cells = greedy_coreset(emb, k, 128, 0, groups=args.cells)
        out[f"cells{args.cells}_coreset_s"] = round(time.monotonic() - t, 3)
        out[f"cells{args.cells}_coreset_auroc"] = auroc(build_graph(features, emb[cells]), x_test, y_test)
    if not args.skip_anomalib_coreset:
        from anomalib.models.components import KCenterGreedy

        torch.manual_seed(0)
        t = time.monotonic()
        sampler = KCenterGreedy(embedding=emb, sampling_ratio=args.ratio)
        exact = sampler.select_coreset_idxs()
        out["anomalib_coreset_s"] = round(time.monotonic() - t, 2)
        out["exact_coreset_auroc"] = auroc(build_graph(features, emb[exact]), x_test, y_test)
        out["coreset_speedup"] = round(out["anomalib_coreset_s"] / max(out["ours_coreset_s"], 1e-6), 1)
        out["auroc_points_vs_exact"] = round(100 * (out["ours_coreset_auroc"] - out["exact_coreset_auroc"]), 2)
    print(json.dumps(out), flush=True)
    del emb

    # ---- anomalib's PatchCore end to end (same backbone weights, same ratio) ----------------
    from studio.training import anomalib_peer

    if args.skip_anomalib:
        return _rss(args, out)
    t = time.monotonic()
    peer = anomalib_peer.build_torch_model()
    torch.manual_seed(0)
    anomalib_peer.fit(peer, (torch.from_numpy(x_train[i:i + 16]) for i in range(0, len(x_train), 16)), args.ratio)
    out["anomalib_fit_s"] = round(time.monotonic() - t, 1)
    scores, _ = anomalib_peer.score_images(anomalib_peer.export_module(peer), x_test)
    from studio.evaluation.metrics import roc_auc

    out["anomalib_patchcore_auroc"] = float(roc_auc(y_test, scores))
    out["fit_speedup_vs_anomalib"] = round(out["anomalib_fit_s"] / out["ours_fit_total_s"], 1)
    print(json.dumps(out), flush=True)

    _rss(args, out)


def _rss(args, out: dict) -> None:
    """Peak RSS of our fit, each count in a fresh process."""
    for n in [int(v) for v in args.rss.split(",") if v.strip()]:
        res = subprocess.run([sys.executable, __file__, "--rss-child", str(n), "--size", str(args.size),
                              "--ratio", str(args.ratio)], capture_output=True, text=True)
        line = (res.stdout.strip().splitlines() or ["{}"])[-1]
        out[f"rss_{n}"] = json.loads(line) if line.startswith("{") else {"error": res.stderr[-300:]}
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
