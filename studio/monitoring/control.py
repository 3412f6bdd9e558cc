"""Control limits for the reject rate: a p-chart per window and a Bernoulli CUSUM per side.

A window of ``n`` parts whose expected reject rate is ``p0`` has p-chart
limits ``p0 ± k·sqrt(p0(1-p0)/n)`` (k = 3; the lower limit is clipped at 0,
so a zero-reject window can only be "too low" when ``n`` is large enough).
The p-chart catches a spike fast; the CUSUM catches a small shift that
lasts: per side it adds the log-likelihood ratio of each part (reject or
not) for a rate shifted to ``p_up = up_factor·p0`` (or ``p_down =
p0/down_factor``) against ``p0``, and signals when the sum passes ``h``.
``RejectRateWatch`` runs both part by part and says when to alert; it has no
clock and no thread (``studio.station.monitor_watch`` runs it beside the
station, ``studio.monitoring.report`` over the log).
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

SIGMAS = 3.0
CUSUM_H = 5.0           # ~ one false signal in several thousand parts at p0 (Bernoulli CUSUM, ARL0)
UP_FACTOR = 2.0         # the CUSUM watches for the reject rate doubling ...
DOWN_FACTOR = 3.0       # ... or falling to a third (a covered lens, a dead lamp: everything passes)
MIN_RATE = 0.001        # an expected rate of 0 would make every reject a spike


def p_limits(p0: float, n: int, sigmas: float = SIGMAS) -> tuple[float, float]:
    """The p-chart's (lower, upper) limits of the reject rate for a window of ``n`` parts."""
    if n <= 0:
        return 0.0, 1.0
    half = sigmas * math.sqrt(max(p0 * (1.0 - p0), 0.0) / n)
    return max(0.0, p0 - half), min(1.0, p0 + half)


class Cusum:
    """A one-sided Bernoulli CUSUM for a shift of the reject rate from ``p0`` to ``p1``."""

    def __init__(self, p0: float, p1: float, h: float = CUSUM_H):
        p0 = min(max(p0, 1e-6), 1 - 1e-6)
        p1 = min(max(p1, 1e-6), 1 - 1e-6)
        self.p0, self.p1, self.h = p0, p1, h
        self.w_reject = math.log(p1 / p0)
        self.w_pass = math.log((1 - p1) / (1 - p0))
        self.s = 0.0

    def add(self, rejected: bool) -> bool:
        """Count one part; True when the sum is past ``h`` (a sustained shift)."""
        self.s = max(0.0, self.s + (self.w_reject if rejected else self.w_pass))
        return self.s > self.h

    def reset(self) -> None:
        self.s = 0.0


@dataclass
class Signal:
    """What a watch found: an out-of-limits window or a CUSUM past its limit."""
    direction: str                  # up | down | back
    figures: dict[str, Any] = field(default_factory=dict)


class RejectRateWatch:
    """Part by part: the rolling window of ``window`` parts against the p-chart, and both CUSUMs.

    ``add(rejected)`` returns a ``Signal`` when the state changes: ``up`` (a
    spike or a sustained rise), ``down`` (a drop), ``back`` (within the limits
    again after an alert: two whole windows in limits, and the side's CUSUM,
    restarted after the first, below half its limit), else None. One alert
    per excursion, never one per part.
    """

    def __init__(self, p0: float, *, window: int = 50, sigmas: float = SIGMAS, h: float = CUSUM_H,
                 up_factor: float = UP_FACTOR, down_factor: float = DOWN_FACTOR, source: str = ""):
        self.p0 = max(float(p0), MIN_RATE)
        self.window, self.sigmas, self.source = int(window), sigmas, source
        self.lower, self.upper = p_limits(self.p0, self.window, sigmas)
        self.recent: deque[bool] = deque(maxlen=self.window)
        self.rejected_in_window = 0
        self.up = Cusum(self.p0, min(0.99, self.p0 * up_factor), h)
        self.down = Cusum(self.p0, self.p0 / down_factor, h)
        self.state = "ok"           # ok | up | down
        self.in_limits = 0          # parts in a row whose full window was within the limits
        self.parts = 0

    def add(self, rejected: bool) -> Signal | None:
        rejected = bool(rejected)
        if len(self.recent) == self.recent.maxlen and self.recent[0]:
            self.rejected_in_window -= 1
        self.recent.append(rejected)
        self.rejected_in_window += rejected
        self.parts += 1
        cusum_up, cusum_down = self.up.add(rejected), self.down.add(rejected)
        full = len(self.recent) >= self.window
        rate = self.rejected_in_window / len(self.recent)
        above = full and rate > self.upper
        below = full and self.lower > 0 and rate < self.lower
        if self.state != "up" and (above or cusum_up):
            return self._signal("up", "p-chart" if above else "CUSUM", rate)
        if self.state != "down" and (below or cusum_down):
            return self._signal("down", "p-chart" if below else "CUSUM", rate)
        self.in_limits = self.in_limits + 1 if full and self.lower <= rate <= self.upper else 0
        if self.state != "ok":
            side = self.up if self.state == "up" else self.down
            if self.in_limits == self.window:       # a whole window in limits: the excursion's evidence is spent
                side.reset()
            if self.in_limits >= 2 * self.window and side.s < side.h / 2:
                return self._signal("back", "p-chart", rate)
        return None

    def _signal(self, direction: str, rule: str, rate: float) -> Signal:
        self.state = "ok" if direction == "back" else direction
        self.in_limits = 0
        figures = self.figures(rate)
        figures.update({"direction": direction, "rule": rule})
        if direction != "back":
            (self.up if direction == "up" else self.down).reset()   # the next alert needs new evidence
        return Signal(direction, figures)

    def figures(self, rate: float | None = None) -> dict[str, Any]:
        n = len(self.recent)
        if rate is None:
            rate = self.rejected_in_window / n if n else 0.0
        return {"window_parts": n, "rejected": self.rejected_in_window, "reject_rate": round(rate, 6),
                "expected": round(self.p0, 6), "expected_source": self.source,
                "lower": round(self.lower, 6), "upper": round(self.upper, 6),
                "cusum_up": round(self.up.s, 3), "cusum_down": round(self.down.s, 3), "cusum_h": self.up.h,
                "parts": self.parts}
