"""Greedy k-center coreset for the anomaly memory bank, grouped so it runs in few passes.

The exact greedy (farthest point first) needs one pass over all patches per
chosen centre; anomalib's ``KCenterGreedy`` is that. Here the patches are
split into equal, compact cells and every cell runs its own greedy search,
all cells advancing together, so a bank of k centres takes about k / groups
passes. See ``greedy_coreset``.
"""
from __future__ import annotations

import math


def _torch():
    import torch

    return torch


def coreset_groups(k: int, requested: int = 0) -> int:
    """How many cells the greedy search runs in (a power of two). 0 = one: the exact greedy, which
    matched anomalib's AUROC where the cells cost 2-8 points on magnetic tiles (benchmarks/README.md)."""
    g = max(1, int(requested)) if requested else 1
    return 2 ** int(math.floor(math.log2(g)))


def balanced_cells(z, groups: int, gen):
    """Row indices of ``z`` arranged as ``groups`` equal, spatially compact cells ([groups * m]).

    Recursive halving at the median of each cell's principal direction (a few
    power iterations); ``groups`` is rounded down to a power of two. Indices
    >= len(z) are padding (the caller never picks them).
    """
    torch = _torch()
    n = len(z)
    levels = int(math.floor(math.log2(max(1, groups))))
    cells = 2 ** levels
    m = int(math.ceil(n / cells))
    idx = torch.arange(cells * m, device=z.device)
    if cells == 1:
        return idx
    # split in the top principal directions only (from a sample): cheap, and they carry the distances
    sample = z[torch.randperm(n, generator=gen)[:20000].to(z.device)].float()
    mean = sample.mean(0, keepdim=True)
    _, vecs = torch.linalg.eigh((sample - mean).t() @ (sample - mean))
    z = (z.float() - mean) @ vecs[:, -min(16, z.shape[1]):]
    # padding rows (index >= n) take a real row's position, so they sort next to it
    order = idx.reshape(1, -1)
    for _ in range(levels):
        pts = z.index_select(0, order.reshape(-1).clamp_max(n - 1)).reshape(order.shape[0], order.shape[1], -1)
        centred = pts - pts.mean(1, keepdim=True)
        v = torch.randn(pts.shape[0], pts.shape[2], 1, generator=gen).to(z.device)
        for _ in range(3):                                        # power iteration: main direction
            v = torch.bmm(centred.transpose(1, 2), torch.bmm(centred, v))
            v = v / v.norm(dim=1, keepdim=True).clamp_min(1e-12)
        srt = torch.bmm(centred, v)[..., 0].argsort(dim=1)
        order = torch.gather(order, 1, srt).reshape(-1, order.shape[1] // 2)
    return order.reshape(-1)


def greedy_coreset(points, k: int, projection_dims: int = 128, seed: int = 0, report=None, groups: int = 1):
    """Indices of ``k`` points chosen by greedy k-center (farthest point first).

    Runs in a random projection (distances are nearly kept, the work is
    smaller) and keeps each point's distance to its nearest chosen centre,
    updated with one matrix-vector product per pick. With ``groups`` > 1 the
    points are split into that many equal cells (``balanced_cells``: a k-d
    split along each cell's main direction) and each cell gets its own greedy
    search and its share of the centres, all advanced together by one batched
    product per round. A cell is a region, so its centres cover it about as
    tightly as a global search would; the union covers every point, and the
    rounds (and passes over the data) drop ``groups``-fold.
    """
    torch = _torch()
    n, d = points.shape
    k = max(1, min(int(k), n))
    groups = 2 ** int(math.floor(math.log2(max(1, min(int(groups), k)))))
    g = torch.Generator(device="cpu").manual_seed(seed)
    z = points.float()
    if projection_dims and d > projection_dims:
        proj = torch.randn(d, projection_dims, generator=g).to(points.device) / math.sqrt(projection_dims)
        z = points.float() @ proj
    if groups == 1:
        return _exact_greedy(z, k, g, report)
    order = balanced_cells(z, groups, g)                                  # [G * m], padded
    m = len(order) // groups
    valid = (order < n).reshape(groups, m)
    order = order.clamp_max(n - 1)
    zg = z[order].reshape(groups, m, -1)
    z_sq = (zg * zg).sum(2)                                               # [G, m]
    rows = torch.arange(groups, device=points.device)
    # every cell starts with one centre, then each round the `per_round` cells whose farthest
    # point is farthest of all take one more: centres go where the spread is, as in the
    # exact greedy, but per_round of them per pass
    first = torch.argmax(valid.float() + torch.rand(groups, m, generator=g).to(points.device), dim=1)
    picks = [rows * m + first]
    c = zg[rows, first]                                                   # [G, d]
    min_d = (z_sq - 2.0 * torch.bmm(zg, c[:, :, None])[..., 0] + (c * c).sum(1)[:, None]).clamp_min_(0.0)
    min_d[~valid] = -1.0
    if k <= groups:                        # fewer centres than cells: the farthest starting points
        keep = torch.argsort(min_d.max(1).values, descending=True)[:k] if k < groups else rows
        return order[picks[0][keep]]
    per_round = max(1, groups // 4)
    left = k - groups
    rounds = int(math.ceil(left / per_round))
    every = max(1, rounds // 50)
    for i in range(rounds):
        b = min(per_round, left)
        cells = torch.topk(min_d.max(1).values, b).indices                  # [b]
        sub = min_d[cells]
        j = torch.argmax(sub, dim=1)
        picks.append(cells * m + j)
        zc = zg[cells]                                                    # [b, m, d]
        c = zc[torch.arange(b, device=points.device), j]
        d2 = z_sq[cells] - 2.0 * torch.bmm(zc, c[:, :, None])[..., 0] + (c * c).sum(1)[:, None]
        sub = torch.minimum(sub, d2)
        sub[~valid[cells]] = -1.0
        min_d[cells] = sub
        left -= b
        if report is not None and (i % every == 0 or i == rounds - 1):
            report.check()
            report.progress((i + 1) / rounds)
            report.metric("coreset_radius", i, float(min_d.max().clamp_min(0).sqrt()))
    return order[torch.cat(picks)]


def _exact_greedy(z, k: int, g, report=None):
    """The plain greedy: one matrix-vector product per centre, distances kept in place."""
    torch = _torch()
    n = len(z)
    z = z.contiguous()
    z_sq = (z * z).sum(1)
    chosen = torch.empty(k, dtype=torch.long, device=z.device)
    first = int(torch.randint(n, (1,), generator=g))
    chosen[0] = first
    min_d = (z_sq - 2.0 * torch.mv(z, z[first]) + z_sq[first]).clamp_min_(0.0)
    buf = torch.empty_like(min_d)
    every = max(1, k // 50)
    for i in range(1, k):
        j = int(torch.argmax(min_d))
        chosen[i] = j
        torch.mv(z, z[j], out=buf)
        buf.mul_(-2.0).add_(z_sq).add_(z_sq[j])
        torch.minimum(min_d, buf, out=min_d)
        if report is not None and (i % every == 0 or i == k - 1):
            report.check()
            report.progress(i / max(1, k - 1))
            report.metric("coreset_radius", i, float(min_d.max().clamp_min(0).sqrt()))
    return chosen
