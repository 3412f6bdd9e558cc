"""How the focus check's absolute limit (no baseline) separates sharp from defocused real scenes.

Real images from ../shared/data (magnetic tile, NEU, DeepPCB; or STUDIO_SHARED_DATA), each
resized to 800x600, blurred by a Gaussian of sigma 0..5 px and given sensor noise of 0 or 2
gray levels; prints per strength the share of frames the focus check fails, with the old
re-blur score (``score``) and the noise-proof ``detail`` score that the limit now judges.

    PYTHONPATH=. python benchmarks/focus_detection.py [--per-set 12]
"""
from __future__ import annotations

import argparse
import glob
import os
from pathlib import Path

import cv2
import numpy as np

from studio.lighting import measures as M
from studio.lighting.limits import DEFAULTS

DATA = Path(os.environ.get("STUDIO_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
SETS = {"magnetic tile": "magnetic_tile/MT_*/Imgs/*.jpg", "NEU": "neu_det/IMAGES/*.jpg",
        "DeepPCB": "deeppcb/group*/*/*_test.jpg"}
SIGMAS = (0, 1, 2, 3, 5)
NOISES = (0, 2)


def frames(per_set: int) -> dict[str, list[np.ndarray]]:
    out = {}
    for name, pattern in SETS.items():
        files = sorted(glob.glob(str(DATA / pattern)))
        pick = files[:: max(1, len(files) // per_set)][:per_set]
        out[name] = [cv2.resize(cv2.imread(f, cv2.IMREAD_GRAYSCALE), (800, 600), interpolation=cv2.INTER_CUBIC)
                     .astype(np.float32) for f in pick]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-set", type=int, default=12)
    args = ap.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"needs the shared images at {DATA} (set STUDIO_SHARED_DATA)")
    limit = DEFAULTS["focus"]["score_min"]
    rng = np.random.default_rng(0)
    print(f"focus limit without a baseline: detail >= {limit}  (old: re-blur score >= 0.6)")
    print(f"{'set':14} {'noise':>5} " + " ".join(f"{'s=' + str(s):>15}" for s in SIGMAS))
    print(f"{'':14} {'':>5} " + " ".join(f"{'old/new fail':>15}" for _ in SIGMAS))
    for name, imgs in frames(args.per_set).items():
        for noise in NOISES:
            cells = []
            for sigma in SIGMAS:
                old = new = 0
                for g in imgs:
                    im = g if sigma == 0 else cv2.GaussianBlur(g, (0, 0), sigma)
                    im = np.clip(im + rng.normal(0, noise, im.shape), 0, 255).astype(np.uint8).astype(np.float32)
                    old += M.sharpness_score(im) < 0.6
                    new += M.detail_score(im) < limit
                cells.append(f"{old * 100 // len(imgs):>6}%/{new * 100 // len(imgs):>3}%")
            print(f"{name:14} {noise:>5} " + " ".join(f"{c:>15}" for c in cells))


if __name__ == "__main__":
    main()
