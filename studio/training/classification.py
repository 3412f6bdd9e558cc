"""Defect classification: which defect, or good, fine-tuned from ImageNet.

EfficientNet-Lite0 with ImageNet weights gets a new head over ``good`` plus
the defect classes that have labeled training images. Augmentation is light
(flips, a little brightness): parts on a line are fixtured and lit the same
way, so heavy augmentation would teach variation that never happens. The
loss is weighted by inverse class frequency because defects are rare.
The exported graph ends in a softmax: ``probabilities`` [N, C], index 0 = good.
"""
from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from studio.core.errors import ModelError
from studio.labels import samples as labeled
from studio.training.backbone import BACKBONE
from studio.training.options import merge_options

DEFAULTS: dict[str, Any] = {
    "epochs": 8,
    "batch_size": 16,
    "lr": 1e-3,
    "weight_decay": 1e-4,
    "backbone_lr_factor": 1.0,
    "brightness": 0.1,     # +- this much of full scale (overrides training.augmentation.brightness)
    "seed": 0,
    "device": None,        # "cpu" / "cuda"; default: the GPU when there is one
}


def build_softmax_model(net):
    import torch

    class Classifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, image):
            return torch.softmax(self.net(image), dim=1)

    return Classifier().eval()


def synthetic_inputs(project, samples, aug: dict[str, Any], count: int, seed: int) -> np.ndarray:
    """``count`` synthetic defect inputs pasted onto the given good images (preprocessed like the rest)."""
    from studio.dataset.preprocessing import IMAGENET_MEAN, IMAGENET_STD
    from studio.training.augment import synthetic_set

    pre = project.preprocessing
    goods = [pre.prepare(project.dataset.load(project.dataset.get(s.image_id))) for s in samples if not s.defective]
    made = synthetic_set(goods, count, aug["synthetic"], seed)
    out = np.empty((len(made), 3, pre.size, pre.size), np.float32)
    for i, (img, _) in enumerate(made):
        x = img.astype(np.float32) / 255.0
        if pre.normalize == "imagenet":
            x = (x - IMAGENET_MEAN) / IMAGENET_STD
        out[i] = x.transpose(2, 0, 1)
    return out


def train_classification(project, options: dict[str, Any] | None, report) -> dict[str, Any]:
    """Fine-tune, export ONNX + card; returns the card."""
    from studio.dataset.preprocessing import IMAGENET_STD
    from studio.evaluation.metrics import average_precision, roc_auc
    from studio.training.export import card_fields, check_onnx, to_onnx, write_model

    t0 = time.monotonic()
    opts = merge_options(project, "classification", DEFAULTS, options)
    report.status("selecting labeled training images")
    train, classes = labeled.classification_train(project)
    test = labeled.test_samples(project)
    report.status(f"{len(train)} training images in {len(classes)} classes ({', '.join(classes)}), "
                  f"{len(test)} test images")
    pre = project.preprocessing
    x_train = labeled.load_inputs(project, train, pre, report.sub(0.0, 0.04))
    x_test = labeled.load_inputs(project, test, pre, report.sub(0.04, 0.05))
    index = {name: i for i, name in enumerate(classes)}
    y_train = np.array([index[s.defect_class] if s.defective else 0 for s in train], dtype=np.int64)
    from studio.training.augment import augment_batch, options as augmentation_options

    aug = augmentation_options(project)
    if float(opts["brightness"]) != DEFAULTS["brightness"]:
        aug["brightness"] = float(opts["brightness"])
    synthetic = None
    if aug["synthetic"] != "none" and int(aug["synthetic_count"]) > 0 and len(classes) > 1:
        counts0 = np.bincount(y_train, minlength=len(classes))
        name = aug["synthetic_class"] or classes[1 + int(np.argmin(counts0[1:]))]
        if name not in index:
            raise ModelError(f"synthetic defects stand for class '{name}', which has no training images",
                             field="training.augmentation.synthetic_class",
                             hint=f"use one of: {', '.join(classes[1:])}")
        report.status(f"adding {aug['synthetic_count']} synthetic '{name}' defects ({aug['synthetic']})")
        xs = synthetic_inputs(project, train, aug, int(aug["synthetic_count"]), int(opts["seed"]))
        x_train = np.concatenate([x_train, xs])
        y_train = np.concatenate([y_train, np.full(len(xs), index[name], np.int64)])
        synthetic = {"kind": aug["synthetic"], "class": name, "n_train": int(len(xs))}
    report.progress(0.05)

    import torch

    from studio.training.backbone import efficientnet_lite0

    seed = int(opts["seed"])
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    device = torch.device(opts.get("device") or ("cuda" if torch.cuda.is_available() else "cpu"))
    net = efficientnet_lite0(pretrained=True, num_classes=len(classes))
    # timm scales its head init by 1/sqrt(classes): with a handful of classes the
    # first logits are huge and the first steps wreck the backbone. Start neutral.
    torch.nn.init.zeros_(net.get_classifier().weight)
    torch.nn.init.zeros_(net.get_classifier().bias)
    net = net.to(device)
    std = torch.tensor(IMAGENET_STD if pre.normalize == "imagenet" else np.ones(3, np.float32))
    counts = np.bincount(y_train, minlength=len(classes)).astype(np.float64)
    weights = torch.tensor(len(y_train) / (len(classes) * np.maximum(counts, 1)), dtype=torch.float32)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights.to(device))
    epochs, bs = max(1, int(opts["epochs"])), max(2, int(opts["batch_size"]))
    steps_per_epoch = max(1, math.ceil(len(x_train) / bs))
    total = epochs * steps_per_epoch
    # The ImageNet layers may learn slower than the new head (backbone_lr_factor < 1);
    # with the neutral head start, full-rate fine-tuning did best on NEU steel
    # (98% vs 90% at 0.1, 20 images a class, 8 epochs, 96 px).
    lr = float(opts["lr"])
    head = list(net.get_classifier().parameters())
    head_ids = {id(p) for p in head}
    body = [p for p in net.parameters() if id(p) not in head_ids]
    optimizer = torch.optim.AdamW([{"params": body, "lr": lr * float(opts["backbone_lr_factor"])},
                                   {"params": head, "lr": lr}], weight_decay=float(opts["weight_decay"]))
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    step, epoch_loss = 0, float("nan")
    report.status(f"fine-tuning for {epochs} epochs on {device.type}")
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(xt), generator=gen)
        losses = []
        for i in range(0, len(order), bs):
            batch = order[i:i + bs]
            if len(batch) < 2 and len(order) > 1:
                continue        # batch norm cannot train on a single image
            report.check()
            x, _ = augment_batch(xt[batch], None, aug, std, gen)
            x = x.to(device)
            loss = loss_fn(net(x), yt[batch].to(device))
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

    model = build_softmax_model(net.cpu().eval())
    with torch.no_grad():
        probs = (torch.cat([model(torch.from_numpy(x_test[i:i + bs])) for i in range(0, len(x_test), bs)]).numpy()
                 if len(x_test) else np.zeros((0, len(classes)), np.float32))
    test_y = np.array([s.defective for s in test], dtype=bool)
    defect_score = 1.0 - probs[:, 0] if len(probs) else np.zeros(0)
    known = [i for i, s in enumerate(test) if not s.defective or s.defect_class in index]
    truth = np.array([index[test[i].defect_class] if test[i].defective else 0 for i in known], dtype=np.int64)
    metrics = {
        "final_loss": epoch_loss if math.isfinite(epoch_loss) else None,
        "image_auroc": roc_auc(test_y, defect_score),
        "average_precision": average_precision(test_y, defect_score),
        "accuracy": float(np.mean(probs[known].argmax(1) == truth)) if known else None,
        "n_test_defective": int(test_y.sum()),
        "train_counts": {name: int(c) for name, c in zip(classes, counts)},
    }

    if synthetic is not None:
        # scored on their own, on good *test* images, never mixed into the real test metrics
        xs = synthetic_inputs(project, test, aug, min(50, sum(not s.defective for s in test)), int(opts["seed"]) + 1)
        if len(xs):
            with torch.no_grad():
                ps = model(torch.from_numpy(xs)).numpy()
            synthetic.update({"n_test": int(len(xs)), "recall": float(np.mean(1.0 - ps[:, 0] >= 0.5)),
                              "class_accuracy": float(np.mean(ps.argmax(1) == index[synthetic["class"]]))})
        metrics["synthetic"] = synthetic
    report.status("exporting to ONNX and checking it with ONNX Runtime")
    outputs = ["probabilities"]
    onnx_bytes = to_onnx(model, torch.from_numpy(x_train[:2]), outputs)
    max_diff = check_onnx(onnx_bytes, model, x_train[:4], outputs)
    card = write_model(project, "classification", onnx_bytes, card_fields(
        project, task="classification", backbone=BACKBONE, classes=classes, threshold=0.5,
        metrics=metrics, n_train=len(train), n_test=len(test),
        dataset_digest=labeled.dataset_digest(train + test), training_options=opts,
        seconds=time.monotonic() - t0, max_abs_diff=max_diff, outputs=outputs, augmentation=aug,
        samples={"train": [s.image_id for s in train], "test": [s.image_id for s in test]}))
    report.progress(1.0)
    return card
