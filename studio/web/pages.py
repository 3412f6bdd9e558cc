"""The dashboard's HTML, rendered here on the server (one renderer; the page's script only swaps in a fresh copy).

Each page is ``layout(title, body)``; ``body`` alone is what the live page
fetches (``?fragment=1``) when the log changes. The report's keys are shown as
far as they are known (hours, drift, shadow's 2x2 table, the gate's verdict)
and whatever else a key holds is shown generically, so figures other
engineers add to ``build_report`` appear without a change here. Everything
that comes from the log or the report is escaped.
"""
from __future__ import annotations

import html
import math
import time
from typing import Any

from studio.web.chart import reject_rate_svg

esc = html.escape
NAV = (("/", "Overview"), ("/parts", "Parts"), ("/alerts", "Alerts"), ("/shadow", "Shadow"), ("/gate", "Gate"))
MAX_ROWS = 200


# ---- values -------------------------------------------------------------------
def when(t: Any, with_date: bool = True) -> str:
    if not isinstance(t, (int, float)) or isinstance(t, bool) or not math.isfinite(t):
        return "—"
    return time.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S", time.localtime(t))


def pct(v: Any) -> str:
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
        return "—"
    return f"{100 * v:.2f} %"


def num(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}" if math.isfinite(v) else "—"
    return esc(str(v))


def label(key: Any) -> str:
    return esc(str(key).replace("_", " "))


def _is_time_key(key: str) -> bool:
    return key in ("time", "start", "end", "since", "until") or key.startswith("t_") or key.endswith("_at")


def value(v: Any, key: str = "", depth: int = 0) -> str:
    """Any JSON value as HTML: tables for mappings and lists of mappings."""
    if v is None:
        return '<span class="none">—</span>'
    if isinstance(v, bool):
        return f'<span class="badge {"ok" if v else "bad"}">{"yes" if v else "no"}</span>'
    if isinstance(v, (int, float)):
        if _is_time_key(key) and v > 1e9:
            return esc(when(v))
        if key.endswith("rate") and isinstance(v, float):
            return pct(v)
        return num(v)
    if isinstance(v, str):
        return esc(v)
    if depth > 4:
        return f"<code>{esc(str(v))[:200]}</code>"
    if isinstance(v, dict):
        if not v:
            return '<span class="none">(empty)</span>'
        rows = "".join(f"<tr><th>{label(k)}</th><td>{value(x, str(k), depth + 1)}</td></tr>" for k, x in v.items())
        return f'<table class="kv">{rows}</table>'
    if isinstance(v, (list, tuple)):
        if not v:
            return '<span class="none">(none)</span>'
        if all(isinstance(x, dict) for x in v):
            cols: list[str] = []
            for x in v[:MAX_ROWS]:
                cols += [str(k) for k in x if str(k) not in cols]
            head = "".join(f"<th>{label(c)}</th>" for c in cols[:14])
            body = "".join("<tr>" + "".join(f"<td>{value(x.get(c), c, depth + 1)}</td>" for c in cols[:14])
                           + "</tr>" for x in v[:MAX_ROWS])
            more = f'<p class="note">{len(v) - MAX_ROWS} more not shown</p>' if len(v) > MAX_ROWS else ""
            return f'<table class="grid"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}'
        return ", ".join(value(x, key, depth + 1) for x in v[:MAX_ROWS])
    return esc(str(v))


def tile(name: str, shown: str, cls: str = "", sub: str = "") -> str:
    return (f'<div class="tile {cls}"><div class="tile-name">{esc(name)}</div><div class="tile-value">{shown}</div>'
            + (f'<div class="tile-sub">{sub}</div>' if sub else "") + "</div>")


def card(title: str, body: str, cls: str = "", link: str | None = None) -> str:
    more = f' <a class="more" href="{esc(link)}">more</a>' if link else ""
    return f'<section class="card {cls}"><h2>{esc(title)}{more}</h2>{body}</section>'


def message(text: str, hint: str = "", cls: str = "info") -> str:
    return (f'<div class="message {cls}"><p>{esc(text)}</p>'
            + (f'<p class="hint">{esc(hint)}</p>' if hint else "") + "</div>")


# ---- the frame ----------------------------------------------------------------
def layout(title: str, body: str, active: str, station: str, links: Any = NAV) -> str:
    nav = "".join(f'<a href="{href}"{" class=active" if href == active else ""}>{name}</a>' for href, name in links)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} · {esc(station)} · Inspection Studio</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/dashboard.css">
<script src="/static/dashboard.js" defer></script>
</head><body>
<header><div class="brand">Inspection Studio <span class="station">{esc(station)}</span></div>
<nav>{nav}</nav>
<div class="live" id="live" title="the page follows the result log by server-sent events">read-only · live</div>
</header>
<main id="main">{body}</main>
<footer>Read-only view of the station's result log. <a href="/api/report">report JSON</a> ·
<a href="/api/health">health</a></footer>
</body></html>"""


# ---- the pages' bodies -------------------------------------------------------
VERDICT_CLASS = {"pass": "ok", "reject": "bad", "fault": "fault", "review": "review"}


def verdict(v: Any) -> str:
    return f'<span class="badge {VERDICT_CLASS.get(str(v), "")}">{esc(str(v or "—"))}</span>'


def gallery(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return message("No parts logged yet.")
    tiles = []
    for r in rows:
        img = (f'<img src="{esc(r["image_url"])}" alt="part {r["part"]}" loading="lazy">' if r.get("image_url")
               else f'<div class="noimg">{esc(str(r.get("image_state") or "no image"))}</div>')
        score = f'score {num(r.get("score"))}' if r.get("score") is not None else esc(str(r.get("note") or ""))[:60]
        tiles.append(
            f'<a class="part {VERDICT_CLASS.get(str(r.get("verdict")), "")}" href="/parts/{r["part"]}">{img}'
            f'<div class="part-line"><b>#{r["part"]}</b> {verdict(r.get("verdict"))}</div>'
            f'<div class="part-sub">{score}{(" · " + esc(r["defect_class"])) if r.get("defect_class") else ""}'
            f'</div><div class="part-sub">{esc(when(r.get("t_decided"), with_date=False))}'
            f'{(" · id " + esc(str(r["part_id"]))) if r.get("part_id") else ""}</div></a>')
    return f'<div class="gallery">{"".join(tiles)}</div>'


def alerts_table(alerts: list[dict[str, Any]], limit: int | None = None) -> str:
    if not alerts:
        return message("No alerts.", cls="ok")
    rows = []
    for a in alerts[:limit]:
        acked = (f'{esc(str(a["acked_by"]))} {esc(when(a.get("acked_at")))}' if a.get("acked_by")
                 else '<span class="open">open</span>') if "acked_by" in a else ""
        figures = value(a.get("figures"), depth=2) if a.get("figures") else ""
        rows.append(f'<tr class="level-{esc(str(a.get("level")))}"><td class="nowrap">{esc(when(a.get("time")))}</td>'
                    f'<td><span class="badge level {esc(str(a.get("level")))}">{esc(str(a.get("level")))}</span></td>'
                    f'<td>{esc(str(a.get("kind")))}</td><td>{esc(str(a.get("message")))}'
                    f'{f"<details><summary>figures</summary>{figures}</details>" if figures else ""}</td>'
                    + (f"<td>{acked}</td>" if "acked_by" in a else "") + "</tr>")
    ack_head = "<th>acknowledged</th>" if any("acked_by" in a for a in alerts) else ""
    return (f'<table class="grid alerts"><thead><tr><th>time</th><th>level</th><th>kind</th><th>message</th>'
            f'{ack_head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')


def alerts_list(alerts: list[dict[str, Any]], limit: int = 6) -> str:
    """The newest alerts, compact (the overview's column); the Alerts page has the full table."""
    if not alerts:
        return message("No alerts.", cls="ok")
    items = []
    for a in alerts[:limit]:
        level = esc(str(a.get("level")))
        state = ("" if "acked_by" not in a else
                 f' · acknowledged by {esc(str(a["acked_by"]))}' if a.get("acked_by") else ' · <span class="open">open</span>')
        items.append(f'<li><div><span class="badge level {level}">{level}</span> <b>{esc(str(a.get("kind")))}</b> '
                     f'<span class="note">{esc(when(a.get("time")))}{state}</span></div>'
                     f'<div>{esc(str(a.get("message")))}</div></li>')
    more = f'<p class="note">{len(alerts) - limit} more on the Alerts page</p>' if len(alerts) > limit else ""
    return f'<ul class="alert-list">{"".join(items)}</ul>{more}'


def figure_tiles(report: dict[str, Any], health: dict[str, Any]) -> str:
    f = report.get("figures") or {}
    parts = report.get("parts", f.get("parts"))
    age = health.get("last_part_age_s")
    last = (f'#{health.get("last_part")}' if health.get("last_part") else "—")
    sub = f"{esc(when(health.get('last_part_time'), with_date=False))} ({age:.0f} s ago)" if isinstance(age, (int, float)) else ""
    return ('<div class="tiles">'
            + tile("Parts", num(parts))
            + tile("Pass", num(f.get("pass")), "ok")
            + tile("Reject", num(f.get("reject")), "bad")
            + tile("Fault", num(f.get("fault")), "fault")
            + (tile("Review", num(f.get("review")), "review") if f.get("review") else "")
            + tile("Reject rate", pct(f.get("reject_rate")), "rate", "(reject + fault) / parts")
            + tile("Last part", last, "last-part", sub)
            + "</div>")


def drift_card(drift: Any) -> str:
    if not isinstance(drift, dict):
        return message("No score drift figures in the report.")
    known = {"psi", "ks_p", "window"}
    body = ('<div class="tiles small">' + tile("PSI", num(drift.get("psi"))) + tile("KS p", num(drift.get("ks_p")))
            + tile("Window", value(drift.get("window"), "window")) + "</div>")
    rest = {k: v for k, v in drift.items() if k not in known}
    if all(drift.get(k) is None for k in known) and not rest:
        body += '<p class="note">Not computed yet (needs the model\'s reference scores and enough parts).</p>'
    return body + (value(rest) if rest else "")


def shadow_body(shadow: Any, full: bool = True) -> str:
    if not shadow:
        return message("No shadow model is logged: the comparison appears once a candidate runs beside the live "
                       "model (studio station run ... --shadow MODEL_ID) or the station runs in shadow mode.")
    if not isinstance(shadow, dict):
        return value(shadow)
    ci = shadow.get("kappa_ci") or shadow.get("kappa_interval")
    aci = shadow.get("agreement_ci") or shadow.get("agreement_interval")

    def interval(c: Any, fmt) -> str:
        return f"{fmt(c[0])} – {fmt(c[1])}" if isinstance(c, (list, tuple)) and len(c) == 2 else ""

    out = ['<div class="tiles small">', tile("Shadow model", esc(str(shadow.get("model_id") or "—"))),
           tile("Parts compared", num(shadow.get("n"))),
           tile("Agreement", pct(shadow.get("agreement")), "", interval(aci, pct)),
           tile("Cohen's kappa", num(shadow.get("kappa")), "", interval(ci, num)), "</div>"]
    t = shadow.get("table")
    if isinstance(t, dict):
        def c(k: str) -> str:
            return num(t.get(k))
        out.append('<table class="grid two-by-two"><thead><tr><th></th><th>shadow: reject</th><th>shadow: pass</th>'
                   f'</tr></thead><tbody><tr><th>live: reject</th><td class="agree">{c("both_reject")}</td>'
                   f'<td class="disagree">{c("only_live_reject")}</td></tr><tr><th>live: pass</th>'
                   f'<td class="disagree">{c("only_shadow_reject")}</td><td class="agree">{c("both_pass")}</td></tr>'
                   '</tbody></table>')
    if full:
        rest = {k: v for k, v in shadow.items() if k not in {"model_id", "n", "agreement", "kappa", "table", "kappa_ci",
                                                         "kappa_interval", "agreement_ci", "agreement_interval"}}
        if rest:
            out.append(value(rest))
    return "".join(out)


GATE_VERDICT_KEYS = ("passed", "pass", "ok", "open", "met")


def gate_body(gate: Any, full: bool = True) -> str:
    if not gate:
        return message("No promotion gate is defined for this station's project, or the dashboard was not given "
                       "the project (studio station web DATA_DIR --project PROJECT).")
    if not isinstance(gate, dict):
        return value(gate)
    out = []
    for k in GATE_VERDICT_KEYS:
        if isinstance(gate.get(k), bool):
            ok = gate[k]
            out.append(f'<div class="gate-state {"ok" if ok else "bad"}">'
                       f'{"The gate is met: the candidate may be promoted" if ok else "The gate is not met"}</div>')
            break
    if isinstance(gate.get("state"), str):
        out.append(f'<p class="gate-word">state: <b>{esc(gate["state"])}</b></p>')
    rest = gate if full else {k: v for k, v in gate.items() if isinstance(v, (list, dict))}
    out.append(value({k: v for k, v in rest.items() if k not in GATE_VERDICT_KEYS and k != "state"}))
    return "".join(out)


def overview_body(report: dict[str, Any], recent: list[dict[str, Any]], health: dict[str, Any]) -> str:
    alerts = report.get("alerts") or []
    known = {"parts", "figures", "hours", "alerts", "drift", "shadow", "gate"}
    extra = {k: v for k, v in report.items() if k not in known and v not in (None, [], {})}
    return (figure_tiles(report, health)
            + card("Reject rate per hour", reject_rate_svg(report.get("hours")), "chart-card")
            + '<div class="columns">'
            + card("Last images", gallery(recent), "wide", "/parts")
            + card("Alerts", alerts_list(alerts), "", "/alerts")
            + "</div>"
            + '<div class="columns three">'
            + card("Score drift", drift_card(report.get("drift")))
            + card("Shadow comparison", shadow_body(report.get("shadow"), full=False), "", "/shadow")
            + card("Promotion gate", gate_body(report.get("gate"), full=False), "", "/gate")
            + "</div>"
            + "".join(card(str(k).replace("_", " ").capitalize(), value(v, str(k))) for k, v in extra.items()))


def part_body(row: dict[str, Any]) -> str:
    img = (f'<img class="big" src="{esc(row["image_url"])}" alt="part {row["part"]}">' if row.get("image_url")
           else message(f'No image of this part ({row.get("image_state") or "none"}).'))
    shown = {k: v for k, v in row.items() if k not in ("image_url", "id")}
    return (f'<h1>Part #{row["part"]} {verdict(row.get("verdict"))}</h1><div class="columns">'
            f'<section class="card wide">{img}</section><section class="card">{value(shown)}</section></div>'
            f'<p><a href="/parts/{row["part"]}/trace">what decided it (trace)</a> · '
            f'<a href="/api/parts/{row["part"]}">this row as JSON</a></p>')
