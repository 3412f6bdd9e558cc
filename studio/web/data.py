"""What the dashboard reads: the result log (read-only, WAL) and the report, with bounded cost.

However many browsers are open, the log is asked at most once per
``VERSION_TTL_S`` whether something changed and the report is built at most
once per ``REPORT_TTL_S`` (per ``since``); every client gets the shared copy.
Nothing here writes: the log is opened ``mode=ro``, images are only read.

Images are served by part number only: the path comes from the part's row,
is resolved, and must lie inside the data directory and be an image file.
"""
from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from studio.core.errors import StudioError
from studio.results.reader import ResultReader
from studio.results.schema import FILE_NAME

log = logging.getLogger(__name__)

VERSION_TTL_S = 0.5
REPORT_TTL_S = 2.0
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".bmp": "image/bmp",
               ".tif": "image/tiff", ".tiff": "image/tiff", ".webp": "image/webp"}
MAX_RECENT = 500


class NoLog(StudioError):
    """The data directory has no result log (yet)."""


def finite(value: Any) -> Any:
    """``value`` with every NaN / infinity made None (JSON has neither), recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return None
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if hasattr(value, "item"):                      # numpy scalars
        return finite(value.item())
    return str(value)


class DashboardData:
    def __init__(self, data_dir: str | Path, project: Any = None):
        path = Path(data_dir).expanduser().resolve()
        self.data_dir = path.parent if path.suffix == ".sqlite" else path     # the log file itself also names it
        self.log_path = self.data_dir / FILE_NAME
        self.project = project
        self._reader: ResultReader | None = None
        self._lock = threading.Lock()
        self._report_lock = threading.Lock()
        self._reports: dict[str | None, tuple[float, dict[str, Any]]] = {}
        self._version: tuple[float, dict[str, Any]] | None = None
        self._parts: tuple[float, int] | None = None

    # ---- the log ----------------------------------------------------------------
    def reader(self) -> ResultReader:
        with self._lock:
            if self._reader is None:
                if not self.log_path.exists():
                    raise NoLog("no result log here yet", file=self.log_path,
                                hint="the station writes it with its first part; check the data directory "
                                     "the dashboard was given")
                self._reader = ResultReader(self.log_path)
            return self._reader

    def _read(self, fn):
        """``fn(reader)``; a reader broken by a moved or replaced file is opened again once."""
        try:
            return fn(self.reader())
        except sqlite3.Error:
            self.close()
            try:
                return fn(self.reader())
            except sqlite3.Error as e:
                raise StudioError(f"the result log cannot be read: {e}", file=self.log_path,
                                  hint="check the disk of the data directory; the station may be "
                                       "recovering it") from None

    def close(self) -> None:
        with self._lock:
            if self._reader is not None:
                try:
                    self._reader.close()
                except sqlite3.Error:
                    pass
                self._reader = None

    # ---- what the endpoints return ----------------------------------------------
    def version(self) -> dict[str, Any]:
        """The last part number and the newest alert (cached ``VERSION_TTL_S``): what the live page watches."""
        now = time.monotonic()
        cached = self._version
        if cached and now - cached[0] < VERSION_TTL_S:
            return cached[1]
        try:
            def read(r: ResultReader) -> dict[str, Any]:
                alerts = r.alerts(1)
                return {"log": True, "last_part": r.last_part(),
                        "last_alert": alerts[0]["id"] if alerts else 0,
                        "acked": alerts[0].get("acked_at") if alerts else None}
            v = self._read(read)
        except NoLog:
            v = {"log": False, "last_part": 0, "last_alert": 0, "acked": None}
        self._version = (now, v)
        return v

    def report(self, since: str | None = None) -> dict[str, Any]:
        """``build_report`` of the data directory, shared for ``REPORT_TTL_S`` between all clients."""
        from studio.monitoring.report import build_report

        if not self.log_path.exists():
            raise NoLog("no result log here yet", file=self.log_path,
                        hint="the station writes it with its first part")
        with self._report_lock:             # one build at a time; the others wait and take its result
            cached = self._reports.get(since)
            if cached and time.monotonic() - cached[0] < REPORT_TTL_S:
                return cached[1]
            try:
                report = finite(build_report(self.data_dir, since=since, project=self.project))
            except ValueError as e:
                raise BadRequest(f"'since' is not an ISO time ({since!r}): {e}",
                                 hint="write e.g. since=2026-03-01T06:00") from None
            except StudioError as e:
                if e.field != "since":      # the report's own words for a bad --since
                    raise
                raise BadRequest(f"'since' is not an ISO time ({since!r}): {e.message}",
                                 hint="write e.g. since=2026-03-01T06:00") from None
            except sqlite3.Error as e:
                raise StudioError(f"the result log cannot be read: {e}", file=self.log_path) from None
            self._reports = {k: v for k, v in self._reports.items() if time.monotonic() - v[0] < 60}
            self._reports[since] = (time.monotonic(), report)
            return report

    def recent(self, n: int = 20) -> list[dict[str, Any]]:
        n = max(1, min(MAX_RECENT, int(n)))
        return [self._row(r) for r in self._read(lambda r: r.recent(n))]

    def part(self, n: int) -> dict[str, Any] | None:
        row = self._read(lambda r: r.part(n))
        return self._row(row) if row else None

    def alerts(self, n: int = 50) -> list[dict[str, Any]]:
        return finite(self._read(lambda r: r.alerts(max(1, min(1000, int(n))))))

    def _count(self) -> int:
        """Live parts in the log (a scan of the table: shared for ``REPORT_TTL_S``)."""
        cached = self._parts
        if cached and time.monotonic() - cached[0] < REPORT_TTL_S:
            return cached[1]
        n = self._read(lambda r: r.count())
        self._parts = (time.monotonic(), n)
        return n

    def health(self, count: bool = True) -> dict[str, Any]:
        """Whether the log reads, its last part and how long ago; ``parts`` only with ``count``."""
        out: dict[str, Any] = {"ok": True, "data_dir": str(self.data_dir), "log": "missing", "parts": 0,
                               "last_part": 0, "last_part_time": None, "last_part_age_s": None}
        try:
            recent = self._read(lambda r: r.recent(1))
            out["parts"] = self._count() if count else None
        except NoLog:
            return out
        except StudioError as e:
            return {**out, "ok": False, "log": "unreadable", "error": e.message}
        out["log"] = "ok"
        if recent:
            t = recent[0].get("t_decided")
            out.update(last_part=recent[0]["part"], last_part_time=t,
                       last_part_age_s=None if t is None else round(max(0.0, time.time() - t), 1))
        return out

    def image_file(self, n: int) -> tuple[Path, str]:
        """The saved image of part ``n`` and its media type, or a StudioError (NotFound) saying why not."""
        row = self._read(lambda r: r.part(n))
        if row is None:
            raise NotFound(f"no part {n} in the result log")
        rel = row.get("image_path")
        if not rel or row.get("image_state") not in (None, "saved"):
            raise NotFound(f"part {n} has no saved image (image state: {row.get('image_state') or 'none'})")
        path = (self.data_dir / str(rel)).resolve()
        if not path.is_relative_to(self.data_dir):
            log.warning("refused part %s's image path %r: outside the data directory", n, rel)
            raise NotFound(f"part {n}'s image is not in the data directory; the dashboard serves nothing else")
        kind = IMAGE_TYPES.get(path.suffix.lower())
        if kind is None:
            raise NotFound(f"part {n}'s image file is not an image type the dashboard serves")
        if not path.is_file():
            raise NotFound(f"part {n}'s image file is gone (pruned or moved)")
        return path, kind

    @staticmethod
    def _row(row: dict[str, Any]) -> dict[str, Any]:
        row = finite(dict(row))
        saved = row.get("image_path") and row.get("image_state") in (None, "saved")
        row["image_url"] = f"/api/image/{row['part']}" if saved else None
        return row


class NotFound(StudioError):
    """What was asked for is not there (HTTP 404)."""


class BadRequest(StudioError):
    """The request itself is wrong (HTTP 400)."""
