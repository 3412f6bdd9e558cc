"""Object detection: where the defects are, with ultralytics YOLO, offline.

The project's boxes (label shapes, importer boxes or the simulator's truth,
see ``data.image_boxes``) are written under the hood as a YOLO dataset of
*preprocessed* images (ROI crop, contrast, resize to the project's square
size), so YOLO learns on exactly what the station feeds the model. The model
is built from its yaml (``yolov8n.yaml``: random init, nothing downloaded) or
from a ``.pt`` file the user points to (``--option model=/path/best.pt``).
``YOLO_OFFLINE=1`` is set and ultralytics' font check (which would fetch
Arial.ttf) is bypassed: nothing leaves this PC.

The exported graph takes the studio's normalised ``image`` (it undoes the
ImageNet normalisation inside) and returns YOLO's raw ``detections``
[N, 4 + classes, anchors]: centre x, centre y, width, height in input pixels,
then one sigmoid score per defect class. Non-maximum suppression runs in
``studio.inference`` (a few lines of numpy), which maps the boxes back to
image pixels.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.errors import Cancelled, ModelError
from studio.dataset.preprocessing import box_to_input
from studio.labels import samples as labeled
from studio.training.options import merge_options

DEFAULTS: dict[str, Any] = {
    "model": "yolov8n.yaml",   # a YOLO yaml (random init) or the path of a .pt file to start from
    "epochs": 30,
    "batch_size": 16,
    "lr": 0.002,
    "mosaic": 1.0,             # YOLO's own augmentation; 0 for tiny sets
    "fliplr": 0.5,
    "flipud": 0.0,
    "conf": 0.25,              # box confidence kept by the station (and the default threshold)
    "iou": 0.5,                # non-maximum suppression overlap
    "seed": 0,
    "device": None,
}


def offline_ultralytics():
    """Import ultralytics with every network path closed; returns the ``YOLO`` class."""
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ.setdefault("YOLO_VERBOSE", "False")
    try:
        import ultralytics
        from ultralytics import YOLO
        import ultralytics.data.utils as data_utils
        import ultralytics.utils.checks as checks
    except ImportError:
        raise ModelError("object detection needs ultralytics, which is not installed",
                         hint="run installer/setup.sh again (or: pip install ultralytics)") from None
    # check_font would download Arial.ttf for plot labels; the studio draws its own plots
    no_font = lambda *a, **k: None  # noqa: E731
    data_utils.check_font = no_font
    checks.check_font = no_font
    ultralytics.utils.checks.check_font = no_font
    return YOLO


def write_yolo_dataset(project, folder: Path, splits: dict[str, list], classes: list[str], pre) -> Path:
    """Images (preprocessed, PNG) and YOLO label files for each split, and ``data.yaml``; returns its path."""
    from studio.core.atomic import atomic_write_bytes
    from studio.dataset.store import encode_png

    index = {name: i for i, name in enumerate(classes)}
    for split, samples in splits.items():
        (folder / "images" / split).mkdir(parents=True, exist_ok=True)
        (folder / "labels" / split).mkdir(parents=True, exist_ok=True)
        for s in samples:
            image = project.dataset.load(project.dataset.get(s.image_id))
            atomic_write_bytes(folder / "images" / split / f"{s.image_id}.png", encode_png(pre.prepare(image)))
            lines = []
            for name, box in s.boxes or []:
                x, y, w, h = box_to_input(box, image.shape, pre)
                if w < 1 or h < 1:
                    continue                   # outside the ROI
                S = float(pre.size)
                lines.append(f"{index[name]} {(x + w / 2) / S:.6f} {(y + h / 2) / S:.6f} {w / S:.6f} {h / S:.6f}")
            (folder / "labels" / split / f"{s.image_id}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
    names = "\n".join(f"  {i}: {name}" for i, name in enumerate(classes))
    data_yaml = folder / "data.yaml"
    data_yaml.write_text(f"path: {folder.as_posix()}\ntrain: images/train\nval: images/val\nnames:\n{names}\n")
    return data_yaml


def build_detector(det_model, normalize: str):
    """Wrap a YOLO DetectionModel: studio ``image`` in, raw ``detections`` [N, 4 + C, A] out."""
    import torch

    from studio.dataset.preprocessing import IMAGENET_MEAN, IMAGENET_STD

    for m in det_model.modules():            # the head returns only the decoded predictions
        if hasattr(m, "export") and hasattr(m, "format"):
            m.export, m.format = True, "onnx"
    mean = IMAGENET_MEAN if normalize == "imagenet" else np.zeros(3, np.float32)
    std = IMAGENET_STD if normalize == "imagenet" else np.ones(3, np.float32)

    class Detector(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.det = det_model
            self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))

        def forward(self, image):
            y = self.det(image * self.std + self.mean)
            return y[0] if isinstance(y, (list, tuple)) else y

    return Detector().eval()


def train_detection(project, options: dict[str, Any] | None, report) -> dict[str, Any]:
    """Train YOLO on the project's boxes, export ONNX + card; returns the card."""
    from studio.evaluation.metrics import average_precision, roc_auc
    from studio.training.export import card_fields, check_onnx, to_onnx, write_model

    t0 = time.monotonic()
    opts = merge_options(project, "detection", DEFAULTS, options)
    report.status("selecting images with boxes")
    train = labeled.detection_samples(project, "train")
    test = labeled.detection_samples(project, "test")
    n_boxes = sum(len(s.boxes) for s in train)
    if n_boxes == 0:
        raise ModelError(f"detection needs defect boxes in the train split; its {len(train)} labeled "
                         "images have none", hint="draw boxes around the defects on the Label page")
    defect_names = sorted({name for s in train for name, _ in s.boxes})
    order = {name: i for i, name in enumerate(project.criteria.class_names())}
    defect_names.sort(key=lambda n: (order.get(n, len(order)), n))
    test = [s for s in test if all(name in defect_names for name, _ in s.boxes)]
    report.status(f"{len(train)} training images with {n_boxes} boxes in {len(defect_names)} classes, "
                  f"{len(test)} test images")
    pre = project.preprocessing
    if pre.size % 32:
        raise ModelError(f"YOLO needs an input size that is a multiple of 32, not {pre.size}",
                         field="preprocessing.size", hint="set the project's preprocessing size to e.g. 256 or 640")
    YOLO = offline_ultralytics()
    import torch

    workdir = Path(tempfile.mkdtemp(prefix="yolo-", dir=project.runs_dir if project.runs_dir.is_dir() else None))
    try:
        report.status("writing the YOLO dataset")
        data_yaml = write_yolo_dataset(project, workdir / "data", {"train": train, "val": test or train},
                                       defect_names, pre)
        report.progress(0.05)
        source = str(opts["model"])
        if source.endswith(".pt"):
            if not Path(source).is_file():
                raise ModelError("the YOLO weights file does not exist", file=source, field="model",
                                 hint="point --option model= at a .pt file on this PC, or use yolov8n.yaml")
            yolo = YOLO(source)
        else:
            try:
                yolo = YOLO(source)
            except Exception as e:
                raise ModelError(f"cannot build YOLO from '{source}' ({e})", field="model",
                                 hint="use a YOLO yaml such as yolov8n.yaml or a .pt file") from None
        epochs = max(1, int(opts["epochs"]))

        def on_epoch(trainer) -> None:
            epoch = int(trainer.epoch) + 1
            loss = _total_loss(trainer.tloss)
            report.metric("loss", epoch, loss)
            report.progress(0.05 + 0.80 * epoch / epochs)
            report.status(f"epoch {epoch}/{epochs}: loss {loss:.4f}")
            try:
                report.check()
            except Cancelled:
                trainer.stop = True
                raise

        yolo.add_callback("on_train_epoch_end", on_epoch)
        device = opts.get("device") or ("cuda:0" if torch.cuda.is_available() else "cpu")
        report.status(f"training YOLO for {epochs} epochs on {device}")
        yolo.train(data=str(data_yaml), epochs=epochs, imgsz=pre.size, batch=max(2, int(opts["batch_size"])),
                   workers=0, device=device, plots=False, amp=False, val=False, pretrained=False,
                   optimizer="AdamW", lr0=float(opts["lr"]), warmup_epochs=min(3.0, epochs / 4),
                   mosaic=float(opts["mosaic"]), fliplr=float(opts["fliplr"]), flipud=float(opts["flipud"]),
                   close_mosaic=max(0, min(10, epochs // 3)), seed=int(opts["seed"]), deterministic=True,
                   project=str(workdir), name="train", exist_ok=True, verbose=False, save=True)
        val_metrics = getattr(yolo.trainer, "metrics", {}) or {}
        best = Path(getattr(yolo.trainer, "best", "") or "")
        weights = best.read_bytes() if best.is_file() else None
        det = yolo.model.float().cpu().eval()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    model = build_detector(det, pre.normalize)
    classes = ["good"] + defect_names
    x_train = labeled.load_inputs(project, train[:4], pre)
    x_test = labeled.load_inputs(project, test, pre)
    report.status("scoring the test split")
    from studio.inference.detections import decode_detections, map50

    with torch.no_grad():
        raw = (torch.cat([model(torch.from_numpy(x_test[i:i + 8])) for i in range(0, len(x_test), 8)]).numpy()
               if len(x_test) else np.zeros((0, 4 + len(defect_names), 0), np.float32))
    found = [decode_detections(r, conf=0.001, iou=float(opts["iou"])) for r in raw]
    scores = np.array([f[0]["score"] if f else 0.0 for f in found], dtype=np.float64)
    test_y = np.array([s.defective for s in test], dtype=bool)
    index = {name: i for i, name in enumerate(defect_names)}
    truths = []
    for s in test:
        shape = project.dataset.load(project.dataset.get(s.image_id)).shape
        truths.append([(index[name], box_to_input(box, shape, pre)) for name, box in s.boxes])
    metrics = {
        # as the station decodes it (our NMS on the ONNX graph's output), on the test split
        "map50": map50(found, truths, len(defect_names)),
        "yolo_map50": _num(val_metrics.get("metrics/mAP50(B)")),
        "yolo_map50_95": _num(val_metrics.get("metrics/mAP50-95(B)")),
        "box_precision": _num(val_metrics.get("metrics/precision(B)")),
        "box_recall": _num(val_metrics.get("metrics/recall(B)")),
        "image_auroc": roc_auc(test_y, scores),
        "average_precision": average_precision(test_y, scores),
        "n_test_defective": int(test_y.sum()),
        "n_train_boxes": n_boxes,
        "evaluated_on": "test split" if test else "train split (no test images with boxes)",
    }
    report.status("exporting to ONNX and checking it with ONNX Runtime")
    outputs = ["detections"]
    onnx_bytes = to_onnx(model, torch.from_numpy(x_train[:2]), outputs)
    check_inputs = np.concatenate([x_train[:3], x_test[:1]]) if len(x_test) else x_train[:4]
    max_diff = check_onnx(onnx_bytes, model, check_inputs, outputs)
    samples_used = train + test
    card = write_model(project, "detection", onnx_bytes, card_fields(
        project, task="detection", backbone=f"yolo:{Path(source).name}", classes=classes,
        threshold=float(opts["conf"]), metrics=metrics, n_train=len(train), n_test=len(test),
        dataset_digest=labeled.dataset_digest(samples_used), training_options=opts,
        seconds=time.monotonic() - t0, max_abs_diff=max_diff, outputs=outputs,
        samples={"train": [s.image_id for s in train], "test": [s.image_id for s in test]},
        detection={"conf": float(opts["conf"]), "iou": float(opts["iou"])}))
    if weights:       # to go on training from this model later: --option model=models/<id>/yolo.pt
        from studio.core.atomic import atomic_write_bytes

        atomic_write_bytes(project.models_dir / card["model_id"] / "yolo.pt", weights)
    report.progress(1.0)
    return card


def _total_loss(tloss) -> float:
    """ultralytics keeps the epoch's mean losses as a tensor or a dict of them, by version."""
    if isinstance(tloss, dict):
        tloss = list(tloss.values())
    try:
        return float(np.sum([float(np.sum(np.asarray(v.detach().cpu() if hasattr(v, "detach") else v)))
                             for v in (tloss if isinstance(tloss, (list, tuple)) else [tloss])]))
    except (TypeError, ValueError):
        return float("nan")


def _num(v) -> float | None:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None
