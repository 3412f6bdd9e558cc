"""The memory bank's greedy k-center coreset: the lazy pool search picks the exact greedy's centres."""
import pytest

import torch  # a core dependency: a broken install fails, never skips

from studio.training.coreset import _exact_greedy, _lazy_greedy, greedy_coreset  # noqa: E402


def _clusters(n, d, seed=0, spread=4.0, dtype=torch.float64):
    # float64: the two searches compute distances in different product shapes (matrix-vector
    # vs matrix-matrix), so in float32 two points within rounding of each other can swap
    # places; in float64 such near-ties do not occur, and any difference is a logic error
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(30, d, generator=g) * spread
    return (centres[torch.randint(30, (n,), generator=g)] + torch.randn(n, d, generator=g)).to(dtype)


@pytest.mark.parametrize("pool,rows,block", [(4096, 16384, 4096), (64, 256, 50), (16, 64, 7)])
def test_lazy_greedy_returns_exactly_the_exact_greedys_centres(pool, rows, block):
    # small pools, row blocks and column blocks force many refresh rounds, pool drops and
    # centre blocks: every path of the lazy search is taken
    pts = _clusters(2000, 24, seed=3)
    exact = _exact_greedy(pts, 150, torch.Generator().manual_seed(5))
    lazy = _lazy_greedy(pts, 150, torch.Generator().manual_seed(5), pool=pool, rows=rows, block=block)
    assert torch.equal(exact, lazy)


def test_lazy_greedy_on_uniform_noise_and_on_every_point():
    # no cluster structure at all (distances concentrate, the hard case for any pruning)
    pts = torch.rand(3000, 64, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert torch.equal(_exact_greedy(pts, 400, torch.Generator().manual_seed(2)),
                       _lazy_greedy(pts, 400, torch.Generator().manual_seed(2), pool=128, rows=512))
    # k = n: every point once
    small = pts[:50]
    chosen = _lazy_greedy(small, 50, torch.Generator().manual_seed(0), pool=8)
    assert sorted(chosen.tolist()) == list(range(50))


def test_lazy_greedy_with_duplicate_points_covers_them_all():
    base = _clusters(200, 8, seed=4)
    pts = torch.cat([base, base, base])               # every point three times: ties everywhere
    chosen = _lazy_greedy(pts, 220, torch.Generator().manual_seed(0), pool=16)
    assert len(chosen) == 220 and int(chosen.min()) >= 0 and int(chosen.max()) < len(pts)
    radius = torch.cdist(pts, pts[chosen]).min(1).values.max()
    assert float(radius) < 1e-3                       # 200 distinct positions, 220 centres: all covered


def test_float32_lazy_greedy_covers_as_tightly_as_the_exact_one():
    # what the studio runs: float32; at most near-ties swap, the coverage radius is the same
    pts = _clusters(2000, 24, seed=3, dtype=torch.float32)
    exact = _exact_greedy(pts, 150, torch.Generator().manual_seed(5))
    lazy = _lazy_greedy(pts, 150, torch.Generator().manual_seed(5), pool=64, rows=256)
    def radius(c):
        return float(torch.cdist(pts, pts[c]).min(1).values.max())

    assert len(set(lazy.tolist())) == 150
    assert abs(radius(lazy) - radius(exact)) <= 1e-4 * radius(exact)
    assert (exact == lazy).float().mean() > 0.9


def test_greedy_coreset_default_is_the_exact_greedy_in_the_projection():
    pts = _clusters(3000, 96, seed=7, dtype=torch.float32)
    chosen = greedy_coreset(pts, 120, projection_dims=32, seed=0)
    g = torch.Generator(device="cpu").manual_seed(0)
    proj = torch.randn(96, 32, generator=g) / 32 ** 0.5
    exact = _exact_greedy(pts @ proj, 120, g)
    assert (chosen == exact).float().mean() > 0.9 and len(set(chosen.tolist())) == 120
