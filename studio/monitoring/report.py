"""``build_report``: the station's figures as one dict, for ``studio station report``, the GUI and the web.

The keys are the report's contract (the issue "Going live"): ``parts``,
``hours`` (list of ``{start, parts, rejected, reject_rate, lower, upper}``),
``alerts`` (list of ``{time, kind, level, message, figures}``, plus ``id``,
``acked_by``, ``acked_at``), ``drift`` (``{psi, ks_p, window}``, plus the KS
statistic, a ``note`` when there is no reference, and ``map``: where the
anomaly maps moved, as the station's monitor last saw it), ``shadow`` (when
shadow rows exist) and ``gate`` (when the project defines a promotion gate).
Besides: ``expected`` (the expected reject rate the limits are drawn around
and where it comes from), ``shifts`` (per shift: the same figures as an
hour, plus ``shift``), ``window`` (the last ``window_parts`` parts against
their limits, with the CUSUM sums) and ``new_defects`` (groups of rejects
like no known defect class, from the station's monitor). Figures that cannot
be computed yet are None, never left out.

The figures are recomputed from the log's rows with the same per-part logic
the station's monitor runs (``live.LineMonitor``); the model's reference and
the expected rate come from the project's model card when ``project`` is
given, else from ``monitoring.json``, which the station's monitor keeps in
the data directory.
"""
from __future__ import annotations

import datetime as _dt
import json
import sqlite3
from pathlib import Path
from typing import Any

from studio.central.forwarder import read_status as read_central_status
from studio.core.errors import StudioError
from studio.results.reader import ResultReader
from studio.results.schema import FILE_NAME

STATE_FILE = "monitoring.json"      # written by studio.station.monitor_watch


def log_path(data_dir: str | Path) -> Path:
    p = Path(data_dir)
    return p if p.suffix == ".sqlite" else p / FILE_NAME


def _since_epoch(since: str | None) -> float | None:
    if not since:
        return None
    try:
        t = _dt.datetime.fromisoformat(since)
    except ValueError:
        raise StudioError(f"--since {since!r} is not a date and time", field="since",
                          hint="give an ISO time, e.g. 2026-03-01T06:00 or 2026-03-01") from None
    if t.tzinfo is None:
        t = t.astimezone()
    return t.timestamp()


def read_state(data_dir: str | Path) -> dict[str, Any] | None:
    path = log_path(data_dir).parent / STATE_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _rows(path: Path, t0: float | None) -> list[tuple]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
    try:
        where, args = ("AND t_decided >= ?", (t0,)) if t0 is not None else ("", ())
        return conn.execute("SELECT part, t_decided, verdict, score, defect_class, model_id FROM results "
                            f"WHERE shadow = 0 AND t_decided IS NOT NULL {where} ORDER BY id", args).fetchall()
    finally:
        conn.close()


def _card(project: Any, model_id: str | None, state: dict[str, Any] | None) -> tuple[dict[str, Any], str]:
    """The card the figures are judged against: the project's (when given), else what the monitor saved."""
    if project is not None and model_id:
        from studio.project import model_card

        folder = Path(project.models_dir) / model_id
        if folder.is_dir():
            try:
                return model_card.load(folder), "model card"
            except StudioError as e:        # the figures still come; the report says what they lack
                if not state:
                    return {}, f"none: the model card cannot be read ({e.message})"
    if state:
        card = {"model_id": state.get("model_id"), "monitoring": state.get("reference")}
        if state.get("threshold") is not None:
            card["threshold"] = state["threshold"]
        return card, STATE_FILE
    return {}, "none"


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
    from studio.monitoring.live import LineMonitor, limits_rows
    from studio.monitoring.drift import score_drift

    path = log_path(data_dir)
    reader = ResultReader(path)         # says clearly when there is no log
    try:
        t0 = _since_epoch(since)
        figures = reader.figures()
        alerts = [{"id": a["id"], "time": a["time"], "kind": a["kind"], "level": a["level"],
                   "message": a["message"], "figures": a["figures"], "acked_by": a.get("acked_by"),
                   "acked_at": a.get("acked_at")} for a in reader.alerts(500)
                  if t0 is None or a["time"] >= t0]
        per_hour = reader.reject_rate_per_hour(hours=hours, now=now)
    finally:
        reader.close()
    rows = _rows(path, t0)
    state = read_state(data_dir)
    model_id = rows[-1][5] if rows else (state or {}).get("model_id")
    card, card_from = _card(project, model_id, state)
    settings: dict[str, Any] = {}
    if project is not None:
        settings = project.station_settings()
    elif state and state.get("shifts_setting"):
        settings = {"shifts": state["shifts_setting"]}
    engine = LineMonitor(card, settings, model_id=model_id)
    saved = (state or {}).get("expected") or {}
    if engine.rate is None and saved.get("rate") is not None and project is None:
        engine.expected = dict(saved)           # the expected rate the station's monitor worked with
        engine._start_rate(float(saved["rate"]))
    for part, t, verdict, score, defect_class, _ in rows:
        engine.add(int(part or 0), float(t), str(verdict), score, None, defect_class)
    p0 = engine.p0()
    hour_counts = {float(h["hour"]): [h["parts"], h["rejected"]] for h in per_hour
                   if t0 is None or h["hour"] + 3600 > t0}
    if t0 is not None:      # the hour holding --since counts from --since on
        hour_counts.update({k: v for k, v in engine.hours.items() if k <= t0 < k + 3600})
    drift = score_drift(engine.reference, engine.cut, engine.scores)
    drift["map"] = (state or {}).get("map")       # where the anomaly maps moved (the station's monitor saw them)
    return {
        "parts": len(rows),
        "since": t0,
        "figures": figures,
        "expected": {**engine.expected, "model_id": model_id, "card_from": card_from},
        "hours": limits_rows(hour_counts, p0, "start"),
        "shifts": engine.shift_rows(),
        "window": engine.rate.figures() if engine.rate else None,
        "alerts": alerts,
        "drift": drift,
        "new_defects": (state or {}).get("new_defects") or engine.new_defects.offered(),
        "monitor": {k: (state or {}).get(k) for k in ("seen", "dropped", "alerts_raised", "saved")} if state else None,
        "shadow": shadow_entry(data_dir, project, t0),
        "gate": gate_entry(data_dir, project),
        "central": read_central_status(data_dir),     # the forwarder's lag (studio.central), or None
    }
