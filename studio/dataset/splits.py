"""Honest train/test splits: by physical part, frozen once models are judged on them.

**Groups.** Images of one physical part (several views, lighting settings,
repeated captures) must never straddle train and test, or the test split
flatters the model. ``group_of`` names the part an image shows, first
match wins:

1. ``meta["group"]`` (set by an importer or by hand);
2. the simulated camera: ``sim:<seed>:<index>`` (the same seed and frame
   index render the same part, whatever the lighting options);
3. the file name of an imported image: ``<group>__<view>.png``, or a name
   ending in a view suffix such as ``part17_view2`` / ``A3-cam1`` /
   ``p9_light3``, or a reference pair such as ``00041001_temp`` /
   ``00041001_test`` (DeepPCB); the group is the part before the suffix;
4. otherwise the image is its own group.

A new image joins the split of its group when the group is already in the
project; otherwise the group's name is hashed (``split_for``), so
every image of the group lands on the same side.

**Freezing.** ``freeze`` records the test split (image ids, their verdicts
and groups) in ``test_split.json``. From then on new parts go to train
(unless their part is already in test), so figures measured on the test
split stay comparable between models and over time. ``check`` reports what
changed since (images added to or gone from test, labels changed), and
leakage: frozen test images moved to train, parts straddling the split,
and byte-identical image files on both sides.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from studio.core.atomic import atomic_write_json
from studio.core.migrations import Migrator
from studio.core.problems import Problem
from studio.core.errors import ProjectError


def split_for(image_id: str, test_fraction: float, seed: int = 0) -> str:
    """Deterministic split from the id (or group name), so re-imports never reshuffle."""
    h = hashlib.sha1(f"{seed}:{image_id}".encode()).digest()
    return "test" if int.from_bytes(h[:4], "big") / 2**32 < test_fraction else "train"

FROZEN_FILE = "test_split.json"
# 0: before schema_version; 1: schema_version added (same fields)
SCHEMA_VERSION = 1
MIGRATOR = Migrator(FROZEN_FILE, SCHEMA_VERSION)
MIGRATOR.step(0)(lambda d: d)
RESTORE = ("restore it from a backup, or delete it and freeze the test split again "
           "(figures measured before are then not comparable)")
_VIEW = re.compile(r"^(?P<group>.+?)[_\-. ](?:view|cam|camera|angle|side|shot|light|lighting|img|image|v)"
                   r"[_\-]?\d+$", re.IGNORECASE)
# a part imaged against its reference: DeepPCB's 00041001_temp.jpg / 00041001_test.jpg are one board
_PAIR = re.compile(r"^(?P<group>.+?)[_\-.](?:temp|template|ref|reference|golden|test)$", re.IGNORECASE)


def group_from_name(stem: str) -> str | None:
    """The part a file name names, or None: ``part17__top`` -> ``part17``, ``part17_view2`` -> ``part17``."""
    if "__" in stem:
        head = stem.split("__", 1)[0]
        return head or None
    m = _VIEW.match(stem) or _PAIR.match(stem)
    return m.group("group") if m else None


def group_of(image_id: str, meta: dict[str, Any] | None = None) -> str:
    """The physical part (or capture group) an image shows; see the module notes for the rules."""
    meta = meta or {}
    if meta.get("group") not in (None, ""):
        return f"group:{meta['group']}"
    if isinstance(meta.get("index"), int) and "seed" in meta and "truth" in meta:
        return f"sim:{meta['seed']}:{meta['index']}"
    original = meta.get("original")
    if original:
        name = group_from_name(Path(str(original)).stem)
        if name:
            return f"file:{name}"
    return f"image:{image_id}"


# ---- the frozen test split ------------------------------------------------------------------

def frozen_path(root: str | Path) -> Path:
    return Path(root) / FROZEN_FILE


def read_frozen(root: str | Path) -> dict[str, Any] | None:
    path = frozen_path(root)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        data, _ = MIGRATOR.migrate(data, path)
        data["images"] = dict(data["images"])
        str(data["frozen"]), str(data["digest"])        # KeyError when missing
        if not all(isinstance(v, dict) for v in data["images"].values()):
            raise TypeError("an image entry is not an object")
        return data
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as e:
        raise ProjectError(f"the frozen test split is unreadable ({e})", file=path, hint=RESTORE) from None


def check_file(root: str | Path) -> list[Problem]:
    """Every problem with ``test_split.json`` (none when the test split is not frozen)."""
    try:
        read_frozen(root)
    except ProjectError as e:
        return [Problem(e.file or str(frozen_path(root)), e.field or "(file)", e.message, e.hint or RESTORE)]
    return []


def _group_index(dataset) -> dict[str, str]:
    """group -> split of the dataset's records, kept on the dataset and updated as images are added."""
    cached = getattr(dataset, "_split_groups", None)
    if cached is None or cached[0] != len(dataset):
        index: dict[str, str] = {}
        for r in dataset:
            if r.split in ("train", "test"):
                index.setdefault(group_of(r.id, r.meta), r.split)
        cached = (len(dataset), index)
        dataset._split_groups = cached
    return cached[1]


def assign(dataset, image_id: str, meta: dict[str, Any] | None) -> str:
    """The split of a new image: its part's split, else train once frozen, else the group's hash."""

    group = group_of(image_id, meta)
    index = _group_index(dataset)
    split = index.get(group)
    if split is None:
        # an image that is its own group hashes by its id, as before groups existed
        key = image_id if group == f"image:{image_id}" else group
        split = "train" if frozen_path(dataset.root).exists() else split_for(key, dataset.test_fraction,
                                                                              dataset.seed)
    index[group] = split
    dataset._split_groups = (len(dataset) + 1, index)      # the record about to be added
    return split


def _verdicts(project) -> dict[str, str]:
    return {i: l.verdict + (f":{l.defect_class}" if l.defect_class else "")
            for i, l in project.labels.current().items()}


def freeze(project) -> dict[str, Any]:
    """Record the current test split as the one every model is judged on; returns the record."""
    verdicts = _verdicts(project)
    images = {r.id: {"verdict": verdicts.get(r.id), "group": group_of(r.id, r.meta)}
              for r in project.dataset.records("test")}
    rows = sorted((i, v["verdict"] or "") for i, v in images.items())
    record = {"schema_version": SCHEMA_VERSION, "frozen": _dt.datetime.now().isoformat(timespec="seconds"), "n": len(images),
              "digest": hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16], "images": images}
    atomic_write_json(frozen_path(project.root), record)
    return record


def unfreeze(project) -> bool:
    """Forget the frozen test split (new parts are hashed to a side again); True if there was one."""
    path = frozen_path(project.root)
    if path.exists():
        path.unlink()
        return True
    return False


_DIGESTS: dict[tuple[str, int, int], str] = {}


def _file_digest(path: Path) -> str | None:
    """SHA-1 of the file, remembered by (path, size, mtime) so repeated checks read each file once."""
    try:
        st = path.stat()
        key = (str(path), st.st_size, st.st_mtime_ns)
        if key not in _DIGESTS:
            if len(_DIGESTS) > 200_000:
                _DIGESTS.clear()
            _DIGESTS[key] = hashlib.sha1(path.read_bytes()).hexdigest()
        return _DIGESTS[key]
    except OSError:
        return None


def check(project, *, duplicates: bool = True) -> dict[str, Any]:
    """What changed in the test split since it was frozen, and every way test images leak into training."""
    records = list(project.dataset)
    test = {r.id: r for r in records if r.split == "test"}
    train = {r.id: r for r in records if r.split == "train"}
    frozen = read_frozen(project.root)
    out: dict[str, Any] = {"frozen": frozen["frozen"] if frozen else None,
                           "digest": frozen["digest"] if frozen else None, "n_test": len(test),
                           "added": [], "removed": [], "moved_to_train": [], "relabeled": [],
                           "straddling_groups": [], "duplicates": [], "warnings": []}
    warn = out["warnings"].append
    if frozen:
        verdicts = _verdicts(project)
        was = frozen["images"]
        out["added"] = sorted(set(test) - set(was))
        out["moved_to_train"] = sorted(i for i in was if i in train)
        out["removed"] = sorted(i for i in was if i not in test and i not in train)
        out["relabeled"] = sorted(i for i in was if i in test and verdicts.get(i) != was[i].get("verdict"))
        since = f"since it was frozen ({frozen['frozen']})"
        if out["added"] or out["removed"] or out["relabeled"]:
            parts = [f"{len(out[k])} {w}" for k, w in (("added", "images added"), ("removed", "images deleted"),
                                                        ("relabeled", "images relabeled")) if out[k]]
            warn(f"The test split changed {since}: {', '.join(parts)}. Figures measured before are not "
                 f"comparable with figures measured now; freeze the test split again to make this the new "
                 f"reference ('studio split PROJECT --freeze').")
    else:
        warn("The test split is not frozen yet: new parts can still join it, so figures measured now may not be "
             "comparable with later ones. It is frozen at the first evaluation ('studio split PROJECT --freeze').")
    if out["moved_to_train"]:
        warn(f"Leak: {len(out['moved_to_train'])} images of the frozen test split are now in the train split "
             f"(e.g. {out['moved_to_train'][0]}). A model trained on them is judged on parts it has seen: "
             f"move them back to test, or retrain after freezing a new test split.")
    groups: dict[str, set[str]] = {}
    for r in records:
        groups.setdefault(group_of(r.id, r.meta), set()).add(r.split)
    out["straddling_groups"] = sorted(g for g, sides in groups.items() if {"train", "test"} <= sides)
    out["parts"] = {side: sum(side in sides for sides in groups.values()) for side in ("train", "test")}
    if out["straddling_groups"]:
        warn(f"Leak: {len(out['straddling_groups'])} physical parts have images in both train and test "
             f"(e.g. {out['straddling_groups'][0]}). The model is tested on parts it was trained on; "
             f"'studio split PROJECT --regroup' puts every image of a part on its part's side.")
    if duplicates and test and train:
        # only files of equal size can be equal: hash just those (different images rarely share a size)
        def size(r) -> int:
            try:
                return project.dataset.path(r).stat().st_size
            except OSError:
                return -1
        train_sizes: dict[int, list] = {}
        for r in train.values():
            train_sizes.setdefault(size(r), []).append(r)
        for r in test.values():
            candidates = train_sizes.get(size(r), []) if size(r) >= 0 else []
            d = _file_digest(project.dataset.path(r)) if candidates else None
            twin = next((c for c in candidates if d and _file_digest(project.dataset.path(c)) == d), None)
            if twin is not None:
                out["duplicates"].append([r.id, twin.id])
        if out["duplicates"]:
            a, b = out["duplicates"][0]
            warn(f"Leak: {len(out['duplicates'])} test images are byte-identical to training images "
                 f"(e.g. {a} = {b}). Delete the copies or move them to the same side.")
    return out


def regroup(project) -> int:
    """Move images so that every part sits on one side: a part with any test image goes wholly to test
    when the split is frozen (the frozen test split wins), else to the side most of its images are on
    (test on a tie). Returns how many images moved."""
    frozen = read_frozen(project.root)
    frozen_ids = set(frozen["images"]) if frozen else set()
    by_group: dict[str, list] = {}
    for r in project.dataset:
        by_group.setdefault(group_of(r.id, r.meta), []).append(r)
    moved = 0
    for recs in by_group.values():
        sides = [r.split for r in recs]
        if not ({"train", "test"} <= set(sides)):
            continue
        if frozen_ids:
            side = "test" if any(r.id in frozen_ids for r in recs) else "train"
        else:
            side = "test" if sides.count("test") >= sides.count("train") else "train"
        for r in recs:
            if r.split != side:
                r.split = side
                moved += 1
    if moved:
        project.dataset._split_groups = None
        project.dataset.save()
    return moved
