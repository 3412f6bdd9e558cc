"""Pixel-level metrics: where a model says the defect is, against the masks.

``maps`` are anomaly maps ``[N, H, W]`` (higher = more anomalous), ``masks``
the ground truth at the same size (non-zero = defect). Both metrics pool the
pixels of every test image, good parts included (their pixels all count as
good), as in MVTec AD:

* ``pixel_auroc``: the chance that a defect pixel scores above a good pixel
  (ties count half), over all pixels;
* ``aupro``: per-region overlap. Each connected defect region (8-connected,
  ``scipy.ndimage.label``) counts once, whatever its size: at a threshold,
  its overlap is the fraction of its pixels above it, and PRO is the mean
  overlap over regions. PRO against the false-positive rate of the good
  pixels is integrated from 0 to ``fpr_limit`` (0.3) and divided by it, so a
  perfect map scores 1 and a random one about ``fpr_limit / 2``. It is the
  exact curve (one point per distinct score, the last of each tie, linear
  interpolation at the limit), the construction of MVTec's reference code
  and anomalib's ``AUPRO``.

Memory is one sort of all pixels: about 30 bytes a pixel (scores, order,
labels and the running sums), so callers bound it by the map size they
evaluate at (the anomaly benchmark resizes maps and masks to 256 px) and the
number of test images. Undefined metrics (no defect pixels, or no good
pixels) are ``None``, as in ``metrics``.
"""
from __future__ import annotations

import numpy as np

FPR_LIMIT = 0.3
_EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


def _arrays(maps, masks) -> tuple[np.ndarray, np.ndarray]:
    maps = np.asarray(maps, dtype=np.float32)
    masks = np.asarray(masks).astype(bool)
    if maps.ndim == 2:          # one image
        maps = maps[None]
    if masks.ndim == 2:
        masks = masks[None]
    if maps.shape != masks.shape or maps.ndim != 3:
        raise ValueError(f"anomaly maps {maps.shape} and masks {masks.shape} must both be [N, H, W]")
    return maps, masks


def regions(masks) -> tuple[np.ndarray, int]:
    """Connected defect regions, numbered across images: labels ``[N, H, W]`` (0 = good) and their count."""
    from scipy import ndimage

    masks = np.asarray(masks).astype(bool)
    if masks.ndim == 2:
        masks = masks[None]
    labels = np.zeros(masks.shape, dtype=np.int32)
    count = 0
    for i, m in enumerate(masks):
        lab, n = ndimage.label(m, structure=_EIGHT_CONNECTED)
        if n:
            labels[i] = np.where(lab > 0, lab + count, 0)
            count += n
    return labels, count


def _sorted_ties(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Descending order of the scores and the index (in that order) of the last of each tie."""
    order = np.argsort(-s, kind="stable")
    ss = s[order]
    last = np.r_[np.flatnonzero(ss[1:] != ss[:-1]), len(ss) - 1]
    return order, last


def pixel_auroc(maps, masks) -> float | None:
    """Pixel AUROC over every pixel of every image (trapezoid over the exact ROC = Mann-Whitney with ties)."""
    maps, masks = _arrays(maps, masks)
    y = masks.ravel()
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    order, last = _sorted_ties(maps.ravel())
    tp = np.cumsum(y[order], dtype=np.int64)[last]
    del order
    fp = (last + 1) - tp
    tpr = np.r_[0.0, tp / n_pos]
    fpr = np.r_[0.0, fp / n_neg]
    return float(np.trapezoid(tpr, fpr))


def pro_curve(maps, masks, fpr_limit: float = FPR_LIMIT) -> tuple[np.ndarray, np.ndarray] | None:
    """(fpr, pro) from 0 up to ``fpr_limit`` (the last point interpolated at it); ``None`` when undefined."""
    maps, masks = _arrays(maps, masks)
    labels, n_regions = regions(masks)
    flat = labels.ravel()
    n_bg = int((flat == 0).sum())
    if n_regions == 0 or n_bg == 0:
        return None
    sizes = np.bincount(flat, minlength=n_regions + 1).astype(np.float64)
    # what one pixel adds when the threshold passes it: 1/n_bg to the FPR (a good pixel)
    # or 1/(|region| x regions) to the PRO (a defect pixel)
    order, last = _sorted_ties(maps.ravel())
    lab = flat[order]
    del order
    fpr = np.cumsum(lab == 0, dtype=np.int64)[last] / n_bg
    step = np.where(lab > 0, 1.0 / (sizes[lab] * n_regions), 0.0)
    del lab
    pro = np.minimum(np.cumsum(step)[last], 1.0)
    fpr = np.r_[0.0, fpr]
    pro = np.r_[0.0, pro]
    inside = np.flatnonzero(fpr <= fpr_limit)
    i = int(inside[-1])
    if fpr[i] < fpr_limit and i + 1 < len(fpr):
        f1, f2, p1, p2 = fpr[i], fpr[i + 1], pro[i], pro[i + 1]
        p_lim = p1 + (p2 - p1) * (fpr_limit - f1) / (f2 - f1)
        return np.r_[fpr[:i + 1], fpr_limit], np.r_[pro[:i + 1], p_lim]
    return fpr[:i + 1], pro[:i + 1]


def aupro(maps, masks, fpr_limit: float = FPR_LIMIT) -> float | None:
    """Area under the PRO curve up to ``fpr_limit``, divided by it (1 = perfect)."""
    curve = pro_curve(maps, masks, fpr_limit)
    if curve is None:
        return None
    fpr, pro = curve
    return float(np.trapezoid(pro, fpr) / fpr_limit)


def localisation_metrics(maps, masks, fpr_limit: float = FPR_LIMIT) -> dict:
    """Pixel AUROC, PRO (up to ``fpr_limit``) and what they were computed on."""
    maps, masks = _arrays(maps, masks)
    return {"pixel_auroc": pixel_auroc(maps, masks), "pro": aupro(maps, masks, fpr_limit),
            "pro_fpr_limit": fpr_limit, "regions": regions(masks)[1],
            "map_size": [int(maps.shape[1]), int(maps.shape[2])], "images": int(len(maps))}
