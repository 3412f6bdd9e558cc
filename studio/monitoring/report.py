"""``build_report``: the station's figures as one dict, for ``studio station report``, the GUI and the web.

The keys are the report's contract (the issue "Going live"): ``parts``,
``hours`` (list of ``{start, parts, rejected, reject_rate, lower, upper}``),
``alerts`` (list of ``{time, kind, level, message, figures}``), ``drift``
(``{psi, ks_p, window}``), ``shadow`` (when shadow rows exist) and ``gate``
(when the project defines a promotion gate). Figures that cannot be computed
yet are None, never left out.
"""
from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from studio.central.forwarder import read_status as read_central_status
from studio.results.reader import ResultReader
from studio.results.schema import FILE_NAME


def log_path(data_dir: str | Path) -> Path:
    p = Path(data_dir)
    return p if p.suffix == ".sqlite" else p / FILE_NAME


def _since_epoch(since: str | None) -> float | None:
    if not since:
        return None
    t = _dt.datetime.fromisoformat(since)
    if t.tzinfo is None:
        t = t.astimezone()
    return t.timestamp()


def shadow_entry(data_dir: str | Path, project: Any, since: float | None) -> dict[str, Any] | None:
    from studio.monitoring.shadow import report_entry

    return report_entry(data_dir, project=project, since=since)


def gate_entry(data_dir: str | Path, project: Any) -> dict[str, Any] | None:
    from studio.monitoring.gate import evaluate

    if project is None:
        return None
    out = evaluate(project, data_dir)
    return out if out["defined"] else None


def build_report(data_dir: str | Path, *, since: str | None = None, project: Any = None,
                 hours: int = 24 * 7, now: float | None = None) -> dict[str, Any]:
    """The report of the log in ``data_dir`` (``project``: the station's Project, for the model card and gate)."""
    reader = ResultReader(log_path(data_dir))
    try:
        t0 = _since_epoch(since)
        per_hour = reader.reject_rate_per_hour(hours=hours, now=now)
        if t0 is not None:
            per_hour = [h for h in per_hour if h["hour"] + 3600 > t0]
        figures = reader.figures()
        return {
            "parts": figures["parts"],
            "figures": figures,
            "hours": [{"start": h["hour"], "parts": h["parts"], "rejected": h["rejected"],
                       "reject_rate": h["rate"], "lower": None, "upper": None} for h in per_hour],
            "alerts": [{"time": a["time"], "kind": a["kind"], "level": a["level"], "message": a["message"],
                        "figures": a["figures"]} for a in reader.alerts(200)],
            "drift": {"psi": None, "ks_p": None, "window": None},
            "shadow": shadow_entry(data_dir, project, t0),
            "gate": gate_entry(data_dir, project),
            "central": read_central_status(data_dir),     # the forwarder's lag (studio.central), or None
        }
    finally:
        reader.close()
