"""Inference per image on this PC: our ONNX models (ONNX Runtime, 2 threads) vs anomalib's own inferencer.

On magnetic tiles (../shared/data/magnetic_tile) at 256 px, in one run:

* our anomaly model (fitted here on ``--train`` good tiles, coreset ``--ratio``)
  through ``InspectionModel``-style ONNX Runtime, 2 intra-op threads, batch 1:
  median / p90 ms per image for the graph alone and for predict() (with preprocessing);
* anomalib's PatchCore on the same backbone weights and ratio, exported with
  anomalib's ``to_torch`` and run by anomalib's ``TorchInferencer`` (torch, 2
  threads), on the same images: median ms per image; the throughput ratio;
* our classification graph (EfficientNet-Lite0 + softmax, 6 classes) at 224 px.

    nice -n 10 .venv/bin/python benchmarks/inference_benchmark.py [--train 50] [--images 60] [--ratio 0.01]
"""
from __future__ import annotations

import argparse
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


def timed(fn, items, warmup: int = 3) -> list[float]:
    for it in items[:warmup]:
        fn(it)
    out = []
    for it in items:
        t = time.perf_counter()
        fn(it)
        out.append((time.perf_counter() - t) * 1000)
    return out


def summary(ms: list[float]) -> dict:
    xs = sorted(ms)
    return {"median_ms": round(statistics.median(xs), 2), "p90_ms": round(xs[int(0.9 * (len(xs) - 1))], 2),
            "per_s": round(1000 / statistics.median(xs), 1)}


def ort_session(onnx_bytes: bytes):
    import onnxruntime as ort

    o = ort.SessionOptions()
    o.intra_op_num_threads, o.inter_op_num_threads, o.log_severity_level = 2, 1, 3
    return ort.InferenceSession(onnx_bytes, o, providers=["CPUExecutionProvider"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", type=int, default=50)
    ap.add_argument("--images", type=int, default=60)
    ap.add_argument("--ratio", type=float, default=0.01)
    ap.add_argument("--size", type=int, default=256)
    args = ap.parse_args()

    import numpy as np
    import torch

    torch.set_num_threads(2)
    from anomaly_benchmark import load, opts, split, tile_files

    from studio.dataset.preprocessing import Preprocessing
    from studio.dataset.store import read_image
    from studio.training.anomaly import fit_memory_bank
    from studio.training.export import to_onnx
    from studio.training.report import Report

    good, bad = tile_files()
    train, test_good = split(good, args.train, args.images // 2)
    paths = test_good + bad[::max(1, len(bad) // (args.images - len(test_good)))][:args.images - len(test_good)]
    images = [read_image(p) for p in paths]
    pre = Preprocessing(size=args.size)
    out: dict = {"images": len(images), "size": args.size, "ratio": args.ratio, "threads": 2}

    # ---- ours: ONNX Runtime, 2 threads, batch 1 -------------------------------------
    x_train = load(train, args.size)
    graph, _, info = fit_memory_bank(x_train, opts(args.ratio), Report())
    out["bank"] = info["bank_size"]
    session = ort_session(to_onnx(graph.cpu(), torch.from_numpy(x_train[:2]), ["score", "anomaly_map"]))
    inputs = [pre.apply(im)[None] for im in images]
    out["ours_anomaly_graph"] = summary(timed(lambda x: session.run(None, {"image": x}), inputs))
    out["ours_anomaly_predict"] = summary(timed(lambda im: session.run(None, {"image": pre.apply(im)[None]}), images))
    print(json.dumps(out), flush=True)

    # ---- anomalib's TorchInferencer on the same images --------------------------------
    from anomalib.deploy import TorchInferencer
    from anomalib.models import Patchcore
    from anomalib.pre_processing import PreProcessor
    from torchvision.transforms.v2 import Compose, Normalize, Resize

    from studio.dataset.preprocessing import IMAGENET_MEAN, IMAGENET_STD
    from studio.training import anomalib_peer

    peer = anomalib_peer.build_torch_model()
    torch.manual_seed(0)
    anomalib_peer.fit(peer, (torch.from_numpy(x_train[i:i + 16]) for i in range(0, len(x_train), 16)), args.ratio)
    transform = Compose([Resize((args.size, args.size), antialias=True),
                         Normalize(mean=IMAGENET_MEAN.tolist(), std=IMAGENET_STD.tolist())])
    lightning = Patchcore(backbone="efficientnet_lite0", layers=list(anomalib_peer.LAYERS), pre_trained=False,
                          coreset_sampling_ratio=args.ratio, pre_processor=PreProcessor(transform=transform),
                          evaluator=False, visualizer=False)
    lightning.model = peer
    with tempfile.TemporaryDirectory() as tmp:
        pt = lightning.to_torch(tmp)
        os.environ["TRUST_REMOTE_CODE"] = "1"      # our own file, written a line above
        inferencer = TorchInferencer(path=pt, device="cpu")
        rgb = [np.ascontiguousarray(_rgb(im)) for im in images]
        with torch.no_grad():
            ms = timed(lambda im: inferencer.predict(im), rgb)
    out["anomalib_inferencer"] = summary(ms)
    out["throughput_ratio_graph"] = round(out["ours_anomaly_graph"]["per_s"] / out["anomalib_inferencer"]["per_s"], 1)
    out["throughput_ratio_predict"] = round(out["ours_anomaly_predict"]["per_s"] / out["anomalib_inferencer"]["per_s"], 1)
    print(json.dumps(out), flush=True)

    # ---- classification at 224 px ----------------------------------------------------------
    from studio.training.backbone import efficientnet_lite0
    from studio.training.classification import build_softmax_model

    cls = build_softmax_model(efficientnet_lite0(pretrained=True, num_classes=6).eval())
    pre224 = Preprocessing(size=224)
    session = ort_session(to_onnx(cls, torch.zeros(2, 3, 224, 224), ["probabilities"]))
    inputs = [pre224.apply(im)[None] for im in images]
    out["ours_classification_graph"] = summary(timed(lambda x: session.run(None, {"image": x}), inputs))
    out["ours_classification_predict"] = summary(
        timed(lambda im: session.run(None, {"image": pre224.apply(im)[None]}), images))
    print(json.dumps(out), flush=True)


def _rgb(image):
    from studio.dataset.preprocessing import to_rgb8

    return to_rgb8(image)


if __name__ == "__main__":
    main()
