"""Bring existing image sets into a project, labels included.

Formats are registered by name (``IMPORTERS``). Every importer skips what it
cannot read (a corrupt image, an unreadable mask), reports it in the
``ImportReport`` and imports the rest. An imported file keeps its name and
its bytes (a JPEG stays the same JPEG); a name already taken in the project
gets ``_2``, ``_3``... and is listed in ``ImportReport.renamed``. A label
file that cannot be parsed is an error naming the file and line: its image
is never imported as a good part.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from studio.core.errors import ImportProblem, StudioError
from studio.core.registry import Registry
from studio.core.task import TaskContext, null_task
from studio.dataset.store import IMAGE_SUFFIXES, read_image

if TYPE_CHECKING:
    from studio.project import Project

GOOD_NAMES = {"good", "ok", "pass", "normal", "accept", "free"}

IMPORTERS = Registry("import format")
IMPORTERS.register("mvtec", "studio.interchange.importers:import_mvtec")
IMPORTERS.register("folders", "studio.interchange.importers:import_folders")
IMPORTERS.register("coco", "studio.interchange.coco:import_coco")
IMPORTERS.register("voc", "studio.interchange.voc:import_voc")
IMPORTERS.register("yolo", "studio.interchange.yolo:import_yolo")


@dataclass
class ImportReport:
    imported: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (file, reason)
    classes_added: list[str] = field(default_factory=list)
    attached: int = 0      # labels given to images already in the project (same pixels)
    renamed: list[tuple[str, str]] = field(default_factory=list)   # (file, stored name): a name clash

    def to_dict(self) -> dict:
        return {"imported": self.imported, "attached": self.attached,
                "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
                "classes_added": self.classes_added,
                "renamed": [{"file": f, "stored_as": n} for f, n in self.renamed]}


@dataclass
class _Item:
    path: Path
    verdict: str                 # "ok" / "ng"
    defect_class: str | None
    split: str | None
    mask_path: Path | None = None
    shapes: list[dict] = field(default_factory=list)   # boxes / polygons in image pixels
    masks: list[tuple[str | None, object]] = field(default_factory=list)   # (class, bool array): brush masks


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _is_good(name: str) -> bool:
    return name.lower() in GOOD_NAMES or name.lower().endswith("_free")


def import_images(project: "Project", source: str, items: list[_Item], *, labeler: str,
                  task: TaskContext | None = None) -> ImportReport:
    """Store ``items`` in ``project`` with their labels; the shared part of every importer."""
    task = task or null_task()
    report = ImportReport()
    criteria = project.criteria
    used = {i.defect_class for i in items if i.defect_class}
    used |= {s.get("class") for i in items for s in i.shapes if s.get("class")}
    used |= {c for i in items for c, _ in i.masks if c}
    new_classes = sorted(used - set(criteria.class_names()))
    if new_classes:
        for name in new_classes:
            criteria.add_class(name, definition=f"Imported from {source}.")
        criteria.new_version("studio", f"classes added by import: {', '.join(new_classes)}")
        project.save_criteria()
        report.classes_added = new_classes
    index: dict[str, str] | None = None
    try:
        for n, item in enumerate(items):
            task.check()
            try:
                data = item.path.read_bytes()
                image = read_image(item.path)
                mask = None
                if item.mask_path is not None:
                    m = read_image(item.mask_path)
                    mask = (m if m.ndim == 2 else m[..., 0]) > 127
            except StudioError as e:
                report.skipped.append((str(item.path), e.message))
                continue
            except OSError as e:
                report.skipped.append((str(item.path), f"cannot be read ({e.strerror or e})"))
                continue
            digest = pixel_digest(image)
            if index is None:
                from studio.labels.store import is_prelabel

                # a named labeler's import is usually a second opinion on images already here:
                # then images without a recorded digest are read once to find them
                index = _pixel_index(project, read_unrecorded=not is_prelabel(labeler))
            if digest in index:
                # the same image is already here: these are another labeler's labels on it
                rec = project.dataset.get(index[digest])
                report.attached += 1
            else:
                # the file keeps its name and its bytes (no re-encoding); only a clash with an image
                # already in the project changes the stored name, and the report says so
                rec = project.dataset.add_image(image, stem=item.path.stem, split=item.split,
                                                source=f"import:{source}",
                                                meta={"original": str(item.path), "original_name": item.path.name,
                                                      "pixel_sha1": digest},
                                                mask=mask, save=False, file_bytes=data, file_suffix=item.path.suffix)
                if Path(rec.file).name != item.path.name:
                    report.renamed.append((str(item.path), Path(rec.file).name))
                report.imported += 1      # (identical files within one source stay separate parts)
            shapes = list(item.shapes)
            if item.masks:
                from studio.labels.shapes import save_mask

                shapes += [{"type": "mask", "class": c, "file": save_mask(project.root, m)}
                           for c, m in item.masks]
            project.labels.add(rec.id, item.verdict, item.defect_class, labeler=labeler,
                               criteria_version=criteria.version, shapes=shapes, fsync=False)
            task.progress((n + 1) / max(1, len(items)))
    finally:
        project.dataset.save()
        project.labels.sync()
    return report


def pixel_digest(image) -> str:
    import hashlib

    import numpy as np

    a = np.ascontiguousarray(image)
    return hashlib.sha1(repr(a.shape).encode() + a.tobytes()).hexdigest()


def _pixel_index(project: "Project", read_unrecorded: bool = True) -> dict[str, str]:
    """Pixel digest -> image id of the project's images (read from disk where not recorded, if asked)."""
    out: dict[str, str] = {}
    for rec in project.dataset:
        digest = rec.meta.get("pixel_sha1")
        if not digest and not read_unrecorded:
            continue
        if not digest:
            try:
                digest = pixel_digest(project.dataset.load(rec))
            except StudioError:
                continue
        out.setdefault(digest, rec.id)
    return out


def import_mvtec(project: "Project", src: str | Path, *, labeler: str = "import:mvtec",
                 task: TaskContext | None = None) -> ImportReport:
    """MVTec AD layout: train/good, test/<defect|good>, ground_truth/<defect>/<stem>_mask.png."""
    root = Path(src)
    if not (root / "train").is_dir() and not (root / "test").is_dir():
        raise ImportProblem("is not in the MVTec AD layout (no train/ or test/ folder)", file=root,
                            hint="point to the category folder that holds train/good and test/<defect>")
    items: list[_Item] = []
    if (root / "train").is_dir():
        for sub in sorted(p for p in (root / "train").iterdir() if p.is_dir()):
            for img in _images_in(sub):
                good = _is_good(sub.name)
                items.append(_Item(img, "ok" if good else "ng", None if good else sub.name, "train"))
    if (root / "test").is_dir():
        for sub in sorted(p for p in (root / "test").iterdir() if p.is_dir()):
            good = _is_good(sub.name)
            for img in _images_in(sub):
                mask = root / "ground_truth" / sub.name / f"{img.stem}_mask.png"
                items.append(_Item(img, "ok" if good else "ng", None if good else sub.name, "test",
                                   mask if (not good and mask.exists()) else None))
    if not items:
        raise ImportProblem("holds no images in train/ or test/", file=root,
                            hint="check that the images are .png/.jpg/.bmp/.tif files")
    return import_images(project, "mvtec", items, labeler=labeler, task=task)


def import_folders(project: "Project", src: str | Path, *, labeler: str = "import:folders",
                   task: TaskContext | None = None) -> ImportReport:
    """One sub-folder per class; 'good'/'ok' folders are OK parts, the rest name defect classes."""
    root = Path(src)
    if not root.is_dir():
        raise ImportProblem("is not a folder", file=root, hint="give the folder holding one sub-folder per class")
    items: list[_Item] = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        good = _is_good(sub.name)
        for img in _images_in(sub):
            items.append(_Item(img, "ok" if good else "ng", None if good else sub.name, None))
    if not items:
        raise ImportProblem("has no class sub-folders with images", file=root,
                            hint="arrange the images as SRC/<class>/<image>, e.g. SRC/good, SRC/scratch")
    return import_images(project, "folders", items, labeler=labeler, task=task)


def run_import(project: "Project", fmt: str, src: str | Path, *, labeler: str | None = None,
               task: TaskContext | None = None) -> ImportReport:
    importer: Callable[..., ImportReport] = IMPORTERS.get(fmt)
    kwargs = {"task": task}
    if labeler:
        kwargs["labeler"] = labeler
    return importer(project, src, **kwargs)
