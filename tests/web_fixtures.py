"""What the web dashboard's tests share: a data directory with hours of history, and a running station."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from studio.results.log import ResultLog
from studio.results.schema import FILE_NAME


def seed_history(data_dir: Path, hours: int = 10, per_hour: int = 20, now: float | None = None) -> int:
    """Parts over the last ``hours`` clock hours (a reject rate that rises, then a spike), without images,
    and two alerts; returns the number of parts written."""
    data_dir.mkdir(parents=True, exist_ok=True)
    now = time.time() if now is None else now
    log = ResultLog(data_dir / FILE_NAME)
    part = 0
    try:
        start = (int(now // 3600) - hours) * 3600.0
        for h in range(hours):
            rejects = 1 + h // 3 + (6 if h == hours - 2 else 0)
            for i in range(per_hour):
                part += 1
                t = start + h * 3600 + 60 + i * 3600 / per_hour / 2
                reject = i < rejects
                log.append({"part": part, "frame_id": part, "verdict": "reject" if reject else "pass",
                            "verdict_code": 2 if reject else 1, "score": 0.8 if reject else 0.2,
                            "defect_class": "scratch" if reject else None, "class_id": 1 if reject else 0,
                            "model_id": "seeded", "t_trigger": t, "t_captured": t, "t_decided": t,
                            "t_actuated": t, "latency_ms": 12.0, "shadow": 0, "part_id": f"S{part:05d}"})
        log.alert("reject_rate", "warning", "the reject rate rose above its upper control limit (6.0 % > 4.1 %)",
                  {"direction": "up", "rate": 0.06, "upper": 0.041})
        log.alert("lighting", "info", "the lighting is back within its baseline", None)
    finally:
        log.close()
    return part


def fake_report(report: dict) -> dict:
    """The report as the monitoring and shadow engineers extend it: limits per hour, drift, shadow, gate."""
    out = dict(report)
    out["hours"] = [{**h, "lower": 0.01, "upper": 0.2} for h in report["hours"]]
    out["drift"] = {"psi": 0.031, "ks_p": 0.42, "window": 500}
    out["shadow"] = {"model_id": "20260301-candidate", "n": 180, "agreement": 0.944, "kappa": 0.81,
                     "kappa_ci": [0.72, 0.9],
                     "table": {"both_reject": 31, "both_pass": 139, "only_live_reject": 6, "only_shadow_reject": 4}}
    out["gate"] = {"passed": False, "checks": [
        {"name": "minimum parts", "value": 180, "limit": 5000, "ok": False},
        {"name": "minimum agreement", "value": 0.944, "limit": 0.95, "ok": False},
        {"name": "no critical escape", "value": 0, "limit": 0, "ok": True}]}
    return out


def frame(n: int) -> np.ndarray:
    return np.full((30, 40, 3), n % 256, np.uint8)
