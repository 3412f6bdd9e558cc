"""From a frame to a verdict: the one place where a part passes or not.

Fail-safe: whatever goes wrong (the model raises, returns no score or a NaN)
the part is a *fault*, which the PLC treats as a reject. A part passes only
when the model ran, gave a finite score below its threshold and did not call
the part defective itself. With a review band in the model card (``review_band
{low, high}``, low = the threshold), a part that would be rejected but scores
below ``high`` is sent to *review* (verdict code 4): never a pass.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

from studio.plc.register_map import VERDICT_FAULT, VERDICT_PASS, VERDICT_REJECT, VERDICT_REVIEW


class Decision(NamedTuple):
    verdict: str
    verdict_code: int
    score: float
    defect_class: str | None
    class_id: int
    error: str | None
    anomaly_map: Any = None     # the model's map (anomaly, segmentation), for monitoring; never decides


def fault(error: str, score: float = math.nan) -> Decision:
    return Decision("fault", VERDICT_FAULT, score, None, 0, error)


def decide(model: Any, image: Any) -> Decision:
    try:
        prediction = model.predict(image)
    except Exception as e:
        return fault(f"the model failed on this part: {type(e).__name__}: {e}")
    try:
        score = float(prediction.score)
        threshold = getattr(model, "threshold", None)
        # the station applies the card's threshold itself, and also trusts the
        # model's own "defective": either one rejects the part
        defective = bool(prediction.defective) or (threshold is not None and score >= float(threshold))
        class_id = int(prediction.class_id or 0) if defective else 0
        defect_class = (prediction.defect_class or None) if defective else None
    except Exception as e:
        return fault(f"the model's answer is unusable: {type(e).__name__}: {e}")
    amap = getattr(prediction, "anomaly_map", None)
    if not math.isfinite(score):
        return fault(f"the model gave no usable score ({score})", score)
    if defective:
        card = getattr(model, "card", None)
        band = card.get("review_band") if isinstance(card, dict) else None
        try:
            if band and score < float(band["high"]):
                return Decision("review", VERDICT_REVIEW, score, defect_class, class_id, None, amap)
        except (KeyError, TypeError, ValueError):
            pass                          # an unreadable band never lets a part pass: it is rejected
        return Decision("reject", VERDICT_REJECT, score, defect_class, class_id, None, amap)
    return Decision("pass", VERDICT_PASS, score, None, 0, None, amap)
