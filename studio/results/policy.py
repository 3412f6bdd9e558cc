"""What station.yaml says about the result log: durability, failure policy, image retention.

    durability: normal          # or power-loss: every row fsynced before the PLC sees its verdict
    on_log_failure: continue    # or stop: halt the line when a row cannot be committed
    retention:
      pass_images: 0.1          # share of pass images kept (1.0: all); rejects, faults, reviews always
      quota_gb: 50              # the data directory's size limit; the oldest pass images go first
      warn_free_gb: 2           # a 'log' alert when the disk has less free space than this

One place reads these keys; a wrong value is a StudioError naming the key.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from studio.core.errors import StudioError

DURABILITY = {"normal": "NORMAL", "power-loss": "FULL"}     # -> PRAGMA synchronous
ON_FAILURE = ("continue", "stop")
RETENTION_KEYS = ("pass_images", "quota_gb", "warn_free_gb")
STATION_KEYS = ("durability", "on_log_failure", "retention")    # the keys of station.yaml read here
_HASH = 2654435761      # Knuth's multiplicative hash: spreads consecutive part numbers evenly


@dataclass(frozen=True)
class LogPolicy:
    durability: str = "normal"
    on_failure: str = "continue"
    pass_images: float = 1.0
    quota_gb: float | None = None
    warn_free_gb: float = 2.0

    @property
    def synchronous(self) -> str:
        return DURABILITY[self.durability]

    @property
    def quota_bytes(self) -> int | None:
        return None if self.quota_gb is None else int(self.quota_gb * 1e9)

    def keeps_image(self, verdict: str, part: int) -> bool:
        """Every non-pass image is kept; a pass image for a deterministic share of part numbers."""
        if verdict != "pass" or self.pass_images >= 1.0:
            return True
        if self.pass_images <= 0.0:
            return False
        return ((int(part) * _HASH) % 2**32) / 2**32 < self.pass_images

    @classmethod
    def from_settings(cls, settings: dict[str, Any] | None, file: Any = None) -> LogPolicy:
        settings = settings or {}
        hint = "see the README's station.yaml keys"
        durability = str(settings.get("durability", "normal"))
        if durability not in DURABILITY:
            raise StudioError(f"durability must be one of {', '.join(DURABILITY)}, not '{durability}'",
                              file=file, field="durability", hint=hint)
        on_failure = str(settings.get("on_log_failure", "continue"))
        if on_failure not in ON_FAILURE:
            raise StudioError(f"on_log_failure must be one of {', '.join(ON_FAILURE)}, not '{on_failure}'",
                              file=file, field="on_log_failure", hint=hint)
        retention = settings.get("retention") or {}
        if not isinstance(retention, dict):
            raise StudioError("retention must be a mapping of " + ", ".join(RETENTION_KEYS),
                              file=file, field="retention", hint=hint)
        unknown = sorted(set(retention) - set(RETENTION_KEYS))
        if unknown:
            raise StudioError(f"unknown retention key(s): {', '.join(map(str, unknown))}", file=file,
                              field="retention", hint="use " + ", ".join(RETENTION_KEYS))

        def number(key: str, default: float | None, low: float, high: float = math.inf) -> float | None:
            value = retention.get(key, default)
            if value is None:
                return None
            try:
                x = float(value)
            except (TypeError, ValueError):
                x = math.nan
            if not (low <= x <= high):
                raise StudioError(f"retention.{key} must be a number from {low:g} to {high:g}, not {value!r}",
                                  file=file, field=f"retention.{key}", hint=hint)
            return x

        quota = number("quota_gb", None, 0.0)
        return cls(durability=durability, on_failure=on_failure,
                   pass_images=number("pass_images", 1.0, 0.0, 1.0),
                   quota_gb=None if quota is None or quota == 0 else quota,
                   warn_free_gb=number("warn_free_gb", 2.0, 0.0) or 0.0)
