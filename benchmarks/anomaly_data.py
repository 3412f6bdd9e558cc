"""Anomaly benchmark data sets from ``../shared/data``, with ground-truth masks for localisation.

* ``magnetic_tile``: train on good tiles (``MT_Free``, every k-th), test on
  other good tiles plus the defective ones; each ``Imgs/X.jpg`` has a mask
  ``Imgs/X.png`` (grey values, thresholded at 128).
* ``deeppcb``: DeepPCB pairs are an aligned defect-free template
  (``*_temp.jpg``) and a tested image (``*_test.jpg``) with boxes
  (``x1,y1,x2,y2,type``; the files use spaces or commas). Train on the
  templates of every k-th pair; test on the *held-out* pairs only: their
  templates as good parts and their tested images as defective ones (a test
  image's own template is never in the bank, so the model cannot simply
  recall the same board position). Boxes are filled to make the mask: a box
  is larger than its defect, so the pixel metrics on DeepPCB are a lower
  bound (good copper inside a box counts as missed).

Benchmark-only: the product takes its images from a project, not from these
folders. Each test case knows its defect classes, so recall can be reported
per class.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEEPPCB_TYPES = {1: "open", 2: "short", 3: "mousebite", 4: "spur", 5: "copper", 6: "pin-hole"}


def shared_data() -> Path:
    return Path(os.environ.get("STUDIO_SHARED_DATA", REPO.parent / "shared" / "data"))


@dataclass(frozen=True)
class Case:
    """One image of an anomaly benchmark: its path, its defect classes (empty = good) and its mask source."""

    path: Path
    kinds: tuple[str, ...] = ()
    mask_path: Path | None = None                       # magnetic tile: a grey mask image
    boxes: tuple[tuple[int, int, int, int], ...] = field(default=())   # DeepPCB: filled boxes

    @property
    def defective(self) -> bool:
        return bool(self.kinds)

    def mask(self, shape: tuple[int, int]) -> np.ndarray:
        """The ground-truth mask at the image's own size ``(h, w)``, bool."""
        m = np.zeros(shape, bool)
        if self.mask_path is not None:
            import cv2

            grey = cv2.imread(str(self.mask_path), cv2.IMREAD_GRAYSCALE)
            if grey is None:
                raise FileNotFoundError(f"cannot read the mask {self.mask_path}")
            if grey.shape != tuple(shape):
                grey = cv2.resize(grey, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
            m = grey >= 128
        for x1, y1, x2, y2 in self.boxes:
            m[max(0, y1):max(0, y2), max(0, x1):max(0, x2)] = True
        return m


@dataclass
class Split:
    name: str
    train: list[Path]
    test: list[Case]

    @property
    def classes(self) -> list[str]:
        return sorted({k for c in self.test for k in c.kinds})


def _spread(items: list, n: int) -> list:
    """``n`` items evenly spread over the list (all of them when it is shorter)."""
    if n <= 0 or not items:
        return []
    if n >= len(items):
        return list(items)
    idx = np.linspace(0, len(items) - 1, n).round().astype(int)
    return [items[i] for i in sorted(set(idx.tolist()))]


def _train_rest(items: list, n_train: int) -> tuple[list, list]:
    chosen = set(np.linspace(0, len(items) - 1, n_train).round().astype(int).tolist()) if n_train else set()
    return [p for i, p in enumerate(items) if i in chosen], [p for i, p in enumerate(items) if i not in chosen]


def magnetic_tile(n_train: int, n_test_good: int, n_test_defective: int | None = None,
                  root: Path | None = None) -> Split:
    """Good tiles spread over ``MT_Free`` train; other good tiles and the defective ones test.

    ``n_test_defective`` (default: all) keeps the same share of each class."""
    data = (root or shared_data()) / "magnetic_tile"
    good = sorted((data / "MT_Free" / "Imgs").glob("*.jpg"))
    if not good:
        raise FileNotFoundError(f"no magnetic tile images under {data} (set STUDIO_SHARED_DATA)")
    train, rest = _train_rest(good, n_train)
    test = [Case(p, (), p.with_suffix(".png") if p.with_suffix(".png").exists() else None)
            for p in _spread(rest, n_test_good)]
    classes = sorted(d for d in data.glob("MT_*") if d.name != "MT_Free")
    total = sum(len(list((d / "Imgs").glob("*.jpg"))) for d in classes)
    for d in classes:
        files = sorted((d / "Imgs").glob("*.jpg"))
        keep = len(files) if n_test_defective is None else max(1, round(len(files) * n_test_defective / total))
        test += [Case(p, (d.name.removeprefix("MT_"),), p.with_suffix(".png")) for p in _spread(files, keep)]
    return Split("magnetic_tile", train, test)


def read_boxes(path: Path) -> list[tuple[int, int, int, int, int]]:
    """A DeepPCB annotation file: one ``x1 y1 x2 y2 type`` a line (spaces or commas)."""
    boxes = []
    for line in Path(path).read_text().splitlines():
        parts = [p for p in re.split(r"[,\s]+", line.strip()) if p]
        if not parts:
            continue
        if len(parts) != 5:
            raise ValueError(f"{path}: '{line}' is not x1,y1,x2,y2,type")
        x1, y1, x2, y2, kind = (int(float(v)) for v in parts)
        boxes.append((x1, y1, x2, y2, kind))
    return boxes


def deeppcb_pairs(root: Path | None = None) -> list[tuple[Path, Path, Path]]:
    """(template, tested image, boxes) for every pair listed in ``trainval.txt`` that is on disk."""
    data = (root or shared_data()) / "deeppcb"
    listing = data / "trainval.txt"
    if not listing.exists():
        raise FileNotFoundError(f"no DeepPCB listing at {listing} (set STUDIO_SHARED_DATA)")
    pairs = []
    for line in listing.read_text().splitlines():
        parts = line.split()
        if len(parts) != 2:
            continue
        image, boxes = data / parts[0], data / parts[1]
        stem = image.with_suffix("")
        temp, test = stem.with_name(stem.name + "_temp.jpg"), stem.with_name(stem.name + "_test.jpg")
        if temp.exists() and test.exists() and boxes.exists():
            pairs.append((temp, test, boxes))
    if not pairs:
        raise FileNotFoundError(f"no DeepPCB pairs on disk under {data}")
    return pairs


def deeppcb(n_train: int, n_test_good: int, n_test_defective: int, root: Path | None = None) -> Split:
    """Templates of every k-th pair train; held-out pairs give good templates and defective images."""
    pairs = deeppcb_pairs(root)
    if n_train >= len(pairs):
        raise ValueError(f"DeepPCB has {len(pairs)} pairs: train on fewer than that to keep some for the test")
    train_pairs, held = _train_rest(pairs, n_train)
    test = [Case(temp) for temp, _, _ in _spread(held, n_test_good)]
    # the defective images come from the held-out pairs in between the good ones' pairs
    offset = held[len(held) // (2 * max(1, n_test_defective)):] if n_test_defective < len(held) else held
    for _, image, boxes_file in _spread(offset, n_test_defective):
        boxes = read_boxes(boxes_file)
        kinds = tuple(sorted({DEEPPCB_TYPES.get(b[4], f"type{b[4]}") for b in boxes}))
        test.append(Case(image, kinds or ("unlabelled",), None, tuple(b[:4] for b in boxes)))
    return Split("deeppcb", [temp for temp, _, _ in train_pairs], test)


def load_split(name: str, n_train: int, n_test_good: int, n_test_defective: int | None) -> Split:
    if name == "magnetic_tile":
        return magnetic_tile(n_train, n_test_good, n_test_defective)
    if name == "deeppcb":
        return deeppcb(n_train, n_test_good, 150 if n_test_defective is None else n_test_defective)
    raise ValueError(f"unknown data set '{name}': magnetic_tile or deeppcb")
