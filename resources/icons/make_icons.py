"""Render the application icon's PNG sizes and the Windows ICO from the SVG (run after editing it).

    QT_QPA_PLATFORM=offscreen python resources/icons/make_icons.py

Needs PySide6 (QtSvg) and Pillow (for the ICO); the outputs are committed, so an
installed studio needs neither at run time beyond PySide6.
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def main() -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841
    renderer = QSvgRenderer(str(HERE / "inspection-studio.svg"))
    for size in SIZES:
        img = QImage(size, size, QImage.Format.Format_ARGB32)
        img.fill(Qt.GlobalColor.transparent)
        p = QPainter(img)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(p)
        p.end()
        img.save(str(HERE / f"inspection-studio-{size}.png"))
    from PIL import Image

    big = Image.open(HERE / "inspection-studio-256.png")
    big.save(HERE / "inspection-studio.ico", sizes=[(s, s) for s in SIZES if s <= 256])


if __name__ == "__main__":
    main()
