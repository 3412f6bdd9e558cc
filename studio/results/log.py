"""The station's result log: every part, its verdict, its image, and every alert.

The write path, in the order a part takes it:

1. ``commit(result)`` -- actuation thread, *before* the PLC sees the verdict:
   one SQLite (WAL) transaction inserts the part's row without its image
   (``image_state`` 'pending', or 'skipped'/'none'). It costs tens of
   microseconds (see benchmarks/README.md); with ``durability: power-loss`` it
   is fsynced too. So after ``kill -9`` at any moment every part the PLC can
   have seen has its row.
2. The PLC write (the station's, not ours).
3. ``finish(result)`` -- right after the PLC write, never blocks: the
   actuation time and the image go on a bounded queue; the writer thread saves
   the PNG (atomically) and updates the row (``image_state`` 'saved', or
   'failed' with the reason in ``note``). A row left 'pending' by a crash is
   marked 'lost' (or 'saved' if its file did arrive) when the log is next opened.

When the disk is full or the data directory goes away, ``commit`` cannot
reach the disk. The log then *holds* rows in a bounded memory queue and the
writer retries every ``watch_s``; when the disk is back, held rows are written
in order and the station is told (``on_health``). A row that does not fit the
memory queue is counted (``rows_lost``) and named in an alert. ``commit``
returns False under ``on_log_failure: stop``: the station then publishes a
fault and halts (the row is still held and written when it can be).

Part numbers are never reused: ``next_part()`` continues after the highest
number the PLC can have seen. Each commit that passes the reserved ceiling
moves it ``RESERVE`` parts on (meta ``part_reserved``, same transaction); a
clean close sets it back to the last part. After a crash the station continues
after the ceiling, so a number published from a held row that died with the
process is not given out twice.
"""
from __future__ import annotations

import json
import logging
import math
import os
import queue
import sqlite3
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from studio.core.priority import lower_this_thread
from studio.core.atomic import atomic_write_bytes
from studio.core.png import encode_png
from studio.core.errors import StudioError
from studio.results import schema
from studio.results.disk_care import FREE_SPACE_REPEAT_S, DiskCare, _identity
from studio.results.policy import LogPolicy
from studio.results.reader import ResultReader

log = logging.getLogger(__name__)

_CLOSE = object()
_WAKE = object()
BATCH = 64              # queue items per writer transaction
RESERVE = schema.PART_RESERVE
CHECKPOINT_EVERY = 1000     # commits between WAL checkpoints (run by the writer, never the station)
CHECKPOINT_ENV = "STUDIO_LOG_CHECKPOINT_EVERY"      # tests force frequent checkpoints
WRITER_NICE = 10        # the writer thread's niceness above the station's (Linux; benchmarks/README.md, 5 MP)


def _field(result: Any, name: str, default: Any = None) -> Any:
    if isinstance(result, Mapping):
        return result.get(name, default)
    return getattr(result, name, default)


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    row["shadow"] = 1 if row.get("shadow") else 0
    row["watching"] = 1 if row.get("watching") else 0
    for c in schema.INTEGERS:
        row[c] = None if row.get(c) is None else int(row[c])
    for c in schema.REALS:
        value = row.get(c)
        row[c] = None if value is None or not math.isfinite(float(value)) else float(value)
    for c in schema.TEXTS:
        row[c] = None if row.get(c) is None else str(row[c])
    return row


def _to_row(result: Any) -> dict[str, Any]:
    """The row for ``result`` (a PartResult or a mapping), as plain SQLite types."""
    row = {c: _field(result, c) for c in schema.COLUMNS}
    # a fault's error text is the note a person reads in the log
    row["note"] = row["note"] or _field(result, "error")
    row["part_id"] = row["part_id"] or ""
    row["image_path"] = row["image_state"] = row["image_bytes"] = None
    if not row["t_actuated"]:       # not actuated yet: NULL until finish() says when
        row["t_actuated"] = row["latency_ms"] = None
    return _clean(row)


def _add_note(row: dict[str, Any], text: str) -> None:
    row["note"] = f"{row['note']}; {text}" if row.get("note") else text


class ResultLog(DiskCare):
    """SQLite (WAL) log at ``path``; images under ``images_dir`` (default: next to it)."""

    def __init__(self, path: str | Path, *, images_dir: str | Path | None = None,
                 on_error: Callable[[str], None] | None = None,
                 on_health: Callable[[bool, str], None] | None = None,
                 policy: LogPolicy | None = None, max_pending: int = 4096,
                 max_image_bytes: int = 256 * 2**20, max_held: int = 100_000,
                 checkpoint_every: int | None = None, watch_s: float = 1.0):
        self.path = Path(path)
        self.data_dir = self.path.parent
        self.images_dir = Path(images_dir) if images_dir is not None else self.data_dir / "images"
        self.on_error, self.on_health = on_error, on_health
        self.policy = policy or LogPolicy()
        self.max_image_bytes, self.max_held, self.watch_s = max_image_bytes, max_held, watch_s
        env = os.environ.get(CHECKPOINT_ENV, "")
        self.checkpoint_every = checkpoint_every or (int(env) if env.isdigit() and int(env) > 0
                                                     else CHECKPOINT_EVERY)
        # figures, exact: the actuation thread and the writer both count under _cond
        self.dropped = 0            # rows not logged at all (the log was closed, or the memory queue full)
        self.rows_lost = 0          # of those: rows the memory queue could not hold while the disk failed
        self.images_skipped = 0     # rows logged without their image because the writer was behind
        self.images_failed = 0      # images the disk refused
        self.images_pruned = 0      # pass images deleted to keep under the quota
        self.alerts_dropped = 0
        self.extra_dropped = 0      # shadow rows and incumbent verdicts not logged (add_row, add_incumbent)
        self.errors = 0             # disk or database errors reported
        self.checkpoints = 0
        self.skipped_parts: tuple[int, int] | None = None   # numbers skipped after an unclean close
        self._queue: queue.Queue = queue.Queue(maxsize=max_pending)
        self._cond = threading.Condition()
        self._db = threading.Lock()         # the write connection: actuation commits, writer updates
        self._queued = 0
        self._done = 0
        self._pending_bytes = 0
        self._closed = False
        self._reader: ResultReader | None = None
        self._open_rows: dict[tuple[int, int], Any] = {}    # committed, not finished: row id or held row
        self._held: deque[dict[str, Any]] = deque()         # rows waiting for the disk, in part order
        self._held_updates: deque[tuple] = deque()          # finish() updates waiting for the disk
        self._held_alerts: deque[tuple] = deque(maxlen=1000)
        self._failing: str | None = None    # why the disk cannot be written, while it cannot
        self._health_told: str | None = None
        self._lost_parts: list[int] = []    # first and last part number lost from a full memory queue
        self._commits = 0
        self._next_retry = 0.0
        self._last_ckpt = 0
        self._last_free_warning = -FREE_SPACE_REPEAT_S
        self._usage = 0                     # bytes of images saved (for the quota)
        self._over_quota = False
        self._sizes_known = False
        self._behind: deque[tuple[int, int]] = deque(maxlen=100_000)    # finish() found the queue full
        # the log file's generation: a data directory that goes away and comes back gives a new file,
        # in which every row has a new id; _maps[g] turns ids of generation g into today's
        self._gen = 0
        self._maps: dict[int, dict[int, int]] = {}
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._conn, mode = self._connect()
            schema.create(self._conn, str(self.path))
            self._start_run()
            self._ckpt = sqlite3.connect(str(self.path), timeout=0.0, check_same_thread=False,
                                         isolation_level=None)
        except (OSError, sqlite3.Error) as e:
            raise StudioError(f"cannot open the result log: {e}", file=self.path,
                              hint="check that the data directory exists and is writable, "
                                   "or choose another one with --data-dir") from None
        self._identity = _identity(self.path)
        if str(mode).lower() != "wal":
            self._report(f"the result log is not in WAL mode ({mode}): readers may delay the station; "
                         "keep the data directory on a local disk")
        self._writer = threading.Thread(target=self._run, name="result-log-writer", daemon=True)
        self._writer.start()

    def _connect(self) -> tuple[sqlite3.Connection, str]:
        # a foreign writer holding the lock puts the log on hold after 0.2 s instead of stalling the line
        conn = sqlite3.connect(str(self.path), timeout=0.2, check_same_thread=False, isolation_level=None)
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        conn.execute(f"PRAGMA synchronous={self.policy.synchronous}")
        conn.execute("PRAGMA wal_autocheckpoint=0")         # the writer checkpoints, off the actuation path
        conn.execute("PRAGMA journal_size_limit=4194304")
        return conn, mode

    def _meta(self, key: str, conn: sqlite3.Connection | None = None) -> str | None:
        row = (conn or self._conn).execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _start_run(self) -> None:
        """Recover what an earlier run left open; decide the next part number; mark the log open."""
        conn = self._conn
        last = int(conn.execute("SELECT COALESCE(MAX(part), 0) FROM results").fetchone()[0])
        reserved = int(self._meta("part_reserved") or 0)
        clean = self._meta("open") != "1"
        self._next_part = last + 1
        self.highest_part = last      # the highest part number committed (or held) so far
        if not clean and reserved > last:
            # the last run died: it may have published numbers up to its reservation from rows held in memory
            self._next_part = reserved + 1
            self.skipped_parts = (last + 1, reserved)
        # only rows since the last run's start can be pending (no index: it would cost every commit a page)
        since = int(self._meta("run_from_id") or 0)
        pending = conn.execute("SELECT id, part, t_captured, t_decided FROM results "
                               "WHERE id > ? AND image_state = 'pending'", (since,)).fetchall()
        conn.execute("BEGIN IMMEDIATE")
        for row_id, part, t_captured, t_decided in pending:
            target, rel = self.image_path_for(part or 0, t_captured or t_decided)
            for leftover in target.parent.glob(f".{target.name}.*.tmp"):     # killed mid-write
                try:
                    leftover.unlink()
                except OSError:
                    pass
            if target.is_file():
                conn.execute("UPDATE results SET image_state = 'saved', image_path = ?, image_bytes = ? "
                             "WHERE id = ?", (rel, target.stat().st_size, row_id))
            else:
                conn.execute("UPDATE results SET image_state = 'lost', note = CASE WHEN note IS NULL "
                             "THEN ? ELSE note || '; ' || ? END WHERE id = ?",
                             (LOST_NOTE, LOST_NOTE, row_id))
        self._reserved = max(self._next_part - 1, 0)
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('part_reserved', ?)", (str(self._reserved),))
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('open', '1')")
        # the log file's identity for the central store (studio.central): made once, kept for its life
        conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('log_uid', ?)", (uuid.uuid4().hex,))
        top_id = conn.execute("SELECT COALESCE(MAX(id), 0) FROM results").fetchone()[0]
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('run_from_id', ?)", (str(top_id),))
        conn.execute("COMMIT")
        self.recovered_pending = len(pending)
        self._usage = int(conn.execute("SELECT COALESCE(SUM(image_bytes), 0) FROM results "
                                       "WHERE image_state = 'saved'").fetchone()[0])

    # ---- the station's side ------------------------------------------
    def next_part(self) -> int:
        """The first part number this run may give out: after any the PLC can have seen."""
        return self._next_part

    def image_path_for(self, part: int, t: float | None = None) -> tuple[Path, str]:
        """Where part ``part``'s image goes: (absolute path, path stored in the log)."""
        day = time.strftime("%Y%m%d", time.localtime(t if t is not None else time.time()))
        path = self.images_dir / day / f"part-{int(part):06d}.png"
        try:
            return path, path.relative_to(self.data_dir).as_posix()
        except ValueError:
            return path, str(path)

    def commit(self, result: Any) -> bool:
        """Commit ``result``'s row, without its image; call before the PLC write.

        True when the row is on disk, or held in memory under ``on_log_failure:
        continue``; False when it could not be committed under ``stop`` (the
        station must then publish a fault and halt; the row is still held).
        """
        row = _to_row(result)
        has_image = _field(result, "image") is not None
        if not has_image:
            row["image_state"] = "none"
        elif self._over_quota and row["verdict"] == "pass":
            row["image_state"] = "skipped"
            _add_note(row, "pass image not kept: the data directory is at its quota")
        elif not self.policy.keeps_image(row["verdict"] or "", row["part"] or 0):
            row["image_state"] = "skipped"
        else:
            row["image_state"] = "pending"
        key = (row["part"] or 0, row["shadow"])
        values = tuple(row[c] for c in schema.COLUMNS)
        self.highest_part = max(self.highest_part, row["part"] or 0)   # committed or held in memory
        with self._db:
            if self._closed:
                self._drop(row, "the result log is closed")
                return False
            if self._failing is None:
                try:
                    self._conn.execute("BEGIN")
                    row_id = self._conn.execute(schema.INSERT, values).lastrowid
                    part = row["part"] or 0
                    if part > self._reserved:
                        self._conn.execute("UPDATE meta SET value = ? WHERE key = 'part_reserved'",
                                           (str(part + RESERVE),))
                    self._conn.execute("COMMIT")
                    if part > self._reserved:
                        self._reserved = part + RESERVE
                    self._open_rows[key] = (row_id, row["image_state"], self._gen)
                    self._commits += 1
                    return True
                except sqlite3.Error as e:
                    self._rollback()
                    self._failing = f"the result log cannot commit: {e}"
                    self._wake()
            return self._hold(key, row)

    def finish(self, result: Any) -> str | None:
        """After the PLC write: record the actuation and queue the image. Never blocks.

        Returns the path (relative to the data directory) the image will be stored under, or None.
        """
        part, shadow = int(_field(result, "part") or 0), 1 if _field(result, "shadow") else 0
        fields = _clean({c: _field(result, c) for c in ("verdict", "verdict_code", "t_actuated", "latency_ms")})
        note = _field(result, "note") or _field(result, "error")
        with self._db:
            entry = self._open_rows.pop((part, shadow), None)
            if isinstance(entry, dict):             # held in memory: complete it there
                entry.update({k: v for k, v in fields.items() if v is not None})
                entry["note"] = note if note else entry["note"]
                if entry["image_state"] == "pending":
                    entry["image_state"] = "failed"
                    _add_note(entry, f"image not saved: {self._failing or 'the result log was failing'}")
                    self._count("images_failed")
                return None
        if entry is None:
            return None                             # never committed (dropped): nothing to finish
        row_id, state, gen = entry
        image = _field(result, "image")
        target = rel = None
        extra_note = None
        if state == "pending" and image is not None:
            size = int(getattr(image, "nbytes", 0))
            with self._cond:
                keep = self._pending_bytes == 0 or self._pending_bytes + size <= self.max_image_bytes
                if keep:
                    self._pending_bytes += size
            if keep:
                t = _field(result, "t_captured") or _field(result, "t_decided")
                target, rel = self.image_path_for(part, t)
            else:
                image = None
                extra_note = "image not saved: the result log was behind"
                skipped = self._count("images_skipped")
                if skipped == 1 or skipped % 100 == 0:
                    self._report(f"the result log is behind: {skipped} part images not saved")
        else:
            image = None
        now_state = "skipped" if extra_note else None
        item = ("finish", (row_id, gen), part, fields, note, extra_note, now_state, image, target, rel)
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            if target is not None:
                self._release_image(image)
            with self._cond:
                self._behind.append((row_id, gen))      # the writer marks it when it catches up
            skipped = self._count("images_skipped")
            if skipped == 1 or skipped % 100 == 0:
                self._report(f"the result log is behind: {skipped} parts without their image or "
                             "actuation time (their rows are logged)")
            return None
        with self._cond:
            self._queued += 1
        return rel

    def append(self, result: Any) -> str | None:
        """``commit`` then ``finish``: for results that need no commit before a PLC write."""
        self.commit(result)
        return self.finish(result)

    def alert(self, kind: str, level: str, message: str, figures: dict[str, Any] | None = None) -> None:
        """Log an alert the station raised. Never blocks; an alert that does not fit is counted."""
        try:
            data = json.dumps(figures, default=str) if figures is not None else None
        except (TypeError, ValueError):
            data = json.dumps({"figures": str(figures)})
        item = ("alert", (time.time(), str(kind or "station"), str(level), str(message), data))
        if self._closed:
            self._count("alerts_dropped")
            return
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self._count("alerts_dropped")
            return
        with self._cond:
            self._queued += 1

    def add_row(self, result: Any) -> bool:
        """A row no PLC sees (a shadow model's verdict): written by the writer thread, never on the
        actuation path; no image of its own (the live row of the same part has it). Never blocks;
        False when it did not fit the queue (counted in ``extra_dropped``)."""
        row = _to_row(result)
        row["image_state"] = "none"
        if row["t_actuated"] is None:
            row["t_actuated"] = row["t_decided"]
        return self._insert(schema.INSERT, tuple(row[c] for c in schema.COLUMNS))

    def add_incumbent(self, part: int, verdict: str, source: str, who: str = "", t: float | None = None,
                      note: str | None = None) -> bool:
        """The existing inspection's verdict of part ``part`` (shadow mode). Never blocks."""
        return self._insert(schema.INSERT_INCUMBENT, (int(part), str(verdict), str(source), str(who or ""),
                                                      float(time.time() if t is None else t), note))

    def _insert(self, sql: str, values: tuple) -> bool:
        if self._closed:
            self._count("extra_dropped")
            return False
        try:
            self._queue.put_nowait(("insert", (sql, values)))
        except queue.Full:
            self._count("extra_dropped")
            return False
        with self._cond:
            self._queued += 1
        return True

    def _write_inserts(self, inserts: list[tuple[str, tuple]]) -> None:
        """Writer thread: shadow rows and incumbent verdicts, one transaction. While the disk fails they
        are not held (the PLC saw none of them): counted in ``extra_dropped`` and said."""
        if not inserts:
            return
        with self._db:
            if self._failing is None:
                try:
                    self._conn.execute("BEGIN")
                    for sql, values in inserts:
                        self._conn.execute(sql, values)
                    self._conn.execute("COMMIT")
                    return
                except sqlite3.Error as e:
                    self._rollback()
                    why = str(e)
            else:
                why = self._failing
        dropped = self._count("extra_dropped", len(inserts))
        self._report(f"{len(inserts)} shadow rows / incumbent verdicts not logged ({why}); {dropped} so far")

    @property
    def held(self) -> int:
        """Rows waiting in memory for the disk."""
        return len(self._held)

    @property
    def failing(self) -> str | None:
        """Why the log cannot write now, or None."""
        return self._failing

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until everything appended so far is written (held rows excepted); False on timeout."""
        with self._cond:
            target = self._queued
            return self._cond.wait_for(lambda: self._done >= target or not self._writer.is_alive(),
                                       timeout) and self._done >= target

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued and held (if the disk takes it), then close. Idempotent."""
        if self._closed:
            return
        with self._db:
            self._closed = True
        try:
            self._queue.put(_CLOSE, timeout=timeout)
        except queue.Full:
            self._report("the result log writer did not drain before closing")
        self._writer.join(timeout)
        if not self._writer.is_alive():
            for conn in (self._ckpt, self._conn):
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def __enter__(self) -> ResultLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- reading (see ResultReader; rows appear once committed) -------
    @property
    def reader(self) -> ResultReader:
        if self._reader is None:
            self._reader = ResultReader(self.path)
        return self._reader

    def recent(self, n: int = 20) -> list[dict[str, Any]]:
        return self.reader.recent(n)

    def count(self) -> int:
        return self.reader.count()

    def counts(self) -> dict[str, int]:
        return self.reader.counts()

    def reject_rate_per_hour(self, hours: int = 24, now: float | None = None) -> list[dict[str, Any]]:
        return self.reader.reject_rate_per_hour(hours, now)

    def last_part(self) -> int:
        return self.reader.last_part()

    # ---- shared helpers ----------------------------------------------
    def _report(self, message: str) -> None:
        self._count("errors")
        # with a receiver, the receiver tells the person; logging it louder would say it twice
        log.log(logging.INFO if self.on_error is not None else logging.WARNING, "%s", message)
        if self.on_error is not None:
            try:
                self.on_error(message)
            except Exception:       # a broken receiver must not stop the log
                log.exception("result log error receiver failed")

    def _count(self, counter: str, n: int = 1) -> int:
        with self._cond:
            value = getattr(self, counter) + n
            setattr(self, counter, value)
            return value

    def _drop(self, row: dict[str, Any], why: str) -> None:
        dropped = self._count("dropped")
        self._report(f"{why}: part {row['part']} was not logged ({dropped} dropped so far)")

    def _release_image(self, image: Any) -> None:
        with self._cond:
            self._pending_bytes -= int(getattr(image, "nbytes", 0))

    def _rollback(self) -> None:
        try:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def _wake(self) -> None:
        try:
            self._queue.put_nowait(_WAKE)
        except queue.Full:
            pass                    # the writer is busy anyway: it looks at the state after each batch

    def _hold(self, key: tuple[int, int], row: dict[str, Any]) -> bool:
        """Caller holds ``_db``. Keep the row in memory until the disk takes it."""
        if len(self._held) >= self.max_held:
            self._count("dropped")
            lost = self._count("rows_lost")
            part = row["part"] or 0
            self._lost_parts = [self._lost_parts[0] if self._lost_parts else part, part]
            if lost == 1 or lost % 1000 == 0:
                self._wake()
        else:
            self._held.append(row)
            self._open_rows[key] = row
        return self.policy.on_failure == "continue"

    # ---- the writer thread --------------------------------------------
    def _run(self) -> None:
        # the writer (PNG encoding above all: 75-160 ms of CPU for a 5 MP frame) yields the cores to the
        # station's threads; rows are committed on the actuation path before the PLC write, not here
        self.writer_niced = lower_this_thread(WRITER_NICE)
        closing = False
        while not closing:
            try:
                batch = [self._queue.get(timeout=self.watch_s)]
            except queue.Empty:
                batch = []
            while batch and len(batch) < BATCH and batch[-1] is not _CLOSE:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            closing = bool(batch) and batch[-1] is _CLOSE
            items = [item for item in batch if item is not _CLOSE and item is not _WAKE]
            try:
                self._write(items)
            except Exception as e:      # never let the writer die: the station keeps running
                self._report(f"the result log could not write {len(items)} entries: {e}")
            with self._cond:
                self._done += len(items)
                self._cond.notify_all()
            try:
                self._housekeeping(closing)
            except Exception as e:
                self._report(f"the result log's housekeeping failed: {e}")
        self._close_run()

    def _write(self, items: list[tuple]) -> None:
        # first what the PLC was told and when (cheap, one transaction), then the images
        alerts = [item[1] for item in items if item[0] == "alert"]
        finishes = [item for item in items if item[0] == "finish"]
        behind = []
        with self._cond:
            while self._behind:
                behind.append((None, None, None, None, None, BEHIND_NOTE, "skipped", None, None,
                               self._now_id(*self._behind.popleft())))
        self._commit_updates(behind + [(f["verdict"], f["verdict_code"], f["t_actuated"], f["latency_ms"], note, extra,
                                        state, None, None, self._now_id(*ref))
                                       for _, ref, _part, f, note, extra, state, _img, _target, _rel in finishes],
                             alerts)
        self._write_inserts([item[1] for item in items if item[0] == "insert"])
        images = []
        for _, ref, part, _fields, _note, _extra, _state, image, target, rel in finishes:
            if target is None:
                continue
            row_id = self._now_id(*ref)
            try:
                if self._failing is not None or not self.data_dir.is_dir():
                    # never re-create a data directory that went away (its mount point would fill)
                    raise OSError(self._failing or f"the data directory {self.data_dir} is gone")
                data = encode_png(image)
                # fsynced only for durability: power-loss; a kill -9 cannot tear a renamed file
                atomic_write_bytes(target, data, fsync=self.policy.durability == "power-loss",
                                   within=self.data_dir)
                images.append((None, None, None, None, None, None, "saved", rel, len(data), row_id))
                self._usage += len(data)
            except Exception as e:  # OSError from the disk, ValueError from a strange image
                images.append((None, None, None, None, None, f"image not saved: {e}", "failed", None, None, row_id))
                self._count("images_failed")
                self._report(f"part {part}: image not saved to {target}: {e}")
            finally:
                self._release_image(image)
        self._commit_updates(images, [])

    def _now_id(self, row_id: int, gen: int) -> int | None:
        """The id today of the row committed as ``row_id`` in file generation ``gen``."""
        return row_id if gen == self._gen else self._maps.get(gen, {}).get(row_id)

    def _commit_updates(self, updates: list[tuple], alerts: list[tuple]) -> None:
        updates = [u for u in updates if u[-1] is not None]      # rows that went with an unreadable file
        if not updates and not alerts:
            return
        with self._db:
            if self._failing is None:
                try:
                    self._conn.execute("BEGIN")
                    self._apply(updates, alerts)
                    self._conn.execute("COMMIT")
                    return
                except sqlite3.Error as e:
                    self._rollback()
                    self._failing = f"the result log cannot write: {e}"
            self._held_updates.extend(updates)
            self._held_alerts.extend(alerts)

    def _apply(self, updates: list[tuple], alerts: list[tuple]) -> None:
        """Caller holds ``_db`` inside a transaction."""
        if updates:
            self._conn.executemany(
                "UPDATE results SET verdict = COALESCE(?1, verdict), verdict_code = COALESCE(?2, verdict_code), "
                "t_actuated = COALESCE(?3, t_actuated), latency_ms = COALESCE(?4, latency_ms), "
                "note = CASE WHEN ?6 IS NULL THEN COALESCE(?5, note) WHEN COALESCE(?5, note) IS NULL THEN ?6 "
                "ELSE COALESCE(?5, note) || '; ' || ?6 END, "
                "image_state = COALESCE(?7, image_state), image_path = COALESCE(?8, image_path), "
                "image_bytes = COALESCE(?9, image_bytes) WHERE id = ?10", updates)
        if alerts:
            self._conn.executemany(schema.INSERT_ALERT, alerts)

    def _close_run(self) -> None:
        """Writer thread, last: a clean close lets the next run continue right after the last part."""
        with self._db:
            if self._failing is not None or self._held:
                n = len(self._held)
                lost_now = n
            else:
                lost_now = 0
                try:
                    self._conn.execute("BEGIN")
                    last = int(self._conn.execute("SELECT COALESCE(MAX(part), 0) FROM results").fetchone()[0])
                    self._conn.execute("UPDATE meta SET value = ? WHERE key = 'part_reserved'", (str(last),))
                    self._conn.execute("UPDATE meta SET value = '0' WHERE key = 'open'")
                    self._conn.execute("COMMIT")
                except sqlite3.Error:
                    self._rollback()
        if lost_now:
            self._count("dropped", lost_now)
            self._count("rows_lost", lost_now)
            self._report(f"the result log closes with {lost_now} rows it could not write: they are lost "
                         f"({self._failing})")
        try:
            self._ckpt.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            pass


LOST_NOTE = "image never arrived: the station stopped before saving it"
BEHIND_NOTE = "image and actuation time not recorded: the result log was behind"
