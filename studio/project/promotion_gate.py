"""``promotion_gate.yaml``: what a candidate must show in shadow before it may decide on the line.

Written down before the trial (the point of a gate), in the project folder::

    schema_version: 1
    min_parts: 5000               # parts compared (model vs incumbent, or shadow vs live)
    min_agreement: 0.98           # share of parts on which both said the same
    min_kappa: 0.8                # optional: Cohen's kappa
    max_false_reject_rate: 0.02   # adjudicated (a disagreement not decided counts as a false reject)
    no_critical_escape: true      # no adjudicated miss of a class the criteria document marks critical
    all_adjudicated: true         # every disagreement decided by the reference labeler
    against: incumbent            # what the candidate is compared with: incumbent | live | auto

Only ``min_parts`` is required; every other check is off when left out
(``no_critical_escape`` and ``all_adjudicated`` default to true).
``check_file`` is the project check (``project.FILE_CHECKS``);
``studio.monitoring.gate.evaluate`` judges a comparison against it.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from studio.core.folders import project_folder
from studio.core.errors import ProjectError
from studio.core.problems import Problem

FILE = "promotion_gate.yaml"
SCHEMA_VERSION = 1
SHARES = ("min_agreement", "min_kappa", "max_false_reject_rate")
FLAGS = ("no_critical_escape", "all_adjudicated")
KEYS = ("schema_version", "min_parts", *SHARES, *FLAGS, "against", "note")
DEFAULTS = {"no_critical_escape": True, "all_adjudicated": True, "against": "auto"}


def problems_of(data: Any, where: str) -> list[Problem]:
    hint = "see the example at the top of studio/project/promotion_gate.py (docs/ARCHITECTURE.md)"
    if not isinstance(data, dict):
        return [Problem(where, "(file)", "is not a mapping of gate figures", hint)]
    out = []
    for k in data:
        if k not in KEYS:
            out.append(Problem(where, str(k), "is not a gate figure", f"use one of: {', '.join(KEYS)}"))
    mp = data.get("min_parts")
    if not (isinstance(mp, int) and not isinstance(mp, bool) and mp > 0):
        out.append(Problem(where, "min_parts", f"is {mp!r}, not a whole number above 0",
                           "write e.g. min_parts: 5000 (parts compared in shadow)"))
    for k in SHARES:
        v = data.get(k)
        if v is None:
            continue
        lo = -1.0 if k == "min_kappa" else 0.0
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= 1.0:
            out.append(Problem(where, k, f"is {v!r}, not a share {lo:g}..1", f"write e.g. {k}: 0.98 (98 %)"))
    for k in FLAGS:
        if k in data and not isinstance(data[k], bool):
            out.append(Problem(where, k, f"is {data[k]!r}, not yes/no", f"write {k}: true"))
    if data.get("against", "auto") not in ("auto", "incumbent", "live"):
        out.append(Problem(where, "against", f"is {data.get('against')!r}", "use incumbent, live or auto"))
    return out


def load(project: Any) -> dict[str, Any] | None:
    """The gate, with defaults; None when the project has none. ProjectError when it is invalid."""
    import yaml

    path = project_folder(project) / FILE
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise ProjectError(f"the promotion gate cannot be read: {e}", file=path) from None
    problems = problems_of(data, str(path))
    if problems:
        p = problems[0]
        raise ProjectError(f"the promotion gate's {p.field} {p.message}", file=path, field=p.field, hint=p.hint)
    return {**DEFAULTS, **data}


def check_file(root: Path) -> list[Problem]:
    import yaml

    path = Path(root) / FILE
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        return [Problem(str(path), "(syntax)", str(e).splitlines()[0], "fix the YAML")]
    return problems_of(data, str(path))
