"""Reading the result log, from the station itself or from another process.

The connection is read-only and the log is in WAL mode, so a dashboard, a
report script or the kiosk can read while the station writes without ever
making the station wait. A row's ``image_state`` says what became of its
image (``schema.IMAGE_STATES``): 'pending' while the writer saves it, 'lost'
when the station stopped before it arrived. Shadow rows (a shadow model's verdicts, never sent
to the PLC) are left out of every figure here.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from studio.core.errors import StudioError
from studio.results import rates
from studio.results.schema import VERDICTS

LIVE = "shadow = 0"


class ResultReader:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.exists():
            raise StudioError("no result log here", file=self.path,
                              hint="run the station once, or give the data directory it writes to")
        self._conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                     timeout=5.0, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.Lock()   # one connection shared by the threads of a view

    def _query(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def recent(self, n: int = 20) -> list[dict[str, Any]]:
        """The last ``n`` parts, newest first."""
        rows = self._query(f"SELECT * FROM results WHERE {LIVE} ORDER BY id DESC LIMIT ?", (int(n),))
        return [dict(r) for r in rows]

    def after(self, row_id: int, n: int = 500) -> list[dict[str, Any]]:
        """The parts logged after row ``row_id`` (the ``id`` column), oldest first, at most ``n``."""
        rows = self._query(f"SELECT * FROM results WHERE {LIVE} AND id > ? ORDER BY id LIMIT ?",
                           (int(row_id), int(n)))
        return [dict(r) for r in rows]

    def part(self, part: int) -> dict[str, Any] | None:
        """The logged row of part number ``part`` (the live verdict, not a shadow's), or None."""
        rows = self._query(f"SELECT * FROM results WHERE {LIVE} AND part = ? ORDER BY id DESC LIMIT 1",
                           (int(part),))
        return dict(rows[0]) if rows else None

    def count(self) -> int:
        return int(self._query(f"SELECT COUNT(*) FROM results WHERE {LIVE}")[0][0])

    def counts(self) -> dict[str, int]:
        """Parts per verdict; every verdict is present, with 0 when none."""
        out = dict.fromkeys(VERDICTS, 0)
        for verdict, n in self._query(f"SELECT verdict, COUNT(*) FROM results WHERE {LIVE} GROUP BY verdict"):
            out[verdict] = int(n)
        return out

    def last_part(self) -> int:
        """The highest part number logged, 0 for an empty log."""
        return int(self._query("SELECT COALESCE(MAX(part), 0) FROM results")[0][0])

    def alerts(self, n: int = 50, kind: str | None = None) -> list[dict[str, Any]]:
        """The last ``n`` alerts the station raised, newest first (``figures`` decoded)."""
        if not self._query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alerts'"):
            return []           # a log from before schema version 2
        where, args = ("WHERE kind = ?", (kind,)) if kind else ("", ())
        rows = self._query(f"SELECT * FROM alerts {where} ORDER BY id DESC LIMIT ?", (*args, int(n)))
        out = []
        for r in rows:
            d = dict(r)
            try:
                d["figures"] = json.loads(d["figures"]) if d["figures"] else None
            except ValueError:
                pass            # shown as written
            out.append(d)
        return out

    def images(self) -> dict[str, int]:
        """Rows per image state (see ``schema.IMAGE_STATES``)."""
        return {str(state): int(n) for state, n in
                self._query(f"SELECT COALESCE(image_state, 'none'), COUNT(*) FROM results WHERE {LIVE} "
                            "GROUP BY 1")}

    def reject_rate_per_hour(self, hours: int = 24, now: float | None = None) -> list[dict[str, Any]]:
        """Per clock hour of the last ``hours``: parts, rejected (reject or fault), review, and
        ``rate`` = ``rates.reject_rate`` (review parts counted apart, never as rejects).

        Only hours with parts are listed, oldest first; ``hour`` is the hour's
        start in seconds since the epoch.
        """
        now = time.time() if now is None else now
        rej_codes = ", ".join(str(c) for c in rates.REJECTED_CODES)
        review_codes = ", ".join(str(c) for c in rates.REVIEW_CODES)
        rows = self._query(
            f"SELECT CAST(t_decided / 3600 AS INTEGER) * 3600 AS hour, COUNT(*), "
            f"SUM(CASE WHEN verdict_code IN ({rej_codes}) THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN verdict_code IN ({review_codes}) THEN 1 ELSE 0 END) FROM results "
            f"WHERE {LIVE} AND t_decided >= ? GROUP BY hour ORDER BY hour",
            (now - hours * 3600.0,))
        return [{"hour": float(hour), "parts": int(n), "rejected": int(rej), "review": int(rev),
                 "rate": rates.reject_rate({"parts": n, "reject": rej})} for hour, n, rej, rev in rows]

    def figures(self) -> dict[str, Any]:
        """Counts per bucket (``rates.BUCKETS``), ``parts``, ``reject_rate`` and ``review_rate`` of the whole log."""
        counts = rates.tally(())
        for verdict, n in self.counts().items():
            counts[rates.bucket(verdict)] += n
            counts["parts"] += n
        return {**counts, "reject_rate": rates.reject_rate(counts), "review_rate": rates.review_rate(counts)}

    def close(self) -> None:
        with self._lock:
            self._conn.close()
