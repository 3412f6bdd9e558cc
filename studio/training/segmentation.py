"""Segmentation: which pixels are defective, with a U-Net on the pretrained EfficientNet-Lite0.

The encoder is the ImageNet EfficientNet-Lite0 (``backbone.py``), tapped at
strides 2, 4, 8, 16 and 32; a light decoder upsamples step by step and
concatenates each skip, ending at full input resolution. Masks come from the
label shapes (boxes, polygons, brush) or the dataset's ground-truth masks
(``labels.samples.image_mask``); OK images teach "all good". Each defect pixel takes
its image's defect class, so the model answers per pixel: good or which
defect. Loss: cross-entropy plus soft Dice on "any defect" (defects are a
few percent of the pixels; Dice keeps them from being ignored).

The exported graph returns ``score`` [N] (the largest 3x3-averaged defect
probability: one noisy pixel does not reject a part) and ``class_map``
[N, C, S, S] (softmax over ``good`` + defect classes).
"""
from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from studio.core.errors import ModelError
from studio.dataset.preprocessing import mask_to_input
from studio.labels import samples as labeled
from studio.training.backbone import BACKBONE
from studio.training.options import merge_options

DEFAULTS: dict[str, Any] = {
    "epochs": 20,
    "batch_size": 8,
    "lr": 1e-3,
    "weight_decay": 1e-4,
    "decoder_channels": 32,
    "dice_weight": 1.0,
    "seed": 0,
    "device": None,
}


def build_unet(pretrained: bool = True, n_classes: int = 2, width: int = 32):
    import torch
    from torch import nn
    import torch.nn.functional as F

    from studio.training.backbone import efficientnet_lite0

    enc = efficientnet_lite0(pretrained=pretrained)

    def block(cin: int, cout: int) -> nn.Module:
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                             nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    class UNet(nn.Module):
        """Skips at stride 2 (16 ch), 4 (24), 8 (40), 16 (112); bottom at stride 32 (320)."""

        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(enc.conv_stem, enc.bn1)
            self.enc = nn.ModuleList([enc.blocks[0], enc.blocks[1], enc.blocks[2],
                                      nn.Sequential(*enc.blocks[3:5]), nn.Sequential(*enc.blocks[5:7])])
            skips = [16, 24, 40, 112]
            w = width
            self.dec = nn.ModuleList([block(320 + skips[3], 4 * w), block(4 * w + skips[2], 2 * w),
                                      block(2 * w + skips[1], w), block(w + skips[0], w)])
            self.final = nn.Sequential(block(w, w), nn.Conv2d(w, n_classes, 1))

        def forward(self, x):
            feats = []
            h = self.stem(x)
            for stage in self.enc:
                h = stage(h)
                feats.append(h)
            y = feats[-1]
            for dec, skip in zip(self.dec, reversed(feats[:-1])):
                y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
                y = dec(torch.cat([y, skip], 1))
            y = F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
            return self.final(y)

    return UNet()


def build_segmenter(unet):
    """The exported model: image -> (score [N], class_map [N, C, S, S])."""
    import torch
    import torch.nn.functional as F

    class Segmenter(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.unet = unet

        def forward(self, image):
            probs = torch.softmax(self.unet(image), dim=1)
            defect = F.avg_pool2d(1.0 - probs[:, :1], 3, stride=1, padding=1, count_include_pad=False)
            return defect.flatten(1).max(dim=1).values, probs

    return Segmenter().eval()


def dice(pred: np.ndarray, truth: np.ndarray) -> float | None:
    """Dice of two boolean masks; None when both are empty (nothing to find, nothing found)."""
    inter = float(np.logical_and(pred, truth).sum())
    total = float(pred.sum() + truth.sum())
    return None if total == 0 else 2.0 * inter / total


def _targets(project, samples, index: dict[str, int], pre) -> np.ndarray:
    current = project.labels.current()
    out = np.zeros((len(samples), pre.size, pre.size), np.int64)
    for i, s in enumerate(samples):
        record = project.dataset.get(s.image_id)
        mask = labeled.image_mask(project, record, current.get(s.image_id))
        if mask is not None and s.defective:
            out[i] = mask_to_input(mask, pre).astype(np.int64) * index.get(s.defect_class or "", 1)
    return out


def train_segmentation(project, options: dict[str, Any] | None, report) -> dict[str, Any]:
    """Train the U-Net on the project's masks, export ONNX + card; returns the card."""
    from studio.dataset.preprocessing import IMAGENET_STD
    from studio.evaluation.metrics import average_precision, roc_auc
    from studio.training.augment import augment_batch, options as augmentation_options
    from studio.training.export import card_fields, check_onnx, to_onnx, write_model

    t0 = time.monotonic()
    opts = merge_options(project, "segmentation", DEFAULTS, options)
    report.status("selecting images with masks")
    train = labeled.segmentation_samples(project, "train")
    test = labeled.segmentation_samples(project, "test")
    if not any(s.defective for s in train):
        raise ModelError(f"segmentation needs defective training images with a mask; the {len(train)} "
                         "usable training images have none",
                         hint="paint the defects on the Label page, or import a data set with masks")
    defect_names = sorted({s.defect_class or "defect" for s in train if s.defective})
    order = {name: i for i, name in enumerate(project.criteria.class_names())}
    defect_names.sort(key=lambda n: (order.get(n, len(order)), n))
    classes = ["good"] + defect_names
    index = {name: i for i, name in enumerate(classes)}
    index[""] = 1
    test = [s for s in test if not s.defective or (s.defect_class or "defect") in index]
    report.status(f"{len(train)} training images ({sum(s.defective for s in train)} with defects), "
                  f"{len(test)} test images, classes {', '.join(classes)}")
    pre = project.preprocessing
    x_train = labeled.load_inputs(project, train, pre, report.sub(0.0, 0.04))
    x_test = labeled.load_inputs(project, test, pre, report.sub(0.04, 0.05))
    y_train = _targets(project, train, index, pre)
    y_test = _targets(project, test, index, pre)

    import torch
    import torch.nn.functional as F

    seed = int(opts["seed"])
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    device = torch.device(opts.get("device") or ("cuda" if torch.cuda.is_available() else "cpu"))
    unet = build_unet(True, len(classes), int(opts["decoder_channels"])).to(device)
    pixel_freq = np.bincount(y_train.ravel(), minlength=len(classes)).astype(np.float64)
    weights = torch.tensor(np.sqrt(pixel_freq.sum() / (len(classes) * np.maximum(pixel_freq, 1))), dtype=torch.float32)
    ce = torch.nn.CrossEntropyLoss(weight=weights.to(device))
    epochs, bs = max(1, int(opts["epochs"])), max(2, int(opts["batch_size"]))
    total = epochs * max(1, math.ceil(len(x_train) / bs))
    optimizer = torch.optim.AdamW(unet.parameters(), lr=float(opts["lr"]), weight_decay=float(opts["weight_decay"]))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=float(opts["lr"]), total_steps=total,
                                                   pct_start=0.15)
    aug = augmentation_options(project)
    std = torch.tensor(IMAGENET_STD if pre.normalize == "imagenet" else np.ones(3, np.float32))
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    step, epoch_loss = 0, float("nan")
    report.status(f"training the U-Net for {epochs} epochs on {device.type}")
    for epoch in range(epochs):
        unet.train()
        losses = []
        order = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(order), bs):
            batch = order[i:i + bs]
            if len(batch) < 2 and len(order) > 1:
                continue
            report.check()
            x, y = augment_batch(xt[batch], yt[batch], aug, std, gen)
            x, y = x.to(device), y.to(device)
            logits = unet(x)
            defect = 1.0 - torch.softmax(logits, 1)[:, 0]
            target = (y > 0).float()
            soft_dice = 1.0 - (2 * (defect * target).sum() + 1.0) / (defect.sum() + target.sum() + 1.0)
            loss = ce(logits, y) + float(opts["dice_weight"]) * soft_dice
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            losses.append(loss.item())
            report.metric("loss", step, losses[-1])
            report.progress(0.05 + 0.80 * step / total)
        epoch_loss = float(np.mean(losses)) if losses else float("nan")
        report.metric("epoch_loss", epoch + 1, epoch_loss)
        report.status(f"epoch {epoch + 1}/{epochs}: loss {epoch_loss:.4f}")

    model = build_segmenter(unet.cpu().eval())
    report.status("scoring the test split")
    with torch.no_grad():
        parts = [model(torch.from_numpy(x_test[i:i + bs])) for i in range(0, len(x_test), bs)]
    scores = torch.cat([p[0] for p in parts]).numpy() if parts else np.zeros(0, np.float32)
    probs = torch.cat([p[1] for p in parts]).numpy() if parts else np.zeros((0, len(classes), 1, 1), np.float32)
    test_y = np.array([s.defective for s in test], dtype=bool)
    pred_masks = (1.0 - probs[:, 0]) >= 0.5 if len(probs) else np.zeros((0,), bool)
    dices = [dice(pred_masks[i], y_test[i] > 0) for i in range(len(test)) if test[i].defective]
    inter = float(sum(np.logical_and(pred_masks[i], y_test[i] > 0).sum() for i in range(len(test))))
    union_sum = float(sum(pred_masks[i].sum() + (y_test[i] > 0).sum() for i in range(len(test))))
    metrics = {
        "final_loss": epoch_loss if math.isfinite(epoch_loss) else None,
        "dice": (2 * inter / union_sum) if union_sum else None,          # over all test pixels
        "mean_image_dice": float(np.mean([d for d in dices if d is not None])) if any(d is not None for d in dices) else None,
        "image_auroc": roc_auc(test_y, scores),
        "average_precision": average_precision(test_y, scores),
        "n_test_defective": int(test_y.sum()),
    }
    report.status("exporting to ONNX and checking it with ONNX Runtime")
    outputs = ["score", "class_map"]
    onnx_bytes = to_onnx(model, torch.from_numpy(x_train[:2]), outputs)
    check_inputs = np.concatenate([x_train[:3], x_test[:1]]) if len(x_test) else x_train[:4]
    max_diff = check_onnx(onnx_bytes, model, check_inputs, outputs)
    card = write_model(project, "segmentation", onnx_bytes, card_fields(
        project, task="segmentation", backbone=f"unet:{BACKBONE}", classes=classes, threshold=0.5,
        metrics=metrics, n_train=len(train), n_test=len(test),
        dataset_digest=labeled.dataset_digest(train + test), training_options=opts,
        seconds=time.monotonic() - t0, max_abs_diff=max_diff, outputs=outputs, augmentation=aug,
        samples={"train": [s.image_id for s in train], "test": [s.image_id for s in test]}))
    report.progress(1.0)
    return card
