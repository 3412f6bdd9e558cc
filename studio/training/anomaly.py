"""Anomaly detection from good parts only, PatchCore-style.

Every good training image is cut into patch descriptors: EfficientNet-Lite
features (at the defaults Lite0's blocks 2 and 4: stride 8 and stride 16),
each averaged over its 3x3 neighbourhood (a patch knows its surroundings),
the deeper maps upsampled to the shallowest one and stacked. A greedy
k-center coreset keeps the few patches that still cover all the others (the
memory bank). On the line, every patch of a part
looks up its nearest good patch; the distance map is the anomaly map, and
its (lightly blurred) maximum, or the mean of its top k, is the part's
score. Large frames can be cut into tiles scored by the same bank
(``anomaly_levers``: the backbone, layers, image score and tiles options).

The exported ONNX graph is the whole thing: backbone, pooling, the bank as a
constant and the nearest-neighbour search as matmuls
(||x||^2 - 2 x.m + ||m||^2, min over the bank, in chunks to bound memory).
"""
from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from studio.labels import samples as labeled
from studio.training.coreset import balanced_cells, coreset_groups, greedy_coreset  # noqa: F401
from studio.training import anomaly_levers
from studio.training.backbone import BACKBONE
from studio.training.options import merge_options

DEFAULTS: dict[str, Any] = {
    "backend": "studio",        # "studio" (this file) or "anomalib" (the reference peer, anomalib_peer.py)
    # the quality levers (anomaly_levers.py); both backends take backbone and layers
    "backbone": BACKBONE,       # efficientnet_lite0, efficientnet_lite1 or efficientnet_lite2 (offline weights)
    "layers": "2,4",            # backbone blocks feeding the bank: "2,4" = stride 8 + 16; "1,2", "2,3", "3,4", "2,3,4"...
    "image_score": "max",       # "max" = highest patch distance; "topk:K" = mean of the K highest (in the graph)
    "tiles": "1x1",             # "RxR": ROI cut into R x R tiles of the input size (1/8 overlap), one bank
    "input_size": None,         # px; None = the project's preprocessing size (the bake-off tries others)
    "coreset_ratio": 0.1,       # fraction of training patches kept in the memory bank
    "max_train_images": 500,
    # upper bound on the bank: sets the station's per-part cost and the fit time. 4,096 exact-greedy
    # centres scored 0.861 image AUROC on magnetic tiles at 224 px, 8,192 0.862, 2,048 0.850
    # (same embeddings, benchmarks/README.md); 16,384 cost 4x the search per part for no gain
    "max_bank": 4096,
    "max_patches": 200_000,     # candidate patches for the coreset (random subset beyond this)
    "coreset_projection": 128,  # dims of the random projection the coreset search runs in
    "coreset_groups": 0,        # independent greedy searches run side by side; 0 = by bank size
    "num_neighbors": 9,         # anomalib backend only: its score re-weighting neighbourhood
    "feature_dims": None,       # optional fixed random projection of the descriptors
    "bank_chunk": 4096,         # bank columns per matmul in the graph
    "batch_size": 16,
    "seed": 0,
    "device": None,             # "cpu" / "cuda"; default: the GPU when there is one
}


def _torch():
    import torch

    return torch


def build_feature_module(backbone, feature_dims: int | None = None, seed: int = 0, layers=(2, 4)):
    """Backbone up to its deepest tapped block -> stacked patch descriptors [N, D, S/stride, S/stride].

    ``layers`` are indices into the backbone's ``blocks`` (the ``layers`` option); the
    map has the shallowest one's stride."""
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional
    layers = tuple(sorted(int(i) for i in layers))

    class PatchFeatures(nn.Module):
        """Backbone blocks -> locally averaged, stacked patch descriptors."""

        def __init__(self) -> None:
            super().__init__()
            self.layers = layers
            self.stem = nn.Sequential(backbone.conv_stem, backbone.bn1)
            # one run of blocks up to each tapped block (defaults: blocks 0-2, 40 channels at
            # stride 8; blocks 3-4, 112 channels at stride 16)
            starts = (0,) + tuple(i + 1 for i in layers[:-1])
            self.stages = nn.ModuleList(nn.Sequential(*backbone.blocks[a:b + 1]) for a, b in zip(starts, layers))
            # zero padding counts in the average (as in PatchCore): border patches then
            # differ from inner ones and are matched with the good parts' border
            # patches. Excluding it cost 3.6 points of image AUROC on magnetic tiles
            # (0.833 vs 0.869, benchmarks/README.md), whose defects often sit at the edge.
            self.pool = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=True)
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
            return sum(last(stage) for stage in self.stages)

        def forward(self, x):
            h = self.stem(x)
            taps = []
            for stage in self.stages:
                h = stage(h)
                taps.append(self.pool(h))
            size = taps[0].shape[-2:]
            f = torch.cat([taps[0]] + [F.interpolate(t, size=size, mode="bilinear", align_corners=False)
                                       for t in taps[1:]], dim=1)
            return self.projection(f) if self.projection is not None else f

    return PatchFeatures().eval()


def build_graph(features, bank, chunk: int = 4096, topk: int = 0, tiles=None):
    """The exported model: image -> (score [N], anomaly_map [N, 1, h, w]).

    ``topk`` 0: the score is the map's maximum, else the mean of its ``topk`` highest
    cells. ``tiles`` (an ``anomaly_levers.TileGrid``): the image is cut into its tiles,
    each scored against the bank, and the maps stitched (None or 1x1: no tiling).
    """
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
            self.tiles = tiles if tiles is not None and tiles.grid > 1 else None
            self.topk = int(topk)       # clamped to the map's cells in head()

        def head(self, f):
            """Patch descriptors (of every tile, image-major) -> (score [N], anomaly_map [N, 1, h, w])."""
            n, d, h, w = f.shape
            q = f.permute(0, 2, 3, 1).reshape(-1, d) - self.center
            nearest = None
            for i in range(self.n_chunks):
                bank_t = getattr(self, f"bank_t{i}")
                # ||m||^2 - 2 q.m in one product (a Gemm in ONNX): ||q||^2 is the same for
                # every bank column, so the neighbour is found without it and without the
                # two extra passes over the [queries x bank] matrix it cost.
                d2 = torch.addmm(getattr(self, f"bank_sq{i}"), q, bank_t, alpha=-2.0)
                # The matmul form finds the neighbour; its distance is then taken
                # exactly, because near zero the matmul form is all rounding error
                # and the square root would magnify it.
                best = bank_t.index_select(1, d2.argmin(dim=1)).t()
                m = ((q - best) ** 2).sum(1)
                nearest = m if nearest is None else torch.minimum(nearest, m)
            dist = nearest.sqrt().reshape(-1, 1, h, w)
            if self.tiles is not None:
                dist = self.tiles.stitch(dist)
            amap = F.conv2d(F.pad(dist, (1, 1, 1, 1), mode="replicate"), self.blur)
            flat = amap.flatten(1)
            if self.topk:
                return flat.topk(min(self.topk, int(flat.shape[1])), dim=1).values.mean(dim=1), amap
            return flat.max(dim=1).values, amap

        def forward(self, image):
            if self.tiles is not None:
                image = self.tiles.cut(image)
            return self.head(self.features(image))

    return PatchCore().eval()


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


def feature_runner(features, example: np.ndarray, device):
    """A function numpy batch -> torch feature maps. On the CPU it runs through ONNX Runtime,
    which is about 3x faster than eager torch for EfficientNet's depthwise convolutions."""
    torch = _torch()
    if device.type == "cpu":
        try:
            import onnxruntime as ort

            from studio.training.export import to_onnx

            options = ort.SessionOptions()
            options.intra_op_num_threads = max(1, torch.get_num_threads())
            options.log_severity_level = 3
            session = ort.InferenceSession(to_onnx(features, torch.from_numpy(example), ["features"]), options,
                                           providers=["CPUExecutionProvider"])
            return lambda x: torch.from_numpy(session.run(None, {"image": np.ascontiguousarray(x)})[0])
        except Exception:       # no ONNX Runtime or an export problem: torch does it, slower
            pass

    def run(x):
        with torch.no_grad():
            return features(torch.from_numpy(x).to(device))

    return run


def fit_memory_bank(x_train: np.ndarray, opts: dict[str, Any], report, tile_size: int | None = None):
    """Our fit: patch features of the good images -> coreset bank -> graph; returns (graph, train_scores, info).

    Patches are drawn per batch (at most ``max_patches`` in all, spread evenly
    over the images) so memory grows linearly with the number of images; the
    feature maps are kept in half precision to score the training images.
    With ``tiles`` the inputs are whole ROIs at the grid's input size (``tile_size``:
    one tile's side; found from the inputs when None) and the bank is fit on their tiles.
    """
    torch = _torch()
    from studio.training.backbone import create

    levers = anomaly_levers.read(opts)
    if tile_size is None:
        tiles = anomaly_levers.TileGrid.for_input(levers.grid, int(x_train.shape[-1]), levers.stride)
    else:
        tiles = levers.tiles(tile_size)
    torch.manual_seed(int(opts["seed"]))
    device = _device(opts)
    report.status(f"extracting patch features ({device.type})")
    features = build_feature_module(create(levers.backbone, pretrained=True), opts.get("feature_dims"),
                                    int(opts["seed"]), levers.layers).to(device)
    bs = max(1, int(opts["batch_size"]))
    gen = torch.Generator().manual_seed(int(opts["seed"]))
    n = len(x_train)
    per_tile = feature_runner(features, tiles.cut(torch.from_numpy(x_train[:2])).numpy(), device)
    extract = per_tile if tiles.grid == 1 else \
        (lambda x: per_tile(np.ascontiguousarray(tiles.cut(torch.from_numpy(x)).numpy())))
    seconds, t = {}, time.monotonic()
    maps, patches = [], []
    with torch.no_grad():
        for i in range(0, n, bs):
            report.check()
            f = extract(x_train[i:i + bs])
            maps.append(f.half() if device.type == "cpu" else f.cpu().half())
            _, dims, h, w = f.shape            # every tile of the batch's images, image-major
            b = len(x_train[i:i + bs])
            cells = h * w * tiles.grid ** 2
            per_image = max(1, int(opts["max_patches"]) // n)
            p = f.permute(0, 2, 3, 1).reshape(b, cells, dims)
            if cells > per_image:
                pick = torch.rand(b, cells, generator=gen).argsort(1)[:, :per_image].to(device)
                p = torch.gather(p, 1, pick[:, :, None].expand(-1, -1, dims))
            patches.append(p.reshape(-1, dims))
            report.progress(0.05 + 0.35 * min(1.0, (i + bs) / n))
    patches = torch.cat(patches)
    n_patches = len(patches)
    seconds["features"], t = time.monotonic() - t, time.monotonic()
    k = min(int(opts["max_bank"]), max(1, int(round(len(patches) * float(opts["coreset_ratio"])))))
    groups = coreset_groups(k, int(opts["coreset_groups"] or 0))
    report.status(f"choosing a memory bank of {k} from {len(patches)} patches ({groups} greedy searches)")
    chosen = greedy_coreset(patches, k, int(opts["coreset_projection"] or 0), int(opts["seed"]),
                            report.sub(0.40, 0.80), groups=groups)
    bank = patches[chosen].float().cpu()
    del patches
    seconds["coreset"], t = time.monotonic() - t, time.monotonic()
    report.status("scoring the training images")
    graph = build_graph(features, bank, int(opts["bank_chunk"]), levers.topk, tiles).to(device).eval()
    with torch.no_grad():
        train_scores = torch.cat([graph.head(m.float().to(device))[0].cpu() for m in maps]).numpy()
    seconds["train_scores"] = time.monotonic() - t
    side = tiles.map_size if tiles.grid > 1 else None
    info = {"bank_size": int(len(bank)), "feature_dims": int(dims), "coreset_groups": groups,
            "anomaly_map_size": [side or int(h), side or int(w)], "n_patches": int(n_patches),
            "levers": {**levers.summary(), "tile_size": tiles.size, "tile_overlap": tiles.overlap},
            "seconds": {key: round(v, 2) for key, v in seconds.items()}}
    return graph, train_scores, info


def fit_anomalib(x_train: np.ndarray, opts: dict[str, Any], report):
    """The reference peer (anomalib's PatchCore), same contract as ``fit_memory_bank``."""
    torch = _torch()
    from studio.training import anomalib_peer

    levers = anomaly_levers.read(opts)
    torch.manual_seed(int(opts["seed"]))
    report.status(f"building anomalib's PatchCore on {levers.backbone} (the studio's ImageNet weights)")
    model = anomalib_peer.build_torch_model(int(opts["num_neighbors"]), backbone=levers.backbone,
                                            layers=levers.layers)
    bs = max(1, int(opts["batch_size"]))
    batches = (torch.from_numpy(x_train[i:i + bs]) for i in range(0, len(x_train), bs))
    anomalib_peer.fit(model, batches, float(opts["coreset_ratio"]), report)
    graph = anomalib_peer.export_module(model)
    train_scores, maps = anomalib_peer.score_images(graph, x_train[:bs])
    train_scores, _ = anomalib_peer.score_images(graph, x_train, bs)
    info = {"bank_size": int(len(model.memory_bank)), "feature_dims": int(model.memory_bank.shape[1]),
            "anomaly_map_size": [int(v) for v in maps.shape[-2:]], "backend": "anomalib",
            "levers": levers.summary()}
    return graph, train_scores, info


def train_anomaly(project, options: dict[str, Any] | None, report) -> dict[str, Any]:
    """Build the memory bank from good training images, export ONNX + card; returns the card."""
    from studio.core.errors import ModelError
    from studio.evaluation.metrics import average_precision, roc_auc
    from studio.training.export import MAX_RELATIVE_DIFF, card_fields, check_onnx, to_onnx, write_model

    t0 = time.monotonic()
    opts = merge_options(project, "anomaly", DEFAULTS, options)
    if opts["backend"] not in ("studio", "anomalib"):
        raise ModelError(f"anomaly backend '{opts['backend']}' is not one the studio has", field="backend",
                         hint="use backend=studio (ours) or backend=anomalib (the reference peer)")
    levers = anomaly_levers.read(opts)          # a bad lever fails here, before any image is read
    pre = project.preprocessing
    tiles = levers.tiles(pre.size)
    if opts["backend"] == "anomalib":
        for name, default, used in (("image_score", "max", levers.topk > 0), ("tiles", "1x1", levers.grid > 1)):
            if used:
                raise ModelError(f"the anomalib backend has its own image score and no tiling: "
                                 f"training option '{name}' must stay {default}", field=name,
                                 hint=f"use backend=studio for {name}={opts[name]}, or {name}={default}")
    if tiles.input_size != pre.size:    # input_size, or tiles: the model sees the whole ROI at the grid's size
        import dataclasses

        pre = dataclasses.replace(pre, size=tiles.input_size)
    report.status("selecting good training images")
    limit, cap = int(opts["max_train_images"] or 0), anomaly_levers.train_images_cap(tiles.input_size)
    if not limit or limit > cap:
        report.status(f"at {tiles.input_size} px at most {cap} training images are held in memory")
    train = labeled.anomaly_train(project, min(limit or cap, cap))
    test = labeled.test_samples(project)
    report.status(f"{len(train)} good training images, {len(test)} test images")
    x_train = labeled.load_inputs(project, train, pre, report.sub(0.0, 0.04))
    x_test = labeled.load_inputs(project, test, pre, report.sub(0.04, 0.05))

    torch = _torch()
    if opts["backend"] == "anomalib":
        graph, train_scores, info = fit_anomalib(x_train, opts, report)
    else:
        graph, train_scores, info = fit_memory_bank(x_train, opts, report, tile_size=tiles.size)
    device = next(graph.parameters()).device
    bs = max(1, int(opts["batch_size"]))
    graph_cpu = graph.cpu().eval()        # exported and checked on the CPU, like the reference station
    report.status("exporting to ONNX and checking it with ONNX Runtime")
    outputs = ["score", "anomaly_map"]
    onnx_bytes = to_onnx(graph_cpu, torch.from_numpy(x_train[:2]), outputs)
    check_inputs = np.concatenate([x_train[:3], x_test[:1]]) if len(x_test) else x_train[:4]
    # anomalib's graph takes distances in the matmul form (||x||^2 - 2x.m + ||m||^2) and
    # its square root near zero magnifies float rounding: allow it 5x the usual bound
    max_diff = check_onnx(onnx_bytes, graph_cpu, check_inputs, outputs,
                          MAX_RELATIVE_DIFF * (5 if opts["backend"] == "anomalib" else 1))
    report.progress(0.9)
    report.status("scoring the test split")
    search = "exact"
    if device.type == "cpu" and len(x_test):
        import onnxruntime as ort

        from studio.inference import bank_search

        so = ort.SessionOptions()
        so.intra_op_num_threads, so.log_severity_level = max(1, torch.get_num_threads()), 3
        # scored as a CPU station scores them (the 8-bit bank search), so the threshold fits it
        session, search = bank_search.session(onnx_bytes, so, ["CPUExecutionProvider"], "new model")
        report.status(f"test split scored with the {search} bank search")
        test_scores = np.concatenate([session.run(["score"], {"image": x_test[i:i + bs]})[0]
                                      for i in range(0, len(x_test), bs)])
    else:
        graph = graph.to(device)
        with torch.no_grad():
            test_scores = (torch.cat([graph(torch.from_numpy(x_test[i:i + bs]).to(device))[0].cpu()
                                      for i in range(0, len(x_test), bs)]).numpy()
                           if len(x_test) else np.zeros(0, np.float32))
    report.progress(0.97)
    test_y = np.array([s.defective for s in test], dtype=bool)
    threshold, source = pick_threshold(train_scores, test_y, test_scores)
    metrics = {
        "image_auroc": roc_auc(test_y, test_scores),
        "average_precision": average_precision(test_y, test_scores),
        "n_test_defective": int(test_y.sum()),
        "train_score_max": float(train_scores.max()),
        "bank_size": info["bank_size"],
        "feature_dims": info["feature_dims"],
        "threshold_source": source,
        "bank_search": search,          # how the test split was scored: "int8" as a CPU station scores
    }

    backbone = levers.backbone if opts["backend"] == "studio" else f"anomalib-patchcore:{levers.backbone}"
    card = write_model(project, "anomaly", onnx_bytes, card_fields(
        project, task="anomaly", backbone=backbone, classes=["good", "anomaly"], threshold=threshold,
        metrics=metrics, n_train=len(train), n_test=len(test),
        dataset_digest=labeled.dataset_digest(train + test), training_options=opts,
        seconds=time.monotonic() - t0, max_abs_diff=max_diff, outputs=outputs,
        anomaly_map_size=info["anomaly_map_size"], backend=opts["backend"],
        # what the model sees: with tiles, the whole ROI at the grid's input size
        preprocessing=pre.to_dict(), anomaly=info["levers"],
        samples={"train": [s.image_id for s in train], "test": [s.image_id for s in test]}))
    report.progress(1.0)
    return card
