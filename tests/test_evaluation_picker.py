"""Threshold picking against hand-computed values on a small synthetic score set.

Eight parts, three defective:   score  .1 .2 .3 .4 .5 .6 .7 .9
                                defect  -  -  -  -  D  -  D  D
Distinct scores descending give 9 cuts; cut k rejects the k highest scores:
  cut      0    1    2    3    4    5    6    7    8
  thresh  .957 .80  .65  .55  .45  .35  .25  .15  .043   (halfway; outer cuts half a mean gap 0.8/7 out)
  tp       0    1    2    2    3    3    3    3    3
  fp       0    0    0    1    1    2    3    4    5
"""
import numpy as np
import pytest

from studio.core.errors import StudioError
from studio.evaluation.operating import point_at, review_band
from studio.evaluation.picker import (cheapest, cost_curve, cut_thresholds, for_false_reject_target,
                                      for_recall_target, review_band_for)

Y = [0, 0, 0, 0, 1, 0, 1, 1]
S = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.9]
CLASSES = [None, None, None, None, "dent", None, "scratch", "scratch"]
GAP = 0.8 / 7


def test_cut_thresholds_lie_between_scores():
    t = cut_thresholds(S)
    assert t == pytest.approx([0.9 + GAP / 2, 0.8, 0.65, 0.55, 0.45, 0.35, 0.25, 0.15, 0.1 - GAP / 2])


def test_cost_curve_by_hand():
    # escape 100, scrap 10, 10 % defective: cost/1000 = 1000 * (0.1*(1-R)*100 + 0.9*FRR*10) = 1000*(10(1-R) + 9 FRR)
    c = cost_curve(Y, S, 100, 10, 0.10)
    by_hand = [1000 * (10 * (1 - tp / 3) + 9 * fp / 5)
               for tp, fp in [(0, 0), (1, 0), (2, 0), (2, 1), (3, 1), (3, 2), (3, 3), (3, 4), (3, 5)]]
    assert c["cost_per_1000"] == pytest.approx(by_hand)


def test_cheapest_point_matches_the_hand_computed_one():
    # costs: 10000, 6667, 3333, 5133, 1800, 3600, 5400, 7200, 9000 -> cut 4, t = .45
    best = cheapest(Y, S, escape_cost=100, false_reject_cost=10, defect_rate=0.10)
    assert best["threshold"] == pytest.approx(0.45)
    assert best["cost_per_1000"] == pytest.approx(1800.0)
    assert best["recall"] == 1.0 and best["false_reject_rate"] == pytest.approx(0.2)
    assert best["precision"] == pytest.approx(0.75) and best["how"] == "cost"
    # scrapping is dear now (50): 1000*(10(1-R) + 45 FRR): cut 2 (3333) beats cut 4 (9000) and cut 0 (10000)
    dear = cheapest(Y, S, escape_cost=100, false_reject_cost=50, defect_rate=0.10)
    assert dear["threshold"] == pytest.approx(0.65) and dear["cost_per_1000"] == pytest.approx(10000 / 3)
    # escapes cost nothing: reject nothing
    assert cheapest(Y, S, 0, 1, 0.1)["threshold"] == pytest.approx(0.9 + GAP / 2)


def test_recall_target_picks_the_most_precise_threshold_that_meets_it():
    full = for_recall_target(Y, S, 1.0)              # cuts 4..8 catch all; cut 4 is the most precise (3/4)
    assert full["threshold"] == pytest.approx(0.45) and full["precision"] == pytest.approx(0.75)
    part = for_recall_target(Y, S, 0.6)              # cut 2 (R 2/3, P 1) beats cut 3 (R 2/3, P 2/3)
    assert part["threshold"] == pytest.approx(0.65) and part["recall"] == pytest.approx(2 / 3)
    # only scratches (.7 and .9) must be caught: cut 2 already catches both, precision 1
    crit = for_recall_target(Y, S, 0.995, classes=CLASSES, only=["scratch"])
    assert crit["threshold"] == pytest.approx(0.65) and crit["class_recall"] == 1.0
    with pytest.raises(StudioError, match="no defective parts of class"):
        for_recall_target(Y, S, 0.9, classes=CLASSES, only=["stain"])
    with pytest.raises(StudioError, match="recall target"):
        for_recall_target(Y, S, 1.5)


def test_false_reject_target():
    assert for_false_reject_target(Y, S, 0.2)["threshold"] == pytest.approx(0.45)   # FRR 1/5 at cuts 3, 4
    assert for_false_reject_target(Y, S, 0.0)["threshold"] == pytest.approx(0.65)


def test_no_defects_gives_a_threshold_and_says_recall_is_unknown():
    y, s = [0, 0, 0, 0], [0.1, 0.2, 0.3, 0.4]
    pick = for_false_reject_target(y, s, 0.0)           # above every good part: half a gap (0.1) above .4
    assert pick["threshold"] == pytest.approx(0.45) and pick["recall"] is None and pick["recall_known"] is False
    assert for_false_reject_target(y, s, 0.25)["threshold"] == pytest.approx(0.35)   # one of four rejected
    point = point_at(y, s, pick["threshold"])
    assert point["recall"] is None and point["recall_known"] is False
    assert point["intervals"]["recall"] is None
    assert any("Recall is unknown" in w for w in point["warnings"])
    assert point["false_reject_rate"] == 0.0
    with pytest.raises(StudioError, match="recall is unknown"):
        cheapest(y, s, 100, 10, 0.1)
    with pytest.raises(StudioError, match="recall is unknown"):
        for_recall_target(y, s, 0.99)


def test_bad_cost_inputs_are_clear():
    with pytest.raises(StudioError, match="defect rate"):
        cheapest(Y, S, 100, 10, 1.5)
    with pytest.raises(StudioError, match="not both zero"):
        cheapest(Y, S, 0, 0, 0.1)
    with pytest.raises(StudioError, match="no labeled images"):
        cheapest([], [], 1, 1, 0.1)


def test_operating_point_figures_intervals_and_per_class():
    p = point_at(Y, S, 0.55, classes=CLASSES)           # rejects .6 (good), .7, .9; the dent (.5) escapes
    assert p["confusion"] == {"tp": 2, "fp": 1, "tn": 4, "fn": 1}
    assert p["precision"] == pytest.approx(2 / 3) and p["recall"] == pytest.approx(2 / 3)
    assert p["false_reject_rate"] == pytest.approx(1 / 5) and p["accuracy"] == pytest.approx(6 / 8)
    assert p["intervals"]["recall"]["k"] == 2 and p["intervals"]["recall"]["n"] == 3
    assert p["per_class"][0]["class"] == "dent" and p["per_class"][0]["recall"] == 0.0   # worst class first
    assert p["per_class"][1] == {**p["per_class"][1], "class": "scratch", "n": 2, "caught": 2, "recall": 1.0}
    assert not p["accuracy_trap"]


def test_the_accuracy_trap_is_spelled_out():
    # 95 good parts, 5 defects, only 1 caught: accuracy 96 %, recall 20 %
    y = np.r_[np.zeros(95), np.ones(5)]
    s = np.r_[np.linspace(0, 0.4, 95), [0.9, 0.3, 0.3, 0.3, 0.3]]
    p = point_at(y, s, 0.5)
    assert p["accuracy"] == pytest.approx(0.96) and p["recall"] == pytest.approx(0.2)
    assert p["accuracy_trap"]
    trap = next(w for w in p["warnings"] if "Accuracy looks high" in w)
    assert "96.0 %" in trap and "20.0 %" in trap and "95.0 % accurate" in trap


def test_review_band_shares():
    band = review_band(Y, S, 0.45, 0.65)                # review: .5 (D) and .6 (good)
    assert band["passed"] == 4 and band["review"] == 2 and band["rejected"] == 2
    assert band["review_share"]["value"] == pytest.approx(0.25)
    assert band["review_defective"] == 1 and band["review_good"] == 1
    assert band["escapes"] == 0 and band["false_rejects"] == 0
    p = point_at(Y, S, 0.45, band=(0.45, 0.65))
    assert p["review"]["review"] == 2
    with pytest.raises(ValueError):
        review_band(Y, S, 0.7, 0.6)
    # recall 1 needs t <= .45 (highest such cut); no false rejects needs t >= .65
    assert review_band_for(Y, S, 1.0, 0.0) == pytest.approx((0.45, 0.65))


def test_a_critical_class_cannot_hide_behind_the_average():
    p = point_at(Y, S, 0.55, classes=CLASSES, critical=["dent"])     # overall recall 2/3; the dent escapes
    warning = next(w for w in p["warnings"] if "Critical defect class dent" in w)
    assert "1 of 1 pass this threshold" in warning and "0.0 %" in warning
    assert not any("Critical" in w for w in point_at(Y, S, 0.55, classes=CLASSES, critical=["scratch"])["warnings"])


def test_a_recall_target_says_whether_the_test_split_can_show_it():
    from studio.evaluation.intervals import wilson
    from studio.evaluation.picker import defects_needed

    # Wilson lower bound with every defect caught is 1 / (1 + z^2/n): 99.5 % needs n >= z^2 * .995 / .005
    assert defects_needed(0.995) == 765
    assert wilson(765, 765)[0] >= 0.995 > wilson(764, 764)[0]
    y = [1] * 37 + [0] * 20
    s = list(np.linspace(1, 2, 37)) + list(np.linspace(0, 0.9, 20))
    pick = for_recall_target(y, s, 0.995)
    assert pick["recall"] == 1.0 and not pick["target_shown"]
    assert pick["recall_lower_bound"] == pytest.approx(wilson(37, 37)[0])
    assert "at least 90.6 %" in pick["evidence"] and "765 defective test parts" in pick["evidence"]
    # the most precise threshold sits right at the target: 34 of 37 caught shows only 78.7 %
    at_90 = for_recall_target(y, s, 0.90)
    assert at_90["recall"] == pytest.approx(34 / 37) and not at_90["target_shown"]
    assert "34 of 37 defective parts caught" in at_90["evidence"]
    # 40 tied defects: all or none are caught, and 40 of 40 shows at least 91.2 % >= 90 %
    tied = for_recall_target([1] * 40 + [0] * 5, [1.0] * 40 + [0.1] * 5, 0.90)
    assert tied["target_shown"] is True and "shows recall of at least 90.0 %" in tied["evidence"]



def test_an_empty_test_split_says_so():
    p = point_at([], [], 0.5)
    assert p["n"] == 0 and p["recall"] is None and p["accuracy"] is None
    assert any("nothing to judge the model on" in w for w in p["warnings"])


def test_cheapest_band_with_a_review_cost_by_hand():
    from studio.evaluation.band import cheapest_band, expected_cost

    # escape 100, scrap 10, 10 % defective, review 0.5 per part. Per part:
    #   low-only  A(k) = 10(1-R) + 0.5(0.1R + 0.9F);  high-only B(k) = 9F - 0.5(0.1R + 0.9F)
    # A(4) = 0.14 and min B over cuts 0..4 is B(2) = -1/30: band .45 .. .65, cost 1000 * (0.14 - 1/30) = 106.67
    # (no band: cut 4 costs 1800). Check: review share .1 * 1/3 + .9 * .2 = .21333, * 0.5 * 1000 = 106.67
    band = cheapest_band(Y, S, 100, 10, 0.10, 0.5)
    assert band["threshold"] == pytest.approx(0.45) and band["review_up_to"] == pytest.approx(0.65)
    assert band["cost_per_1000"] == pytest.approx(1000 * (0.14 - 1 / 30))
    assert band["review_share_on_line"] == pytest.approx(0.1 / 3 + 0.9 * 0.2)
    assert expected_cost(Y, S, 0.45, 0.65, 100, 10, 0.10, 0.5) == pytest.approx(band["cost_per_1000"])
    assert expected_cost(Y, S, 0.45, None, 100, 10, 0.10) == pytest.approx(1800.0)      # = cheapest()
    # reviews dearer than what they save: no band, the same point as without reviews
    dear = cheapest_band(Y, S, 100, 10, 0.10, 1000.0)
    assert dear["review_up_to"] is None and dear["threshold"] == pytest.approx(0.45)
    assert dear["cost_per_1000"] == pytest.approx(1800.0)
