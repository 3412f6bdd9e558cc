"""Confidence intervals against the Wilson formula, the closed-form Clopper–Pearson ends, and scipy."""
import math

import pytest

from studio.evaluation.intervals import clopper_pearson, in_words, share, wilson, z_for


def wilson_by_hand(k, n, z=1.959963984540054):
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize("k,n", [(7, 20), (1, 3), (50, 60), (1, 1000), (12, 13)])
def test_wilson_matches_the_formula(k, n):
    assert wilson(k, n) == pytest.approx(wilson_by_hand(k, n), abs=1e-12)


def test_wilson_other_confidence():
    z90 = 1.6448536269514722
    assert z_for(0.90) == pytest.approx(z90)
    assert wilson(7, 20, 0.90) == pytest.approx(wilson_by_hand(7, 20, z90), abs=1e-12)


def test_the_37_of_37_example():
    # recall 100 % on 37 defects: at least 90.6 % (Wilson; 1 / (1 + z^2/37)), 90.5 % (Clopper-Pearson: 0.025^(1/37))
    lo, hi = wilson(37, 37)
    assert lo == pytest.approx(1 / (1 + 1.959963984540054 ** 2 / 37), abs=1e-12) and hi == 1.0
    assert round(100 * lo, 1) == 90.6
    cp_lo, cp_hi = clopper_pearson(37, 37)
    assert cp_lo == pytest.approx(0.025 ** (1 / 37), abs=1e-12) and cp_hi == 1.0
    assert round(100 * cp_lo, 1) == 90.5
    text = in_words("recall", share(37, 37), what="defective parts caught")
    assert "recall 100.0 % (37 of 37" in text
    assert "at least 90.6 % with 95 % confidence (Wilson; 90.5 % by Clopper–Pearson)" in text


def test_zero_successes_and_empty():
    assert wilson(0, 10)[0] == 0.0 and clopper_pearson(0, 10)[0] == 0.0
    assert clopper_pearson(0, 10)[1] == pytest.approx(1 - 0.025 ** (1 / 10))
    assert "at most" in in_words("false-reject rate", share(0, 10))
    assert wilson(0, 0) is None and clopper_pearson(0, 0) is None and share(0, 0) is None
    assert "unknown" in in_words("recall", None, what="no defective parts in the test split")
    with pytest.raises(ValueError):
        wilson(5, 3)


@pytest.mark.parametrize("k,n", [(7, 20), (0, 5), (3, 3), (50, 60), (1, 1000), (499, 1000)])
def test_clopper_pearson_against_scipy(k, n):
    stats = pytest.importorskip("scipy.stats")
    exact = stats.binomtest(k, n).proportion_ci(method="exact")
    assert clopper_pearson(k, n) == pytest.approx((exact.low, exact.high), abs=1e-9)
    w = stats.binomtest(k, n).proportion_ci(method="wilson")
    assert wilson(k, n) == pytest.approx((w.low, w.high), abs=1e-12)
