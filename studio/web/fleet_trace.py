"""Two more of the dashboard's pages: the plant's Fleet (the central store) and a part's trace.

- ``central_url(project, given)``: the central store the Fleet page reads:
  ``--central URL`` of ``studio station web``, else ``central:`` in the
  project's station.yaml; None when neither (the page and its nav link are off).
- ``read_fleet(url, hours)``: ``studio.central.fleet.fleet`` on a connection
  of its own, closed after each read (the dashboard holds nothing open on the
  plant's database); ``CentralAway`` (HTTP 503) when the database cannot be
  reached, with the address (no password) and what to check.
- ``fleet_body(view)`` / ``trace_body(chain)``: the pages' HTML, everything
  from the store or the chain escaped.

The trace is ``studio.station.trace.trace_part``, what ``studio trace`` prints.
"""
from __future__ import annotations

import datetime as _dt
from typing import Any

from studio.core.errors import StudioError
from studio.web.pages import card, esc, message, num, pct, value

FLEET_HOURS = 24.0


class CentralAway(StudioError):
    """The central store cannot be reached (HTTP 503): the station's own pages are not affected."""


def central_url(project: Any, given: str | None = None) -> str | None:
    if given:
        return str(given).strip()
    if project is None:
        return None
    try:
        url = project.station_settings().get("central")
    except StudioError:         # an invalid station.yaml: the other pages say it
        return None
    if isinstance(url, dict):
        url = url.get("url")
    return str(url).strip() if url else None


def read_fleet(url: str, hours: float = FLEET_HOURS) -> dict[str, Any]:
    import psycopg

    from studio.central import connect, safe_url
    from studio.central.fleet import fleet

    try:
        conn = connect(url, timeout_s=3)
    except psycopg.Error as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise CentralAway(f"the central store at {safe_url(url)} cannot be reached: {first}",
                          hint="check that the database server runs and that this PC may log in "
                               "(~/.pgpass); the station and its own pages are not affected") from None
    try:
        view = fleet(conn, hours=hours)
    except psycopg.Error as e:
        raise CentralAway(f"the central store at {safe_url(url)} failed to answer: {str(e).strip()[:200]}",
                          hint="try again; the station and its own pages are not affected") from None
    finally:
        conn.close()
    view["url"] = safe_url(url)
    return view


def _hour(h: Any) -> str:
    try:
        return f"{_dt.datetime.fromtimestamp(float(h), _dt.UTC):%H}h"
    except (TypeError, ValueError, OverflowError):
        return "—"


def _seen(age: Any) -> str:
    return "—" if not isinstance(age, (int, float)) else f"{age:.0f} s ago"


def _lag(s: dict[str, Any]) -> str:
    rows, secs = s.get("lag_rows") or 0, s.get("lag_s") or 0.0
    return "up to date" if not rows else f"{rows} rows, {secs:.0f} s behind"


def _hours_cells(hours: list[dict[str, Any]]) -> str:
    if not hours:
        return '<span class="none">—</span>'
    return " ".join(f'<span class="hour" title="{esc(_hour(h.get("hour")))} UTC: {num(h.get("parts"))} parts">'
                    f'{esc(_hour(h.get("hour")))} {num(h.get("parts"))} · {pct(h.get("rate"))}</span>'
                    for h in hours[-12:])


def fleet_body(view: dict[str, Any]) -> str:
    stations = view.get("stations") or []
    head = (f'<p class="hint">{len(stations)} station(s) in {esc(str(view.get("url") or "the central store"))}, '
            f'the last {num(view.get("hours"))} h (hours in UTC)</p>')
    if not stations:
        return head + message("No station has sent anything to the central store yet.",
                              "set central: in each station's station.yaml, or run studio station sync")
    rows = []
    for s in stations:
        alerts = s.get("alerts") or {}
        a_cls = "bad" if alerts.get("error") else "fault" if alerts.get("warning") else ""
        recent = "<br>".join(f'<span title="{esc(str(a.get("time") or ""))}">{esc(str(a.get("time") or "")[11:16])}'
                             f'</span> [{esc(str(a.get("kind")))}] {esc(str(a.get("message")))}'
                             for a in (alerts.get("recent") or [])[:2])
        rows.append(
            f'<tr class="station" id="station-{esc(str(s["station_id"]))}"><td>{esc(str(s["station_id"]))}</td>'
            f'<td>{esc(str(s.get("project") or "—"))}</td><td>{esc(str(s.get("model_id") or "—"))}</td>'
            f'<td>{esc(str(s.get("state") or "—"))}</td>'
            f'<td>{_seen(s.get("seen_s_ago"))}</td>'
            f'<td class="lag">{esc(_lag(s))}</td><td class="num parts">{num(s.get("parts"))}</td>'
            f'<td class="num rate">{pct(s.get("reject_rate"))}</td>'
            f'<td><span class="badge {a_cls}">{num(alerts.get("total", 0))}</span>'
            + (f'<div class="hint">{recent}</div>' if recent else "") + "</td>"
            f'<td class="hours">{_hours_cells(s.get("hours") or [])}</td></tr>')
    table = ('<table class="fleet"><thead><tr><th>Station</th><th>Project</th><th>Live model</th><th>State</th>'
             '<th>Seen</th><th>Forwarder lag</th><th>Parts</th><th>Reject rate</th><th>Alerts</th>'
             '<th>Parts · reject rate per hour</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>")
    projects = []
    for p in view.get("projects") or []:
        lines = "".join(f'<tr><td>{esc(str(s["station_id"]))}</td><td class="num">{num(s.get("parts"))}</td>'
                        f'<td class="num">{pct(s.get("reject_rate"))}</td>'
                        f'<td>{esc(", ".join(s.get("models") or []) or "—")}</td></tr>' for s in p.get("stations") or [])
        spread = (f', spread between stations {pct(p.get("spread"))}' if len(p.get("stations") or []) > 1 else "")
        projects.append(card(f'Project {p["project"]}',
                             f'<p>{num(p.get("parts"))} parts, reject rate {pct(p.get("reject_rate"))}{spread}</p>'
                             '<table><thead><tr><th>Station</th><th>Parts</th><th>Reject rate</th><th>Models</th>'
                             f'</tr></thead><tbody>{lines}</tbody></table>', "project"))
    return head + card("Stations", table, "wide") + '<div class="columns">' + "".join(projects) + "</div>"


# ---- a part's trace ------------------------------------------------------------
TRACE_SECTIONS = (("part", "The logged part"), ("model", "The model"), ("training", "Its training run"),
                  ("data", "The data it learned from"), ("criteria_version", "The criteria version"),
                  ("threshold", "The threshold decision"), ("promotion", "The promotion that made it live"))


def trace_body(chain: dict[str, Any]) -> str:
    n = (chain.get("part") or {}).get("part")
    shown = set()
    out = [f'<h1>Part #{esc(str(n))}: what decided it</h1>',
           f'<p><a href="/parts/{esc(str(n))}">the part</a> · <a href="/api/parts/{esc(str(n))}/trace">'
           "this trace as JSON</a> · the same as <code>studio trace DATA_DIR --part N</code></p>"]
    gaps = chain.get("gaps") or []
    shown.add("gaps")
    if gaps:
        out.append(card("Links that cannot be followed", "<ul>" + "".join(f"<li>{esc(str(g))}</li>" for g in gaps)
                        + "</ul>", "gaps"))
    for key, title in TRACE_SECTIONS:
        shown.add(key)
        v = chain.get(key)
        out.append(card(title, value(v, key) if v not in (None, {}, []) else
                        '<p class="none">not known (nothing recorded)</p>', "trace", None))
    for key, v in chain.items():
        if key not in shown:
            out.append(card(str(key).replace("_", " ").capitalize(), value(v, str(key)), "trace"))
    return "".join(out)
