"""Shifts: which shift a moment belongs to, from ``shifts:`` in station.yaml.

``shifts: [{name: A, start: "06:00"}, {name: B, start: "14:00"}, {name: C, start: "22:00"}]``
-- each shift runs from its start (local time of the station PC) to the next
one's start; the last runs past midnight to the first. ``shift_of`` is the one
rule, shared by the shadow comparison and the reject-rate monitoring.
"""
from __future__ import annotations

import datetime as _dt
from typing import Any

from studio.core.errors import StudioError

NO_SHIFTS = "all"           # the name of the whole day when no shifts are set


def _minutes(text: Any, where: str) -> int:
    try:
        h, m = str(text).strip().split(":")
        hh, mm = int(h), int(m)
        if not (0 <= hh < 24 and 0 <= mm < 60):
            raise ValueError
    except ValueError:
        raise StudioError(f"shift start {text!r} is not a time HH:MM", field=where,
                          hint='write e.g. shifts: [{name: A, start: "06:00"}, {name: B, start: "14:00"}]') from None
    return hh * 60 + mm


def parse_shifts(shifts: Any) -> list[tuple[int, str]]:
    """[(start minute of the day, name)], sorted; StudioError naming what is wrong."""
    if not shifts:
        return []
    if isinstance(shifts, dict):            # {A: "06:00", B: "14:00"}
        shifts = [{"name": k, "start": v} for k, v in shifts.items()]
    if not isinstance(shifts, list):
        raise StudioError("shifts is not a list of {name, start}", field="shifts")
    out = []
    for i, s in enumerate(shifts):
        if not isinstance(s, dict) or "start" not in s:
            raise StudioError(f"shift {i + 1} has no start", field="shifts",
                              hint='write {name: A, start: "06:00"}')
        out.append((_minutes(s["start"], f"shifts[{i}].start"), str(s.get("name") or s["start"])))
    out.sort()
    if len({m for m, _ in out}) != len(out):
        raise StudioError("two shifts start at the same time", field="shifts")
    return out


def shift_of(epoch_seconds: float, shifts: list[dict]) -> str:
    """The name of the shift that ``epoch_seconds`` (local time) falls in; ``"all"`` with no shifts."""
    table = parse_shifts(shifts)
    if not table:
        return NO_SHIFTS
    t = _dt.datetime.fromtimestamp(float(epoch_seconds))
    minute = t.hour * 60 + t.minute
    name = table[-1][1]                     # before the first start: the last shift, from yesterday
    for start, n in table:
        if minute >= start:
            name = n
    return name
