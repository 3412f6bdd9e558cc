"""One inspected part, from trigger to PLC write."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from studio.plc.register_map import VERDICT_FAULT


@dataclass
class PartResult:
    part: int                       # station part number, counts on across runs of one data directory
    frame_id: int
    part_id: str = ""               # the PLC's id of the part (PLC trigger); empty when none was given
    # an undecided part is a fault: nothing can leave the pipeline as a pass by default
    verdict: str = "fault"          # 'pass' | 'reject' | 'fault' | 'review'
    verdict_code: int = VERDICT_FAULT   # as sent to the PLC: 1 pass, 2 reject, 3 fault
    score: float = math.nan         # NaN when the model gave none
    defect_class: str | None = None
    class_id: int = 0               # 0: no defect class
    model_id: str | None = None
    image: np.ndarray | None = field(default=None, repr=False)   # the frame; saved as a file, not in the log
    image_path: str | None = None   # relative to the data directory, once the log has it
    t_trigger: float = 0.0          # seconds since the epoch
    t_captured: float = 0.0
    t_decided: float = 0.0
    t_actuated: float = 0.0
    latency_ms: float = 0.0         # trigger to PLC write
    error: str | None = None        # why the part is a fault, in words
    watching: int = 0               # 1: shadow mode, the verdict was logged but not given to the PLC
    t_mono: float = field(default=0.0, repr=False)    # monotonic clock at the trigger: durations only, not logged
    anomaly_map: Any = field(default=None, repr=False)   # the model's map, for the monitor (not logged)

    @property
    def rejected(self) -> bool:
        """Counted as a reject (``studio.results.rates``): a reject or a fault; a review part is not."""
        from studio.results import rates

        return rates.bucket(self.verdict) in rates.REJECTED

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, without the image."""
        out = {k: v for k, v in self.__dict__.items() if k not in ("image", "t_mono", "anomaly_map")}
        out["score"] = None if not math.isfinite(self.score) else float(self.score)
        return out
