"""The incumbent's verdicts: what the existing inspection (people, an AOI) decided, part by part.

Three ways in, one table (``incumbent`` in the result log, schema v3):

- the PLC, after its own check: Modbus registers 50..59 or the OPC UA
  ``Incumbent*`` variables (``register_map``, ``opcua_model``), keyed by the
  station's part counter or the PLC's part id (``IncumbentInbox.from_plc``);
- the kiosk: an inspector presses pass or reject for the part shown
  (``IncumbentInbox.from_kiosk``, ``studio.gui.widgets.incumbent_keys``);
- a CSV imported afterwards: ``studio station incumbent DATA_DIR FILE.csv``
  (``import_csv``), keyed by ``part`` (the station's number), ``part_id`` (the
  PLC's) or ``time`` (ISO or epoch seconds: the live part triggered nearest
  to it, within ``--within`` seconds).

The latest verdict of a part counts (an inspector may correct a key press).
"""
from __future__ import annotations

import csv
import datetime as _dt
import sqlite3
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from studio.core.errors import StudioError
from studio.plc import register_map as rm
from studio.results.incumbent import latest_verdicts  # noqa: F401  (read side, re-exported)
from studio.results.schema import FILE_NAME, INSERT_INCUMBENT

RECENT = 4096           # parts remembered for keying a PLC verdict by counter or part id
WORDS = {"pass": "pass", "ok": "pass", "good": "pass", "1": "pass", "accept": "pass",
         "reject": "reject", "ng": "reject", "nok": "reject", "bad": "reject", "2": "reject", "fail": "reject"}


def verdict_word(value: Any) -> str | None:
    """pass | reject for the ways people and PLCs write them; None when unreadable."""
    return WORDS.get(str(value).strip().lower())


class IncumbentInbox:
    """Live incumbent verdicts during a run, written through the result log's writer (never blocks)."""

    def __init__(self, log: Any, alert: Any = None):
        self.log = log
        self.alert = alert
        self.received = 0
        self.unmatched = 0
        self._lock = threading.Lock()
        self._by_counter: OrderedDict[int, int] = OrderedDict()     # low 16 bits -> part
        self._by_id: OrderedDict[str, int] = OrderedDict()

    def seen(self, result: Any) -> None:
        """A part the station inspected (actuation thread): remember its keys."""
        with self._lock:
            self._by_counter[int(result.part) & rm.WORD] = int(result.part)
            self._by_counter.move_to_end(int(result.part) & rm.WORD)
            if result.part_id:
                self._by_id[result.part_id] = int(result.part)
                self._by_id.move_to_end(result.part_id)
            while len(self._by_counter) > RECENT:
                self._by_counter.popitem(last=False)
            while len(self._by_id) > RECENT:
                self._by_id.popitem(last=False)

    def from_plc(self, counter: int, part_id: str, verdict_code: int) -> None:
        """The PLC's thread: its incumbent registers / variables were written."""
        verdict = "pass" if verdict_code == rm.VERDICT_PASS else "reject"
        with self._lock:
            part = self._by_id.get(part_id) if part_id else None
            if part is None and not part_id:
                part = int(counter) if counter > rm.WORD else self._by_counter.get(int(counter) & rm.WORD)
        if part is None:
            self.unmatched += 1
            if self.alert is not None:
                key = f"part id {part_id!r}" if part_id else f"counter {counter}"
                self.alert(f"the PLC gave an incumbent verdict for {key}, which is no recent part of this station",
                           "warning", key="incumbent")
            return
        self.received += 1
        self.log.add_incumbent(part, verdict, "plc", who="plc")

    def from_kiosk(self, part: int, verdict: str, inspector: str) -> None:
        """An inspector's key press for the part shown (GUI thread)."""
        word = verdict_word(verdict)
        if word is None:
            raise StudioError(f"an incumbent verdict is pass or reject, not '{verdict}'")
        self.received += 1
        self.log.add_incumbent(int(part), word, "kiosk", who=inspector)

    def stats(self) -> dict[str, int]:
        return {"incumbent_received": self.received, "incumbent_unmatched": self.unmatched}


def _epoch(text: str) -> float:
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    t = _dt.datetime.fromisoformat(text)
    if t.tzinfo is None:
        t = t.astimezone()
    return t.timestamp()


def import_csv(data_dir: str | Path, file: str | Path, *, within_s: float = 2.0,
               who: str | None = None) -> dict[str, Any]:
    """Import the incumbent's verdicts from ``file`` into the log in ``data_dir``.

    Columns: ``verdict`` (pass/reject, ok/ng, 1/2) and one key: ``part``,
    ``part_id`` or ``time``. Every line that cannot be matched is listed with its
    line number; nothing is written unless at least one line matched."""
    data_dir, file = Path(data_dir), Path(file)
    db = data_dir / FILE_NAME if data_dir.suffix != ".sqlite" else data_dir
    if not db.is_file():
        raise StudioError("no result log here", file=db, hint="give the station's data directory")
    if not file.is_file():
        raise StudioError("the CSV file is not there", file=file)
    try:
        with file.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
            header = [str(h).strip().lower() for h in (reader.fieldnames or [])]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise StudioError(f"the CSV file cannot be read: {e}", file=file) from None
    key = next((k for k in ("part", "part_id", "time") if k in header), None)
    if "verdict" not in header or key is None:
        raise StudioError(f"the CSV needs a 'verdict' column and one of 'part', 'part_id', 'time' "
                          f"(it has {', '.join(header) or 'no header'})", file=file,
                          hint="e.g. a first line 'part,verdict' then '123,reject'")
    _ensure_schema(db)
    conn = sqlite3.connect(str(db), timeout=10.0)
    try:
        live = conn.execute("SELECT part, part_id, t_trigger FROM results WHERE shadow = 0").fetchall()
        by_part = {int(p): int(p) for p, _, _ in live}
        by_id = {str(i): int(p) for p, i, _ in live if i}
        times = sorted((float(t), int(p)) for p, _, t in live if t is not None)
        out, problems = [], []
        for n, raw in enumerate(rows, start=2):
            row = {str(k).strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
            verdict = verdict_word(row.get("verdict", ""))
            if verdict is None:
                problems.append(f"line {n}: verdict '{row.get('verdict', '')}' is not pass or reject")
                continue
            value = row.get(key, "")
            try:
                if key == "part":
                    part = by_part.get(int(value))
                elif key == "part_id":
                    part = by_id.get(value)
                else:
                    part = _nearest(times, _epoch(value), within_s)
            except ValueError:
                problems.append(f"line {n}: {key} '{value}' is not readable")
                continue
            if part is None:
                problems.append(f"line {n}: no part of the log has {key} {value}"
                                + (f" (within {within_s:g} s)" if key == "time" else ""))
                continue
            out.append((part, verdict, "csv", who or file.name, time.time(), row.get("note") or None))
        if out:
            with conn:
                conn.executemany(INSERT_INCUMBENT, out)
    finally:
        conn.close()
    return {"file": str(file), "key": key, "imported": len(out), "lines": len(rows), "problems": problems,
            "rejects": sum(v == "reject" for _, v, *_ in out)}


def _nearest(times: list[tuple[float, int]], t: float, within_s: float) -> int | None:
    import bisect

    i = bisect.bisect_left(times, (t, -1))
    best = None
    for j in (i - 1, i):
        if 0 <= j < len(times) and abs(times[j][0] - t) <= within_s:
            if best is None or abs(times[j][0] - t) < abs(best[0] - t):
                best = times[j]
    return None if best is None else best[1]


def _ensure_schema(db: Path) -> None:
    """An older log gets the v3 tables (after its backup) before anything is written into it."""
    from studio.results import schema

    conn = sqlite3.connect(str(db), timeout=10.0, isolation_level=None)
    try:
        schema.create(conn, str(db))
    finally:
        conn.close()
