"""GenICam through harvesters, against the virtual 'viky' producer in the genicam wheel."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from studio.capture.camera import open_camera
from studio.core.errors import CameraError

pytest.importorskip("harvesters.core")


@pytest.fixture(scope="module")
def viky() -> Path:
    spec = importlib.util.find_spec("genicam")
    cti = Path(spec.origin).parent / "viky.cti"
    if not cti.is_file():
        pytest.skip("the genicam wheel has no viky.cti here")
    return cti


def test_open_grab_three_frames_and_close(viky):
    cam = open_camera(f"genicam:{viky}")
    try:
        frames = [cam.grab(timeout=3) for _ in range(3)]
        first = frames[0].image.copy()
        for _ in range(4):                  # the driver's 3 buffers are all refilled meanwhile
            cam.grab(timeout=3)
        info = cam.info()
    finally:
        cam.close()
    assert all(f.image.shape == (400, 400, 3) and f.image.dtype == np.uint8 for f in frames)
    ids = [f.frame_id for f in frames]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert frames[0].meta["pixel_format"] == "RGBa8" and frames[0].meta["model"] == "Viky"
    assert info["serial"] == "0" and info["width"] == 400 and info["unsupported_features"] == []
    assert not cam.is_open
    # Viky's ball moves, so a view into a reused driver buffer would have changed.
    assert not np.array_equal(frames[0].image, frames[1].image)
    assert np.array_equal(frames[0].image, first)


def test_viky_shortcut_serial_and_settings(viky):
    settings = {"Width": 200, "PixelFormat": "Mono8", "ExposureTime": 1000, "AcquisitionFrameRate": "fast"}
    with open_camera("genicam:viky#2", settings) as cam:
        f = cam.grab(timeout=3)
        info = cam.info()
    assert f.image.shape == (400, 200) and f.meta["serial"] == "2"
    # Features the camera lacks or refuses are reported, not raised.
    assert set(info["unsupported_features"]) == {"ExposureTime", "AcquisitionFrameRate"}
    assert info["width"] == 200 and info["pixel_format"] == "Mono8"


def test_camera_can_be_opened_again_after_close(viky):
    for _ in range(2):
        with open_camera(f"genicam:{viky}#1") as cam:
            assert cam.grab(timeout=3).image.shape == (400, 400, 3)


def test_serial_not_found_lists_the_cameras(viky):
    with pytest.raises(CameraError) as err:
        open_camera(f"genicam:{viky}#NOPE")
    assert "NOPE" in str(err.value) and "0, 1, 2" in str(err.value)


def test_missing_producer_is_a_camera_error_with_a_hint(tmp_path):
    with pytest.raises(CameraError) as err:
        open_camera(f"genicam:{tmp_path / 'vendor.cti'}")
    assert "vendor.cti" in str(err.value) and ".cti" in err.value.hint


def test_grab_after_close_is_a_camera_error(viky):
    cam = open_camera(f"genicam:{viky}")
    cam.close()
    with pytest.raises(CameraError, match="not open"):
        cam.grab()
