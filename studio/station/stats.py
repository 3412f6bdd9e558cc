"""Running figures for the operator and the end-of-run summary."""
from __future__ import annotations

import threading
from collections import deque
from typing import Any

import numpy as np

from studio.results import rates

LATENCY_WINDOW = 10_000     # latency figures cover the last parts, so a long run keeps fixed memory


class StationStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = rates.empty()        # the one count: rates.add, as the kiosk and the Station page
        self._latency_ms: deque[float] = deque(maxlen=LATENCY_WINDOW)

    def record(self, result: Any) -> None:
        with self._lock:
            rates.add(self._counts, result.verdict)     # review: counted apart, neither pass nor reject
            if result.latency_ms > 0:
                self._latency_ms.append(float(result.latency_ms))

    def snapshot(self) -> dict[str, Any]:
        """parts = passed + rejected + faults + reviewed; ``rates.reject_rate``: faults count, reviews do not."""
        with self._lock:
            latency = np.array(self._latency_ms, dtype=float)
            counts = dict(self._counts)
        return {
            "parts": counts["parts"], **{rates.STATS_KEYS[b]: counts[b] for b in rates.BUCKETS},
            "reject_rate": round(rates.reject_rate(counts), 6),
            "review_rate": round(rates.review_rate(counts), 6),
            "latency_ms_median": round(float(np.median(latency)), 2) if latency.size else None,
            "latency_ms_p99": round(float(np.percentile(latency, 99)), 2) if latency.size else None,
        }
