"""The station's result log: every part, its verdict and its image.

``append`` only puts the result on a bounded queue; a writer thread saves
the image (PNG, written atomically) and then inserts the row. The station
calls ``append`` right after the PLC write, so a slow disk can delay the log
but never the actuation of the next part.

Under normal load nothing is lost. When the writer falls behind, images are
left out first (rows are small, images are megabytes: at most
``max_image_bytes`` of them wait in memory) and only when the row queue is
full too is a result dropped; both are counted and reported through
``on_error``. A disk error (full disk, unplugged drive) is reported the same
way and the row is still committed without its image where SQLite can.
"""
from __future__ import annotations

import logging
import math
import queue
import sqlite3
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable

import numpy as np

from studio.core.atomic import atomic_write_bytes
from studio.core.errors import StudioError
from studio.results import schema
from studio.results.reader import ResultReader

log = logging.getLogger(__name__)

_CLOSE = object()
BATCH = 64              # rows per transaction when the writer catches up
RETRY_S = 0.2


def _field(result: Any, name: str, default: Any = None) -> Any:
    if isinstance(result, Mapping):
        return result.get(name, default)
    return getattr(result, name, default)


def _to_row(result: Any) -> dict[str, Any]:
    """The row for ``result`` (a PartResult or a mapping), as plain SQLite types."""
    row = {c: _field(result, c) for c in schema.COLUMNS}
    row["shadow"] = 1 if row["shadow"] else 0
    # a fault's error text is the note a person reads in the log
    row["note"] = row["note"] or _field(result, "error")
    for c in schema.INTEGERS:
        row[c] = None if row[c] is None else int(row[c])
    for c in schema.REALS:
        value = row[c]
        row[c] = None if value is None or not math.isfinite(float(value)) else float(value)
    for c in ("part_id", "verdict", "defect_class", "model_id", "note"):
        row[c] = None if row[c] is None else str(row[c])
    return row


def _add_note(row: dict[str, Any], text: str) -> None:
    row["note"] = f"{row['note']}; {text}" if row["note"] else text


def encode_png(image: np.ndarray) -> bytes:
    import cv2

    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)     # frames are RGB, OpenCV writes BGR
    ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])   # fast over small
    if not ok:
        raise OSError(f"could not encode a {image.dtype} image of shape {image.shape} as PNG")
    return buf.tobytes()


class ResultLog:
    """SQLite (WAL) log at ``path``; images under ``images_dir`` (default: next to it)."""

    def __init__(self, path: str | Path, *, images_dir: str | Path | None = None,
                 on_error: Callable[[str], None] | None = None,
                 max_pending: int = 4096, max_image_bytes: int = 256 * 2**20):
        self.path = Path(path)
        self.data_dir = self.path.parent
        self.images_dir = Path(images_dir) if images_dir is not None else self.data_dir / "images"
        self.on_error = on_error
        self.max_image_bytes = max_image_bytes
        self.dropped = 0            # results not logged at all
        self.images_skipped = 0     # rows logged without their image because the writer was behind
        self.errors = 0             # disk or database errors reported
        self._queue: queue.Queue = queue.Queue(maxsize=max_pending)
        self._cond = threading.Condition()
        self._queued = 0            # results accepted by append
        self._done = 0              # results the writer has finished with (committed or reported)
        self._pending_bytes = 0     # image memory waiting for the writer
        self._closed = False
        self._reader: ResultReader | None = None
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(self.path), timeout=10.0, check_same_thread=False)
            mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            self._conn.execute("PRAGMA synchronous=NORMAL")
            schema.create(self._conn, str(self.path))
        except (OSError, sqlite3.Error) as e:
            raise StudioError(f"cannot open the result log: {e}", file=self.path,
                              hint="check that the data directory exists and is writable, "
                                   "or choose another one with --data-dir") from None
        if str(mode).lower() != "wal":
            self._report(f"the result log is not in WAL mode ({mode}): readers may delay the station; "
                         "keep the data directory on a local disk")
        self._writer = threading.Thread(target=self._run, name="result-log-writer", daemon=True)
        self._writer.start()

    # ---- the station's side ------------------------------------------
    def image_path_for(self, part: int, t: float | None = None) -> tuple[Path, str]:
        """Where part ``part``'s image goes: (absolute path, path stored in the log)."""
        day = time.strftime("%Y%m%d", time.localtime(t if t is not None else time.time()))
        path = self.images_dir / day / f"part-{int(part):06d}.png"
        try:
            return path, path.relative_to(self.data_dir).as_posix()
        except ValueError:
            return path, str(path)

    def append(self, result: Any) -> str | None:
        """Queue ``result`` for the log; returns the image path it will be stored under, or None.

        Never blocks: when the writer is too far behind the result is counted
        as dropped and reported.
        """
        row = _to_row(result)
        image = _field(result, "image")
        target = None
        if self._closed:
            self._drop(row, "the result log is closed")
            return None
        if image is not None:
            size = int(getattr(image, "nbytes", 0))
            with self._cond:
                # always room for one image, however large
                keep_image = self._pending_bytes == 0 or self._pending_bytes + size <= self.max_image_bytes
                if keep_image:
                    self._pending_bytes += size
            if keep_image:
                t = row["t_captured"] or row["t_decided"]
                target, row["image_path"] = self.image_path_for(row["part"] or 0, t)
            else:
                image = None
                skipped = self._count("images_skipped")
                _add_note(row, "image not saved: the result log was behind")
                if skipped == 1 or skipped % 100 == 0:
                    self._report(f"the result log is behind: {skipped} part images not saved")
        else:
            row["image_path"] = None
        try:
            self._queue.put_nowait((row, image, target))
        except queue.Full:
            if target is not None:
                self._release_image(image)
            self._drop(row, "the result log is behind")
            return None
        with self._cond:
            self._queued += 1
        return row["image_path"]

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until every result appended so far is committed; False on timeout."""
        with self._cond:
            target = self._queued
            return self._cond.wait_for(lambda: self._done >= target or not self._writer.is_alive(),
                                       timeout) and self._done >= target

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, then close. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self._queue.put(_CLOSE, timeout=timeout)
        except queue.Full:
            self._report("the result log writer did not drain before closing")
        self._writer.join(timeout)
        if not self._writer.is_alive():
            self._conn.close()
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def __enter__(self) -> "ResultLog":
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

    # ---- the writer thread --------------------------------------------
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
        # the actuation thread and the writer both count; keep the figures exact
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

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < BATCH and batch[-1] is not _CLOSE:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            items = [item for item in batch if item is not _CLOSE]
            try:
                self._write(items)
            except Exception as e:      # never let the writer die: the station keeps running
                self._report(f"the result log could not write {len(items)} parts: {e}")
            with self._cond:
                self._done += len(items)
                self._cond.notify_all()
            if batch[-1] is _CLOSE:
                return

    def _write(self, items: list[tuple[dict[str, Any], Any, Path | None]]) -> None:
        rows = []
        for row, image, target in items:
            if target is not None:
                try:
                    atomic_write_bytes(target, encode_png(image))
                except Exception as e:  # OSError from the disk, cv2.error from a strange image
                    row["image_path"] = None
                    _add_note(row, f"image not saved: {e}")
                    self._report(f"part {row['part']}: image not saved to {target}: {e}")
                finally:
                    self._release_image(image)
            rows.append(tuple(row[c] for c in schema.COLUMNS))
        try:
            with self._conn:
                self._conn.executemany(schema.INSERT, rows)
            return
        except sqlite3.Error as e:
            self._report(f"the result log could not commit {len(rows)} parts ({e}); retrying")
        time.sleep(RETRY_S)
        lost = []
        for row in rows:            # one by one, so one bad row does not lose the others
            try:
                with self._conn:
                    self._conn.execute(schema.INSERT, row)
            except sqlite3.Error as e:
                lost.append((row[0], e))
        if lost:
            self._count("dropped", len(lost))
            self._report(f"the result log lost {len(lost)} parts "
                         f"(first: part {lost[0][0]}: {lost[0][1]}); check the disk")
