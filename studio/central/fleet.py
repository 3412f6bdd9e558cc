"""The fleet, read back from the central store: every station, its figures, and a project across stations.

``fleet(conn, hours=24)`` is what ``studio fleet`` prints and the Fleet page
shows. Figures count live rows only (shadow rows are a shadow model's, never
sent to the PLC), in the one definition of ``studio.results.rates``: the SQL
buckets are ``rates.sql_counts``, the rate ``rates.reject_rate``. Hours are
clock hours in UTC, given as their start in seconds since the epoch (as
``ResultReader.reject_rate_per_hour``).
"""
from __future__ import annotations

import datetime as _dt
import time
from typing import Any

from studio.results import rates

RECENT_ALERTS = 10


def _iso(t: Any) -> str | None:
    return t.isoformat() if isinstance(t, _dt.datetime) else None


def _figures(parts: Any, rejected: Any, review: Any) -> dict[str, Any]:
    counts = {"parts": int(parts or 0), "reject": int(rejected or 0), "review": int(review or 0)}
    return {"parts": counts["parts"], "rejected": counts["reject"], "review": counts["review"],
            "reject_rate": rates.reject_rate(counts), "review_rate": rates.review_rate(counts)}


def fleet(conn: Any, hours: float = 24.0, now: float | None = None) -> dict[str, Any]:
    """Every station with its project, live model, state, forwarder lag, figures and hours of the
    last ``hours``, its recent alerts; and each project compared across the stations that run it."""
    now = time.time() if now is None else float(now)
    since = _dt.datetime.fromtimestamp(now - hours * 3600.0, _dt.UTC)
    counts = rates.sql_counts("r.verdict")
    stations: dict[str, dict[str, Any]] = {}
    for (sid, project, model_id, state, host, data_dir, last_seen, lag_rows, lag_s, forwarded) in conn.execute(
            "SELECT station_id, project, model_id, state, host, data_dir, last_seen, lag_rows, lag_s, forwarded "
            "FROM stations ORDER BY station_id"):
        age = (now - last_seen.timestamp()) if last_seen is not None else None
        stations[sid] = {"station_id": sid, "project": project, "model_id": model_id, "state": state,
                         "host": host, "data_dir": data_dir, "last_seen": _iso(last_seen),
                         "seen_s_ago": None if age is None else round(age, 1),
                         "lag_rows": int(lag_rows or 0), "lag_s": float(lag_s or 0.0),
                         "forwarded": int(forwarded or 0), **_figures(0, 0, 0), "hours": [],
                         "alerts": {"total": 0, "warning": 0, "error": 0, "recent": []}}
    for sid, parts, rejected, review in conn.execute(
            f"SELECT r.station_id, {counts} FROM results r WHERE NOT r.shadow AND r.t_decided >= %s "
            "GROUP BY r.station_id", (since,)):
        if sid in stations:
            stations[sid].update(_figures(parts, rejected, review))
    for sid, hour, parts, rejected, review in conn.execute(
            f"SELECT r.station_id, floor(extract(epoch FROM r.t_decided) / 3600) * 3600 AS hour, {counts} "
            "FROM results r WHERE NOT r.shadow AND r.t_decided >= %s GROUP BY 1, 2 ORDER BY 1, 2", (since,)):
        if sid in stations:
            f = _figures(parts, rejected, review)
            stations[sid]["hours"].append({"hour": float(hour), "parts": f["parts"], "rejected": f["rejected"],
                                           "review": f["review"], "rate": f["reject_rate"]})
    for sid, level, n in conn.execute("SELECT station_id, level, COUNT(*) FROM alerts WHERE time >= %s "
                                      "GROUP BY 1, 2", (since,)):
        if sid in stations:
            a = stations[sid]["alerts"]
            a["total"] += int(n)
            a[str(level)] = a.get(str(level), 0) + int(n)
    for sid, t, kind, level, message in conn.execute(
            "SELECT station_id, time, kind, level, message FROM (SELECT *, row_number() OVER "
            "(PARTITION BY station_id ORDER BY time DESC, id DESC) AS n FROM alerts WHERE time >= %s) a "
            "WHERE n <= %s ORDER BY station_id, time DESC", (since, RECENT_ALERTS)):
        if sid in stations:
            stations[sid]["alerts"]["recent"].append({"time": _iso(t), "kind": kind, "level": level,
                                                      "message": message})
    # the same project on several stations: by the project each row was made under
    projects: dict[str, dict[str, Any]] = {}
    for project, sid, model_ids, parts, rejected, review in conn.execute(
            f"SELECT COALESCE(r.project, s.project, '(unknown)'), r.station_id, "
            f"string_agg(DISTINCT r.model_id, ','), {counts} FROM results r JOIN stations s USING (station_id) "
            "WHERE NOT r.shadow AND r.t_decided >= %s GROUP BY 1, 2 ORDER BY 1, 2", (since,)):
        p = projects.setdefault(project, {"project": project, "stations": [], **_figures(0, 0, 0)})
        p["stations"].append({"station_id": sid, "models": sorted((model_ids or "").split(",")) if model_ids else [],
                              **_figures(parts, rejected, review)})
    for p in projects.values():
        total = _figures(sum(s["parts"] for s in p["stations"]), sum(s["rejected"] for s in p["stations"]),
                         sum(s["review"] for s in p["stations"]))
        p.update(total)
        rates_ = [s["reject_rate"] for s in p["stations"] if s["parts"]]
        p["spread"] = (max(rates_) - min(rates_)) if len(rates_) > 1 else 0.0   # highest minus lowest station rate
    return {"time": _dt.datetime.fromtimestamp(now, _dt.UTC).isoformat(), "hours": hours,
            "since": since.isoformat(), "stations": list(stations.values()), "projects": list(projects.values())}


def describe(view: dict[str, Any]) -> str:
    """The fleet as text for a terminal."""
    lines = [f"Fleet, last {view['hours']:g} h (since {view['since'][:16]} UTC): {len(view['stations'])} station(s)"]
    head = f"{'station':<16} {'project':<14} {'model':<22} {'state':<9} {'seen':>7} {'lag':>12} " \
           f"{'parts':>7} {'reject':>8} {'alerts':>6}"
    lines += ["", head, "-" * len(head)]
    for s in view["stations"]:
        seen = "-" if s["seen_s_ago"] is None else f"{s['seen_s_ago']:.0f}s"
        lag = f"{s['lag_rows']}r/{s['lag_s']:.0f}s"
        lines.append(f"{s['station_id']:<16.16} {str(s['project'] or '-'):<14.14} {str(s['model_id'] or '-'):<22.22} "
                     f"{str(s['state'] or '-'):<9.9} {seen:>7} {lag:>12} {s['parts']:>7} "
                     f"{rates.percent(s['reject_rate']):>8} {s['alerts']['total']:>6}")
    hourly = [s for s in view["stations"] if s["hours"]]
    if hourly:
        lines += ["", "Parts and reject rate per hour (UTC):"]
    for s in hourly:
        cells = [f"{_dt.datetime.fromtimestamp(h['hour'], _dt.UTC):%H}h {h['parts']} {rates.percent(h['rate'])}"
                 for h in s["hours"][-12:]]
        lines.append(f"  {s['station_id']:<16} " + " | ".join(cells))
    for p in view["projects"]:
        lines += ["", f"Project {p['project']}: {p['parts']} parts, reject rate {rates.percent(p['reject_rate'])}"
                      + (f", spread between stations {rates.percent(p['spread'])}" if len(p["stations"]) > 1 else "")]
        for s in p["stations"]:
            lines.append(f"  {s['station_id']:<16} {s['parts']:>7} parts  {rates.percent(s['reject_rate']):>8}  "
                         f"models {', '.join(s['models']) or '-'}")
    if any(s["alerts"]["recent"] for s in view["stations"]):
        lines += ["", "Recent alerts:"]
    for s in view["stations"]:
        for a in s["alerts"]["recent"][:3]:
            lines.append(f"  ALERT {s['station_id']} {a['time'][:19] if a['time'] else ''} [{a['kind']}] "
                         f"{a['level']}: {a['message']}")
    return "\n".join(lines)
