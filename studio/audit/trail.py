"""The audit trail: an append-only, hash-chained JSON-lines file.

One file per project (``audit.jsonl`` at the project root) and one per station
(``audit.jsonl`` in its data directory). Every change that decides verdicts is
one entry: who, when (UTC and local), what (before and after), why, and for a
signature its meaning. Each entry carries the hash of the one before it
(``prev``) and its own (``hash``, SHA-256 of the entry's canonical JSON without
``hash``), so editing, deleting or reordering any entry breaks the chain at
that entry: ``verify()`` names the first broken one.

Appends hold the file's OS lock (``studio.core.locking``), so two processes
(the GUI and a CLI command) never interleave or fork the chain, and each line
is written with one ``write`` and fsynced. A last line torn by a crash (no
newline) is reported by ``verify`` and cut off by the next append, which then
chains to the last whole entry.

Action names (``ACTIONS``) are the product's vocabulary; a new kind of entry is
one line there.
"""
from __future__ import annotations

import datetime as _dt
import getpass
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from studio.core.errors import ProjectError
from studio.core.locking import file_lock

FILE_NAME = "audit.jsonl"
GENESIS = "0" * 64
VERSION = 1

# action -> what it records. ``what`` names the thing changed (a model id, a user, a file).
ACTIONS = {
    "criteria.version": "a new version of the acceptance-criteria document",
    "label": "a label decision (the decision itself is the line in labels.jsonl named by 'what')",
    "review.decision": "the reference labeler decided a review case",
    "threshold.set": "a model's threshold (and review band) changed",
    "model.trained": "a model was trained (the model card is 'what')",
    "model.promoted": "a model became the station's live model",
    "model.rolled_back": "the previous live model was restored",
    "model.retired": "a model was retired",
    "shadow.set": "the station's shadow model changed",
    "gate.set": "the promotion gate changed",
    "station.settings": "station.yaml changed",
    "station.started": "the station started",
    "station.stopped": "the station was stopped",
    "kiosk.left": "the kiosk was left",
    "user.added": "an account was added",
    "user.removed": "an account was removed",
    "user.roles": "an account's roles changed",
    "user.password": "an account's password or PIN changed",
    "access.settings": "the access settings changed (the idle time before falling back to the operator)",
    "alert.acked": "an operator acknowledged an alert",
    "part.disagreed": "an operator sent a part back (wrong verdict)",
    "signin": "a person signed in",
    "signin.refused": "a sign-in was refused (wrong name, password or PIN)",
    "action.refused": "an action was refused for want of a role",
    "labels.plan": "the labeling plan changed (labelers, reference labeler, overlap)",
    "dataset.imported": "images (with their labels) were imported; 'what' names the source",
    "split.changed": "the test split was frozen, unfrozen or regrouped",
    "lighting.baseline": "the lighting baseline (what drift is measured against) changed",
    "lighting.limits": "a limit of the lighting audit changed",
    "incumbent.imported": "the incumbent inspection's verdicts were imported",
}
MEANINGS = ("approval", "review", "responsibility", "authorship")
KEYS = ("v", "seq", "time_utc", "time_local", "actor", "action", "what", "before", "after",
        "reason", "meaning", "prev", "hash")


def default_actor() -> str:
    """The operating-system login, for entries made where nobody signed in (a CLI on the line PC)."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (a container without a passwd entry)
        return "unknown"


def _hash(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False,
                                     separators=(",", ":")).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int                    # whole entries read
    broken_at: int | None = None    # 1-based line number of the first broken entry
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "broken_at": self.broken_at, "message": self.message}


class AuditTrail:
    """The trail in ``path`` (a file, or a folder holding ``audit.jsonl``)."""

    def __init__(self, path: str | Path, *, create: bool = True):
        """``create=False``: never make the folder (a station's data directory that was unplugged is
        not re-created on its mount point; the append raises FileNotFoundError instead)."""
        path = Path(path)
        self.path = path / FILE_NAME if path.is_dir() or path.suffix != ".jsonl" else path
        self.create = create

    # -- writing ---------------------------------------------------------------------------
    def append(self, action: str, *, actor: str | None = None, what: Any = None, before: Any = None,
               after: Any = None, reason: str | None = None, meaning: str | None = None,
               when: _dt.datetime | None = None) -> dict[str, Any]:
        """Add one entry and return it (with its ``seq`` and ``hash``)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}; add it to studio.audit.trail.ACTIONS")
        if meaning is not None and meaning not in MEANINGS:
            raise ValueError(f"unknown signature meaning {meaning!r} (one of {', '.join(MEANINGS)})")
        when = when or _dt.datetime.now(_dt.UTC)
        if self.create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.parent.is_dir():
            raise FileNotFoundError(f"{self.path.parent} is gone: the audit entry {action!r} was not written")
        with file_lock(self.path):
            last, good_end = self._last_whole()
            entry = {
                "v": VERSION,
                "seq": (last["seq"] + 1) if last else 1,
                "time_utc": when.astimezone(_dt.UTC).isoformat(timespec="milliseconds"),
                "time_local": when.astimezone().isoformat(timespec="milliseconds"),
                "actor": actor or default_actor(),
                "action": action, "what": what, "before": before, "after": after,
                "reason": reason, "meaning": meaning,
                "prev": last["hash"] if last else GENESIS,
            }
            entry["hash"] = _hash(entry)
            line = (json.dumps(entry, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                os.ftruncate(fd, good_end)          # a torn last line (crash mid-write) goes
                os.lseek(fd, good_end, os.SEEK_SET)
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        return entry

    def _last_whole(self) -> tuple[dict[str, Any] | None, int]:
        """The last whole entry and the byte offset where whole lines end."""
        if not self.path.exists():
            return None, 0
        with self.path.open("rb") as f:          # only the tail: an append costs the same on a long trail
            size = f.seek(0, os.SEEK_END)
            chunk = 65536
            while True:
                base = max(0, size - chunk)
                f.seek(base)
                data = f.read(size - base)
                end = data.rfind(b"\n") + 1
                start = data.rfind(b"\n", 0, end - 1) + 1 if end else 0
                if base == 0 or (end and start):
                    break
                chunk *= 4
        if end == 0:
            return None, 0
        end_abs = base + end
        try:
            last = json.loads(data[start:end])
        except ValueError as e:
            raise ProjectError("the audit trail's last entry cannot be read", file=self.path,
                               hint="run 'studio audit --verify' to see where it is broken; "
                                    "nothing more is added until it is repaired from a backup") from e
        return last, end_abs

    # -- reading ---------------------------------------------------------------------------
    def entries(self, since: str | None = None, action: str | None = None) -> Iterator[dict[str, Any]]:
        """Whole entries in order (``since``: an ISO time; ``action``: a name or a prefix ``model.``)."""
        if not self.path.exists():
            return
        with self.path.open("rb") as f:
            for raw in f:
                if not raw.endswith(b"\n"):
                    return                      # torn by a crash
                try:
                    e = json.loads(raw)
                except ValueError:
                    continue                    # verify() names it
                if since and str(e.get("time_utc", "")) < _utc(since):
                    continue
                if action and not (e.get("action") == action or
                                   (action.endswith(".") and str(e.get("action", "")).startswith(action))):
                    continue
                yield e

    def last(self, action: str, what: Any = None) -> dict[str, Any] | None:
        """The newest entry of ``action`` (about ``what`` when given)."""
        found = None
        for e in self.entries(action=action):
            if what is None or e.get("what") == what:
                found = e
        return found

    def verify(self) -> Verification:
        """Check the whole chain; the first entry that was edited, deleted or moved is named."""
        if not self.path.exists():
            return Verification(True, 0, message="no audit trail yet")
        prev, seq, n = GENESIS, 0, 0
        with self.path.open("rb") as f:
            for lineno, raw in enumerate(f, 1):
                if not raw.endswith(b"\n"):
                    return Verification(False, n, lineno, f"line {lineno} is torn (a crash while writing)")
                try:
                    e = json.loads(raw)
                except ValueError:
                    return Verification(False, n, lineno, f"line {lineno} is not JSON")
                if not isinstance(e, dict) or "hash" not in e:
                    return Verification(False, n, lineno, f"line {lineno} is not an audit entry")
                if _hash(e) != e["hash"]:
                    return Verification(False, n, lineno,
                                        f"entry {lineno} (seq {e.get('seq')}) was changed after it was written")
                if e.get("prev") != prev:
                    return Verification(False, n, lineno,
                                        f"entry {lineno} (seq {e.get('seq')}) does not follow the entry before "
                                        "it: an entry was deleted, inserted or moved here")
                if e.get("seq") != seq + 1:
                    return Verification(False, n, lineno,
                                        f"entry {lineno} has seq {e.get('seq')}, expected {seq + 1}")
                prev, seq, n = e["hash"], seq + 1, n + 1
        return Verification(True, n, message=f"{n} entries, chain intact")


def _utc(iso: str) -> str:
    t = _dt.datetime.fromisoformat(iso)
    if t.tzinfo is None:
        t = t.astimezone()          # a time without a zone is the PC's local time
    return t.astimezone(_dt.UTC).isoformat(timespec="milliseconds")
