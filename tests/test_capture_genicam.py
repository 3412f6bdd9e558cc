"""GenICam through harvesters, against the virtual 'viky' producer in the genicam wheel."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from studio.capture.camera import open_camera
from studio.core.errors import CameraError

import harvesters.core  # noqa: F401  a core dependency: a broken install fails, never skips


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


# ---- features, trigger modes, counters, reconnect ----------------------------------------

def test_list_devices_gives_a_spec_for_each_camera(viky):
    from studio.capture.genicam import list_devices

    devices = list_devices("viky")
    assert [d["serial"] for d in devices] == ["0", "1", "2"]
    assert devices[1]["spec"] == "genicam:viky#1" and devices[0]["model"] == "Viky"


def test_features_read_write_and_missing_ones_without_errors(viky):
    with open_camera("genicam:viky#0", {"trigger": "free"}) as cam:
        feats = cam.features()
        assert feats["Width"]["available"] and feats["Width"]["writable"] and feats["Width"]["value"] == 400
        assert feats["PixelFormat"]["choices"] == ["RGBa8", "Mono8"]
        assert feats["AcquisitionFrameRate"]["value"] == 20.0
        for missing in ("ExposureTime", "Gain", "TriggerMode", "TriggerSoftware", "OffsetX"):
            assert feats[missing] == {"name": missing, "available": False}
        assert cam.set_feature("ExposureTime", 1000) == (False, "this camera has no such feature")
        assert cam.set_feature("AcquisitionFrameRate", 25.0) == (True, "")
        assert cam.features()["AcquisitionFrameRate"]["value"] == 25.0
        ok, why = cam.set_feature("Width", 5000)                    # out of range: a reason, no exception
        assert not ok and why
        assert cam.set_feature("Width", 320) == (True, "")          # locked while streaming: restarts it
        assert cam.grab(timeout=3).image.shape == (400, 320, 3)
        assert cam.settings["Width"] == 320


def test_free_run_counts_frames_and_skips(viky):
    with open_camera("genicam:viky", {"trigger": "free", "AcquisitionFrameRate": 50.0}) as cam:
        frames = [cam.grab(timeout=3) for _ in range(6)]
        stats = cam.stats()
    assert stats["frames"] == 6 and stats["incomplete"] == 0 and stats["dropped"] == 0 and stats["timeouts"] == 0
    assert stats["last_frame_id"] == frames[-1].frame_id and stats["fps"] > 0
    assert all(f.meta["trigger"] == "free" for f in frames)
    assert cam.info()["trigger"] == "free"


def test_software_trigger_is_refused_clearly_by_a_camera_without_one(viky):
    with pytest.raises(CameraError, match="no software trigger"):
        open_camera("genicam:viky", {"trigger": "software"})
    with pytest.raises(CameraError, match="no trigger input"):
        open_camera("genicam:viky", {"trigger": "hardware"})
    with pytest.raises(CameraError, match="trigger mode 'sometimes'"):
        open_camera("genicam:viky", {"trigger": "sometimes"})


def test_device_destroyed_mid_acquisition_is_reported_fast_and_reconnects(viky):
    import time

    from studio.capture.reconnect import Reconnecting

    events = []
    cam = Reconnecting(open_camera("genicam:viky#1"), retry_s=0.2, on_event=lambda k, p: events.append((k, p)))
    try:
        before = cam.grab(timeout=3)
        assert before.meta["epoch"] == 0
        cam.camera._acquirer.destroy()                      # the device goes away under the stream
        t = time.monotonic()
        with pytest.raises(CameraError):
            cam.grab(timeout=0.8)                           # the waiting part gets no frame at all
        assert time.monotonic() - t < 1.0
        assert [k for k, _ in events] == ["lost"] and cam.connection()["state"] == "lost"
        after = cam.grab(timeout=3)                         # re-opened without restarting anything
        assert after.meta["epoch"] == 1 and after.image.shape == (400, 400, 3)
        assert [k for k, _ in events] == ["lost", "reconnected"]
        assert cam.stats()["reconnects"] == 1 and cam.connection()["state"] == "connected"
        assert cam.grab(timeout=3).meta["epoch"] == 1
    finally:
        cam.close()


def test_cli_lists_cameras_and_reads_and_sets_features(viky, capsys, monkeypatch, tmp_path):
    import json

    from studio.cli.main import main

    monkeypatch.setenv("GENICAM_GENTL64_PATH", str(tmp_path))      # no vendor SDK here: only viky
    assert main(["camera", "list", "--json"]) == 0
    producers = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["producers"]
    assert [p["spec"] for p in producers] == ["genicam:viky"]
    assert [d["spec"] for d in producers[0]["devices"]] == ["genicam:viky#0", "genicam:viky#1", "genicam:viky#2"]

    code = main(["camera", "features", "genicam:viky#1", "--set", "AcquisitionFrameRate=30", "--set", "Gain=3",
                 "--json"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 1                                            # one setting was refused
    assert out["set"]["AcquisitionFrameRate"]["ok"] and not out["set"]["Gain"]["ok"]
    assert out["features"]["AcquisitionFrameRate"]["value"] == 30.0
    assert out["features"]["ExposureTime"] == {"name": "ExposureTime", "available": False}
    assert main(["camera", "features", "sim:seed=1"]) == 0
    assert "has no camera features" in capsys.readouterr().out
