"""``studio station report DATA_DIR`` and ``studio station acknowledge DATA_DIR ID``: production monitoring, headless.

The report is ``studio.monitoring.report.build_report`` in words, or with
``--json`` as one JSON object (its keys are a contract, see that module).
Registered after ``studio.cli.station_commands`` in ``main.COMMAND_MODULES``:
it adds its subcommands to ``studio station``.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import os
from typing import Any

from studio.cli.output import emit
from studio.cli.station_subcommands import project_for, station_group


def add_parsers(sub: argparse._SubParsersAction) -> None:
    ssub = station_group(sub)
    r = ssub.add_parser("report", help="reject rate per hour and shift with control limits, score drift, alerts")
    r.add_argument("data_dir", help="the station's data directory (or its results.sqlite)")
    r.add_argument("--since", help="only parts and alerts from this time on (ISO, e.g. 2026-03-01T06:00)")
    r.add_argument("--project", help="the project: the model card and station.yaml are read from it "
                                     "(default: what the station's monitor saved in the data directory)")
    r.add_argument("--new-defects", action="store_true",
                   help="list the groups of rejected parts like no known defect class, with their images, to label")
    r.add_argument("--to-review", action="store_true",
                   help="with --project: take the images of those groups into the project's review queue, to label")
    r.add_argument("--json", action="store_true")
    r.set_defaults(handler=__name__ + ":cmd_station_report")
    a = ssub.add_parser("acknowledge", help="acknowledge an alert of the result log (who saw it, and when)")
    a.add_argument("data_dir", help="the station's data directory (or its results.sqlite)")
    a.add_argument("alert_id", type=int, help="the alert's id (in 'studio station report')")
    a.add_argument("--by", default=os.environ.get("USER", ""), help="who acknowledges it (default: $USER)")
    a.add_argument("--json", action="store_true")
    a.set_defaults(handler=__name__ + ":cmd_station_acknowledge")


def _when(t: Any) -> str:
    try:
        return _dt.datetime.fromtimestamp(float(t)).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError, OSError):
        return "?"


def _pct(x: Any) -> str:
    return "  –  " if x is None else f"{100 * float(x):5.1f} %"


def text(report: dict[str, Any], new_defects: bool = False) -> str:
    e = report["expected"]
    lines = [f"{report['parts']} parts" + (f" since {_when(report['since'])}" if report.get("since") else "")
             + f", reject rate {_pct(report['figures']['reject_rate']).strip()} over the whole log"
             + (f"; model {e['model_id']}" if e.get("model_id") else ""),
             f"expected reject rate: {_pct(e.get('rate')).strip() if e.get('rate') is not None else 'not yet known'}"
             f" — {e.get('source')}" + (f" ({e['why']})" if e.get("rate") is None and e.get("why") else "")]
    w = report.get("window")
    if w:
        lines.append(f"last {w['window_parts']} parts: {_pct(w['reject_rate']).strip()} (limits "
                     f"{_pct(w['lower']).strip()} – {_pct(w['upper']).strip()}); CUSUM up {w['cusum_up']:.1f}, "
                     f"down {w['cusum_down']:.1f} of {w['cusum_h']:g}")
    lines += ["", "hour               parts  rejected  reject rate   limits"]
    for h in report["hours"]:
        flag = ""
        if h["upper"] is not None and h["reject_rate"] > h["upper"]:
            flag = "  ▲ above"
        elif h["lower"] is not None and h["reject_rate"] < h["lower"]:
            flag = "  ▼ below"
        lines.append(f"{_when(h['start'])}  {h['parts']:7d}  {h['rejected']:8d}  {_pct(h['reject_rate'])}"
                     f"   {_pct(h['lower'])} – {_pct(h['upper'])}{flag}")
    if report.get("shifts") and any(s["shift"] for s in report["shifts"]):
        lines += ["", "shift                  parts  rejected  reject rate   limits"]
        for s in report["shifts"]:
            lines.append(f"{s['shift']:<3} {_when(s['start'])}  {s['parts']:7d}  {s['rejected']:8d}  "
                         f"{_pct(s['reject_rate'])}   {_pct(s['lower'])} – {_pct(s['upper'])}")
    d = report["drift"]
    lines.append("")
    if d.get("psi") is None:
        lines.append(f"score drift: {d.get('note') or 'not enough passed parts yet'} ({d['window']} parts)")
    else:
        lines.append(f"score drift over the last {d['window']} passed parts: PSI {d['psi']:.3f}, KS {d['ks']:.3f} "
                     f"(p {d['ks_p']:.3g}){'  ← drifted' if d.get('drifted') else ''}")
    groups = report.get("new_defects") or []
    if groups:
        lines.append(f"new defect types: {len(groups)} group(s) of rejects like no known class"
                     + ("" if new_defects else " (--new-defects lists them)"))
        if new_defects:
            for g in groups:
                lines.append(f"  group {g['group']}: {g['n']} parts, e.g. "
                             + ", ".join(f"{p} ({g.get('images', {}).get(str(p)) or 'no image'})" for p in g["parts"][:8]))
    sh = report.get("shadow")
    if sh:
        ci = sh.get("kappa_ci")
        kappa = "n/a" if sh["kappa"] is None else f"{sh['kappa']:.3f}"
        lines += ["", f"shadow {sh['model_id']} vs {sh['against']}: {sh['n']} parts, agreement "
                  f"{100 * sh['agreement']:.2f} %, kappa {kappa}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")
                  + f"; only the candidate rejected {sh['table']['only_shadow_reject']}, only {sh['against']} "
                  f"rejected {sh['table']['only_live_reject']}"]
    g = report.get("gate")
    if g:
        lines.append("promotion gate: " + ("PASSED" if g["passed"] else "not passed") + " — "
                     + ", ".join(f"{c['name']} {'ok' if c['ok'] else 'NO'}" for c in g["checks"]))
    alerts = report["alerts"]
    lines += ["", f"alerts: {len(alerts)} ({sum(1 for a in alerts if not a.get('acked_by'))} not acknowledged)"]
    for a in alerts[:30]:
        ack = f"  [acknowledged by {a['acked_by']}]" if a.get("acked_by") else ""
        lines.append(f"  #{a['id']} {_when(a['time'])} {a['level']:<7} {a['kind']:<11} {a['message']}{ack}")
    return "\n".join(lines)


def _images(data_dir: Any, groups: list[dict[str, Any]]) -> None:
    """Each group's image paths (absolute), from the log: what a person labels."""
    from pathlib import Path

    from studio.monitoring.report import log_path
    from studio.results.reader import ResultReader

    path = log_path(data_dir)
    reader = ResultReader(path)
    try:
        for g in groups:
            images = {}
            for p in g["parts"][:50]:
                row = reader.part(int(p))
                if row and row.get("image_path"):
                    images[str(p)] = str(Path(path).parent / row["image_path"])
            g["images"] = images
    finally:
        reader.close()


def cmd_station_report(args: argparse.Namespace) -> int:
    from studio.monitoring.report import build_report

    project = project_for(args.data_dir, args.project)     # the named one, else the one the data directory is in
    if args.to_review and project is None:
        from studio.core.errors import StudioError

        raise StudioError("--to-review needs the project the images go to", field="--to-review",
                          hint="add --project PROJECT")
    try:
        report = build_report(args.data_dir, since=args.since, project=project)
    except ValueError as e:
        from studio.core.errors import StudioError

        raise StudioError(f"--since {args.since!r} is not an ISO time ({e})",
                          hint="write e.g. --since 2026-05-01T06:00") from None
    if (args.new_defects or args.to_review) and report.get("new_defects"):
        _images(args.data_dir, report["new_defects"])
    words = text(report, args.new_defects or args.to_review)
    if args.to_review:
        from studio.station.offer import offer_new_defects

        report["offered"] = offer_new_defects(project, args.data_dir, report.get("new_defects") or [])
        words += (f"\n{len(report['offered']['added'])} image(s) of new defect types wait in the review queue"
                  + (f"; {len(report['offered']['skipped'])} skipped" if report["offered"]["skipped"] else ""))
    emit(args, report, words)
    return 0


def cmd_station_acknowledge(args: argparse.Namespace) -> int:
    from studio.results.alerts import acknowledge

    row = acknowledge(args.data_dir, args.alert_id, args.by)
    emit(args, row, f"alert #{row['id']} ({row['kind']}): acknowledged by {row['acked_by']} at {_when(row['acked_at'])}")
    return 0
