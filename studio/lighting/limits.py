"""The audit's limits: sensible defaults, editable per project in ``audits/limits.yaml``.

The file holds only what a person changed, e.g.::

    exposure:
      mean_min: 40          # a dark part on a dark belt
    noise:
      sigma_max: 4.0

Anything not given keeps its default; ``studio lighting limits PROJECT``
prints the full set in force.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from studio.core.atomic import atomic_write_yaml
from studio.core.errors import ProjectError
from studio.core.migrations import FIELD, Migrator
from studio.core.problems import Problem

FILE_NAME = "limits.yaml"
# 0: before schema_version; 1: schema_version added (same checks and limits)
SCHEMA_VERSION = 1
MIGRATOR = Migrator(f"audits/{FILE_NAME}", SCHEMA_VERSION)
MIGRATOR.step(0)(lambda d: d)

DEFAULTS: dict[str, dict[str, float]] = {
    # gray levels (8-bit) and shares of the region of interest
    "exposure": {"mean_min": 60, "mean_max": 200, "clipped_dark_max": 0.02, "clipped_bright_max": 0.005,
                 "clip_low": 2, "clip_high": 253},
    # darkest point of the fitted illumination field, relative to its brightest (1 = even)
    "uniformity": {"min": 0.75},
    # without a baseline: the noise-proof edge-detail score 0..1 (measures.detail_score) at least
    # score_min (set from real images: every Gaussian defocus of 5 px fails, sharp scenes pass;
    # benchmarks/focus_detection.py); with a baseline, the re-blur score at least this share of the baseline's
    "focus": {"score_min": 0.45, "baseline_ratio_min": 0.85},
    # temporal noise sigma in gray levels
    "noise": {"sigma_max": 3.0},
    # % of the mean level
    "stability": {"flicker_pct_max": 2.0, "drift_pct_max": 3.0},
    # % of the region covered by specular hot spots; a saturated blob larger than
    # max_blob_share of the region is over-exposure, not glare, and so is all the clipped area
    # when it covers more than total_share_max of the region, is spread over more than
    # spread_max of its 8x6 cells, or the rest of the scene reaches scene_top_max of full scale
    # (set on real images brightened 1.3x..3x: tests/test_lighting_overexposure.py)
    "glare": {"area_pct_max": 0.2, "max_blob_share": 0.10, "total_share_max": 0.10, "spread_max": 0.2,
              "scene_top_max": 0.9},
    # contrast-to-noise of labelled defects against their surroundings
    "defect_contrast": {"cnr_min": 1.0},
    # the station's run-time watch: every Nth frame, median over a window of measurements
    "drift": {"every_n": 5, "window": 8, "level_band_pct": 15.0, "sharpness_ratio_min": 0.8,
              "clipped_bright_max": 0.02},
}


def defaults() -> dict[str, dict[str, float]]:
    return copy.deepcopy(DEFAULTS)


def merge(overrides: dict[str, Any] | None, source: str = FILE_NAME) -> dict[str, dict[str, float]]:
    """Defaults with ``overrides`` applied; ProjectError naming the field for anything unknown or not a number."""
    out = defaults()
    if overrides is None:
        return out
    if not isinstance(overrides, dict):
        raise ProjectError("is not a mapping of check -> limits", file=source,
                           hint="write e.g. 'exposure: {mean_min: 40}', or delete the file for the defaults")
    overrides, _ = MIGRATOR.migrate(overrides, source)
    for check, values in overrides.items():
        if check == FIELD:
            continue
        if check not in out:
            raise ProjectError(f"names an unknown check '{check}'", file=source, field=str(check),
                               hint="checks: " + ", ".join(out))
        if not isinstance(values, dict):
            raise ProjectError(f"'{check}' is not a mapping of limits", file=source, field=str(check),
                               hint=f"write e.g. '{check}: {{{next(iter(out[check]))}: ...}}'")
        for key, value in values.items():
            if key not in out[check]:
                raise ProjectError(f"unknown limit '{key}' for {check}", file=source, field=f"{check}.{key}",
                                   hint=f"{check} limits: " + ", ".join(out[check]))
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ProjectError(f"{check}.{key} is {value!r}, not a number of 0 or more", file=source,
                                   field=f"{check}.{key}", hint=f"the default is {DEFAULTS[check][key]}")
            out[check][key] = float(value)
    return out


def limits_path(project: Any) -> Path:
    return Path(project.audits_dir) / FILE_NAME


def load(project: Any) -> dict[str, dict[str, float]]:
    path = limits_path(project)
    if not path.exists():
        return defaults()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ProjectError(f"is not valid YAML ({e})", file=path,
                           hint="fix the syntax, or delete the file to use the default limits") from None
    return merge(data, str(path))


def check_file(project_root: str | Path) -> list[Problem]:
    """Every problem with ``audits/limits.yaml`` (none when absent: the defaults hold)."""
    path = Path(project_root) / "audits" / FILE_NAME
    if not path.exists():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        return [Problem(str(path), "(syntax)", f"is not valid YAML ({e})",
                        "fix the syntax, or delete the file to use the default limits")]
    try:
        merge(data, str(path))
    except ProjectError as e:
        return [Problem(str(path), e.field or "(file)", e.message, e.hint or "delete the file for the defaults")]
    return []


def save_overrides(project: Any, overrides: dict[str, dict[str, float]]) -> None:
    """Write only the limits that differ from the defaults (validated first)."""
    full = merge(overrides, str(limits_path(project)))
    changed = {c: {k: v for k, v in vals.items() if v != DEFAULTS[c][k]} for c, vals in full.items()}
    path = limits_path(project)
    if path.exists():
        try:
            MIGRATOR.backup(path, MIGRATOR.version_of(yaml.safe_load(path.read_text(encoding="utf-8"))))
        except (OSError, yaml.YAMLError, UnicodeDecodeError):
            pass
    atomic_write_yaml(path, {FIELD: SCHEMA_VERSION, **{c: v for c, v in changed.items() if v}})


def set_limit(project: Any, check: str, key: str, value: float) -> dict[str, dict[str, float]]:
    """Change one limit in the project's file; returns the full set in force."""
    path = limits_path(project)
    current: dict[str, Any] = {}
    if path.exists():
        current = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    current.pop(FIELD, None)
    current.setdefault(check, {})
    if not isinstance(current[check], dict):
        current[check] = {}
    current[check][key] = value
    save_overrides(project, current)
    return load(project)
