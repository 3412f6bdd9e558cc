"""The lighting audit on real industrial images (../shared/data): over-exposure is not glare,
and a defocused scene fails focus without a baseline."""
from __future__ import annotations

import glob

import cv2
import numpy as np
import pytest

from studio.lighting.audit import audit_frames

pytestmark = pytest.mark.data

def _slow(*values):
    """Parameters that run in CI's full pytest only; the quick loop (-m "not slow") keeps one of each test
    (of the tests tests/conftest.py's SLOW_TESTS does not leave out whole: 2 to 3 s each)."""
    return [pytest.param(*(v if isinstance(v, tuple) else (v,)), marks=pytest.mark.slow) for v in values]


SETS = {"magnetic_tile": "magnetic_tile/MT_Free/Imgs/*.jpg", "neu": "neu_det/IMAGES/*.jpg",
        "deeppcb": "deeppcb/group*/*/*_test.jpg"}


def _scenes(root, name, n=4, size=(800, 600)):
    files = sorted(glob.glob(str(root / SETS[name])))
    assert files, f"no images for {name} under {root}"
    pick = files[:: max(1, len(files) // n)][:n]
    return [cv2.resize(cv2.imread(f, cv2.IMREAD_GRAYSCALE), size, interpolation=cv2.INTER_CUBIC) for f in pick]


def _brighten(g, gain, offset):
    return np.clip(g.astype(np.float32) * gain + offset, 0, 255).astype(np.uint8)


def _noisy(g, sigma, seed):
    rng = np.random.default_rng(seed)
    return np.clip(g.astype(np.float32) + rng.normal(0, sigma, g.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("gain,offset", [(2.2, 30), *_slow((3.0, 40))])
@pytest.mark.parametrize("name", ["magnetic_tile", *_slow("neu", "deeppcb")])
def test_a_brightened_real_scene_fails_exposure_not_glare(shared_data, name, gain, offset):
    for g in _scenes(shared_data, name):
        a = audit_frames([_noisy(_brighten(g, gain, offset), 1.0, s) for s in range(3)])
        exposure, glare = a.check("exposure"), a.check("glare")
        assert exposure.passed is False, exposure.to_dict()
        assert "reduce the exposure time or gain" in exposure.advice
        assert glare.passed is True and glare.value == 0, glare.to_dict()


@pytest.mark.parametrize("name", ["magnetic_tile", *_slow("neu")])
def test_the_same_scenes_unbrightened_pass_exposure_and_glare(shared_data, name):
    for g in _scenes(shared_data, name):
        if g.mean() < 60 or g.mean() > 150 or (g >= 253).mean() > 0.001:
            continue            # a dark tile, bright steel or a tile clipped as recorded: judged on its own
        a = audit_frames([_noisy(g, 1.0, s) for s in range(3)])
        assert a.check("exposure").passed is True, a.check("exposure").to_dict()
        assert a.check("glare").passed is True


def test_small_specular_hot_spots_on_a_well_exposed_real_scene_are_glare(shared_data):
    for g in _scenes(shared_data, "magnetic_tile"):
        if (g >= 253).mean() > 0.001:
            continue                    # clipped as recorded
        lit = _brighten(g, 1.4, 10) if g.mean() < 70 else g.copy()
        for x, y, r in ((150, 120, 14), (600, 420, 18), (420, 200, 12)):
            cv2.circle(lit, (x, y), r, 255, -1)
        a = audit_frames([_noisy(lit, 1.0, s) for s in range(3)])
        assert a.check("glare").passed is False, a.check("glare").to_dict()
        assert "polariser" in a.check("glare").advice
        assert a.check("exposure").passed is True, a.check("exposure").to_dict()


@pytest.mark.parametrize("noise", [2.0, *_slow(0.0)])
@pytest.mark.parametrize("name", ["magnetic_tile", *_slow("neu", "deeppcb")])
def test_a_strongly_defocused_real_scene_fails_focus_without_a_baseline(shared_data, name, noise):
    for i, g in enumerate(_scenes(shared_data, name)):
        sharp = audit_frames([_noisy(g, noise, s) for s in range(2)])
        soft = audit_frames([_noisy(cv2.GaussianBlur(g, (0, 0), 5), noise, s + 10 * i) for s in range(2)])
        assert soft.check("focus").passed is False, (name, soft.check("focus").to_dict())
        assert "refocus" in soft.check("focus").advice
        assert sharp.check("focus").passed is True, (name, sharp.check("focus").to_dict())
        assert soft.check("focus").value < sharp.check("focus").value
