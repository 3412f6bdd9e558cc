"""Anomaly detection from good parts only, PatchCore-style.

Every good training image is cut into patch descriptors: EfficientNet-Lite0
features at stride 8 and stride 16, each averaged over its 3x3 neighbourhood
(a patch knows its surroundings), the deeper map upsampled to the shallower
one and stacked. A greedy k-center coreset keeps the few patches that still
cover all the others (the memory bank). On the line, every patch of a part
looks up its nearest good patch; the distance map is the anomaly map, and
its (lightly blurred) maximum is the part's score.

The exported ONNX graph is the whole thing: backbone, pooling, the bank as a
constant and the nearest-neighbour search as matmuls
(||x||^2 - 2 x.m + ||m||^2, min over the bank, in chunks to bound memory).
"""
from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from studio.training import data as training_data
from studio.training.backbone import BACKBONE
from studio.training.options import merge_options

DEFAULTS: dict[str, Any] = {
    "coreset_ratio": 0.1,       # fraction of training patches kept in the memory bank
    "max_train_images": 500,
    "max_bank": 16384,          # upper bound on the bank: sets the station's per-part cost
    "max_patches": 200_000,     # candidate patches for the coreset (random subset beyond this)
    "coreset_projection": 128,  # dims of the random projection the coreset search runs in
    "feature_dims": None,       # optional fixed random projection of the descriptors
    "bank_chunk": 4096,         # bank columns per matmul in the graph
    "batch_size": 16,
    "seed": 0,
    "device": None,             # "cpu" / "cuda"; default: the GPU when there is one
}


def _torch():
    import torch

    return torch


def build_feature_module(backbone, feature_dims: int | None = None, seed: int = 0):
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class PatchFeatures(nn.Module):
        """Backbone up to stride 16 -> locally averaged, stacked patch descriptors [N, D, S/8, S/8]."""

        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(backbone.conv_stem, backbone.bn1)
            self.to_stride8 = nn.Sequential(*backbone.blocks[:3])     # 40 channels
            self.to_stride16 = nn.Sequential(*backbone.blocks[3:5])   # 112 channels
            # no zero padding in the average: border patches would look darker than they are
            self.pool = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
            dims = self._raw_dims()
            self.projection = None
            if feature_dims and feature_dims < dims:
                g = torch.Generator().manual_seed(seed)
                w = torch.randn(feature_dims, dims, generator=g) / math.sqrt(feature_dims)
                self.projection = nn.Conv2d(dims, feature_dims, 1, bias=False)
                self.projection.weight.data.copy_(w[:, :, None, None])
                self.projection.weight.requires_grad_(False)
            self.dims = feature_dims if self.projection is not None else dims

        def _raw_dims(self) -> int:
            last = lambda seq: [m for m in seq.modules() if isinstance(m, nn.Conv2d)][-1].out_channels
            return last(self.to_stride8) + last(self.to_stride16)

        def forward(self, x):
            f8 = self.to_stride8(self.stem(x))
            f16 = self.to_stride16(f8)
            a = self.pool(f8)
            b = F.interpolate(self.pool(f16), size=a.shape[-2:], mode="bilinear", align_corners=False)
            f = torch.cat([a, b], dim=1)
            return self.projection(f) if self.projection is not None else f

    return PatchFeatures().eval()


def build_graph(features, bank, chunk: int = 4096):
    """The exported model: image -> (score [N], anomaly_map [N, 1, S/8, S/8])."""
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class PatchCore(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = features
            # Distances are shift-invariant; centring keeps ||x||^2 small so the
            # matmul form loses no precision to cancellation in float32.
            center = bank.mean(0, keepdim=True)
            self.register_buffer("center", center.clone())
            centred = bank - center
            self.n_chunks = int(math.ceil(len(centred) / chunk))
            for i in range(self.n_chunks):
                part = centred[i * chunk:(i + 1) * chunk]
                self.register_buffer(f"bank_t{i}", part.t().contiguous())          # [D, m]
                self.register_buffer(f"bank_sq{i}", (part * part).sum(1)[None, :])  # [1, m]
            g = torch.tensor([1.0, 2.0, 1.0])
            self.register_buffer("blur", (g[:, None] * g[None, :] / 16.0)[None, None])

        def head(self, f):
            n, d, h, w = f.shape
            q = f.permute(0, 2, 3, 1).reshape(-1, d) - self.center
            q_sq = (q * q).sum(1, keepdim=True)
            nearest = None
            for i in range(self.n_chunks):
                bank_t = getattr(self, f"bank_t{i}")
                d2 = q_sq - 2.0 * (q @ bank_t) + getattr(self, f"bank_sq{i}")
                # The matmul form finds the neighbour; its distance is then taken
                # exactly, because near zero the matmul form is all rounding error
                # and the square root would magnify it.
                best = bank_t.index_select(1, d2.argmin(dim=1)).t()
                m = ((q - best) ** 2).sum(1)
                nearest = m if nearest is None else torch.minimum(nearest, m)
            dist = nearest.sqrt().reshape(-1, 1, h, w)
            amap = F.conv2d(F.pad(dist, (1, 1, 1, 1), mode="replicate"), self.blur)
            return amap.flatten(1).max(dim=1).values, amap

        def forward(self, image):
            return self.head(self.features(image))

    return PatchCore().eval()


def greedy_coreset(points, k: int, projection_dims: int = 128, seed: int = 0, report=None):
    """Indices of ``k`` points chosen by greedy k-center (farthest point first).

    Runs in a random projection (distances are nearly kept, the work is
    smaller) and keeps each point's distance to its nearest chosen centre,
    updated with one matrix-vector product per pick.
    """
    torch = _torch()
    n, d = points.shape
    k = max(1, min(int(k), n))
    g = torch.Generator(device="cpu").manual_seed(seed)
    z = points
    if projection_dims and d > projection_dims:
        proj = torch.randn(d, projection_dims, generator=g).to(points.device) / math.sqrt(projection_dims)
        z = points @ proj
    z_sq = (z * z).sum(1)
    chosen = torch.empty(k, dtype=torch.long, device=points.device)
    first = int(torch.randint(n, (1,), generator=g))
    chosen[0] = first
    min_d = (z_sq - 2.0 * (z @ z[first]) + z_sq[first]).clamp_min_(0.0)
    every = max(1, k // 50)
    for i in range(1, k):
        j = torch.argmax(min_d)
        chosen[i] = j
        torch.minimum(min_d, z_sq - 2.0 * torch.mv(z, z[j]) + z_sq[j], out=min_d)
        if report is not None and (i % every == 0 or i == k - 1):
            report.check()
            report.progress(i / max(1, k - 1))
            report.metric("coreset_radius", i, float(min_d.max().clamp_min(0).sqrt()))
    return chosen


def pick_threshold(train_scores: np.ndarray, test_y: np.ndarray, test_s: np.ndarray) -> tuple[float, str]:
    """Best F1 on the test split when it has good and defective parts; else just above the good training parts."""
    from studio.evaluation.metrics import best_f1_threshold

    if len(test_y) and 0 < int(test_y.sum()) < len(test_y):
        return float(best_f1_threshold(test_y, test_s)), "best F1 on the test split"
    return float(np.max(train_scores)) * 1.05, "1.05 x the highest good training score"


def _device(options):
    torch = _torch()
    wanted = options.get("device")
    if wanted:
        return torch.device(wanted)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def train_anomaly(project, options: dict[str, Any] | None, report) -> dict[str, Any]:
    """Build the memory bank from good training images, export ONNX + card; returns the card."""
    from studio.evaluation.metrics import average_precision, roc_auc
    from studio.training.export import card_fields, check_onnx, to_onnx, write_model

    t0 = time.monotonic()
    opts = merge_options(project, "anomaly", DEFAULTS, options)
    report.status("selecting good training images")
    train = training_data.anomaly_train(project, int(opts["max_train_images"] or 0))
    test = training_data.test_samples(project)
    report.status(f"{len(train)} good training images, {len(test)} test images")
    pre = project.preprocessing
    x_train = training_data.load_inputs(project, train, pre, report.sub(0.0, 0.04))
    x_test = training_data.load_inputs(project, test, pre, report.sub(0.04, 0.05))

    torch = _torch()
    from studio.training.backbone import efficientnet_lite0

    torch.manual_seed(int(opts["seed"]))
    device = _device(opts)
    report.status(f"extracting patch features ({device.type})")
    features = build_feature_module(efficientnet_lite0(pretrained=True), opts.get("feature_dims"),
                                    int(opts["seed"])).to(device)
    bs = max(1, int(opts["batch_size"]))
    train_maps = []
    with torch.no_grad():
        for i in range(0, len(x_train), bs):
            report.check()
            train_maps.append(features(torch.from_numpy(x_train[i:i + bs]).to(device)))
            report.progress(0.05 + 0.35 * min(1.0, (i + bs) / len(x_train)))
    train_maps = torch.cat(train_maps)                                   # [n, D, h, w]
    dims = train_maps.shape[1]
    patches = train_maps.permute(0, 2, 3, 1).reshape(-1, dims)
    gen = torch.Generator().manual_seed(int(opts["seed"]))
    if len(patches) > int(opts["max_patches"]):
        patches = patches[torch.randperm(len(patches), generator=gen)[:int(opts["max_patches"])].to(device)]
    k = min(int(opts["max_bank"]), max(1, int(round(len(patches) * float(opts["coreset_ratio"])))))
    report.status(f"choosing a memory bank of {k} from {len(patches)} patches")
    chosen = greedy_coreset(patches, k, int(opts["coreset_projection"] or 0), int(opts["seed"]),
                            report.sub(0.40, 0.80))
    bank = patches[chosen].cpu()
    del patches

    report.status("scoring images")
    graph = build_graph(features, bank, int(opts["bank_chunk"])).to(device).eval()
    with torch.no_grad():
        train_scores = torch.cat([graph.head(train_maps[i:i + bs])[0].cpu()
                                  for i in range(0, len(train_maps), bs)]).numpy()
        test_scores = (torch.cat([graph(torch.from_numpy(x_test[i:i + bs]).to(device))[0].cpu()
                                  for i in range(0, len(x_test), bs)]).numpy()
                       if len(x_test) else np.zeros(0, np.float32))
    graph = graph.cpu()             # exported and checked on the CPU, like the reference station
    report.progress(0.85)
    test_y = np.array([s.defective for s in test], dtype=bool)
    threshold, source = pick_threshold(train_scores, test_y, test_scores)
    metrics = {
        "image_auroc": roc_auc(test_y, test_scores),
        "average_precision": average_precision(test_y, test_scores),
        "n_test_defective": int(test_y.sum()),
        "train_score_max": float(train_scores.max()),
        "bank_size": int(len(bank)),
        "feature_dims": int(dims),
        "threshold_source": source,
    }

    report.status("exporting to ONNX and checking it with ONNX Runtime")
    outputs = ["score", "anomaly_map"]
    example = torch.from_numpy(x_train[:2])
    onnx_bytes = to_onnx(graph, example, outputs)
    check_inputs = np.concatenate([x_train[:3], x_test[:1]]) if len(x_test) else x_train[:4]
    max_diff = check_onnx(onnx_bytes, graph, check_inputs, outputs)
    report.progress(0.97)
    card = write_model(project, "anomaly", onnx_bytes, card_fields(
        project, task="anomaly", backbone=BACKBONE, classes=["good", "anomaly"], threshold=threshold,
        metrics=metrics, n_train=len(train), n_test=len(test),
        dataset_digest=training_data.dataset_digest(train + test), training_options=opts,
        seconds=time.monotonic() - t0, max_abs_diff=max_diff, outputs=outputs,
        anomaly_map_size=[int(v) for v in train_maps.shape[-2:]],
        samples={"train": [s.image_id for s in train], "test": [s.image_id for s in test]}))
    report.progress(1.0)
    return card
