"""Project templates: starting settings and criteria for ``studio project new --template``.

A template is a folder ``resources/templates/<name>/`` with ``project.yaml``
(settings merged over the defaults: a mapping key by key, anything else
replaced) and ``criteria.yaml`` (the defect classes). ``names()`` lists them.
"""
from __future__ import annotations

import copy
from typing import Any

import yaml

from studio.core.errors import ProjectError, StudioError
from studio.core.resources import resource, resources_dir
from studio.criteria.document import CriteriaDocument, DefectClass


def names() -> list[str]:
    base = resources_dir() / "templates"
    return sorted(p.name for p in base.iterdir() if (p / "project.yaml").is_file()) if base.is_dir() else []


def _read(name: str, file: str) -> Any:
    path = resource("templates", name, file)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ProjectError(f"the template's {file} cannot be read ({e})", file=path,
                           hint="reinstall the studio, or fix the template file") from None


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) and v else copy.deepcopy(v)
    return out


def template_classes(name: str) -> list[DefectClass]:
    data = _read(name, "criteria.yaml")
    try:
        return [DefectClass(**c) for c in data.get("classes", [])]
    except TypeError as e:
        raise ProjectError(f"the template's criteria.yaml has a class the studio cannot read ({e})",
                           file=resource("templates", name, "criteria.yaml")) from None


def apply_template(name: str, settings: dict[str, Any],
                   criteria: CriteriaDocument) -> tuple[dict[str, Any], CriteriaDocument]:
    try:
        known = names()
    except StudioError:
        known = []
    if name not in known:
        raise ProjectError(f"unknown template '{name}'",
                           hint="templates: " + (", ".join(known) or "none installed (reinstall the studio)"))
    settings = _merge(settings, _read(name, "project.yaml"))
    criteria.classes = template_classes(name)
    return settings, criteria
