"""resources/: the icon, desktop entry, style sheet and templates, found in a checkout and in an installed wheel."""
import configparser
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from studio.core import resources as R

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p.relative_to(REPO / "resources") for p in (REPO / "resources").rglob("*")
                 if p.is_file() and p.name != "make_icons.py" and "__pycache__" not in p.parts)


def test_the_checkout_finds_its_resources_folder():
    assert R.resources_dir() == REPO / "resources"
    assert R.resource("styles", "studio.qss").is_file()
    with pytest.raises(Exception, match="missing"):
        R.resource("styles", "no-such.qss")


def test_icon_sizes_svg_ico_and_desktop_entry():
    import cv2

    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        img = cv2.imread(str(R.resource("icons", f"inspection-studio-{size}.png")), cv2.IMREAD_UNCHANGED)
        assert img.shape == (size, size, 4), size
        assert img[size // 2, size // 2, 3] == 255 and img[0, 0, 3] < 128        # opaque body, rounded corners
    assert R.resource("icons", "inspection-studio.svg").read_text().lstrip().startswith("<?xml")
    ico = R.resource("icons", "inspection-studio.ico").read_bytes()
    assert ico[:4] == b"\0\0\1\0" and int.from_bytes(ico[4:6], "little") >= 5       # an ICO with 5+ sizes
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(R.resource("inspection-studio.desktop"))
    d = entry["Desktop Entry"]
    assert d["Type"] == "Application" and d["Exec"].startswith("studio gui") and d["Icon"] == "inspection-studio"


def test_the_style_sheet_is_the_file_and_uses_the_named_colours():
    import PySide6  # noqa: F401  a core dependency: a broken install fails, never skips
    from studio.gui import style

    qss = R.resource("styles", "studio.qss").read_text()
    assert style.STYLE_SHEET == qss and "QPushButton[role=\"primary\"]" in qss
    for colour in (style.ACCENT, style.PASS_GREEN, style.REJECT_RED, style.BORDERLINE_AMBER, style.MUTED):
        assert colour in qss


def test_the_demo_template_comes_from_resources(tmp_path):
    from studio.project import Project
    from studio.project import templates

    assert "demo" in templates.names()
    p = Project.create(tmp_path / "d", template="demo")
    assert [c.name for c in p.criteria.classes] == ["scratch", "dent", "stain", "missing_hole"]
    assert p.task == "anomaly" and p.settings["camera"]["spec"].startswith("sim:")
    assert p.settings["training"]["classification"]["epochs"] == 5
    assert "batch_size" in p.settings["training"]["classification"]          # merged over the defaults
    with pytest.raises(Exception, match="unknown template 'nope'"):
        Project.create(tmp_path / "x", template="nope")


@pytest.mark.gui
def test_the_main_window_shows_the_icon(qtbot, demo_project):
    from studio.gui.main_window import MainWindow

    w = MainWindow(demo_project)
    qtbot.addWidget(w)
    sizes = {s.width() for s in w.windowIcon().availableSizes()}
    assert {16, 32, 48, 256} <= sizes
    w.shutdown_pages()


@pytest.mark.slow
def test_a_built_wheel_holds_every_resource_and_an_installed_studio_finds_them(tmp_path):
    out = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    str(REPO), "-w", str(out)], check=True, cwd=tmp_path, capture_output=True)
    wheel = next(out.glob("*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    data = {n.split(".data/data/share/inspection-studio/", 1)[1] for n in names
            if ".data/data/share/inspection-studio/" in n}
    assert sorted(data) == sorted(str(p) for p in SHIPPED)
    assert any(n.endswith("share/applications/inspection-studio.desktop") for n in names)
    assert any(n.endswith("share/icons/hicolor/scalable/apps/inspection-studio.svg") for n in names)
    # install into a fresh environment (no dependencies needed for the lookup) and ask from there
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    # (without PYTHONPATH: a checkout on it carries an egg-info that pip would take for the installed studio)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "STUDIO_RESOURCES")}
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True,
                   capture_output=True, env=env, cwd=tmp_path)
    run = subprocess.run([str(py), "-c", "from studio.core.resources import resources_dir, resource;"
                          "print(resources_dir()); print(resource('templates', 'demo', 'criteria.yaml'))"],
                         capture_output=True, text=True, cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    got = run.stdout.split()
    assert Path(got[0]) == venv / "share" / "inspection-studio"
    assert Path(got[1]).is_file()


@pytest.mark.gui
def test_the_kiosk_shows_the_icon(qtbot):
    from studio.core.events import Emitter
    from studio.gui.kiosk import KioskWindow

    class _Station:            # what the view reads of a station before it starts
        def __init__(self):
            self.events, self.fault, self.project = Emitter(), None, None

    w = KioskWindow(_Station(), owns_station=False)
    qtbot.addWidget(w)
    assert {16, 32, 256} <= {s.width() for s in w.windowIcon().availableSizes()}
