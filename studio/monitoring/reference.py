"""The model's reference for production monitoring, kept in its card (``card["monitoring"]``).

Written at evaluation (``studio.evaluation.evaluate``) from the test split:

- ``good_scores`` / ``defective_scores``: the sorted scores of the good and the
  defective test images (at most ``MAX_SCORES`` each; above that, that many
  quantiles), so the expected reject rate can be had at any threshold the
  card is later given, and the live score distribution compared with the good one;
- ``map_mean`` / ``map_std``: for anomaly (and segmentation) models, the
  16×16 mean and spread of the good images' anomaly maps (``coarse_map``);
  ``class_patterns``: the mean anomaly pattern (``pattern``: the shape of
  the hottest region, wherever it is) per known defect class
  (``studio.monitoring.novelty`` matches rejects against them);
- ``n_good``, ``n_defective``, ``evaluated`` (time), ``test_split`` (digest).

A card without it (older models) still runs: the station says "no
reference" for the drift, and the expected reject rate comes from
station.yaml or from the first parts (``expected_rate``).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from studio.evaluation.monitoring_reference import KEY, MAP_SIZE, build, coarse_map  # noqa: F401

BASELINE_PARTS = 200        # without an expected rate: the first parts' rate is the baseline


def reference_of(card: dict[str, Any] | None) -> dict[str, Any] | None:
    """The card's monitoring reference, or None (a card written before it existed)."""
    ref = (card or {}).get(KEY)
    return ref if isinstance(ref, dict) and ref.get("good_scores") else None


def share_at_or_above(sorted_scores: Sequence[float], t: float) -> float | None:
    s = np.asarray(sorted_scores, np.float64)
    return None if s.size == 0 else float((s >= t).mean())


def reject_cut(card: dict[str, Any]) -> float:
    """The score from which a part is rejected (the review band's upper end when there is one)."""
    band = card.get("review_band") or None
    return float(band["high"]) if band else float(card["threshold"])


def expected_rate(card: dict[str, Any] | None, mon: dict[str, Any] | None) -> dict[str, Any]:
    """The expected reject rate the limits are drawn around, and where it comes from, in words.

    In order: ``monitoring.expected_reject_rate`` in station.yaml; the card's
    false-reject rate and recall at its reject threshold, mixed at the line's
    defect rate (``monitoring.expected_defect_rate`` in station.yaml, else the
    defect rate the operating point was chosen for by the cost model);
    else ``{"rate": None, "source": "baseline"}``: the first
    ``baseline_parts`` parts' own rate (``BASELINE_PARTS``).
    """
    mon = mon or {}     # ``studio.monitoring.settings.monitoring_settings``
    baseline = int(mon.get("baseline_parts") or BASELINE_PARTS)
    if isinstance(mon.get("expected_reject_rate"), (int, float)):
        return {"rate": float(mon["expected_reject_rate"]), "source": "station.yaml monitoring.expected_reject_rate",
                "baseline_parts": baseline}
    card = card or {}
    ref = reference_of(card)
    point = card.get("operating_point") or {}
    given = mon.get("expected_defect_rate")
    defect_rate = given if given is not None else point.get("defect_rate")
    where = "station.yaml monitoring.expected_defect_rate" if given is not None else "the cost model's defect rate"
    if ref is not None and isinstance(defect_rate, (int, float)) and "threshold" in card:
        cut = reject_cut(card)
        frr = share_at_or_above(ref["good_scores"], cut)
        recall = share_at_or_above(ref["defective_scores"], cut)
        if frr is not None and (recall is not None or defect_rate == 0):
            pi = float(defect_rate)
            rate = (1 - pi) * frr + pi * (recall if recall is not None else 1.0)
            return {"rate": rate, "baseline_parts": baseline, "false_reject_rate": frr, "recall": recall,
                    "defect_rate": pi, "threshold": cut,
                    "source": f"model card at threshold {cut:g}: false-reject rate {100 * frr:.1f} % and recall "
                              + (f"{100 * recall:.1f} %" if recall is not None else "n/a")
                              + f" on the test split, at {100 * pi:.1f} % defective ({where})"}
    why = "the model card has no monitoring reference (evaluate the model)" if ref is None else \
        "no defect rate for the line (monitoring.expected_defect_rate in station.yaml)"
    return {"rate": None, "source": "baseline", "baseline_parts": baseline,
            "why": f"{why}: the first {baseline} parts' rate is the expected rate"}


def good_below(ref: dict[str, Any], cut: float) -> np.ndarray:
    """The reference good scores below the reject threshold (what passed parts are compared with)."""
    s = np.asarray(ref["good_scores"], np.float64)
    return s[s < cut]
