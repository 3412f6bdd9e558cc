"""Labels: an append-only log (``labels.jsonl``) that is also the audit trail.

Each line is one decision: which image, OK / NG / borderline, which defect
class, the shapes drawn (boxes, polygons, brush masks), who decided, when,
under which criterion and criteria-document version. Nothing is ever
rewritten: a change is a new line, so the log says who changed which label
when.

Several labelers, one truth. Every labeler's latest decision on an image is
*their* label; a labeler only ever sees their own (``view``: blind labeling).
The *training label* of an image (``current``) is resolved as:

1. the latest reference decision (``kind == "reference"``), else
2. the labelers' common answer when they all agree, else
3. nothing: the image is disputed and waits in the review queue.

Labels from automatic sources (the simulator's truth, an import without
``--labeler``) are pre-labels: a person's label on the image supersedes them.

Two processes may append at once: every append holds an inter-process file
lock and first reads what the other process wrote.
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import threading
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from studio.core.errors import StudioError
from studio.core.problems import Problem
from studio.core.locking import file_lock
from studio.labels.shapes import check_shape

log = logging.getLogger(__name__)

FILE_NAME = "labels.jsonl"
VERDICTS = ("ok", "ng", "borderline")
KINDS = ("label", "reference", "withdraw")
PRELABELERS = {"simulator"}


@dataclass
class Label:
    image_id: str
    verdict: str                      # "ok", "ng" or "borderline"
    defect_class: str | None = None   # defect class name for "ng"
    labeler: str = "engineer"
    time: str = ""
    criterion: str | None = None      # the criteria clause applied (the defect class's rule)
    criteria_version: int = 1
    kind: str = "label"               # "label", "reference" (review decision) or "withdraw"
    shapes: list[dict[str, Any]] = field(default_factory=list)
    rationale: str = ""               # why (reference decisions must say)
    id: str = ""

    @property
    def is_defective(self) -> bool:
        return self.verdict == "ng"

    @property
    def category(self) -> str:
        """The image-level answer compared between labelers: ok, borderline or the defect class."""
        if self.verdict == "ng":
            return self.defect_class or "ng"
        return self.verdict

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Resolution:
    """How an image's training label was reached."""
    image_id: str
    status: str                        # "reference", "agreed", "single", "borderline", "disputed"
    label: Label | None                # the training label; None while disputed
    labels: dict[str, Label]           # each labeler's latest label (the reference's excluded)

    @property
    def needs_review(self) -> bool:
        return self.status in ("disputed", "borderline")


def is_prelabel(labeler: str) -> bool:
    """Labels from an automatic source (the simulator's truth, an import without ``--labeler``):
    a starting point a person corrects, not a vote. Any person's label on the image supersedes them."""
    return labeler in PRELABELERS or labeler.startswith("import:")


def category_of(verdict: str, defect_class: str | None) -> str:
    return (defect_class or "ng") if verdict == "ng" else verdict


def parse_line(line: str) -> Label:
    """One line of the log as a Label; ValueError saying what is wrong with it otherwise."""
    try:
        d = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"is not valid JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(d, dict):
        raise ValueError(f"is a JSON {type(d).__name__}, not a label object")
    if not isinstance(d.get("image_id"), str) or not d["image_id"]:
        raise ValueError("has no image_id")
    if d.get("verdict") not in VERDICTS:
        raise ValueError(f"has verdict {d.get('verdict')!r}, not one of {', '.join(VERDICTS)}")
    if d.get("kind", "label") not in KINDS:
        raise ValueError(f"has kind {d.get('kind')!r}, not one of {', '.join(KINDS)}")
    shapes = d.get("shapes", [])
    if not isinstance(shapes, list):
        raise ValueError("has shapes that are not a list")
    try:
        shapes = [check_shape(x) for x in shapes]
        label = Label(**{k: v for k, v in d.items() if k in Label.__dataclass_fields__})
        label.criteria_version = int(label.criteria_version)
    except StudioError as e:
        raise ValueError(f"has a bad shape: {e.message}") from None
    except (TypeError, ValueError) as e:
        raise ValueError(f"has a field of the wrong kind ({e})") from None
    label.shapes = shapes
    return label


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _mask_problem(path: Path) -> str | None:
    """Why a brush-mask file cannot be used (missing, or not a PNG: the studio writes PNGs), or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(PNG_SIGNATURE))
    except FileNotFoundError:
        return "is missing"
    except OSError as e:
        return f"cannot be read ({e.strerror})"
    return None if head == PNG_SIGNATURE else "is not a PNG image (damaged)"


def check_file(root: str | Path) -> list[Problem]:
    """Every line of ``labels.jsonl`` that the studio cannot count, by line number, and missing brush masks."""
    path = Path(root) / FILE_NAME
    if not path.exists():
        return []
    out: list[Problem] = []
    data = path.read_bytes()
    lines = data.split(b"\n")
    for n, raw in enumerate(lines, start=1):
        text = raw.decode("utf-8", errors="replace").strip()
        if not text:
            continue
        torn = n == len(lines)          # after the last newline: a write that never finished
        try:
            label = parse_line(text)
        except ValueError as e:
            if torn:
                out.append(Problem(str(path), f"line {n}", f"is incomplete ({e}): a write was interrupted "
                                   "(crash or power cut), so this decision was never recorded",
                                   "label that image again; the studio leaves the line as it is and skips it",
                                   "warning"))
            else:
                out.append(Problem(str(path), f"line {n}", f"{e}; the studio skips this line",
                                   "the log is the audit trail, so do not delete lines: fix this one by hand "
                                   "(compare it with the lines around it), or label the image again"))
            continue
        if torn:
            out.append(Problem(str(path), f"line {n}", "has no line end: a write was interrupted after it",
                               "nothing is lost; the next label starts a fresh line", "warning"))
        for shape in label.shapes:
            if shape["type"] != "mask":
                continue
            why = _mask_problem(Path(root) / shape["file"])
            if why:
                out.append(Problem(str(path), f"line {n}", f"image {label.image_id}: the brush mask "
                                   f"{shape['file']} {why}",
                                   "restore label_masks/ from a backup, or paint the mask again on the Label page"))
    return out


class LabelStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.path = self.root / FILE_NAME
        self._lock = threading.RLock()
        self._history: list[Label] = []
        self._offset = 0
        self._line = 0                  # complete lines read so far
        self.skipped: list[tuple[int, str]] = []     # (line number, what is wrong): not counted, never silent
        self._reset_index()
        self._refresh()

    # ---- indexes, kept up to date line by line (the GUI asks after every label) ----
    def _reset_index(self) -> None:
        self._per: dict[str, dict[str, Label]] = {}     # image -> labeler -> latest label
        self._refs: dict[str, Label] = {}               # image -> latest reference decision
        self._resolved: dict[str, Resolution] = {}
        self._dirty: set[str] = set()

    def _index(self, l: Label) -> None:
        if l.kind == "reference":
            self._refs[l.image_id] = l
        elif l.kind == "withdraw":
            per = self._per.get(l.image_id, {})
            per.pop(l.labeler, None)
            if not per:
                self._per.pop(l.image_id, None)
        else:
            self._per.setdefault(l.image_id, {})[l.labeler] = l
        self._dirty.add(l.image_id)

    # ---- the log -------------------------------------------------------
    def _refresh(self) -> None:
        """Read what was appended since the last read (by this or another process)."""
        with self._lock:
            try:
                size = self.path.stat().st_size
            except FileNotFoundError:
                return
            if size < self._offset:          # replaced from a backup: read it all again
                self._history, self._offset, self._line, self.skipped = [], 0, 0, []
                self._reset_index()
            if size == self._offset:
                return
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read(size - self._offset)
            end = data.rfind(b"\n") + 1     # a line still being written is read next time
            for n, line in enumerate(data[:end].decode("utf-8", errors="replace").split("\n")[:-1]):
                self._line += 1
                line = line.strip()
                if not line:
                    continue
                try:
                    label = parse_line(line)
                except ValueError as e:      # e.g. a torn line after a crash: keep every complete decision
                    self.skipped.append((self._line, str(e)))
                    log.warning("%s: line %d %s; skipped (see 'studio project check')", self.path, self._line, e)
                    continue
                if not label.id:
                    label.id = f"L{self._offset + n}"
                self._history.append(label)
                self._index(label)
            self._offset += end

    def _append(self, label: Label, fsync: bool = True) -> Label:
        line = (json.dumps(label.to_dict()) + "\n").encode("utf-8")
        with self._lock, file_lock(self.path):
            self._refresh()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "ab") as f:
                if f.tell() != self._offset:          # a torn line left by a crash: start a fresh line
                    f.write(b"\n")
                f.write(line)
                f.flush()
                if fsync:
                    os.fsync(f.fileno())
            self._refresh()
        if fsync:                # a person's decision (bulk imports pass fsync=False): its audit entry
            self._audit(label)
        return label

    def _audit(self, label: Label) -> None:
        """The decision is the line in labels.jsonl; the audit trail links it by its id."""
        from studio.audit.trail import AuditTrail

        reference = label.kind == "reference"
        AuditTrail(self.root).append("review.decision" if reference else "label", actor=label.labeler,
                                     what=label.id, after={"image_id": label.image_id, "kind": label.kind,
                                                           "category": None if label.kind == "withdraw"
                                                           else label.category},
                                     reason=label.rationale or None, meaning="review" if reference else None)

    def add(self, image_id: str, verdict: str, defect_class: str | None = None, *,
            labeler: str = "engineer", criteria_version: int = 1, criterion: str | None = None,
            shapes: list[dict[str, Any]] | None = None, kind: str = "label",
            rationale: str = "", fsync: bool = True) -> Label:
        """Record one labeler's decision on an image (a new line; nothing is overwritten).

        ``fsync=False`` for bulk work (imports) that calls ``sync()`` once at the end.
        """
        if verdict not in VERDICTS:
            raise StudioError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
        if kind not in KINDS:
            raise StudioError(f"label kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if not str(labeler).strip():
            raise StudioError("every label needs a labeler name", hint="enter your name as labeler")
        label = Label(image_id=image_id, verdict=verdict,
                      defect_class=defect_class if verdict == "ng" else None,
                      labeler=str(labeler).strip(),
                      time=_dt.datetime.now().isoformat(timespec="milliseconds"),
                      criterion=criterion or (defect_class if verdict == "ng" else None),
                      criteria_version=int(criteria_version), kind=kind,
                      shapes=[check_shape(s) for s in (shapes or [])],
                      rationale=rationale, id=uuid.uuid4().hex[:12])
        return self._append(label, fsync)

    def sync(self) -> None:
        """Make every appended label durable (after ``add(..., fsync=False)``)."""
        if self.path.exists():
            with open(self.path, "rb") as f:
                os.fsync(f.fileno())

    def decide(self, image_id: str, verdict: str, defect_class: str | None = None, *,
               labeler: str, rationale: str, criterion: str | None = None,
               criteria_version: int = 1, shapes: list[dict[str, Any]] | None = None) -> Label:
        """A reference decision: it becomes the image's training label, whatever the labelers said."""
        if not rationale.strip():
            raise StudioError("a reference decision needs its rationale",
                              hint="say which rule decides it and why (e.g. 'scratch 2.4 mm > 2 mm on A')")
        if verdict == "borderline":
            raise StudioError("a reference decision must be OK or NG, not borderline",
                              hint="decide the case; add it to the criteria as a borderline example if useful")
        return self.add(image_id, verdict, defect_class, labeler=labeler, criteria_version=criteria_version,
                        criterion=criterion, shapes=shapes, kind="reference", rationale=rationale)

    def withdraw(self, image_id: str, labeler: str) -> Label:
        """A labeler takes back their label on an image (undo of a first label)."""
        return self._append(Label(image_id=image_id, verdict="ok", labeler=labeler, kind="withdraw",
                                  time=_dt.datetime.now().isoformat(timespec="milliseconds"),
                                  id=uuid.uuid4().hex[:12]))

    def history(self, image_id: str | None = None) -> list[Label]:
        """The audit trail: every decision in the order made (withdrawals included)."""
        self._refresh()
        return [l for l in self._history if image_id is None or l.image_id == image_id]

    # ---- per labeler (blind) -------------------------------------------
    def labelers(self) -> list[str]:
        self._refresh()
        return sorted({l.labeler for l in self._history if l.kind == "label"})

    def view(self, labeler: str) -> dict[str, Label]:
        """One labeler's own latest label per image, and nothing of anyone else's (blind labeling)."""
        self._refresh()
        with self._lock:
            return {image_id: per[labeler] for image_id, per in self._per.items() if labeler in per}

    def by_labeler(self) -> dict[str, dict[str, Label]]:
        """image id -> labeler -> that labeler's latest label (reference decisions excluded)."""
        self._refresh()
        with self._lock:
            return {k: dict(v) for k, v in self._per.items()}

    def references(self) -> dict[str, Label]:
        """The latest reference decision per image."""
        self._refresh()
        with self._lock:
            return dict(self._refs)

    # ---- one truth -----------------------------------------------------
    def resolve(self) -> dict[str, Resolution]:
        """Every labeled image's resolution; only images touched since the last call are worked out again."""
        self._refresh()
        with self._lock:
            for image_id in self._dirty:
                r = self._resolve_one(image_id)
                if r is None:
                    self._resolved.pop(image_id, None)
                else:
                    self._resolved[image_id] = r
            self._dirty.clear()
            return dict(self._resolved)

    def _resolve_one(self, image_id: str) -> Resolution | None:
        labels = dict(self._per.get(image_id, {}))
        if image_id in self._refs:
            return Resolution(image_id, "reference", self._refs[image_id], labels)
        if not labels:
            return None
        votes = {n: l for n, l in labels.items() if not is_prelabel(n)} or labels
        cats = {l.category for l in votes.values()}
        if len(cats) > 1:
            return Resolution(image_id, "disputed", None, labels)
        latest = max(votes.values(), key=lambda l: l.time)
        status = "borderline" if latest.verdict == "borderline" else (
            "agreed" if len(votes) > 1 else "single")
        return Resolution(image_id, status, latest, labels)

    def current(self) -> dict[str, Label]:
        """The training label of every image that has one (disputed images have none yet)."""
        return {k: r.label for k, r in self.resolve().items() if r.label is not None}

    def get(self, image_id: str) -> Label | None:
        return self.current().get(image_id)

    def disputed(self) -> list[Resolution]:
        return [r for r in self.resolve().values() if r.status == "disputed"]

    def counts(self) -> dict[str, Any]:
        res = self.resolve()
        cur = [r.label for r in res.values() if r.label is not None]
        by_class: dict[str, int] = {}
        for l in cur:
            if l.verdict == "ng":
                by_class[l.defect_class or "(unspecified)"] = by_class.get(l.defect_class or "(unspecified)", 0) + 1
        return {"ok": sum(l.verdict == "ok" for l in cur), "ng": sum(l.verdict == "ng" for l in cur),
                "borderline": sum(l.verdict == "borderline" for l in cur),
                "disputed": sum(r.status == "disputed" for r in res.values()), "by_class": by_class}
