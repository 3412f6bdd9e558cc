"""The promotion gate judged against the shadow comparison (``promotion_gate.yaml``, ``monitoring.shadow``).

``evaluate(project, data_dir, model_id)`` -> ``{defined, passed, model_id, checks: [{name, required,
actual, ok}]}``: the report's ``gate`` key, what ``studio station promote`` checks, what the Station page
shows. A check whose figure is not known yet (no parts compared) fails: a gate is passed on evidence.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlite3

from studio.core.errors import StudioError
from studio.project import promotion_gate


def _check(name: str, required: Any, actual: Any, ok: bool) -> dict[str, Any]:
    return {"name": name, "required": required, "actual": actual, "ok": bool(ok)}


def judge(gate: dict[str, Any], comparison: dict[str, Any] | None) -> list[dict[str, Any]]:
    c = comparison or {}
    adj = c.get("adjudicated") or {}
    n = c.get("n") or 0
    checks = [_check("min_parts", gate["min_parts"], n, n >= gate["min_parts"])]
    if gate.get("min_agreement") is not None:
        a = c.get("agreement")
        checks.append(_check("min_agreement", gate["min_agreement"], a, a is not None and a >= gate["min_agreement"]))
    if gate.get("min_kappa") is not None:
        k = c.get("kappa")
        checks.append(_check("min_kappa", gate["min_kappa"], k, k is not None and k >= gate["min_kappa"]))
    if gate.get("max_false_reject_rate") is not None:
        f = adj.get("false_reject_rate")
        checks.append(_check("max_false_reject_rate", gate["max_false_reject_rate"], f,
                             f is not None and f <= gate["max_false_reject_rate"]))
    if gate.get("no_critical_escape"):
        e = adj.get("critical_escape_count")
        checks.append(_check("no_critical_escape", 0, e, comparison is not None and (e or 0) == 0))
    if gate.get("all_adjudicated"):
        p = adj.get("pending")
        checks.append(_check("all_adjudicated", 0, p, comparison is not None and (p or 0) == 0))
    return checks


def evaluate(project: Any, data_dir: str | Path | None, model_id: str | None = None,
             comparison: dict[str, Any] | None = None) -> dict[str, Any]:
    """The gate's state; ``{defined: False, ...}`` when the project has no gate file."""
    from studio.monitoring.shadow import compare

    gate = promotion_gate.load(project) if project is not None else None
    if gate is None:
        return {"defined": False, "passed": False, "model_id": model_id, "checks": []}
    if comparison is None and data_dir is not None:
        try:
            comparison = compare(data_dir, model_id=model_id, against=gate.get("against", "auto"), project=project)
        except (sqlite3.Error, OSError, StudioError):       # no log yet: nothing compared
            comparison = None
    checks = judge(gate, comparison)
    return {"defined": True, "passed": all(c["ok"] for c in checks),
            "model_id": (comparison or {}).get("model_id", model_id),
            "against": (comparison or {}).get("against", gate.get("against")), "checks": checks}


def in_words(result: dict[str, Any]) -> str:
    """One line per failing check, for the refusal."""
    def fmt(v: Any) -> str:
        return "n/a" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))

    lines = []
    for c in result["checks"]:
        if not c["ok"]:
            lines.append(f"{c['name']}: needs {fmt(c['required'])}, has {fmt(c['actual'])}")
    return "; ".join(lines)
