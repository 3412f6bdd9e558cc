"""Camera specs: parsing, the backend registry, errors that say what to write."""
import subprocess
import sys
from pathlib import Path

import pytest

from studio.capture.camera import CAMERAS, Camera, parse_options, parse_spec, open_camera
from studio.core.errors import CameraError


def test_every_backend_is_registered():
    assert CAMERAS.names() == ["folder", "genicam", "opencv", "sim", "video"]


@pytest.mark.parametrize("spec, parsed", [
    ("sim", ("sim", "")),
    ("sim:seed=7,defect_rate=0.3", ("sim", "seed=7,defect_rate=0.3")),
    (" GenICam:C:\\Program Files\\x.cti#42 ", ("genicam", "C:\\Program Files\\x.cti#42")),
    ("opencv:0", ("opencv", "0")),
    ("folder:/data/good", ("folder", "/data/good")),
])
def test_parse_spec(spec, parsed):
    assert parse_spec(spec) == parsed


def test_unknown_backend_lists_every_spec_form():
    with pytest.raises(CameraError) as err:
        open_camera("nope:1")
    text = str(err.value)
    assert "unknown camera 'nope'" in text
    for form in ("sim[:k=v,...]", "genicam:<producer.cti>[#serial]", "opencv:<index>", "video:<file>",
                 "folder:<dir>"):
        assert form in text


@pytest.mark.parametrize("spec", ["", "   ", "folder", "video:", "genicam:"])
def test_empty_spec_or_missing_argument_is_a_camera_error(spec):
    with pytest.raises(CameraError):
        parse_spec(spec)


def test_parse_options():
    assert parse_options(" seed = 7, DEFECT=scratch,") == {"seed": "7", "defect": "scratch"}
    with pytest.raises(CameraError, match="not key=value"):
        parse_options("seed7")


def test_context_manager_opens_once_and_closes():
    cam = open_camera("sim:width=64,height=48")
    with cam as same:
        assert same is cam and cam.is_open
        assert cam.grab().frame_id == 0
    assert not cam.is_open
    with pytest.raises(CameraError, match="not open"):
        cam.grab()
    with cam:                                    # a closed camera is reopened by 'with'
        assert cam.grab().image.shape == (48, 64, 3)


def test_sim_does_not_load_harvesters():
    # In a fresh interpreter: backends are imported only when their spec is used.
    code = ("import sys; from studio.capture import open_camera; open_camera('sim:width=64,height=48').grab(); "
            "print(sorted(m for m in ('harvesters.core', 'torch', 'PySide6') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_every_camera_is_a_camera_with_info():
    cam = open_camera("sim:width=64,height=48")
    assert isinstance(cam, Camera)
    info = cam.info()
    assert {"model", "serial", "width", "height", "pixel_format"} <= info.keys()
    assert (info["width"], info["height"], info["pixel_format"]) == (64, 48, "RGB8")
