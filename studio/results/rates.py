"""What each verdict counts as, in every figure: the one definition of the reject rate.

Four buckets, every part in exactly one: ``pass``, ``reject``, ``fault`` and
``review``. The **reject rate** is (reject + fault) / parts: a fault is sent
to the PLC as not good, so the line treats it as a reject. A **review** part
(the model card's review band) is counted apart, in its own figure (the
review rate), and is neither a pass nor a reject anywhere: not in the kiosk,
not on the Station page, not in the station's stats, not in the result-log
reader's hourly figures. Anything that is not a known verdict is a fault
(fail-safe, as in ``studio.station.decide``).
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from studio.core.verdicts import VERDICT_FAULT, VERDICT_PASS, VERDICT_REJECT, VERDICT_REVIEW

BUCKETS = ("pass", "reject", "fault", "review")
REJECTED = ("reject", "fault")                       # what the reject rate counts
REJECTED_CODES = (VERDICT_REJECT, VERDICT_FAULT)     # the same, as verdict codes (result log, PLC)
REVIEW_CODES = (VERDICT_REVIEW,)
PASS_CODES = (VERDICT_PASS,)
# the station's stats snapshot names the buckets in the plural
STATS_KEYS = {"pass": "passed", "reject": "rejected", "fault": "faults", "review": "reviewed"}


def bucket(verdict: Any) -> str:
    """The bucket a part's verdict counts in."""
    return verdict if verdict in BUCKETS else "fault"


def empty() -> dict[str, int]:
    """Counts with every bucket and ``parts`` at 0."""
    return {"parts": 0, **dict.fromkeys(BUCKETS, 0)}


def tally(verdicts: Iterable[Any]) -> dict[str, int]:
    """Counts of ``verdicts`` per bucket, and ``parts``."""
    out = empty()
    for v in verdicts:
        out[bucket(v)] += 1
        out["parts"] += 1
    return out


def add(counts: dict[str, int], verdict: Any) -> str:
    """Count one part in ``counts`` (as made by ``empty``); returns its bucket."""
    b = bucket(verdict)
    counts[b] = counts.get(b, 0) + 1
    counts["parts"] = counts.get("parts", 0) + 1
    return b


def reject_rate(counts: Mapping[str, Any]) -> float:
    """(reject + fault) / parts; 0 without parts. Review parts count in ``parts``, never as rejects."""
    parts = int(counts.get("parts", 0) or 0)
    return (int(counts.get("reject", 0)) + int(counts.get("fault", 0))) / parts if parts else 0.0


def review_rate(counts: Mapping[str, Any]) -> float:
    parts = int(counts.get("parts", 0) or 0)
    return int(counts.get("review", 0)) / parts if parts else 0.0


def from_stats(stats: Mapping[str, Any]) -> dict[str, int]:
    """Bucket counts from a station stats snapshot (``passed``, ``rejected``, ``faults``, ``reviewed``).

    KeyError/TypeError/ValueError when the snapshot lacks the figures.
    """
    out = {"parts": int(stats["parts"])}
    for b, key in STATS_KEYS.items():
        out[b] = int(stats.get(key, 0) if b == "review" else stats[key])
    return out


def sql_counts(column: str = "verdict") -> str:
    """The same buckets in SQL (SQLite and PostgreSQL): a select list of ``parts``, ``rejected`` (reject,
    fault and any verdict that is not known, as ``bucket``) and ``review``. The rate is then
    ``reject_rate({"parts": parts, "reject": rejected})``."""
    not_rejected = ", ".join(f"'{b}'" for b in BUCKETS if b not in REJECTED)
    return (f"COUNT(*) AS parts, "
            f"COALESCE(SUM(CASE WHEN {column} IN ({not_rejected}) THEN 0 ELSE 1 END), 0) AS rejected, "
            f"COALESCE(SUM(CASE WHEN {column} = 'review' THEN 1 ELSE 0 END), 0) AS review")


def percent(rate: float) -> str:
    """A rate as the views show it."""
    return f"{100 * rate:.1f} %"
