"""Image-level metrics against hand-computed values (ties, missing classes included)."""
import math

import numpy as np
import pytest

from studio.evaluation.metrics import (average_precision, best_f1_threshold, confusion_at, pr_curve,
                                       precision_recall_at, roc_auc)

Y = [0, 0, 1, 1]
S = [0.1, 0.4, 0.35, 0.8]


def test_roc_auc_hand_values():
    assert roc_auc(Y, S) == pytest.approx(0.75)          # 3 of 4 (defect, good) pairs ordered right
    assert roc_auc([0, 1], [0.2, 0.9]) == 1.0
    assert roc_auc([1, 0], [0.2, 0.9]) == 0.0


def test_roc_auc_ties_count_half():
    # pairs (pos, neg): (.5,.5) tie -> .5, (.5,.2) 1, (.9,.5) 1, (.9,.2) 1  -> 3.5 / 4
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]) == pytest.approx(0.875)
    assert roc_auc([0, 1, 0, 1], [0.3] * 4) == pytest.approx(0.5)


def test_average_precision_hand_values():
    # descending: .8(d) P1 R.5 | .4(g) P.5 R.5 | .35(d) P2/3 R1 | .1(g)  -> .5*1 + .5*2/3
    assert average_precision(Y, S) == pytest.approx(0.5 + 0.5 * 2 / 3)
    # a tie between a defect and a good part moves as one threshold: .5*.5 + .5*2/3
    assert average_precision([1, 0, 1], [0.5, 0.5, 0.2]) == pytest.approx(0.25 + 1 / 3)


def test_pr_curve_descending_thresholds_with_ties():
    precision, recall, thresholds = pr_curve([1, 0, 1, 0], [0.5, 0.5, 0.2, 0.1])
    assert thresholds.tolist() == [0.5, 0.2, 0.1]
    assert precision.tolist() == pytest.approx([0.5, 2 / 3, 0.5])
    assert recall.tolist() == pytest.approx([0.5, 1.0, 1.0])


def test_confusion_and_operating_point():
    assert confusion_at(Y, S, 0.35) == {"tp": 2, "fp": 1, "tn": 1, "fn": 0}
    assert confusion_at(Y, S, 0.9) == {"tp": 0, "fp": 0, "tn": 2, "fn": 2}
    assert precision_recall_at(Y, S, 0.9) == (None, 0.0)      # nothing rejected: precision undefined
    assert precision_recall_at(Y, S, 0.35) == pytest.approx((2 / 3, 1.0))


def test_best_f1_threshold_between_scores():
    # F1: t=.8 -> .667, .4 -> .5, .35 -> .8 (best), .1 -> .667; halfway to the next score down
    t = best_f1_threshold(Y, S)
    assert t == pytest.approx((0.35 + 0.1) / 2)
    assert confusion_at(Y, S, t) == confusion_at(Y, S, 0.35)


def test_no_defects_and_all_defects_never_nan():
    y0, s0 = [0, 0, 0], [0.1, 0.2, 0.2]
    assert roc_auc(y0, s0) is None and average_precision(y0, s0) is None and best_f1_threshold(y0, s0) is None
    p, r, t = pr_curve(y0, s0)
    assert not np.isnan(p).any() and not np.isnan(r).any() and r.tolist() == [0.0, 0.0]
    y1, s1 = [1, 1], [0.3, 0.6]
    assert roc_auc(y1, s1) is None
    assert average_precision(y1, s1) == 1.0
    assert best_f1_threshold(y1, s1) == 0.3            # reject everything: F1 = 1
    assert pr_curve([], [])[0].size == 0


def test_against_sklearn_when_installed():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    y = rng.random(200) < 0.3
    s = np.round(rng.random(200) + y * 0.3, 1)         # rounding makes many ties
    assert roc_auc(y, s) == pytest.approx(sk.roc_auc_score(y, s))
    assert average_precision(y, s) == pytest.approx(sk.average_precision_score(y, s))
    assert math.isfinite(best_f1_threshold(y, s))
