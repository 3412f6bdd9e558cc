"""The project's images: files under ``images/`` and their records in ``dataset.json``.

A record keeps where the image came from (capture metadata or import
source), its split (``train`` / ``test``) and an optional ground-truth mask.
The manifest is rewritten atomically on every change.
"""
from __future__ import annotations

import datetime as _dt
import json
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np

from studio.core import png
from studio.core.atomic import atomic_write_bytes, atomic_write_json
from studio.core.errors import ProjectError, StudioError
from studio.core.migrations import FIELD, Migrator
from studio.core.problems import Problem
from studio.dataset.splits import assign as assign_split

MANIFEST = "dataset.json"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}
SPLITS = ("train", "test")
# 0: {"images": [...]} before schema_version; 1: schema_version added (same records)
SCHEMA_VERSION = 1
MIGRATOR = Migrator(MANIFEST, SCHEMA_VERSION)
MIGRATOR.step(0)(lambda d: d)
RESTORE = "restore dataset.json from a backup; the image files are untouched"


def _records_of(data: Any) -> list[ImageRecord]:
    """The records of a migrated manifest; ValueError saying what is wrong otherwise."""
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise ValueError("has no list of images")
    out = []
    for n, r in enumerate(data["images"]):
        if not isinstance(r, dict) or not isinstance(r.get("id"), str) or not isinstance(r.get("file"), str):
            raise ValueError(f"image record {n} is {r!r:.80}, not an object with id and file")
        out.append(ImageRecord.from_dict(r))
    return out


def check_file(root: str | Path) -> list[Problem]:
    """Every problem with ``dataset.json``: syntax, version, records, files it names that are missing."""
    root = Path(root)
    path = root / MANIFEST
    if not path.exists():
        return []
    file = str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        return [Problem(file, "(syntax)", f"is not valid JSON ({e})", RESTORE)]
    why = MIGRATOR.problem(data) if isinstance(data, dict) else "is not a JSON object"
    if why:
        return [Problem(file, FIELD if isinstance(data, dict) else "(top level)", why,
                        "open it with a newer Inspection Studio" if "newer" in why else RESTORE)]
    try:
        records = _records_of(data)
    except ValueError as e:
        return [Problem(file, "images", str(e), RESTORE)]
    out: list[Problem] = []
    seen: set[str] = set()
    for r in records:
        where = f"images[{r.id}]"
        if r.id in seen:
            out.append(Problem(file, where, "is listed twice", RESTORE))
        seen.add(r.id)
        if r.split not in SPLITS:
            out.append(Problem(file, f"{where}.split", f"is {r.split!r}, not train or test",
                               "set it to train or test"))
        if not (root / r.file).is_file():
            out.append(Problem(file, f"{where}.file", f"{r.file} is missing",
                               "restore the image from a backup, or remove the image on the Dataset page"))
        if r.mask and not (root / r.mask).is_file():
            out.append(Problem(file, f"{where}.mask", f"{r.mask} is missing",
                               "restore the mask from a backup, or set the record's mask to null"))
    return out


@dataclass
class ImageRecord:
    id: str
    file: str                       # relative to the project root
    split: str = "train"            # "train" or "test"
    source: str = "capture"         # "capture", "import:mvtec", "import:folders", ...
    added: str = ""
    mask: str | None = None         # relative path of a ground-truth mask, if any
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ImageRecord":
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in known})


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as uint8 (mono HxW or RGB HxWx3); clear error if unreadable."""
    path = Path(path)
    data = np.fromfile(str(path), dtype=np.uint8) if path.exists() else None
    if data is None:
        raise StudioError("image file not found", file=path, hint="check the path")
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise StudioError("cannot be decoded as an image (corrupt or not an image)", file=path,
                          hint="re-export the file or remove it from the folder")
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    if img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    elif img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return img


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of ``image`` (colour in RGB order): the studio's one encoder, studio/core/png.py."""
    try:
        return png.encode_png(image)
    except ValueError as e:
        raise StudioError(f"could not encode the image as PNG: {e}") from None


class Dataset:
    def __init__(self, root: Path, test_fraction: float = 0.3, seed: int = 0):
        self.root = Path(root)
        self.test_fraction = test_fraction
        self.seed = seed
        self._lock = threading.RLock()
        self._records: dict[str, ImageRecord] = {}
        self._disk_version: int | None = None      # the manifest's version when read
        self._load()

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def _load(self) -> None:
        if not self.manifest_path.exists():
            return
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ProjectError(f"image manifest is unreadable ({e})", file=self.manifest_path,
                               hint=RESTORE) from None
        if not isinstance(data, dict):
            raise ProjectError("image manifest is not a JSON object", file=self.manifest_path, hint=RESTORE)
        data, self._disk_version = MIGRATOR.migrate(data, self.manifest_path)
        try:
            records = _records_of(data)
        except (ValueError, TypeError) as e:
            raise ProjectError(f"image manifest is unreadable ({e})", file=self.manifest_path,
                               hint=RESTORE) from None
        self._records = {r.id: r for r in records}

    def save(self) -> None:
        with self._lock:
            MIGRATOR.backup(self.manifest_path, self._disk_version)     # dataset.json.v<N>.bak, once
            atomic_write_json(self.manifest_path, {FIELD: SCHEMA_VERSION,
                                                   "images": [asdict(r) for r in self._records.values()]})
            self._disk_version = SCHEMA_VERSION

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[ImageRecord]:
        return iter(list(self._records.values()))

    def get(self, image_id: str) -> ImageRecord:
        try:
            return self._records[image_id]
        except KeyError:
            raise StudioError(f"no image with id '{image_id}' in this project") from None

    def records(self, split: str | None = None) -> list[ImageRecord]:
        return [r for r in self._records.values() if split is None or r.split == split]

    def path(self, record: ImageRecord) -> Path:
        return self.root / record.file

    def load(self, record: ImageRecord) -> np.ndarray:
        return read_image(self.path(record))

    def load_mask(self, record: ImageRecord) -> np.ndarray | None:
        if not record.mask:
            return None
        m = read_image(self.root / record.mask)
        if m.ndim == 3:
            m = m[..., 0]
        return (m > 127).astype(np.uint8)

    def _new_id(self, stem: str) -> str:
        base = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in stem)[:60] or "img"
        candidate, n = base, 1
        while candidate in self._records:
            n += 1
            candidate = f"{base}_{n}"
        return candidate

    def add_image(self, image: np.ndarray, *, stem: str | None = None, split: str | None = None,
                  source: str = "capture", meta: dict[str, Any] | None = None,
                  mask: np.ndarray | None = None, save: bool = True,
                  file_bytes: bytes | None = None, file_suffix: str = ".png") -> ImageRecord:
        """Store ``image`` as PNG under ``images/`` and record it.

        ``file_bytes`` (an imported file, ``image`` its decoded pixels) are stored as they
        are, under the image id and ``file_suffix``: another tool's JPEG stays the same JPEG.
        """
        with self._lock:
            now = _dt.datetime.now()
            image_id = self._new_id(stem or now.strftime("%Y%m%d-%H%M%S-%f"))
            rel = f"images/{image_id}{file_suffix if file_bytes is not None else '.png'}"
            atomic_write_bytes(self.root / rel, file_bytes if file_bytes is not None else encode_png(image))
            mask_rel = None
            if mask is not None:
                mask_rel = f"masks/{image_id}.png"
                atomic_write_bytes(self.root / mask_rel, encode_png(((mask > 0) * 255).astype(np.uint8)))
            rec = ImageRecord(id=image_id, file=rel,
                              split=split or assign_split(self, image_id, meta),
                              source=source, added=now.isoformat(timespec="seconds"),
                              mask=mask_rel, meta=dict(meta or {}))
            self._records[image_id] = rec
            if save:
                self.save()
            return rec
