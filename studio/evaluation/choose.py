"""From an evaluation to a chosen operating point, saved in the model card.

The CLI's ``studio threshold`` and the GUI's picker both go through
``pick`` (which way: a value, the cost model, a recall target, a
false-reject target) and ``save`` (which writes the card with a record of
how the point was chosen and what the test split said about it then).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from studio.core.errors import StudioError
from studio.evaluation import picker
from studio.evaluation.operating import point_at


HOW_WORDS = {"trained": "at training", "value": "by hand", "cost": "by the cost model",
             "recall_target": "by a recall target", "false_reject_target": "by a false-reject target",
             "review_band_targets": "by a recall and a false-reject target, with a review band"}

SAME_SPLIT_NOTE = ("The threshold is chosen on the same test split its figures are measured on, so they are a "
                   "little optimistic: confirm them on new parts (a shadow run at the station).")


def how_in_words(point: dict[str, Any] | None) -> str:
    """'by the cost model (escape 500, scrap 5, 2.0 % defective)' and the like."""
    point = point or {}
    how = point.get("how", "trained")
    words = HOW_WORDS.get(how, "by hand")
    if how == "cost" and "escape_cost" in point:
        review = f", review {point['review_cost']:g}" if point.get("review_cost") is not None else ""
        words += (f" (escape {point['escape_cost']:g}, scrap {point['false_reject_cost']:g}{review}, "
                  f"{100 * point['defect_rate']:.1f} % defective)")
    elif how == "recall_target" and "recall_target" in point:
        words += f" ({100 * point['recall_target']:.1f} %)"
    elif how == "false_reject_target" and "false_reject_target" in point:
        words += f" ({100 * point['false_reject_target']:.1f} %)"
    return words


def scores_of(result: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """Labels, scores and defect classes of an evaluation's test images."""
    rows = result.get("scores") or []
    y = np.array([bool(r["defective"]) for r in rows], bool)
    s = np.array([float(r["score"]) for r in rows], float)
    return y, s, [r.get("defect_class") for r in rows]


def way(*, value: float | None = None, escape_cost: float | None = None, false_reject_cost: float | None = None,
        defect_rate: float | None = None, recall_target: float | None = None, only: Sequence[str] | None = None,
        false_reject_target: float | None = None) -> str:
    """Which way of choosing the arguments name: exactly one must be given (checked before any scoring)."""
    cost = (escape_cost, false_reject_cost, defect_rate)
    ways = {"value": value is not None, "cost": any(v is not None for v in cost),
            "recall_target": recall_target is not None, "false_reject_target": false_reject_target is not None}
    if sum(ways.values()) != 1:
        raise StudioError("choose the threshold one way: a value, the cost model (escape cost, false-reject "
                          "cost and defect rate), a recall target, or a false-reject target",
                          hint="e.g. --escape-cost 500 --false-reject-cost 2 --defect-rate 0.01, "
                               "or --recall-target 0.995, or --value 0.5")
    if ways["cost"] and any(v is None for v in cost):
        raise StudioError("the cost model needs all three: --escape-cost, --false-reject-cost and --defect-rate",
                          hint="e.g. --escape-cost 500 --false-reject-cost 2 --defect-rate 0.01")
    return next(k for k, v in ways.items() if v)


def pick(result: dict[str, Any], *, value: float | None = None, escape_cost: float | None = None,
         false_reject_cost: float | None = None, defect_rate: float | None = None,
         recall_target: float | None = None, only: Sequence[str] | None = None,
         false_reject_target: float | None = None, review_cost: float | None = None) -> dict[str, Any]:
    """The chosen operating point: exactly one way of choosing must be given.

    With the cost model, a ``review_cost`` (per manual review) lets it choose a review band too
    (``review_up_to`` in the result, None when no band pays off)."""
    how = way(value=value, escape_cost=escape_cost, false_reject_cost=false_reject_cost, defect_rate=defect_rate,
              recall_target=recall_target, only=only, false_reject_target=false_reject_target)
    if value is not None:
        return {"how": "value", "threshold": float(value)}
    y, s, classes = scores_of(result)
    if review_cost is not None and how != "cost":
        raise StudioError("a review cost goes with the cost model",
                          hint="add --escape-cost, --false-reject-cost and --defect-rate")
    if how == "cost" and review_cost is not None:
        from studio.evaluation.band import cheapest_band

        return cheapest_band(y, s, float(escape_cost), float(false_reject_cost), float(defect_rate),
                             float(review_cost))
    if how == "cost":
        return picker.cheapest(y, s, float(escape_cost), float(false_reject_cost), float(defect_rate))
    if recall_target is not None:
        return picker.for_recall_target(y, s, float(recall_target), classes=classes, only=only or None)
    return picker.for_false_reject_target(y, s, float(false_reject_target))


def summary(result: dict[str, Any], threshold: float, band: tuple[float, float] | None = None) -> dict[str, Any]:
    """The figures at ``threshold`` on the evaluation's test split, as the card keeps them."""
    y, s, classes = scores_of(result)
    p = point_at(y, s, threshold, classes=classes, band=band)
    keep = ("n", "n_defective", "precision", "recall", "false_reject_rate", "accuracy", "confusion",
            "recall_known", "accuracy_trap", "warnings")
    out = {k: p[k] for k in keep}
    out["intervals"] = {k: (None if v is None else {"wilson": v["wilson"], "clopper_pearson": v["clopper_pearson"]})
                        for k, v in p["intervals"].items()}
    out["per_class_recall"] = [{k: r[k] for k in ("class", "n", "caught", "recall")} | {"wilson": r["interval"]["wilson"]}
                               for r in p["per_class"]]
    if "review" in p:
        out["review_band"] = {k: v for k, v in p["review"].items() if k != "review_share"}
        out["review_band"]["review_share"] = p["review"]["review_share"]["value"] if p["review"]["review_share"] else None
    split = result.get("test_split") or {}
    out["test_split"] = split.get("digest")
    return out


def save(project, model_id: str, result: dict[str, Any], chosen: dict[str, Any], *,
         review_up_to: float | None = None, actor: str | None = None, reason: str | None = None) -> dict[str, Any]:
    """Write the chosen point (and review band) into the card, with the figures it has on the test split."""
    from studio.project.model_card import set_threshold

    t = float(chosen["threshold"])
    band = (t, float(review_up_to)) if review_up_to is not None and float(review_up_to) > t else None
    record = {**chosen}
    if result.get("scores"):
        record["at_choice"] = summary(result, t, band)
    return set_threshold(project, model_id, t, review_up_to=review_up_to, chosen=record, actor=actor, reason=reason)
