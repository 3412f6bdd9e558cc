"""Greedy k-center coreset for the anomaly memory bank.

The exact greedy (farthest point first) as written in the papers and in
anomalib's ``KCenterGreedy`` makes one pass over all N patches per chosen
centre: a matrix-vector product, bound by memory bandwidth (N x d x 4 bytes
per centre). ``_lazy_greedy`` returns the same centres with the passes
batched into matrix-matrix products over a candidate pool and skips points
whose stale distance bound already rules them out (see there); the grouped
variant (``groups`` > 1) splits the patches into compact cells searched side
by side, faster still but not the same centres. See ``greedy_coreset``.
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
        return _lazy_greedy(z, k, g, report)
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
    """The plain greedy: one matrix-vector product per centre, distances kept in place.

    The reference ``_lazy_greedy`` is tested and benchmarked against."""
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


def _lazy_greedy(z, k: int, g, report=None, pool: int = 4096, rows: int = 16384, block: int = 4096):
    """The exact greedy (the same centres as ``_exact_greedy``) without a pass over all points per centre.

    Each point keeps an upper bound on its distance to the nearest centre
    (its distance when last computed: later centres can only bring it
    closer) and the number of centres that bound accounts for. A round
    refreshes the points in descending order of their bounds, a block at a
    time (one matrix-matrix product against the centres each has not yet
    seen), until the ``pool`` largest exact distances are known and no
    bound outside the pool exceeds the pool's smallest; inside the pool the
    greedy then picks centres exactly as the full search would, for as long
    as the pool's farthest point is farther than everything outside it
    (``tau``). A point whose bound falls below the final coverage radius is
    never looked at again, so most of the N x k distances are never computed.
    """
    torch = _torch()
    n = len(z)
    z = z.contiguous()
    z_sq = (z * z).sum(1)
    chosen = torch.empty(k, dtype=torch.long, device=z.device)
    first = int(torch.randint(n, (1,), generator=g))
    chosen[0] = first
    bound = (z_sq - 2.0 * torch.mv(z, z[first]) + z_sq[first]).clamp_min_(0.0)
    seen = torch.ones(n, dtype=torch.long, device=z.device)      # centres each bound accounts for
    m = max(1, min(int(pool), n - 1))
    i, every, last_report = 1, max(1, k // 50), 0
    neg = torch.tensor(float("-inf"), device=z.device)
    while i < k:
        # --- refresh the largest bounds until the pool's m exact distances are known ---------
        order = torch.argsort(bound, descending=True)
        done, top_i, rest = 0, order[:0], neg
        while True:
            idx = order[done:done + max(m, rows)]
            s = int(seen[idx].min())
            for b in range(s, i, block):          # centres these points have not been compared with yet
                cols = chosen[b:min(i, b + block)]
                d2 = torch.addmm(z_sq[cols][None, :], z[idx], z[cols].t(), alpha=-2.0).add_(z_sq[idx, None])
                bound[idx] = torch.minimum(bound[idx], d2.min(1).values.clamp_min_(0.0))
            seen[idx] = i
            done += len(idx)
            cand = torch.cat([top_i, idx])
            if len(cand) > m:
                vals = bound[cand]
                top = torch.topk(vals, m + 1)
                rest = torch.maximum(rest, top.values[m])
                top_i = cand[top.indices[:m]]
            else:
                top_i = cand
            nxt = bound[order[done]] if done < n else neg
            if done >= n or (len(top_i) >= m and float(bound[top_i].min()) >= float(nxt)):
                break
        tau = float(torch.maximum(rest, nxt))
        # --- the greedy inside the pool, while its farthest point beats everything outside ------
        pts = top_i
        pd = bound[pts].clone()
        pz, psq = z[pts], z_sq[pts]
        buf = torch.empty_like(pd)
        while i < k and len(pd):
            j = int(torch.argmax(pd))
            if float(pd[j]) < tau:
                break
            c = int(pts[j])
            chosen[i] = c
            i += 1
            torch.mv(pz, z[c], out=buf)
            buf.mul_(-2.0).add_(psq).add_(z_sq[c])
            torch.minimum(pd, buf, out=pd)
            live = pd >= tau
            if 4 * int(live.sum()) < len(pd):       # most of the pool is out of the race: drop it
                out = ~live
                bound[pts[out]], seen[pts[out]] = pd[out], i
                pts, pd, pz, psq = pts[live], pd[live], pz[live], psq[live]
                buf = torch.empty_like(pd)
            if report is not None and i - last_report >= every:
                last_report = i
                report.check()
                report.progress(i / max(1, k - 1))
                report.metric("coreset_radius", i, float(pd.max().clamp_min(0).sqrt()) if len(pd) else 0.0)
        bound[pts], seen[pts] = pd, i
    return chosen
