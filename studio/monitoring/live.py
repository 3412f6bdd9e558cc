"""The production monitor's per-part logic, without threads or clocks: ``LineMonitor.add(...)``.

Fed one part at a time (verdict, score, the model's coarse anomaly map), it
keeps the reject-rate watch (``control.RejectRateWatch``), the rolling score
window for the drift (``drift.score_drift``) and the anomaly-map window
(``drift.map_drift``), the per-hour and per-shift counts, and the groups of
rejects like no known class (``novelty.NewDefects``), and returns the alerts
to raise: ``{kind, level, key, message, figures}``. The station runs it on
its monitor thread (``studio.station.monitor_watch``); a test or a
benchmark can run it on rows.
"""
from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from studio.monitoring import drift as D
from studio.monitoring import reference as R
from studio.monitoring.control import MIN_RATE, RejectRateWatch, p_limits
from studio.monitoring.novelty import NewDefects
from studio.monitoring.settings import monitoring_settings
from studio.monitoring.shifts import parse_shifts, shift_span
from studio.results import rates

HOURS_KEPT = 48


def pct(x: float) -> str:
    return f"{100 * x:.1f} %"


class LineMonitor:
    def __init__(self, card: dict[str, Any] | None, settings: dict[str, Any] | None, *,
                 model_id: str | None = None):
        self.settings = monitoring_settings(settings)
        self.shifts = parse_shifts((settings or {}).get("shifts"))
        self.card = card or {}
        self.model_id = model_id or self.card.get("model_id")
        self.reference = R.reference_of(self.card)
        self.cut = R.reject_cut(self.card) if "threshold" in self.card else float("inf")
        self.expected = R.expected_rate(self.card, self.settings)
        self.rate: RejectRateWatch | None = None
        self._baseline: list[bool] = []
        if self.expected["rate"] is not None:
            self._start_rate(self.expected["rate"])
        s = self.settings
        self.scores: deque[float] = deque(maxlen=int(s["drift_window"]))
        self.maps: deque[np.ndarray] = deque(maxlen=int(s["drift_window"]))
        self._map_sum: np.ndarray | None = None
        self.drift: dict[str, Any] = D.score_drift(self.reference, self.cut, [])
        self.map: dict[str, Any] | None = None
        self.drifted = False
        self.map_moved = False
        self._since_drift = 0
        self.hours: dict[float, list[int]] = {}         # hour start -> [parts, rejected]
        self.shift_counts: dict[tuple[str, float], list[int]] = {}
        self._span: tuple[str, float, float] | None = None     # the shift now: (name, start, end)
        self.new_defects = NewDefects(self.reference.get("class_patterns") if self.reference else None,
                                      [c for c in self.card.get("classes", [])[1:]]
                                      if self.card.get("task") == "classification" else None)
        self._offered = 0
        self.parts = 0

    # ---- the expected rate ------------------------------------------------
    def _start_rate(self, p0: float) -> None:
        s = self.settings
        self.rate = RejectRateWatch(p0, window=int(s["window_parts"]), sigmas=float(s["sigmas"]),
                                    h=float(s["cusum_h"]), source=self.expected["source"])

    def _baseline_part(self, rejected: bool) -> list[dict[str, Any]]:
        self._baseline.append(rejected)
        n = int(self.expected["baseline_parts"])
        if len(self._baseline) < n:
            return []
        p0 = max(sum(self._baseline) / n, 0.5 / n, MIN_RATE)
        self.expected = {**self.expected, "rate": p0,
                         "source": f"the first {n} parts ({sum(self._baseline)} rejected): "
                                   + self.expected.get("why", "no expected rate")}
        self._start_rate(p0)
        for r in self._baseline:        # the baseline parts are the watch's first window
            self.rate.add(r)
        return [self._alert("reject_rate-baseline", "info",
                            f"reject rate baseline set from the first {n} parts: {pct(p0)} "
                            f"(limits {pct(self.rate.lower)} – {pct(self.rate.upper)} per {self.rate.window} parts)",
                            {**self.rate.figures(), "direction": "baseline"})]

    # ---- one part -----------------------------------------------------------
    def add(self, part: int, t: float, verdict: str, score: float | None, coarse: np.ndarray | None = None,
            defect_class: str | None = None) -> list[dict[str, Any]]:
        """Count one part; the alerts it causes (often none)."""
        self.parts += 1
        bucket = rates.bucket(verdict)
        rejected = bucket in rates.REJECTED
        hour = float(int(t // 3600) * 3600)
        h = self.hours.setdefault(hour, [0, 0])
        h[0] += 1
        h[1] += rejected
        if len(self.hours) > HOURS_KEPT:
            del self.hours[min(self.hours)]
        span = self._span
        if span is None or not span[1] <= t < span[2]:
            span = self._span = shift_span(t, self.shifts)
        key = (span[0], span[1])
        sc = self.shift_counts.setdefault(key, [0, 0])
        sc[0] += 1
        sc[1] += rejected
        if len(self.shift_counts) > HOURS_KEPT:
            del self.shift_counts[min(self.shift_counts, key=lambda k: k[1])]
        out: list[dict[str, Any]] = []
        if bucket != "review":          # review parts are neither passes nor rejects (rates.py)
            out += self._rate_part(rejected)
        if score is not None and np.isfinite(score):
            self.scores.append(float(score))
        if coarse is not None and bucket == "pass":
            self._add_map(coarse)
        if rejected and bucket == "reject":
            group = self.new_defects.add(part, coarse, defect_class, t)
            if group is not None and group["n"] == int(self.settings["new_defect_min"]):
                out.append(self._alert("new_defect", "warning",
                                       f"{group['n']} rejected parts look like no known defect class (group "
                                       f"{group['group']}, parts {', '.join(map(str, group['parts'][:5]))}): "
                                       "offer them for labeling (studio station report --new-defects)",
                                       {k: v for k, v in group.items() if not k.startswith("_")}))
        self._since_drift += 1
        if self._since_drift >= int(self.settings["drift_every"]):
            self._since_drift = 0
            out += self._drift()
        return out

    def _rate_part(self, rejected: bool) -> list[dict[str, Any]]:
        if self.rate is None:
            return self._baseline_part(rejected)
        sig = self.rate.add(rejected)
        if sig is None:
            return []
        f = sig.figures
        if sig.direction == "back":
            return [self._alert("reject_rate-back", "info",
                                f"reject rate back within its limits: {pct(f['reject_rate'])} over the last "
                                f"{f['window_parts']} parts (expected {pct(f['expected'])})", f)]
        word = "spike" if sig.direction == "up" else "drop"
        why = ("check for a real quality problem, the part supply, or the model" if sig.direction == "up" else
               "a drop is as suspicious: check the lens (covered, dirty), the lamp and the camera image")
        return [self._alert("reject_rate", "warning",
                            f"reject rate {word}: {pct(f['reject_rate'])} over the last {f['window_parts']} parts, "
                            f"expected {pct(f['expected'])} (limits {pct(f['lower'])} – {pct(f['upper'])}, "
                            f"{f['rule']}); {why}", f)]

    def _add_map(self, coarse: np.ndarray) -> None:
        c = np.asarray(coarse, np.float32)
        if self._map_sum is not None and self._map_sum.shape != c.shape:
            return
        if len(self.maps) == self.maps.maxlen:
            self._map_sum -= self.maps[0]
        self.maps.append(c)
        self._map_sum = c.copy() if self._map_sum is None else self._map_sum + c

    def window_map(self) -> np.ndarray | None:
        return None if self._map_sum is None or not self.maps else self._map_sum / len(self.maps)

    def _drift(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        self.drift = D.score_drift(self.reference, self.cut, self.scores)
        self.map = D.map_drift(self.reference, self.window_map(), len(self.maps))
        if self.reference is None or self.drift["window"] < int(self.settings["drift_min_parts"]):
            return out
        d = self.drift
        drifted = bool(d["psi"] is not None and d["psi"] >= float(self.settings["psi_alert"])
                       and d["ks_p"] is not None and d["ks_p"] < float(self.settings["ks_alpha"]))
        figures = {**d, "model_id": self.model_id, "threshold": self.cut, "parts": self.parts}
        if self.map is not None:
            figures["map"] = {k: v for k, v in self.map.items()}
        if drifted and not self.drifted:
            where = (f"; the anomaly maps moved most at the {self.map['where']} of the part "
                     f"({self.map['z']:+.1f} σ)" if self.map and self.map["moved"] else "")
            out.append(self._alert("score_drift", "warning",
                                   f"score drift: the passed parts' scores differ from the model's reference "
                                   f"(PSI {d['psi']:.2f}, KS p {d['ks_p']:.2g}, {d['window']} parts; median "
                                   f"{d['live_median']:.3g} vs {d['reference_median']:.3g}){where}: check the "
                                   "lighting, the camera and the parts, or retrain", figures))
        elif not drifted and self.drifted:
            out.append(self._alert("score_drift-back", "info",
                                   f"scores back in line with the reference (PSI {d['psi']:.2f}, KS p "
                                   f"{d['ks_p']:.2g})", figures))
        self.drifted = drifted
        return out

    def _alert(self, key: str, level: str, message: str, figures: dict[str, Any]) -> dict[str, Any]:
        kind = key.split("-")[0]
        return {"kind": kind, "key": key, "level": level, "message": message, "figures": figures}

    # ---- figures ------------------------------------------------------------
    def p0(self) -> float | None:
        return self.rate.p0 if self.rate is not None else None

    def hour_rows(self) -> list[dict[str, Any]]:
        return limits_rows(self.hours, self.p0(), "start")

    def shift_rows(self) -> list[dict[str, Any]]:
        rows = []
        for (name, start), (n, rej) in sorted(self.shift_counts.items(), key=lambda kv: kv[0][1]):
            lo, hi = p_limits(self.p0(), n) if self.p0() is not None else (None, None)
            rows.append({"shift": name, "start": start, "parts": n, "rejected": rej,
                         "reject_rate": rej / n if n else 0.0, "lower": lo, "upper": hi})
        return rows

    def histogram(self, bins: int = 30) -> dict[str, Any]:
        """Live scores of the window and the reference good scores, on the same bins (densities)."""
        live = np.asarray(self.scores, np.float64)
        ref = np.asarray(self.reference["good_scores"], np.float64) if self.reference else np.zeros(0)
        both = np.concatenate([live, ref]) if live.size or ref.size else np.zeros(1)
        lo, hi = float(np.min(both)), float(np.max(both))
        if np.isfinite(self.cut):
            lo, hi = min(lo, self.cut), max(hi, self.cut)
        if hi <= lo:
            hi = lo + 1.0
        hi += 0.05 * (hi - lo)          # the threshold inside the plot, not on its edge
        edges = np.linspace(lo, hi + (hi - lo) * 1e-6, bins + 1)

        def dens(x: np.ndarray) -> list[float]:
            if not x.size:
                return [0.0] * bins
            h, _ = np.histogram(np.clip(x, lo, hi), edges)
            return (h / x.size).tolist()

        return {"edges": edges.tolist(), "live": dens(live), "reference": dens(ref), "threshold": self.cut,
                "live_n": int(live.size), "reference_n": int(ref.size)}

    def snapshot(self) -> dict[str, Any]:
        return {"parts": self.parts, "model_id": self.model_id, "expected": dict(self.expected),
                "window": self.rate.figures() if self.rate else None, "state": self.rate.state if self.rate else "baseline",
                "hours": self.hour_rows(), "shifts": self.shift_rows(), "drift": dict(self.drift),
                "map": self.map, "histogram": self.histogram(), "new_defects": self.new_defects.offered(
                    int(self.settings["new_defect_min"]))}


def limits_rows(hours: dict[float, list[int]], p0: float | None, start_key: str = "start") -> list[dict[str, Any]]:
    """Per hour ``{start, parts, rejected, reject_rate, lower, upper}``: the p-chart limits for its parts."""
    out = []
    for start in sorted(hours):
        n, rej = hours[start]
        lo, hi = p_limits(p0, n) if p0 is not None else (None, None)
        out.append({start_key: start, "parts": n, "rejected": rej, "reject_rate": rej / n if n else 0.0,
                    "lower": None if lo is None else round(lo, 6), "upper": None if hi is None else round(hi, 6)})
    return out
