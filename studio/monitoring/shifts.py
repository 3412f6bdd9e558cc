"""Shifts: which shift a moment belongs to, from ``shifts:`` in station.yaml.

``shifts`` is a list of ``{name, start}`` (``start`` "HH:MM", local time),
e.g. ``[{name: A, start: "06:00"}, {name: B, start: "14:00"}, {name: C,
start: "22:00"}]``, or a mapping ``{A: "06:00", B: "14:00", C: "22:00"}``.
A shift runs from its start to the next shift's start; the last one runs
past midnight into the first (a moment before the first start belongs to the
last shift of the day before). Without shifts every moment is in shift "".
"""
from __future__ import annotations

import datetime as _dt
import re
from typing import Any

from studio.core.errors import StudioError

_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


def parse_shifts(shifts: Any) -> list[tuple[str, int]]:
    """``(name, minutes after midnight)`` per shift, sorted by start; StudioError naming what is wrong."""
    if not shifts:
        return []
    if isinstance(shifts, dict):
        items = [{"name": k, "start": v} for k, v in shifts.items()]
    elif isinstance(shifts, list):
        items = shifts
    else:
        raise StudioError(f"shifts is {shifts!r}, not a list of {{name, start}}", field="shifts",
                          hint='e.g. shifts: [{name: A, start: "06:00"}, {name: B, start: "14:00"}]')
    out = []
    for item in items:
        if not isinstance(item, dict) or "start" not in item:
            raise StudioError(f"a shift is {item!r}, not {{name, start}}", field="shifts",
                              hint='e.g. {name: A, start: "06:00"}')
        start = item["start"]
        if isinstance(start, int) and not isinstance(start, bool):      # YAML reads 06:00 unquoted as 360
            minutes = start if start < 24 * 60 else -1
        else:
            m = _HHMM.match(str(start))
            minutes = int(m.group(1)) * 60 + int(m.group(2)) if m and int(m.group(1)) < 24 \
                and int(m.group(2)) < 60 else -1
        if minutes < 0:
            raise StudioError(f"shift {item.get('name', '?')!r} starts at {start!r}, not a time of day",
                              field="shifts", hint='write the start as "HH:MM" in quotes, e.g. "06:00"')
        out.append((str(item.get("name") or f"{minutes // 60:02d}:{minutes % 60:02d}"), minutes))
    out.sort(key=lambda s: s[1])
    if len({m for _, m in out}) != len(out):
        raise StudioError("two shifts start at the same time", field="shifts", hint="give each shift its own start")
    return out


def shift_window(epoch_seconds: float, shifts: Any) -> tuple[str, float]:
    """The shift ``epoch_seconds`` falls in and when that shift began (seconds since the epoch)."""
    table = shifts if shifts and isinstance(shifts, list) and isinstance(shifts[0], tuple) else parse_shifts(shifts)
    t = _dt.datetime.fromtimestamp(float(epoch_seconds)).astimezone()
    if not table:
        midnight = t.replace(hour=0, minute=0, second=0, microsecond=0)
        return "", midnight.timestamp()
    minute = t.hour * 60 + t.minute
    day = t.replace(hour=0, minute=0, second=0, microsecond=0)
    earlier = [s for s in table if s[1] <= minute]
    if earlier:
        name, start = earlier[-1]
    else:                               # before the first start: the last shift of the day before
        name, start = table[-1]
        day = day - _dt.timedelta(days=1)
    began = (day.replace(tzinfo=None) + _dt.timedelta(minutes=start)).astimezone()
    return name, began.timestamp()


def shift_of(epoch_seconds: float, shifts: Any) -> str:
    """The name of the shift ``epoch_seconds`` (seconds since the epoch) falls in; "" without shifts."""
    return shift_window(epoch_seconds, shifts)[0]


def shift_span(epoch_seconds: float, table: list[tuple[str, int]]) -> tuple[str, float, float]:
    """``(name, start, end)`` of the shift ``epoch_seconds`` is in (``table`` from ``parse_shifts``), so a
    caller can reuse it for every part until ``end`` (a clock change inside a shift moves its end by the hour)."""
    name, start = shift_window(epoch_seconds, table)
    if not table:
        return name, start, start + 86400.0
    minutes = [m for _, m in table]
    i = [n for n, _ in table].index(name)
    length = (minutes[(i + 1) % len(minutes)] - minutes[i]) % 1440 or 1440
    return name, start, start + length * 60.0
