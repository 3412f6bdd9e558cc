"""The criteria document for the line: HTML, one page per defect class, with its example images.

Print it from any browser (each class starts a new page), or to PDF from the
studio's criteria editor. Example images are embedded, so the file stands
alone on a line PC with no project folder.
"""
from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from studio.core.atomic import atomic_write_text
from studio.criteria.examples import EXAMPLE_KINDS, examples_of

KIND_WORDS = {"reject": "Clear reject", "accept": "Clear accept", "borderline": "Borderline (decided)"}
SEVERITY_COLOURS = {"critical": "#b00020", "major": "#d35400", "minor": "#7f8c8d", "cosmetic": "#2c7a7b"}

CSS = """
body { font-family: sans-serif; margin: 0; color: #111; }
.page { padding: 16mm; }
h1 { font-size: 26pt; margin: 0 0 4pt 0; }
.sev { display: inline-block; color: white; padding: 2pt 8pt; border-radius: 4pt; font-weight: bold; }
.rule { font-size: 18pt; font-weight: bold; border: 3pt solid #111; padding: 8pt; margin: 10pt 0; }
.def { font-size: 13pt; }
.examples { display: flex; gap: 10pt; flex-wrap: wrap; }
figure { margin: 0; width: 30%; }
figure img { width: 100%; border: 1pt solid #999; }
figcaption { font-size: 10pt; }
.foot { color: #555; font-size: 9pt; margin-top: 12pt; }
"""


def _thumb(project: Any, image_id: str, size: int = 360) -> str | None:
    import cv2

    from studio.dataset.store import encode_png

    try:
        img = project.dataset.load(project.dataset.get(image_id))
    except Exception:  # a missing example image is left out, not fatal
        return None
    h, w = img.shape[:2]
    scale = size / max(h, w)
    if scale < 1:
        img = cv2.resize(img, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)
    return "data:image/png;base64," + base64.b64encode(encode_png(img)).decode("ascii")


def render_html(project: Any, doc: Any | None = None, image_src=None) -> str:
    """The whole document; ``image_src(image_id)`` gives each example's src (default: embedded PNG)."""
    doc = doc or project.criteria
    image_src = image_src or (lambda image_id: _thumb(project, image_id))
    last = doc.history[-1] if doc.history else {}
    foot = (f"{html.escape(project.name)} — acceptance criteria version {doc.version}"
            f"{', ' + html.escape(str(last.get('date', ''))) if last.get('date') else ''}"
            f"{', ' + html.escape(str(last.get('author', ''))) if last.get('author') else ''}")
    pages = []
    for n, c in enumerate(doc.classes):
        brk = " style='page-break-after: always'" if n < len(doc.classes) - 1 else ""
        ex = examples_of(doc, c.name)
        figs = []
        for kind in EXAMPLE_KINDS:
            for e in ex.get(kind, []):
                src = image_src(e["image_id"])
                if src is None:
                    continue
                figs.append(f"<figure><img src='{src}' alt='{html.escape(e['image_id'])}'>"
                            f"<figcaption><b>{KIND_WORDS[kind]}</b> — {html.escape(e['image_id'])}"
                            f"{': ' + html.escape(e.get('note', '')) if e.get('note') else ''}</figcaption></figure>")
        colour = SEVERITY_COLOURS.get(c.severity, "#555")
        pages.append(
            f"<div class='page'{brk}><h1>{html.escape(c.name)} <small>(class {c.id})</small></h1>"
            f"<span class='sev' style='background:{colour}'>{html.escape(c.severity)}</span>"
            f"<p class='def'>{html.escape(c.definition)}</p>"
            f"<div class='rule'>{html.escape(c.rule_text(doc.pixel_size_mm))}</div>"
            f"<div class='examples'>{''.join(figs) or '<p>No example images yet.</p>'}</div>"
            f"<p class='foot'>{foot}</p></div>")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Acceptance criteria v{doc.version}"
            f"</title><style>{CSS}</style></head><body>{''.join(pages)}</body></html>")


def write_html(project: Any, out: str | Path) -> Path:
    out = Path(out)
    atomic_write_text(out, render_html(project))
    return out
