"""The anomaly model's quality levers, read from its training options and checked in one place.

* ``backbone``: which EfficientNet-Lite (``studio.training.backbone.BACKBONES``).
* ``layers``: which of the backbone's ``blocks`` feed the memory bank, e.g. ``"2,4"``
  (stride 8 + stride 16). Each tapped block is averaged over its 3x3
  neighbourhood and upsampled to the shallowest one; the descriptor stacks them.
* ``image_score``: ``"max"`` (the highest patch distance) or ``"topk:K"`` (the
  mean of the K highest), taken from the (blurred, stitched) anomaly map inside
  the ONNX graph, so the station and the threshold statistics use the same score.
* ``tiles``: ``"RxR"`` (``"1x1"``, ``"2x2"``, ``"3x3"``...). The model's input is
  then the ROI resized to ``TileGrid.input_size`` (done once, by
  ``Preprocessing``, whose card ``size`` becomes that); the graph cuts it into
  R x R overlapping tiles of the project's input size, scores every tile
  against the same bank and stitches the distance maps back (the larger
  distance where two tiles overlap) before the blur and the image score. The
  overlap is an eighth of a tile, rounded to whole feature-map cells (32 px
  of a 224 px tile at stride 8), so a defect on a seam is seen whole by one
  of the two tiles for at least a few cells.
* ``input_size``: the model's input side in px (a tile's side with ``tiles``)
  when it should differ from the project's preprocessing size (None: the
  project's). The card's preprocessing records it, so the station resizes
  to it; the bake-off compares candidates at several sizes this way.

The training images are held as float32 model inputs while the bank is fit
(``3 x side^2 x 4`` bytes each: 0.6 MB at 224 px, 2.1 MB for 2x2 tiles of
224 px, 4.4 MB at 3x3): ``train_images_cap`` bounds them to
``TRAIN_INPUT_BYTES`` in all, fewer images rather than an out-of-memory fit.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from studio.core.errors import ModelError
from studio.training import backbone as backbones


def _bad(option: str, value: Any, valid: str) -> ModelError:
    return ModelError(f"training option '{option}' is {value!r}, not one the anomaly model takes",
                      field=option, hint=f"use {valid}")


def parse_layers(value: Any, name: str = backbones.BACKBONE) -> tuple[int, ...]:
    """``"2,4"`` (or [2, 4]) -> (2, 4): block indices of the backbone, increasing."""
    n = len(backbones.get(name).block_strides)
    valid = f"block numbers 0..{n - 1} separated by commas, e.g. layers=2,4 (also 1,2 / 2,3 / 3,4 / 2,3,4)"
    parts = value if isinstance(value, (list, tuple)) else str(value).replace(" ", "").split(",")
    try:
        layers = [int(p) for p in parts]
    except (TypeError, ValueError):
        raise _bad("layers", value, valid) from None
    if not layers or any(not 0 <= i < n for i in layers) or len(set(layers)) != len(layers):
        raise _bad("layers", value, valid)
    return tuple(sorted(layers))


def parse_image_score(value: Any) -> int:
    """``"max"`` -> 0; ``"topk:K"`` -> K (a whole number >= 1)."""
    text = str(value).strip().lower()
    if text == "max":
        return 0
    m = re.fullmatch(r"topk:(\d+)", text)
    if not m or int(m.group(1)) < 1:
        raise _bad("image_score", value, "image_score=max or image_score=topk:K (K >= 1, e.g. topk:10)")
    return int(m.group(1))


def parse_input_size(value: Any) -> int:
    """None / 0 -> 0 (the project's size); else a side of 32 to 2048 px."""
    if value in (None, "", 0, "0", "none", "None"):
        return 0
    try:
        size = int(value)
    except (TypeError, ValueError):
        size = -1
    if not 32 <= size <= 2048 or size != float(value):
        raise _bad("input_size", value, "input_size=320 (px, 32 to 2048), or leave it unset for the "
                                       "project's preprocessing size")
    return size


TRAIN_INPUT_BYTES = 1536 * 2**20      # the float32 training inputs held during a fit, at most


def train_images_cap(input_size: int) -> int:
    """How many training images of ``input_size`` px fit in ``TRAIN_INPUT_BYTES`` as float32 inputs."""
    return max(1, TRAIN_INPUT_BYTES // (3 * int(input_size) ** 2 * 4))


def parse_tiles(value: Any) -> int:
    """``"2x2"`` -> 2 (square grids of 1 to 8 tiles a side)."""
    m = re.fullmatch(r"(\d+)\s*[x*]\s*(\d+)", str(value).strip().lower())
    if not m or m.group(1) != m.group(2) or not 1 <= int(m.group(1)) <= 8:
        raise _bad("tiles", value, "tiles=1x1 (no tiling), 2x2, 3x3 ... up to 8x8 (square grids)")
    return int(m.group(1))


@dataclass(frozen=True)
class TileGrid:
    grid: int           # tiles a side
    size: int           # one tile's side in model-input pixels (the project's input size)
    stride: int         # pixels per feature-map cell (the shallowest tapped block's)

    @property
    def overlap(self) -> int:
        """Pixels two neighbouring tiles share: an eighth of a tile, in whole cells (at least one)."""
        return 0 if self.grid == 1 else self.stride * max(1, round(self.size / (8 * self.stride)))

    @property
    def step(self) -> int:
        return self.size - self.overlap

    @property
    def input_size(self) -> int:
        """The side of the model's input: the whole ROI, that the grid is cut from."""
        return self.size + (self.grid - 1) * self.step

    @property
    def cells(self) -> int:
        """One tile's map side in cells."""
        return -(-self.size // self.stride)

    @property
    def map_size(self) -> int:
        """The stitched anomaly map's side in cells."""
        return self.cells + (self.grid - 1) * (self.step // self.stride)

    @classmethod
    def for_input(cls, grid: int, input_size: int, stride: int) -> "TileGrid":
        """The grid whose ``input_size`` is ``input_size`` (the inverse, for inputs already resized)."""
        if grid == 1:
            return cls(1, input_size, stride)
        for size in range(stride, input_size + 1, stride):
            if cls(grid, size, stride).input_size == input_size:
                return cls(grid, size, stride)
        raise ModelError(f"an input of {input_size} px is no {grid}x{grid} grid of tiles",
                         hint="let train_anomaly resize the images (it sizes them for the tiles)")

    def check(self) -> None:
        if self.grid > 1 and self.size % self.stride:
            raise ModelError(f"tiles={self.grid}x{self.grid} needs an input size that is a multiple of "
                             f"{self.stride} px (the feature map's cell), not {self.size}", field="tiles",
                             hint=f"set the preprocessing size to {self.stride * round(self.size / self.stride)}, "
                                  "or use tiles=1x1")

    # ---- in the graph (torch, exported to ONNX) ----------------------------
    def cut(self, x):
        """[N, C, input, input] -> [N * grid^2, C, size, size], image-major (row by row)."""
        if self.grid == 1:
            return x
        import torch

        s, st = self.size, self.step
        tiles = [x[:, :, r * st:r * st + s, c * st:c * st + s] for r in range(self.grid) for c in range(self.grid)]
        return torch.stack(tiles, 1).reshape(-1, x.shape[1], s, s)

    def stitch(self, d):
        """[N * grid^2, 1, cells, cells] distances -> [N, 1, map, map], the larger where tiles overlap."""
        if self.grid == 1:
            return d
        import torch
        import torch.nn.functional as F

        m, big, cs = d.shape[-1], self.map_size, self.step // self.stride
        t = d.reshape(-1, self.grid * self.grid, m, m)
        out = None
        for r in range(self.grid):
            for c in range(self.grid):
                # distances are >= 0, so zero padding never wins the maximum
                placed = F.pad(t[:, r * self.grid + c], (c * cs, big - m - c * cs, r * cs, big - m - r * cs))
                out = placed if out is None else torch.maximum(out, placed)
        return out[:, None]


@dataclass(frozen=True)
class Levers:
    backbone: str
    layers: tuple[int, ...]
    topk: int           # 0 = the maximum
    grid: int
    input_size: int = 0     # 0 = the project's preprocessing size

    @property
    def stride(self) -> int:
        return backbones.get(self.backbone).block_strides[self.layers[0]]

    def tiles(self, size: int) -> TileGrid:
        """The grid for a project input size ``size`` (``input_size``, when set, wins)."""
        grid = TileGrid(self.grid, int(self.input_size or size), self.stride)
        grid.check()
        return grid

    def summary(self) -> dict[str, Any]:
        return {"backbone": self.backbone, "layers": ",".join(map(str, self.layers)),
                "image_score": f"topk:{self.topk}" if self.topk else "max", "tiles": f"{self.grid}x{self.grid}"}


def read(opts: dict[str, Any]) -> Levers:
    """The levers of a merged options dict (missing ones at today's defaults); ModelError naming a bad one."""
    name = backbones.get(opts.get("backbone") or backbones.BACKBONE).name
    return Levers(name, parse_layers(opts.get("layers", "2,4"), name),
                  parse_image_score(opts.get("image_score", "max")), parse_tiles(opts.get("tiles", "1x1")),
                  parse_input_size(opts.get("input_size")))
