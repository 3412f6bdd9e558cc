"""Audits kept in the project: ``audits/<audit_id>/`` and the station's baseline.

```
audits/limits.yaml                 the project's limits (only what differs from the defaults)
audits/baseline.json               {audit_id, time, summary, roi, source}: the accepted lighting
audits/<audit_id>/audit.json       the audit (the CLI's --json), verdict and checks
audits/<audit_id>/report.html      the same for people, pictures embedded
audits/<audit_id>/frame.png  histogram.png  uniformity.png
```

Only a passing audit can become the baseline. The history is every
``audit.json``, newest first.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from studio.core.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from studio.core.errors import ProjectError, StudioError
from studio.core.migrations import FIELD, Migrator
from studio.core.problems import Problem
from studio.lighting import report

BASELINE_FILE = "baseline.json"
# baseline.json and audit.json: 0 before schema_version; 1 schema_version added (same fields)
SCHEMA_VERSION = 1
BASELINE = Migrator(f"audits/{BASELINE_FILE}", SCHEMA_VERSION)
BASELINE.step(0)(lambda d: d)
AUDIT = Migrator("audit.json", SCHEMA_VERSION)
AUDIT.step(0)(lambda d: d)
REBASE = "run a lighting audit and save it as the baseline again"


def _dir(project: Any) -> Path:
    d = Path(project.audits_dir)
    d.mkdir(parents=True, exist_ok=True)
    return d


def _new_id(project: Any, t: float) -> str:
    stem = time.strftime("%Y%m%d-%H%M%S", time.localtime(t))
    audit_id, n = stem, 1
    while (_dir(project) / audit_id).exists():
        n += 1
        audit_id = f"{stem}-{n}"
    return audit_id


def save_audit(project: Any, audit: Any, limits: dict[str, dict[str, float]] | None = None) -> Path:
    """Write the audit's JSON, pictures and HTML report; sets ``audit.audit_id``; returns its folder."""
    audit.audit_id = audit.audit_id or _new_id(project, audit.time)
    folder = _dir(project) / audit.audit_id
    folder.mkdir(parents=True, exist_ok=True)
    ex = (limits or {}).get("exposure", {})
    pngs = report.pictures(audit.pictures, ex.get("clip_low", 2), ex.get("clip_high", 253))
    for name, data in pngs.items():
        atomic_write_bytes(folder / name, data)
    result = {FIELD: SCHEMA_VERSION, **audit.to_dict()}
    result["files"] = sorted(["audit.json", "report.html", *pngs])
    if "histogram" in audit.pictures:           # for the GUI's plot of a past audit
        result["histogram"] = [int(v) for v in audit.pictures["histogram"]]
    atomic_write_json(folder / "audit.json", result)
    atomic_write_text(folder / "report.html", report.html(result, pngs, getattr(project, "name", "")))
    return folder


def load_audit(project: Any, audit_id: str) -> dict[str, Any]:
    path = Path(project.audits_dir) / audit_id / "audit.json"
    if not path.exists():
        raise StudioError(f"no lighting audit '{audit_id}' in this project", file=path.parent,
                          hint="list the audits with 'studio lighting history PROJECT'")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ProjectError("is not a readable audit", file=path, hint="delete that audit's folder") from None


def history(project: Any) -> list[dict[str, Any]]:
    """Every audit (id, time, verdict, failed checks, source), newest first; unreadable ones skipped."""
    root = Path(project.audits_dir)
    out = []
    for path in root.glob("*/audit.json") if root.exists() else []:
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError, OSError):
            continue
        out.append({"audit_id": d.get("audit_id") or path.parent.name, "time": d.get("time"),
                    "verdict": d.get("verdict"), "source": d.get("source"), "frames": d.get("frames"),
                    "failed": [c["name"] for c in d.get("checks", []) if c.get("passed") is False],
                    "report": str(path.parent / "report.html")})
    base = load_baseline(project)
    for h in out:
        h["baseline"] = bool(base and base.get("audit_id") == h["audit_id"])
    return sorted(out, key=lambda h: (h["time"] or "", h["audit_id"]), reverse=True)


def load_baseline(project: Any) -> dict[str, Any] | None:
    path = Path(project.audits_dir) / BASELINE_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ProjectError("is not a readable lighting baseline", file=path, hint=REBASE) from None
    # never "no baseline" in silence: the station's lighting watch would be off
    if not isinstance(data, dict) or not isinstance(data.get("summary"), dict):
        raise ProjectError("is not a lighting baseline (no summary of the accepted lighting)", file=path,
                           hint=REBASE)
    data, _ = BASELINE.migrate(data, path)
    return data


def check_files(project_root: str | Path) -> list[Problem]:
    """``audits/baseline.json`` (an error when unusable) and each ``audit.json`` (a warning: history only)."""
    root = Path(project_root) / "audits"
    out: list[Problem] = []
    if (root / BASELINE_FILE).exists():
        try:
            load_baseline(type("P", (), {"audits_dir": root})())
        except ProjectError as e:
            out.append(Problem(str(root / BASELINE_FILE), e.field or "(file)", e.message, e.hint or REBASE))
    for path in sorted(root.glob("*/audit.json")) if root.is_dir() else []:
        why = None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            why = AUDIT.problem(data) if isinstance(data, dict) else "is not a JSON object"
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            why = f"is not valid JSON ({e})"
        if why:
            out.append(Problem(str(path), "(file)", f"{why}; the audit is left out of the history",
                               "delete that audit's folder, or restore it from a backup", "warning"))
    return out


def baseline_summary(project: Any) -> dict[str, Any] | None:
    """The baseline's numbers with its audit id, as ``audit_frames(baseline=...)`` takes them."""
    base = load_baseline(project)
    return None if base is None else {**base["summary"], "audit_id": base.get("audit_id")}


def save_baseline(project: Any, audit_id: str | None = None) -> dict[str, Any]:
    """Make audit ``audit_id`` (default: the newest) the baseline; it must have passed."""
    if audit_id is None:
        past = history(project)
        if not past:
            raise StudioError("there is no lighting audit to save as the baseline",
                              hint="run 'studio lighting audit PROJECT' first")
        audit_id = past[0]["audit_id"]
    result = load_audit(project, audit_id)
    if result.get("verdict") != "pass":
        failed = ", ".join(c["name"] for c in result.get("checks", []) if c.get("passed") is False)
        raise StudioError(f"audit {audit_id} failed ({failed}); only a passing audit can be the baseline",
                          hint="fix the lighting as the audit advises, audit again, then save the baseline")
    base = {FIELD: SCHEMA_VERSION, "audit_id": audit_id, "time": result.get("time"), "source": result.get("source"),
            "roi": result.get("roi"), "summary": result.get("summary", {})}
    atomic_write_json(Path(project.audits_dir) / BASELINE_FILE, base)
    return base
