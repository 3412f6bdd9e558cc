"""The shadow comparison: a candidate model against what decides on the line, part by part.

Two pairings, one table:

- **shadow vs live** (``against="live"``): a shadow model's rows (``shadow =
  1``, its model id) against the live model's row of the same part;
- **model vs incumbent** (``against="incumbent"``): the model's rows (live
  rows logged in shadow mode, or a shadow model's) against the incumbent's
  latest verdict of the part (``incumbent`` table: PLC, kiosk, CSV).

The candidate is always the *shadow* side of the table; what decides today
(the live model, or the incumbent) is the *live* side. A verdict counts as a
reject when it is not a pass (reject, fault, review: a part the line would
not have passed on it). Figures: ``n``, the 2x2 ``table`` (``both_reject``,
``both_pass``, ``only_live_reject``, ``only_shadow_reject``), ``agreement``
(with its Wilson interval), Cohen's ``kappa`` (``labels.agreement``) with its
interval (``evaluation.intervals.kappa_interval``), and the parts of each
disagreement with their images (``model_only_rejects``, ``model_only_passes``)
for galleries and the review queue.

After adjudication (the reference labeler's decisions on the parts sent to
the review queue by ``send_disagreements``), ``adjudicated`` gives the
escapes the candidate caught that the live side missed, the ones it missed,
its false rejects and false-reject rate, overall and per shift (``shifts:``
in station.yaml, ``monitoring.shifts``). A disagreement not yet decided is
*pending*: a pending candidate-only reject counts as a false reject until it
is decided (the gate is conservative), a pending candidate-only pass is not
counted as an escape but keeps the gate's "all adjudicated" check open.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from studio.core.errors import StudioError
from studio.labels.agreement import cohen_kappa
from studio.evaluation.intervals import kappa_interval, wilson
from studio.monitoring.shifts import parse_shifts, shift_of
from studio.results.incumbent import latest_verdicts

GALLERY = 200           # parts listed per disagreement kind
AGAINST = ("auto", "live", "incumbent")


def _rejected(verdict: str | None) -> bool:
    return verdict != "pass"


def _connect(data_dir: str | Path) -> sqlite3.Connection:
    from studio.monitoring.report import log_path

    path = log_path(data_dir)
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
    conn.row_factory = sqlite3.Row
    return conn


def _has_column(conn: sqlite3.Connection, table: str, column: str) -> bool:
    return any(r[1] == column for r in conn.execute(f"PRAGMA table_info({table})"))


def pairs(data_dir: str | Path, *, model_id: str | None = None, against: str = "auto",
          since: float | None = None) -> dict[str, Any] | None:
    """The paired verdicts: ``{model_id, against, rows: [{part, t, candidate, live, image_path, score}]}``;
    None when there is nothing to compare."""
    if against not in AGAINST:
        raise ValueError(f"against is one of {AGAINST}")
    conn = _connect(data_dir)
    try:
        incumbent = latest_verdicts(conn)
        if against == "auto":
            against = "incumbent" if incumbent else "live"
        t0 = float(since) if since is not None else -1e300
        if against == "live":
            if model_id is None:
                row = conn.execute("SELECT model_id FROM results WHERE shadow = 1 ORDER BY id DESC LIMIT 1").fetchone()
                if row is None:
                    return None
                model_id = row[0]
            rows = conn.execute(
                "SELECT s.part AS part, l.t_trigger AS t, s.verdict AS candidate, l.verdict AS live, "
                "l.image_path AS image_path, s.score AS score, l.score AS live_score FROM results s "
                "JOIN results l ON l.part = s.part AND l.shadow = 0 "
                "WHERE s.shadow = 1 AND s.model_id = ? AND l.t_trigger >= ? ORDER BY s.part",
                (model_id, t0)).fetchall()
            out = [dict(r) for r in rows]
        else:
            if not incumbent:
                return None
            if model_id is None:
                watching = "watching = 1 AND " if _has_column(conn, "results", "watching") else ""
                row = conn.execute(f"SELECT model_id FROM results WHERE {watching}shadow = 0 "
                                   "ORDER BY id DESC LIMIT 1").fetchone() \
                    or conn.execute("SELECT model_id FROM results ORDER BY id DESC LIMIT 1").fetchone()
                if row is None:
                    return None
                model_id = row[0]
            rows = conn.execute(
                "SELECT m.part AS part, COALESCE(l.t_trigger, m.t_trigger) AS t, m.verdict AS candidate, "
                "COALESCE(l.image_path, m.image_path) AS image_path, m.score AS score FROM results m "
                "LEFT JOIN results l ON l.part = m.part AND l.shadow = 0 AND m.shadow = 1 "
                "WHERE m.model_id = ? AND COALESCE(l.t_trigger, m.t_trigger) >= ? ORDER BY m.part, m.shadow",
                (model_id, t0)).fetchall()
            seen: set[int] = set()
            out = []
            for r in rows:
                d = dict(r)
                if d["part"] in seen or d["part"] not in incumbent:
                    continue
                seen.add(d["part"])
                d["live"] = incumbent[d["part"]]
                out.append(d)
        if not out:
            return None
        return {"model_id": model_id, "against": against, "rows": out}
    finally:
        conn.close()


def table_of(rows: list[dict[str, Any]]) -> dict[str, int]:
    t = {"both_reject": 0, "both_pass": 0, "only_live_reject": 0, "only_shadow_reject": 0}
    for r in rows:
        c, l = _rejected(r["candidate"]), _rejected(r["live"])
        t["both_reject" if c and l else "both_pass" if not c and not l else
          "only_shadow_reject" if c else "only_live_reject"] += 1
    return t


def figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """n, table, agreement (+ interval), kappa (+ interval) of paired rows."""
    n = len(rows)
    t = table_of(rows)
    agree = t["both_reject"] + t["both_pass"]
    cand = ["reject" if _rejected(r["candidate"]) else "pass" for r in rows]
    live = ["reject" if _rejected(r["live"]) else "pass" for r in rows]
    kappa = cohen_kappa(cand, live) if n else None
    ci = None
    if n:
        po = agree / n
        pc, pl = sum(c == "reject" for c in cand) / n, sum(x == "reject" for x in live) / n
        pe = pc * pl + (1 - pc) * (1 - pl)
        ci = kappa_interval(po, pe, n)
    w = wilson(agree, n) if n else None
    return {"n": n, "table": t, "agreement": agree / n if n else None,
            "agreement_ci": list(w) if w else None, "kappa": kappa, "kappa_ci": list(ci) if ci else None}


def _gallery(rows: list[dict[str, Any]], candidate_rejects: bool) -> list[dict[str, Any]]:
    out = [{"part": r["part"], "image_path": r["image_path"], "score": r["score"], "live": r["live"],
            "candidate": r["candidate"], "time": r["t"]}
           for r in rows if _rejected(r["candidate"]) == candidate_rejects and _rejected(r["live"]) != candidate_rejects]
    return out[:GALLERY]


def compare(data_dir: str | Path, *, model_id: str | None = None, against: str = "auto",
            since: float | None = None, project: Any = None, shifts: list[dict] | None = None) -> dict[str, Any] | None:
    """The whole comparison (the report's ``shadow`` key); None when there is nothing to compare."""
    p = pairs(data_dir, model_id=model_id, against=against, since=since)
    if p is None:
        return None
    rows = p["rows"]
    out = {"model_id": p["model_id"], "against": p["against"], **figures(rows),
           "model_only_rejects": _gallery(rows, True), "model_only_passes": _gallery(rows, False)}
    if shifts is None and project is not None:
        try:
            shifts = project.station_settings().get("shifts")
        except StudioError:     # an invalid station.yaml: figures without shifts
            shifts = None
    try:
        out["adjudicated"] = adjudicated(rows, project, data_dir, shifts or [])
    except StudioError as e:            # shifts: in station.yaml unreadable: the figures without them, said
        out["adjudicated"] = adjudicated(rows, project, data_dir, [])
        out["shifts_problem"] = str(e)
    return out


# ---- after the reference labeler has decided --------------------------------------
def decisions(project: Any, data_dir: str | Path) -> dict[int, Any]:
    """part -> the reference decision (a Label) of the part's image sent back from this data directory."""
    if project is None:
        return {}
    where = str(Path(data_dir).resolve())
    refs = project.labels.references()
    out = {}
    for rec in project.dataset:
        if rec.meta.get("station_log") == where and rec.meta.get("station_part") is not None and rec.id in refs:
            out[int(rec.meta["station_part"])] = refs[rec.id]
    return out


def _adjudicate(rows: list[dict[str, Any]], refs: dict[int, Any], critical: set[str]) -> dict[str, Any]:
    t = table_of(rows)
    caught, missed, false_rejects, pending_rejects, pending_passes = [], [], [], 0, 0
    critical_missed = []
    good_disputed = 0
    for r in rows:
        c, l = _rejected(r["candidate"]), _rejected(r["live"])
        if c == l:
            continue
        ref = refs.get(r["part"])
        if ref is None:
            if c:
                pending_rejects += 1
            else:
                pending_passes += 1
            continue
        bad = ref.verdict == "ng"
        if not bad:
            good_disputed += 1
        if c and bad:
            caught.append(r["part"])
        elif c and not bad:
            false_rejects.append(r["part"])
        elif not c and bad:
            missed.append(r["part"])
            if ref.defect_class and ref.defect_class in critical:
                critical_missed.append({"part": r["part"], "defect_class": ref.defect_class})
    good = t["both_pass"] + good_disputed + pending_rejects
    frr = (len(false_rejects) + pending_rejects) / good if good else None
    return {"n": len(rows), "caught": len(caught), "caught_parts": caught[:GALLERY],
            "missed": len(missed), "missed_parts": missed[:GALLERY],
            "critical_escapes": critical_missed[:GALLERY], "critical_escape_count": len(critical_missed),
            "false_rejects": len(false_rejects), "false_reject_parts": false_rejects[:GALLERY],
            "false_reject_rate": frr, "pending": pending_rejects + pending_passes,
            "pending_rejects": pending_rejects, "pending_passes": pending_passes}


def adjudicated(rows: list[dict[str, Any]], project: Any, data_dir: str | Path,
                shifts: list[dict]) -> dict[str, Any]:
    refs = decisions(project, data_dir)
    critical = set(project.criteria.critical_classes()) if project is not None else set()
    out = _adjudicate(rows, refs, critical)
    by_shift: dict[str, list[dict[str, Any]]] = {}
    table = parse_shifts(shifts) if shifts else []      # parsed once, not once a row (a pilot logs millions)
    for r in rows:
        by_shift.setdefault((shift_of(r["t"] or 0.0, table) if table else "") or "all", []).append(r)
    out["per_shift"] = {name: {k: v for k, v in _adjudicate(rs, refs, critical).items()
                               if not k.endswith("_parts") and k != "critical_escapes"}
                        for name, rs in sorted(by_shift.items())}
    return out


def report_entry(data_dir: str | Path, project: Any = None, since: float | None = None) -> dict[str, Any] | None:
    """The report's ``shadow`` key: ``{model_id, n, agreement, kappa, kappa_ci, table, ...}`` or None."""
    try:
        return compare(data_dir, project=project, since=since)
    except sqlite3.Error:
        return None


# ---- to the review queue --------------------------------------------------------
def send_disagreements(project: Any, data_dir: str | Path, *, model_id: str | None = None,
                       against: str = "auto") -> dict[str, Any]:
    """Every disagreement with an image goes to the reference labeler's review queue: the part's image
    joins the project labeled twice (the candidate's verdict and the live side's), so it is a dispute.
    Parts already sent are skipped; parts without a kept image are counted."""
    from studio.dataset.store import read_image

    p = pairs(data_dir, model_id=model_id, against=against)
    if p is None:
        return {"sent": 0, "already": 0, "no_image": 0, "disagreements": 0, "model_id": model_id}
    data_dir = Path(data_dir)
    where = str(data_dir.resolve())
    done = {int(r.meta["station_part"]) for r in project.dataset
            if r.meta.get("station_log") == where and r.meta.get("station_part") is not None}
    live_name = "incumbent" if p["against"] == "incumbent" else "model:live"
    sent, already, no_image, disagreements = [], 0, 0, 0
    for r in p["rows"]:
        if _rejected(r["candidate"]) == _rejected(r["live"]):
            continue
        disagreements += 1
        if r["part"] in done:
            already += 1
            continue
        if not r["image_path"] or not (data_dir / r["image_path"]).is_file():
            no_image += 1
            continue
        image = read_image(data_dir / r["image_path"])
        record = project.dataset.add_image(
            image, stem=f"station-{r['part']:06d}", source="station",
            meta={"station_part": r["part"], "station_log": where, "model_id": p["model_id"],
                  "model_verdict": r["candidate"], "live_verdict": r["live"], "against": p["against"],
                  "score": r["score"], "t_trigger": r["t"]})
        cand = "ng" if _rejected(r["candidate"]) else "ok"      # a review or fault is not a pass either
        live = "ng" if _rejected(r["live"]) else "ok"
        project.labels.add(record.id, cand, None, labeler=f"model:{p['model_id']}",
                           criteria_version=project.criteria.version,
                           rationale=f"shadow comparison: the candidate said {r['candidate']}")
        project.labels.add(record.id, live, None, labeler=live_name, criteria_version=project.criteria.version,
                           rationale=f"shadow comparison: {p['against']} said {r['live']}")
        sent.append(r["part"])
    return {"model_id": p["model_id"], "against": p["against"], "disagreements": disagreements,
            "sent": len(sent), "parts": sent, "already": already, "no_image": no_image}
