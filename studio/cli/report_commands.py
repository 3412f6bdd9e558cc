"""``studio station report DATA_DIR [--since ISO] [--json]``: the station's figures, headless (build_report)."""
from __future__ import annotations

import argparse
import json

from studio.cli.station_subcommands import project_for, station_group


def add_parsers(sub: argparse._SubParsersAction) -> None:
    r = station_group(sub).add_parser("report", help="the station's figures from its result log: parts, reject "
                                                     "rate per hour, alerts, drift, shadow comparison, gate")
    r.add_argument("data_dir", help="the station's data directory (or its results.sqlite)")
    r.add_argument("--since", help="only parts from this time on (ISO, e.g. 2026-05-01T06:00)")
    r.add_argument("--project", help="the project (for the promotion gate and adjudications; default: the "
                                     "project the data directory is in, if any)")
    r.add_argument("--json", action="store_true")
    r.set_defaults(handler=__name__ + ":cmd_station_report")


def cmd_station_report(args: argparse.Namespace) -> int:
    from studio.core.errors import StudioError
    from studio.monitoring.report import build_report

    project = project_for(args.data_dir, args.project)
    try:
        report = build_report(args.data_dir, since=args.since, project=project)
    except ValueError as e:
        raise StudioError(f"--since {args.since!r} is not an ISO time ({e})",
                          hint="write e.g. --since 2026-05-01T06:00") from None
    if args.json:
        print(json.dumps(report, default=str), flush=True)
        return 0
    f = report["figures"]
    print(f"{report['parts']} parts: reject rate {100 * (f.get('reject_rate') or 0):.2f} %")
    s = report.get("shadow")
    if s:
        ci = s.get("kappa_ci")
        kappa = "n/a" if s["kappa"] is None else f"{s['kappa']:.3f}"
        print(f"shadow {s['model_id']} vs {s['against']}: {s['n']} parts, agreement {100 * s['agreement']:.2f} %, "
              f"kappa {kappa}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")
              + f"; only the candidate rejected {s['table']['only_shadow_reject']}, only {s['against']} "
              f"rejected {s['table']['only_live_reject']}")
    g = report.get("gate")
    if g:
        print("promotion gate: " + ("PASSED" if g["passed"] else "not passed") + " — "
              + ", ".join(f"{c['name']} {'ok' if c['ok'] else 'NO'}" for c in g["checks"]))
    for a in report["alerts"][:10]:
        print(f"alert {a['level']} [{a['kind']}] {a['message']}")
    return 0
