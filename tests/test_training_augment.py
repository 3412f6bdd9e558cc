"""Augmentation per project (masks move with the image) and synthetic defects, kept apart in the metrics."""
import sys
from pathlib import Path

import numpy as np
import pytest

import torch

sys.path.insert(0, str(Path(__file__).parent))
from test_training_support import make_project  # noqa: E402

from studio.core.errors import ModelError  # noqa: E402
from studio.dataset.preprocessing import Preprocessing  # noqa: E402
from studio.training import augment  # noqa: E402
from studio.training.report import Report  # noqa: E402


def test_options_come_from_the_project_and_are_checked(tmp_path):
    project = make_project(tmp_path / "p")
    assert augment.options(project)["flip_h"] is True
    project.settings["training"]["augmentation"] = {"rotate": "15", "synthetic": "cutpaste"}
    assert augment.options(project)["rotate"] == 15.0
    assert augment.options(project, {"noise": 0.02})["noise"] == 0.02
    with pytest.raises(ModelError, match="unknown augmentation option: spin"):
        augment.options(project, {"spin": 1})
    with pytest.raises(ModelError, match="'synthetic' is 'paint'"):
        augment.options(None, {"synthetic": "paint"})
    with pytest.raises(ModelError, match="'crop' is 1.5"):
        augment.options(None, {"crop": 1.5})


def test_geometry_moves_the_mask_with_the_image():
    x = torch.zeros(8, 3, 32, 32)
    x[:, :, 4:10, 20:28] = 5.0
    masks = (x[:, 0] > 0).long()
    aug = augment.options(None, {"flip_h": True, "flip_v": True, "rotate": 30, "crop": 0.3,
                                 "brightness": 0, "contrast": 0})
    y, m = augment.augment_batch(x, masks, aug, torch.ones(3), torch.Generator().manual_seed(3))
    assert m.shape == masks.shape and m.dtype == torch.long
    bright = y[:, 0] > 2.5
    for i in range(8):       # the bright pixels and the mask still coincide
        inter = (bright[i] & (m[i] > 0)).sum().item()
        assert inter >= 0.7 * max(bright[i].sum().item(), m[i].sum().item())
    assert not torch.equal(m, masks)          # and something moved


def test_photometric_changes_and_preview():
    pre = Preprocessing(size=32, normalize="imagenet")
    img = np.full((40, 40), 128, np.uint8)
    plain = augment.preview([img], augment.options(None, {"brightness": 0, "contrast": 0}), pre)[0]
    assert plain.shape == (32, 32, 3) and plain.dtype == np.uint8 and abs(int(plain.mean()) - 128) <= 1
    noisy = augment.preview([img], augment.options(None, {"noise": 0.1, "brightness": 0, "contrast": 0}), pre)[0]
    assert noisy.std() > 10
    brighter = [augment.preview([img], augment.options(None, {"brightness": 0.3, "contrast": 0}), pre, seed=s)[0].mean()
                for s in range(6)]
    assert max(brighter) - min(brighter) > 20


@pytest.mark.parametrize("kind", ["cutpaste", "procedural"])
def test_synthetic_defect_changes_only_where_its_mask_is(kind):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:64, :64]
    img = np.stack([(xx * 3 + yy) % 255] * 3, -1).astype(np.uint8)
    out, mask = augment.synthetic_defect(img, kind, rng)
    assert out.shape == img.shape and mask.shape == (64, 64) and mask.sum() > 0
    changed = np.abs(out.astype(int) - img.astype(int)).max(-1) > 3
    assert changed[mask > 0].mean() > 0.3
    far = np.ones_like(mask, bool)
    ys, xs = np.nonzero(mask)
    far[max(0, ys.min() - 4):ys.max() + 5, max(0, xs.min() - 4):xs.max() + 5] = False
    assert not changed[far].any()
    assert len(augment.synthetic_set([img, img], 5, kind)) == 5 and augment.synthetic_set([img], 3, "none") == []


def test_classification_reports_synthetic_defects_separately(tmp_path):
    from studio.training.classification import train_classification

    project = make_project(tmp_path / "p", good_train=6, bad_train=2)
    project.settings["training"]["augmentation"] = {"synthetic": "procedural", "synthetic_count": 6}
    card = train_classification(project, {"epochs": 1}, Report())
    syn = card["metrics"]["synthetic"]
    assert syn["kind"] == "procedural" and syn["class"] == "stain" and syn["n_train"] == 6
    assert syn["n_test"] == 3 and 0 <= syn["recall"] <= 1
    assert card["data"]["n_train"] == 8 and card["metrics"]["train_counts"]["stain"] == 8
    assert card["lineage"]["augmentation"]["synthetic_count"] == 6
