"""The reject rate per hour with its control limits, as inline SVG (drawn here, no script, no library).

``hours`` is the report's list of ``{start, parts, rejected, reject_rate, lower, upper}``;
``lower`` / ``upper`` may be None (no limits yet), and hours without parts are
not listed: the line breaks across them instead of inventing a value.
Colours and sizes are SVG attributes, so the page's style sheet policy needs
no inline styles.
"""
from __future__ import annotations

import html
import math
import time
from typing import Any

W, H = 960, 250
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 12, 58
LINE, LIMIT, OUT, BAND, GRID, TEXT = "#1f6feb", "#8a6d00", "#d1242f", "#fff4c2", "#d8dee4", "#57606a"


def _nice_max(v: float) -> float:
    if v <= 0:
        return 0.05
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * exp:
            return m * exp
    return 10 * exp


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def _pct(v: float) -> str:
    return f"{100 * v:.3g} %"


def reject_rate_svg(hours: list[dict[str, Any]] | None, title: str = "Reject rate per hour") -> str:
    hours = [h for h in (hours or []) if _num(h.get("start")) is not None]
    esc = html.escape
    if not hours:
        return (f'<svg class="chart" viewBox="0 0 {W} 80" role="img" aria-label="{esc(title)}: no parts yet" '
                f'xmlns="http://www.w3.org/2000/svg"><text x="{W / 2}" y="44" text-anchor="middle" '
                f'fill="{TEXT}" font-size="16">No parts in the report\'s hours yet</text></svg>')
    hours = sorted(hours, key=lambda h: h["start"])
    t0, t1 = float(hours[0]["start"]), float(hours[-1]["start"]) + 3600.0
    values = [v for h in hours for v in (_num(h.get("reject_rate")), _num(h.get("upper"))) if v is not None]
    ymax = min(1.0, _nice_max(max(values, default=0.0) * 1.1)) or 0.05
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + (t - t0) / (t1 - t0) * pw

    def y(v: float) -> float:
        return TOP + ph - min(v, ymax) / ymax * ph

    out = [f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{esc(title)}" '
           f'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif">',
           f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="#ffffff" stroke="{GRID}"/>']
    # y grid and ticks
    for i in range(5):
        v = ymax * i / 4
        out.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="{GRID}"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="12" '
                   f'fill="{TEXT}">{_pct(v)}</text>')
    # x ticks: at most 12 hour labels, the date where the day changes
    step = max(1, math.ceil((t1 - t0) / 3600 / 12))
    last_day = None
    t = t0
    while t <= t1 - 3600 + 1:
        lt = time.localtime(t)
        day = time.strftime("%d %b", lt)
        out.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{TOP + ph}" y2="{TOP + ph + 4}" stroke="{TEXT}"/>')
        out.append(f'<text x="{x(t):.1f}" y="{TOP + ph + 17}" text-anchor="start" font-size="12" '
                   f'fill="{TEXT}">{time.strftime("%H:00", lt)}</text>')
        if day != last_day:         # the date under the first hour of each day
            out.append(f'<text x="{x(t):.1f}" y="{TOP + ph + 31}" text-anchor="start" font-size="11" '
                       f'fill="{TEXT}">{esc(day)}</text>')
        last_day = day
        t += 3600 * step
    # control limits: a band per hour between lower and upper, dashed edges
    for h in hours:
        lo, hi = _num(h.get("lower")), _num(h.get("upper"))
        xa, xb = x(h["start"]), x(h["start"] + 3600)
        if lo is not None and hi is not None:
            out.append(f'<rect x="{xa:.1f}" y="{y(hi):.1f}" width="{xb - xa:.1f}" '
                       f'height="{max(0.0, y(lo) - y(hi)):.1f}" fill="{BAND}" opacity="0.8"/>')
        for lim, name in ((lo, "lower"), (hi, "upper")):
            if lim is not None:
                out.append(f'<line class="limit {name}" x1="{xa:.1f}" x2="{xb:.1f}" y1="{y(lim):.1f}" '
                           f'y2="{y(lim):.1f}" stroke="{LIMIT}" stroke-width="2" stroke-dasharray="6 4"/>')
    # the rate: a line through hour centres, broken where hours without parts lie between
    segments: list[list[str]] = []
    prev = None
    for h in hours:
        r = _num(h.get("reject_rate"))
        if r is None:
            prev = None
            continue
        if prev is None or h["start"] - prev > 3600:
            segments.append([])
        segments[-1].append(f"{x(h['start'] + 1800):.1f},{y(r):.1f}")
        prev = h["start"]
    for seg in segments:
        if len(seg) > 1:
            out.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{LINE}" stroke-width="2.5"/>')
    for h in hours:
        r = _num(h.get("reject_rate"))
        if r is None:
            continue
        lo, hi = _num(h.get("lower")), _num(h.get("upper"))
        outside = (hi is not None and r > hi) or (lo is not None and r < lo)
        tip = (f"{time.strftime('%Y-%m-%d %H:00', time.localtime(h['start']))}: {_pct(r)} "
               f"({h.get('rejected', '?')} of {h.get('parts', '?')} parts)"
               + (f", limits {_pct(lo) if lo is not None else '-'} .. {_pct(hi) if hi is not None else '-'}"
                  if lo is not None or hi is not None else "") + (" OUTSIDE THE LIMITS" if outside else ""))
        out.append(f'<circle class="hour{" outside" if outside else ""}" cx="{x(h["start"] + 1800):.1f}" '
                   f'cy="{y(r):.1f}" r="{6 if outside else 4.5}" fill="{OUT if outside else LINE}" '
                   f'stroke="#ffffff" stroke-width="1.5"><title>{esc(tip)}</title></circle>')
    # legend
    lx = LEFT + pw - 440
    ly = H - 8
    out.append(f'<line x1="{lx}" x2="{lx + 22}" y1="{ly - 4}" y2="{ly - 4}" stroke="{LINE}" stroke-width="2.5"/>')
    out.append(f'<text x="{lx + 28}" y="{ly}" font-size="12" fill="{TEXT}">reject rate</text>')
    out.append(f'<line x1="{lx + 120}" x2="{lx + 142}" y1="{ly - 4}" y2="{ly - 4}" stroke="{LIMIT}" '
               f'stroke-width="2" stroke-dasharray="6 4"/>')
    has_limits = any(_num(h.get("lower")) is not None or _num(h.get("upper")) is not None for h in hours)
    out.append(f'<text x="{lx + 148}" y="{ly}" font-size="12" fill="{TEXT}">control limits'
               f'{"" if has_limits else " (none yet)"}</text>')
    out.append(f'<circle cx="{lx + 290}" cy="{ly - 4}" r="5" fill="{OUT}"/>')
    out.append(f'<text x="{lx + 300}" y="{ly}" font-size="12" fill="{TEXT}">outside the limits</text>')
    out.append("</svg>")
    return "".join(out)
