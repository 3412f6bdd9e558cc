"""``monitoring:`` in station.yaml: the production monitor's settings, every key optional.

::

    monitoring:
      expected_reject_rate: 0.02   # the plant's own figure; else from the model card (below)
      expected_defect_rate: 0.01   # the line's share of defective parts: mixed with the card's
                                   # false-reject rate and recall at the threshold
      baseline_parts: 200          # without either: the first parts' rate is the expected rate
      window_parts: 50             # the rolling window of the p-chart
      sigmas: 3                    # p-chart limits
      cusum_h: 5                   # CUSUM decision limit
      drift_window: 200            # rolling window of scores for PSI / KS
      drift_min_parts: 50          # parts in the window before the drift is judged
      drift_every: 25              # judge the drift every this many parts
      psi_alert: 0.25
      ks_alpha: 0.001
      new_defect_min: 3            # rejects like no known class before a group is offered
"""
from __future__ import annotations

from typing import Any

from studio.core.errors import StudioError

DEFAULTS: dict[str, Any] = {
    "expected_reject_rate": None, "expected_defect_rate": None, "baseline_parts": 200, "window_parts": 50,
    "sigmas": 3.0, "cusum_h": 5.0, "drift_window": 200, "drift_min_parts": 50, "drift_every": 25,
    "psi_alert": 0.25, "ks_alpha": 0.001, "new_defect_min": 3,
}
SHARES = {"expected_reject_rate", "expected_defect_rate", "ks_alpha"}
WHOLE = {"baseline_parts", "window_parts", "drift_window", "drift_min_parts", "drift_every", "new_defect_min"}


def monitoring_settings(settings: dict[str, Any] | None) -> dict[str, Any]:
    """The ``monitoring`` block merged over the defaults; StudioError naming a wrong key or value."""
    raw = (settings or {}).get("monitoring") or {}
    if not isinstance(raw, dict):
        raise StudioError(f"monitoring is {raw!r}, not a mapping", file="station.yaml", field="monitoring",
                          hint="e.g. monitoring: {expected_defect_rate: 0.01}")
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        raise StudioError(f"monitoring has unknown key(s) {', '.join(map(str, unknown))}", file="station.yaml",
                          field="monitoring", hint="known: " + ", ".join(DEFAULTS))
    out = dict(DEFAULTS)
    for k, v in raw.items():
        if v is None:
            continue
        ok = isinstance(v, (int, float)) and not isinstance(v, bool)
        if ok and k in SHARES:
            ok = 0.0 <= v <= 1.0
        elif ok and k in WHOLE:
            ok = isinstance(v, int) and v >= 1
        elif ok:
            ok = v > 0
        if not ok:
            what = "a share between 0 and 1" if k in SHARES else "a whole number of at least 1" if k in WHOLE \
                else "a number above 0"
            raise StudioError(f"monitoring.{k} is {v!r}, not {what}", file="station.yaml", field=f"monitoring.{k}",
                              hint=f"e.g. {k}: {DEFAULTS[k] if DEFAULTS[k] is not None else 0.01}")
        out[k] = v
    return out
