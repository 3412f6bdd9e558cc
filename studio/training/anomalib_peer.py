"""The reference peer: anomalib's own PatchCore, with the same EfficientNet-Lite weights.

``studio train PROJECT --task anomaly --option backend=anomalib`` trains it
from the studio; the anomaly benchmark compares against it. It is built
offline: anomalib's timm feature extractor is created without weights and
gets the studio's ImageNet weights (``backbone.py``), tapped at the same
blocks as our model (the ``backbone`` and ``layers`` options; at the defaults
Lite0's ``blocks.2``, stride 8, and ``blocks.4``, stride 16). anomalib taps
timm's feature stages only, which end at blocks 0, 1, 2, 4 and 6.
Fitting is anomalib's own code path without the Lightning trainer: the
torch model collects embeddings in training mode, then
``subsample_embedding`` runs anomalib's k-center-greedy coreset. Its
eval-mode forward (nearest neighbour, neighbourhood re-weighted score,
upsampled and blurred map) is what gets exported to ONNX for the station.
"""
from __future__ import annotations

from typing import Any

from studio.core.errors import ModelError

LAYERS = ("blocks.2", "blocks.4")
TAPPABLE = (0, 1, 2, 4, 6)          # the blocks timm's features_only model returns (its stage ends)


def _anomalib():
    try:
        from anomalib.models.image.patchcore.torch_model import PatchcoreModel
    except ImportError:
        raise ModelError("the anomalib backend needs anomalib, which is not installed",
                         hint="run installer/setup.sh again (or: pip install anomalib)") from None
    return PatchcoreModel


def layer_names(layers=(2, 4)) -> list[str]:
    """Block indices (the ``layers`` option) as anomalib's layer names; ModelError for blocks it cannot tap."""
    bad = [i for i in layers if int(i) not in TAPPABLE]
    if bad:
        raise ModelError(f"anomalib's feature extractor cannot tap block{'s' if len(bad) > 1 else ''} "
                         f"{', '.join(map(str, bad))} (training option 'layers')", field="layers",
                         hint=f"with backend=anomalib use blocks from {', '.join(map(str, TAPPABLE))}, e.g. layers=2,4")
    return [f"blocks.{int(i)}" for i in layers]


def build_torch_model(num_neighbors: int = 9, backbone: str | None = None, layers=(2, 4)):
    """anomalib's ``PatchcoreModel`` on ``backbone`` (EfficientNet-Lite0 by default) tapped at
    ``layers`` (block indices), with the studio's ImageNet weights (no download)."""
    from studio.training import backbone as backbones

    name = backbones.get(backbone or backbones.BACKBONE).name
    names = layer_names(layers)
    PatchcoreModel = _anomalib()
    model = PatchcoreModel(layers=names, backbone=name, pre_trained=False, num_neighbors=num_neighbors)
    extractor = model.feature_extractor.feature_extractor
    ours = backbones.create(name, pretrained=True).state_dict()
    theirs = extractor.state_dict()
    missing = [k for k in theirs if k not in ours or ours[k].shape != theirs[k].shape]
    if missing:
        raise ModelError(f"anomalib's {name} does not match the studio's ({missing[:3]}...)",
                         hint="install matching versions of timm and anomalib")
    extractor.load_state_dict({k: ours[k] for k in theirs})
    return model.eval()


def fit(model, batches, ratio: float, report=None):
    """anomalib's PatchCore fit: collect embeddings (training mode), then its k-center-greedy coreset."""
    import torch

    model.train()
    model.feature_extractor.eval()
    with torch.no_grad():
        for i, x in enumerate(batches):
            if report is not None:
                report.check()
            model(x)
    if report is not None:
        report.status("anomalib k-center-greedy coreset (slow by design: one full pass per pick)")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.subsample_embedding(float(ratio))
    return model.eval()


def export_module(model):
    """image -> (score [N], anomaly_map [N, 1, S, S]): the studio's interface over anomalib's forward."""
    import torch

    def nearest_neighbors(embedding, n_neighbors: int):
        # anomalib's own search cuts more than 1,024 patches into chunks in a Python loop,
        # which the ONNX export traces with the example batch's sizes: a graph exported on 2
        # images of 256 px (2,048 patches) then fails on any other batch. The same distances
        # in one product trace with a free batch (the memory it costs: patches x bank floats).
        distances = model.euclidean_dist(embedding, model.memory_bank)
        if n_neighbors == 1:
            return distances.min(1)
        return distances.topk(k=n_neighbors, largest=False, dim=1)

    model.nearest_neighbors = nearest_neighbors

    class AnomalibPatchCore(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, image):
            out = self.model(image)
            return out.pred_score.reshape(-1), out.anomaly_map

    return AnomalibPatchCore().eval()


def score_images(module, x, batch_size: int = 16):
    """Scores and maps of preprocessed inputs (numpy) through the torch module."""
    import numpy as np
    import torch

    scores, maps = [], []
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            s, m = module(torch.from_numpy(x[i:i + batch_size]))
            scores.append(s.numpy())
            maps.append(m.numpy())
    if not scores:
        return np.zeros(0, np.float32), None
    return np.concatenate(scores), np.concatenate(maps)


def options_summary(opts: dict[str, Any]) -> dict[str, Any]:
    from studio.training import anomaly_levers

    levers = anomaly_levers.read(opts)
    return {"backend": "anomalib", "backbone": levers.backbone, "layers": layer_names(levers.layers),
            "coreset_ratio": opts["coreset_ratio"],
            "num_neighbors": opts.get("num_neighbors", 9)}
