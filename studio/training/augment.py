"""Augmentation per project, and synthetic defects for rare classes.

Set in ``project.yaml`` under ``training.augmentation`` (the Train page
previews them on the project's own images)::

    flip_h: true        flip_v: false     rotate: 0      # degrees, +-
    crop: 0.0           # zoom in by up to this fraction (random crop, resized back)
    brightness: 0.1     contrast: 0.1     # +- fraction of full scale / of the gain
    blur: 0.0           # probability of a 3x3 Gaussian blur
    noise: 0.0          # Gaussian sensor noise, std as a fraction of full scale
    synthetic: none     # none | cutpaste | procedural: defects pasted onto good images
    synthetic_count: 0  # how many synthetic defect images to add to training
    synthetic_class: "" # the defect class they stand for (default: the rarest one)

Everything runs on batches of *normalised* model inputs in torch, so the
same code serves classification and segmentation; geometric changes move
the mask with the image (nearest neighbour). Synthetic defects are kept
apart in the metrics: the card says how many were added, and they are
scored on their own, on good *test* images, never mixed into the real test.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from studio.core.errors import ModelError

DEFAULTS: dict[str, Any] = {
    "flip_h": True, "flip_v": False, "rotate": 0.0, "crop": 0.0,
    "brightness": 0.1, "contrast": 0.1, "blur": 0.0, "noise": 0.0,
    "synthetic": "none", "synthetic_count": 0, "synthetic_class": "",
}
SYNTHETIC_KINDS = ("none", "cutpaste", "procedural")


def options(project=None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults <- project.yaml ``training.augmentation`` <- ``overrides``, each value checked."""
    from studio.training.options import _coerce

    stored = dict((project.settings.get("training", {}) or {}).get("augmentation", {}) or {}) if project else {}
    merged = {**DEFAULTS, **stored, **(overrides or {})}
    unknown = sorted(set(merged) - set(DEFAULTS))
    if unknown:
        raise ModelError(f"unknown augmentation option{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
                         field="training.augmentation", hint=f"use one of: {', '.join(sorted(DEFAULTS))}")
    out = {k: _coerce(k, v, DEFAULTS[k]) for k, v in merged.items()}
    if out["synthetic"] not in SYNTHETIC_KINDS:
        raise ModelError(f"augmentation 'synthetic' is {out['synthetic']!r}", field="training.augmentation.synthetic",
                         hint=f"use one of: {', '.join(SYNTHETIC_KINDS)}")
    for key in ("crop", "blur"):
        if not 0.0 <= out[key] <= 0.9:
            raise ModelError(f"augmentation '{key}' is {out[key]}, outside 0..0.9", field=f"training.augmentation.{key}",
                             hint=f"set {key} between 0 and 0.9")
    return out


def augment_batch(x, masks, aug: dict[str, Any], std, gen):
    """Augment normalised inputs ``x`` [N, 3, S, S] (and integer ``masks`` [N, S, S], or None)."""
    import torch
    import torch.nn.functional as F

    n = x.shape[0]
    flip_h = (torch.rand(n, generator=gen) < 0.5) & bool(aug["flip_h"])
    flip_v = (torch.rand(n, generator=gen) < 0.5) & bool(aug["flip_v"])
    x = torch.where(flip_h[:, None, None, None], x.flip(3), x)
    x = torch.where(flip_v[:, None, None, None], x.flip(2), x)
    if masks is not None:
        masks = torch.where(flip_h[:, None, None], masks.flip(2), masks)
        masks = torch.where(flip_v[:, None, None], masks.flip(1), masks)
    rotate, crop = float(aug["rotate"]), float(aug["crop"])
    if rotate or crop:
        angle = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(rotate)
        scale = 1.0 - torch.rand(n, generator=gen) * crop           # < 1: zoom in
        shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * (1.0 - scale)[:, None]
        cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
        theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
        if masks is not None:
            masks = F.grid_sample(masks[:, None].float(), grid, mode="nearest", padding_mode="zeros",
                                  align_corners=False)[:, 0].round().long()
    std = std.to(x.dtype)[None, :, None, None]
    if aug["contrast"]:
        gain = 1.0 + (torch.rand(n, generator=gen) * 2 - 1) * float(aug["contrast"])
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = mean + (x - mean) * gain[:, None, None, None]
    if aug["brightness"]:
        delta = (torch.rand(n, generator=gen) * 2 - 1) * float(aug["brightness"])
        x = x + delta[:, None, None, None] / std          # a shift in [0, 1] pixel units
    if aug["blur"]:
        g = torch.tensor([1.0, 2.0, 1.0])
        kernel = (g[:, None] * g[None, :] / 16.0).to(x.dtype).expand(3, 1, 3, 3)
        blurred = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel, groups=3)
        pick = torch.rand(n, generator=gen) < float(aug["blur"])
        x = torch.where(pick[:, None, None, None], blurred, x)
    if aug["noise"]:
        x = x + torch.randn(x.shape, generator=gen).to(x.dtype) * float(aug["noise"]) / std
    return x, masks


def preview(images: list[np.ndarray], aug: dict[str, Any], pre, seed: int = 0) -> list[np.ndarray]:
    """What training will show the model: each image (uint8) preprocessed and augmented once, as uint8 RGB."""
    import torch

    from studio.dataset.preprocessing import IMAGENET_MEAN, IMAGENET_STD

    if not images:
        return []
    x = torch.from_numpy(pre.apply_batch(images))
    norm = pre.normalize == "imagenet"
    std = torch.tensor(IMAGENET_STD if norm else np.ones(3, np.float32))
    mean = torch.tensor(IMAGENET_MEAN if norm else np.zeros(3, np.float32))
    y, _ = augment_batch(x, None, aug, std, torch.Generator().manual_seed(seed))
    rgb = (y * std[None, :, None, None] + mean[None, :, None, None]).clamp(0, 1)
    return [(im.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8) for im in rgb]


# ---- synthetic defects ------------------------------------------------------------------

def synthetic_defect(image: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A good uint8 RGB image with one pasted defect, and the defect's 0/1 mask.

    ``cutpaste``: a patch of the image itself, rotated and re-lit, pasted elsewhere
    with a soft edge (the texture is real, its place is wrong). ``procedural``: a
    dark or bright scratch or blob drawn with a soft edge.
    """
    import cv2

    img = image.astype(np.float32)
    H, W = img.shape[:2]
    mask = np.zeros((H, W), np.float32)
    if kind == "cutpaste":
        ph, pw = (int(max(4, H * rng.uniform(0.08, 0.2))), int(max(4, W * rng.uniform(0.08, 0.2))))
        sy, sx = rng.integers(0, H - ph + 1), rng.integers(0, W - pw + 1)
        patch = img[sy:sy + ph, sx:sx + pw].copy()
        patch = np.rot90(patch, int(rng.integers(1, 4))).copy()
        patch = patch * rng.uniform(0.6, 1.4)
        ph, pw = patch.shape[:2]
        ty, tx = rng.integers(0, max(1, H - ph + 1)), rng.integers(0, max(1, W - pw + 1))
        canvas = img.copy()
        canvas[ty:ty + ph, tx:tx + pw] = patch[:H - ty, :W - tx]
        mask[ty:ty + ph, tx:tx + pw] = 1.0
        source = canvas
    else:
        shade = rng.choice([0.35, 1.6])
        if rng.random() < 0.5:          # scratch
            p0 = (int(rng.integers(0, W)), int(rng.integers(0, H)))
            length = rng.uniform(0.15, 0.4) * min(H, W)
            a = rng.uniform(0, math.pi)
            p1 = (int(p0[0] + length * math.cos(a)), int(p0[1] + length * math.sin(a)))
            cv2.line(mask, p0, p1, 1.0, max(1, int(min(H, W) * 0.012)))
        else:                           # blob
            c = (int(rng.integers(W // 8, W - W // 8)), int(rng.integers(H // 8, H - H // 8)))
            axes = (max(2, int(W * rng.uniform(0.02, 0.07))), max(2, int(H * rng.uniform(0.02, 0.07))))
            cv2.ellipse(mask, c, axes, float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
        source = np.clip(img * shade, 0, 255)
    soft = cv2.GaussianBlur(mask, (0, 0), max(0.8, min(H, W) / 200))
    soft = np.maximum(soft, mask * 0.9)[..., None] if img.ndim == 3 else np.maximum(soft, mask * 0.9)
    out = img * (1 - soft) + source * soft
    return np.clip(out, 0, 255).astype(np.uint8), (mask > 0.5).astype(np.uint8)


def synthetic_set(images: list[np.ndarray], count: int, kind: str, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``count`` synthetic defect images made from ``images`` (good parts), round-robin."""
    if not images or count <= 0 or kind == "none":
        return []
    rng = np.random.default_rng(seed)
    return [synthetic_defect(np.asarray(images[i % len(images)]), kind, rng) for i in range(int(count))]
