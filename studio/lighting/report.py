"""Pictures and the human-readable report of an audit (OpenCV drawing, no Qt).

``pictures(audit)`` renders PNG bytes: the frame with clipped pixels (red)
and hot spots (magenta) marked, the gray-level histogram with the clip
limits, and the fitted illumination field as a heat map. ``html(...)``
embeds them in one self-contained HTML file a person can open anywhere.
"""
from __future__ import annotations

import base64
import html as _html
from typing import Any

import cv2
import numpy as np

from studio.core.png import encode_png


def _png(rgb: np.ndarray) -> bytes:
    return encode_png(rgb)          # the studio's one encoder (RGB order)


def frame_overlay(frame: np.ndarray, clipped: np.ndarray | None, spots: np.ndarray | None) -> np.ndarray:
    rgb = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB) if frame.ndim == 2 else frame[..., :3].copy()
    if clipped is not None and clipped.shape == rgb.shape[:2]:
        rgb[clipped] = (255, 0, 0)
    if spots is not None and spots.shape == rgb.shape[:2]:
        rgb[spots] = (255, 0, 255)
    return rgb


def histogram_image(hist: np.ndarray, clip_low: float = 2, clip_high: float = 253,
                    size: tuple[int, int] = (512, 200)) -> np.ndarray:
    w, h = size
    img = np.full((h, w, 3), 250, np.uint8)
    counts = np.log1p(hist.astype(np.float64))
    top = counts.max() or 1.0
    xs = (np.arange(256) * (w - 1) / 255).astype(np.int32)
    ys = (h - 1 - counts / top * (h - 20)).astype(np.int32)
    poly = np.concatenate([[[0, h - 1]], np.stack([xs, ys], 1), [[w - 1, h - 1]]]).astype(np.int32)
    cv2.fillPoly(img, [poly], (90, 120, 170))
    for level in (clip_low, clip_high):
        x = int(level * (w - 1) / 255)
        cv2.line(img, (x, 0), (x, h - 1), (200, 40, 40), 1)
    cv2.putText(img, "gray level (log count)", (6, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (60, 60, 60), 1,
                cv2.LINE_AA)
    return img


def field_image(field: np.ndarray, size: tuple[int, int] = (320, 240)) -> np.ndarray:
    """Heat map of the illumination field (blue dark .. red bright), darkest point labelled."""
    big = cv2.resize(field, size, interpolation=cv2.INTER_CUBIC)
    norm = np.clip((big - 0.5) / 0.5, 0, 1)          # 0.5 .. 1.0 spans the colour scale
    bgr = cv2.applyColorMap((norm * 255).astype(np.uint8), cv2.COLORMAP_JET)
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    levels = [0.6, 0.7, 0.8, 0.9]
    for lv in levels:
        contours, _ = cv2.findContours((big >= lv).astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(rgb, contours, -1, (255, 255, 255), 1, cv2.LINE_AA)
    y, x = np.unravel_index(int(np.argmin(big)), big.shape)
    cv2.putText(rgb, f"min {field.min() * 100:.0f}%", (min(x, size[0] - 70), max(14, min(y, size[1] - 4))),
                cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return rgb


def pictures(pics: dict[str, np.ndarray], clip_low: float = 2, clip_high: float = 253) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    if "frame" in pics:
        out["frame.png"] = _png(frame_overlay(pics["frame"], pics.get("clipped"), pics.get("hot_spots")))
    if "histogram" in pics:
        out["histogram.png"] = _png(histogram_image(pics["histogram"], clip_low, clip_high))
    if "field" in pics:
        out["uniformity.png"] = _png(field_image(pics["field"]))
    return out


def _img(data: bytes | None, alt: str) -> str:
    if not data:
        return ""
    return f'<img alt="{alt}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def html(result: dict[str, Any], pngs: dict[str, bytes], project_name: str = "") -> str:
    """A self-contained HTML report of one audit (``result`` is ``Audit.to_dict()``)."""
    e = _html.escape
    rows = []
    for c in result["checks"]:
        status = "skipped" if c["passed"] is None else ("pass" if c["passed"] else "fail")
        value = "—" if c["value"] is None else f"{c['value']:.3g}"
        limit = c["limit"]
        limit = f"{limit[0]:g} .. {limit[1]:g}" if isinstance(limit, list) else f"{limit:g}"
        base = "" if c.get("baseline") is None else f"{c['baseline']:.3g}"
        note = c["advice"] or c.get("measures", {}).get("why", "")
        rows.append(f'<tr class="{status}"><td>{e(c["name"])}</td><td>{status.upper()}</td><td>{value}</td>'
                    f'<td>{e(limit)}</td><td>{e(c.get("unit", ""))}</td><td>{base}</td><td>{e(note)}</td></tr>')
    verdict = result["verdict"]
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Lighting audit {e(str(result.get('audit_id') or ''))}</title>
<style>
body {{ font-family: sans-serif; margin: 24px; color: #222; }}
h1 {{ font-size: 22px; }} .verdict {{ font-size: 20px; font-weight: bold; padding: 6px 12px; display: inline-block; }}
.verdict.pass {{ background: #d8f0d8; color: #165a16; }} .verdict.fail {{ background: #f6d6d6; color: #8a1c1c; }}
table {{ border-collapse: collapse; margin: 16px 0; }} td, th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; }}
tr.pass td:nth-child(2) {{ color: #165a16; font-weight: bold; }} tr.fail td:nth-child(2) {{ color: #a01c1c; font-weight: bold; }}
tr.skipped td:nth-child(2) {{ color: #777; }} .pics img {{ margin: 4px 12px 4px 0; border: 1px solid #ccc; max-width: 520px; }}
</style></head><body>
<h1>Lighting audit — {e(project_name)}</h1>
<p>{e(str(result.get('time', '')))} &middot; source {e(str(result.get('source', '')))} &middot; {result.get('frames')} frames
&middot; region {e(str(result.get('roi') or 'whole image'))} &middot; baseline {e(str(result.get('baseline_id') or 'none'))}</p>
<div class="verdict {verdict}">{verdict.upper()}</div>
<table><tr><th>check</th><th>result</th><th>value</th><th>limit</th><th>unit</th><th>baseline</th><th>what to do</th></tr>
{''.join(rows)}</table>
<div class="pics">
<h2>Frame (red: clipped, magenta: specular hot spots)</h2>{_img(pngs.get('frame.png'), 'frame')}
<h2>Histogram</h2>{_img(pngs.get('histogram.png'), 'histogram')}
<h2>Illumination field (uniformity map)</h2>{_img(pngs.get('uniformity.png'), 'uniformity map')}
</div></body></html>
"""
