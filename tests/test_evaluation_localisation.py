"""Pixel AUROC and PRO: hand-made maps with known answers, a brute-force reference, and anomalib's metric."""
import numpy as np
import pytest

from studio.evaluation.localisation import aupro, localisation_metrics, pixel_auroc, pro_curve, regions


def _two_regions():
    """One 10 x 10 image: region A is one pixel, region B a 4 x 4 block; 83 good pixels."""
    mask = np.zeros((10, 10), bool)
    mask[0, 0] = True
    mask[5:9, 5:9] = True
    return mask


def test_perfect_inverted_and_constant_maps():
    mask = _two_regions()
    perfect = mask.astype(np.float32)
    assert pixel_auroc(perfect, mask) == pytest.approx(1.0)
    assert aupro(perfect, mask) == pytest.approx(1.0)
    assert pixel_auroc(1 - perfect, mask) == pytest.approx(0.0)
    assert aupro(1 - perfect, mask) == pytest.approx(0.0)
    # every pixel tied: AUROC 0.5; the PRO curve is the diagonal, so its normalised area is fpr_limit / 2
    flat = np.full((10, 10), 0.7, np.float32)
    assert pixel_auroc(flat, mask) == pytest.approx(0.5)
    assert aupro(flat, mask) == pytest.approx(0.15)
    assert aupro(flat, mask, fpr_limit=1.0) == pytest.approx(0.5)


def test_each_region_counts_once_whatever_its_size():
    mask = _two_regions()
    amap = np.ones((10, 10), np.float32)     # good pixels 1
    amap[0, 0] = 2.0                         # the one-pixel region found above every good pixel
    amap[5:9, 5:9] = 0.0                     # the 16-pixel region missed
    # PRO: region A fully found at FPR 0 (overlap 1 of 2 regions), B only after every good pixel
    assert aupro(amap, mask) == pytest.approx(0.5)
    fpr, pro = pro_curve(amap, mask)
    assert fpr.tolist() == pytest.approx([0.0, 0.0, 0.3])
    assert pro.tolist() == pytest.approx([0.0, 0.5, 0.5])
    # pixel AUROC weighs pixels: 1 of 17 defect pixels above the good ones
    assert pixel_auroc(amap, mask) == pytest.approx(1 / 17)


def test_good_images_count_in_the_false_positive_rate():
    mask = _two_regions()
    amap = mask.astype(np.float32) * 2
    good = np.zeros((10, 10), bool)
    hot = np.full((10, 10), 3.0, np.float32)           # a good part scoring above every defect
    maps, masks = np.stack([amap, hot]), np.stack([mask, good])
    # the 100 hot good pixels are 100 / 183 of the good pixels: over the 0.3 limit before any defect
    assert aupro(maps, masks) == pytest.approx(0.0)
    assert pixel_auroc(maps, masks) == pytest.approx(83 / 183)


def test_regions_are_eight_connected_and_numbered_across_images():
    a = np.zeros((4, 4), bool)
    a[0, 0] = a[1, 1] = True                 # diagonal neighbours: one region
    a[3, 3] = True                           # a second one
    labels, n = regions(np.stack([a, a]))
    assert n == 4
    assert sorted(np.unique(labels).tolist()) == [0, 1, 2, 3, 4]
    assert labels[0, 0, 0] == labels[0, 1, 1] != labels[1, 0, 0]


def test_undefined_without_defects_or_without_good_pixels():
    amap = np.random.default_rng(0).random((2, 8, 8))
    assert pixel_auroc(amap, np.zeros((2, 8, 8))) is None
    assert aupro(amap, np.zeros((2, 8, 8))) is None
    assert aupro(amap, np.ones((2, 8, 8))) is None
    with pytest.raises(ValueError):
        pixel_auroc(amap, np.zeros((2, 8, 9)))


def _random_case(seed: int, n: int = 6, size: int = 48):
    """Blobs of random size as defects; maps are noise plus a weak, partial response on the blobs."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    masks = np.zeros((n, size, size), bool)
    for i in range(n - 2):                   # the last two images are good parts
        for _ in range(rng.integers(1, 4)):
            cy, cx, r = rng.integers(4, size - 4), rng.integers(4, size - 4), rng.integers(1, 7)
            masks[i] |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    maps = rng.random((n, size, size)).astype(np.float32) + masks * rng.random((n, size, size)) * 0.8
    return maps.astype(np.float32), masks


def _brute_force_aupro(maps, masks, limit=0.3):
    labels, n = regions(masks)
    good = labels == 0
    ts = np.unique(maps)[::-1]
    fpr = [0.0] + [float((maps[good] >= t).mean()) for t in ts]
    pro = [0.0] + [float(np.mean([(maps[labels == r] >= t).mean() for r in range(1, n + 1)])) for t in ts]
    grid = np.linspace(0, limit, 20001)
    return float(np.trapezoid(np.interp(grid, fpr, pro), grid) / limit)


def test_pro_matches_a_brute_force_reference():
    maps, masks = _random_case(1, n=4, size=24)
    assert aupro(maps, masks) == pytest.approx(_brute_force_aupro(maps, masks), abs=1e-4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_anomalib_and_sklearn_on_random_maps(seed):
    import torch

    from anomalib.metrics.aupro import _AUPRO
    from sklearn.metrics import roc_auc_score

    maps, masks = _random_case(seed)
    theirs = _AUPRO(fpr_limit=0.3)
    theirs.update(torch.from_numpy(maps), torch.from_numpy(masks.astype(np.int64)))
    assert aupro(maps, masks) == pytest.approx(float(theirs.compute()), abs=1e-4)
    assert pixel_auroc(maps, masks) == pytest.approx(roc_auc_score(masks.ravel(), maps.ravel()), abs=1e-9)
    # ties (quantised maps) are handled the same way
    q = np.round(maps * 8) / 8
    assert pixel_auroc(q, masks) == pytest.approx(roc_auc_score(masks.ravel(), q.ravel()), abs=1e-9)


def test_summary_names_what_it_was_computed_on():
    maps, masks = _random_case(3)
    out = localisation_metrics(maps, masks)
    assert out["images"] == 6 and out["map_size"] == [48, 48] and out["regions"] >= 4
    assert 0.5 < out["pixel_auroc"] < 1.0 and 0.0 < out["pro"] < 1.0
