"""Quality on real industrial images (../shared/data), through the studio's own trainers.

Each run builds a scratch project (images imported with their labels, boxes
or masks, an explicit split), trains with the real trainer in this process
and prints the card's metrics as JSON. Runs:

* ``neu-classification``: NEU surface defects (neu_det/IMAGES, 6 classes,
  the class in the file name), stratified 80/20 split; accuracy on the 20 %.
* ``mt-segmentation``: magnetic tiles with their pixel masks; U-Net Dice on held-out tiles.
* ``neudet-detection``: NEU-DET boxes (VOC XML), YOLO from ``yolov8n.yaml`` (no
  pretrained weights anywhere on this PC), mAP50 on NEU-DET's validation images.
* magnetic-tile anomaly detection vs anomalib: see ``anomaly_benchmark.py``.

    nice -n 10 .venv/bin/python benchmarks/quality_runs.py neu-classification [--size 128] [--epochs 5]
    nice -n 10 .venv/bin/python benchmarks/quality_runs.py mt-segmentation [--size 192] [--epochs 8]
    nice -n 10 .venv/bin/python benchmarks/quality_runs.py neudet-detection [--size 192] [--epochs 20]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("YOLO_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = Path(os.environ.get("STUDIO_SHARED_DATA", REPO.parent / "shared" / "data"))


class PrintReport:
    """A training report that prints status lines with the time since start."""

    def __new__(cls):
        from studio.training.report import Report

        class _R(Report):
            t0 = time.monotonic()

            def status(self, text):
                print(f"[{time.monotonic() - self.t0:7.1f} s] {text}", file=sys.stderr, flush=True)

        return _R()


def new_project(root: Path, size: int, classes: list[str]):
    from studio.project import Project

    project = Project.create(root)
    project.settings["preprocessing"]["size"] = size
    project.save()
    for name in classes:
        project.criteria.add_class(name)
    project.save_criteria()
    return project


def stratified(items: list[tuple[Path, str]], test_fraction: float, seed: int = 0) -> dict[Path, str]:
    import numpy as np

    rng = np.random.default_rng(seed)
    out = {}
    for cls in sorted({c for _, c in items}):
        paths = sorted(p for p, c in items if c == cls)
        test = set(rng.choice(len(paths), int(round(len(paths) * test_fraction)), replace=False).tolist())
        out.update({p: "test" if i in test else "train" for i, p in enumerate(paths)})
    return out


def neu_classification(args) -> dict:
    from studio.dataset.store import read_image
    from studio.training.classification import train_classification

    files = sorted((DATA / "neu_det" / "IMAGES").glob("*.jpg"))
    items = [(p, p.stem.rsplit("_", 1)[0]) for p in files]
    classes = sorted({c for _, c in items})
    split = stratified(items, 0.2)
    with tempfile.TemporaryDirectory() as tmp:
        project = new_project(Path(tmp) / "neu", args.size, classes)
        for p, c in items:
            rec = project.dataset.add_image(read_image(p), stem=p.stem, split=split[p], source="import:neu", save=False)
            project.labels.add(rec.id, "ng", c)
        project.dataset.save()
        card = train_classification(project, {"epochs": args.epochs, "batch_size": 32}, PrintReport())
    return {"run": "neu-classification", "images": len(items), "classes": classes, "size": args.size,
            "epochs": args.epochs, "seconds": card["seconds"], "accuracy": card["metrics"]["accuracy"],
            "n_test": card["data"]["n_test"], "onnx_max_abs_diff": card["onnx_check"]["max_abs_diff"]}


def mt_segmentation(args) -> dict:
    import numpy as np

    from studio.dataset.store import read_image
    from studio.training.segmentation import train_segmentation

    root = DATA / "magnetic_tile"
    bad = [(p, d.name[3:].lower()) for d in sorted(root.glob("MT_*")) if d.name != "MT_Free"
           for p in sorted((d / "Imgs").glob("*.jpg"))]
    free = sorted((root / "MT_Free" / "Imgs").glob("*.jpg"))[::max(1, 952 // args.free)][:args.free]
    items = bad + [(p, "free") for p in free]
    split = stratified(items, 0.25)
    with tempfile.TemporaryDirectory() as tmp:
        project = new_project(Path(tmp) / "mt", args.size, ["defect"])
        for p, c in items:
            mask = read_image(p.with_suffix(".png")) if c != "free" else None
            if mask is not None and mask.ndim == 3:
                mask = mask[..., 0]
            rec = project.dataset.add_image(read_image(p), stem=p.stem, split=split[p], source="import:mt",
                                            mask=None if mask is None else (mask > 127).astype(np.uint8), save=False)
            project.labels.add(rec.id, "ok" if c == "free" else "ng", None if c == "free" else "defect")
        project.dataset.save()
        card = train_segmentation(project, {"epochs": args.epochs, "batch_size": 8}, PrintReport())
    m = card["metrics"]
    return {"run": "mt-segmentation", "images": len(items), "size": args.size, "epochs": args.epochs,
            "seconds": card["seconds"], "dice": m["dice"], "mean_image_dice": m["mean_image_dice"],
            "image_auroc": m["image_auroc"], "n_test": card["data"]["n_test"],
            "onnx_max_abs_diff": card["onnx_check"]["max_abs_diff"]}


def _voc_boxes(xml_path: Path) -> list[dict]:
    tree = ET.parse(xml_path)
    out = []
    for obj in tree.findall("object"):
        b = obj.find("bndbox")
        x0, y0, x1, y1 = (float(b.find(k).text) for k in ("xmin", "ymin", "xmax", "ymax"))
        out.append({"type": "box", "class": obj.find("name").text.strip(), "x": x0, "y": y0, "w": x1 - x0, "h": y1 - y0})
    return out


def neudet_detection(args) -> dict:
    from studio.dataset.store import read_image
    from studio.training.detection import train_detection

    base = DATA / "neu_det"
    train_files = sorted((base / "IMAGES").glob("*.jpg"))[::args.every]
    test_files = sorted((base / "Validation_Images").glob("*.jpg"))
    plan = [(p, base / "ANNOTATIONS" / f"{p.stem}.xml", "train") for p in train_files] + \
           [(p, base / "Validation_Annotations" / f"{p.stem}.xml", "test") for p in test_files]
    classes = sorted({p.stem.rsplit("_", 1)[0] for p, _, _ in plan})
    with tempfile.TemporaryDirectory() as tmp:
        project = new_project(Path(tmp) / "det", args.size, classes)
        for p, xml, split in plan:
            if not xml.exists():
                continue
            boxes = _voc_boxes(xml)
            rec = project.dataset.add_image(read_image(p), stem=f"{split}_{p.stem}", split=split,
                                            source="import:neu-det", save=False)
            project.labels.add(rec.id, "ng", boxes[0]["class"], shapes=boxes)
        project.dataset.save()
        card = train_detection(project, {"epochs": args.epochs, "batch_size": 16, "mosaic": 1.0}, PrintReport())
    m = card["metrics"]
    return {"run": "neudet-detection", "train_images": card["data"]["n_train"], "test_images": card["data"]["n_test"],
            "size": args.size, "epochs": args.epochs, "seconds": card["seconds"], "map50": m["map50"],
            "yolo_map50": m["yolo_map50"], "onnx_max_abs_diff": card["onnx_check"]["max_abs_diff"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", choices=["neu-classification", "mt-segmentation", "neudet-detection"])
    ap.add_argument("--size", type=int)
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--free", type=int, default=150, help="mt-segmentation: good tiles added")
    ap.add_argument("--every", type=int, default=1, help="neudet-detection: every n-th training image")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(2)
    defaults = {"neu-classification": (128, 5), "mt-segmentation": (192, 8), "neudet-detection": (192, 20)}
    size, epochs = defaults[args.run]
    args.size, args.epochs = args.size or size, args.epochs or epochs
    fn = {"neu-classification": neu_classification, "mt-segmentation": mt_segmentation,
          "neudet-detection": neudet_detection}[args.run]
    print(json.dumps(fn(args)), flush=True)


if __name__ == "__main__":
    main()
