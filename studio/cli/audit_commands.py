"""``studio audit``: list the audit trail, or verify its hash chain."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from studio.cli.output import emit


def add_parsers(sub: argparse._SubParsersAction) -> None:
    a = sub.add_parser("audit", help="the audit trail (audit.jsonl): who changed what, when, why; --verify the chain")
    a.add_argument("where", metavar="PROJECT_OR_DATA_DIR",
                   help="a project folder, a station data directory, or an audit.jsonl file")
    a.add_argument("--since", metavar="ISO", help="only entries from this time on (e.g. 2026-03-01 or "
                                                  "2026-03-01T08:00; without a zone: local time)")
    a.add_argument("--action", help="only this action, or a prefix such as 'model.'")
    a.add_argument("--verify", action="store_true",
                   help="check the hash chain; exit 1 naming the first edited, deleted or moved entry")
    a.add_argument("--json", action="store_true")
    a.set_defaults(handler=__name__ + ":cmd_audit")


def _short(v) -> str:
    if v is None:
        return ""
    s = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, sort_keys=True)
    return s if len(s) <= 60 else s[:57] + "..."


def cmd_audit(args: argparse.Namespace) -> int:
    from studio.audit.trail import FILE_NAME, AuditTrail
    from studio.core.errors import StudioError

    where = Path(args.where)
    if not where.exists():
        raise StudioError("no such folder or file", file=where,
                          hint="give a project folder, a station data directory or an audit.jsonl")
    trail = AuditTrail(where)
    if args.verify:
        v = trail.verify()
        emit(args, {"file": str(trail.path), **v.to_dict()},
             f"{trail.path}: {v.message}" if v.ok else f"{trail.path}: BROKEN at entry {v.broken_at}: {v.message}")
        return 0 if v.ok else 1
    if args.since:
        import datetime as _dt

        try:
            _dt.datetime.fromisoformat(args.since)
        except ValueError:
            raise StudioError(f"--since '{args.since}' is not an ISO time", field="--since",
                              hint="write e.g. 2026-03-01 or 2026-03-01T08:00:00+01:00") from None
    rows = list(trail.entries(since=args.since, action=args.action))
    lines = [f"{e.get('time_local', '')[:19].replace('T', ' ')}  {e.get('actor', ''):<14} {e.get('action', ''):<18} "
             f"{_short(e.get('what')):<24}"
             + (f" {_short(e.get('before'))} -> {_short(e.get('after'))}" if e.get("before") is not None
                else f" {_short(e.get('after'))}" if e.get("after") is not None else "")
             + (f"  — {e['reason']}" if e.get("reason") else "")
             + (f"  [{e['meaning']}]" if e.get("meaning") else "") for e in rows]
    emit(args, {"file": str(trail.path), "entries": rows},
         "\n".join(lines) or f"no entries in {where / FILE_NAME if where.is_dir() else where}")
    return 0
