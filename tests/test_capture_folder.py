"""Replaying a folder of images, and OpenCV video/webcam sources."""
import cv2
import numpy as np
import pytest

from studio.capture.camera import open_camera
from studio.core.errors import CameraError


def write_png(path, value, shape=(20, 30, 3)):
    image = np.full(shape, value, np.uint8)
    cv2.imwrite(str(path), image)


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "good"
    d.mkdir()
    # Natural name order: img2 before img10.
    write_png(d / "img10.png", 30)
    write_png(d / "img2.png", 20)
    write_png(d / "img1.jpg", 10)
    (d / "notes.txt").write_text("not an image")
    return d


def test_replays_in_name_order_and_starts_over(folder):
    with open_camera(f"folder:{folder}") as cam:
        frames = [cam.grab() for _ in range(5)]
    assert [f.meta["file"] for f in frames] == ["img1.jpg", "img2.png", "img10.png", "img1.jpg", "img2.png"]
    assert [f.meta["loop"] for f in frames] == [0, 0, 0, 1, 1]
    assert [f.frame_id for f in frames] == [1, 2, 3, 4, 5]
    assert frames[1].image.shape == (20, 30, 3) and frames[1].image.dtype == np.uint8
    assert abs(int(frames[0].image.mean()) - 10) <= 2 and frames[2].image[0, 0, 0] == 30


def test_corrupt_files_are_skipped_and_recorded(folder):
    (folder / "img3.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (folder / "img4.bmp").write_bytes(b"")
    cam = open_camera(f"folder:{folder}")
    files = [cam.grab().meta for _ in range(4)]
    assert [m["file"] for m in files] == ["img1.jpg", "img2.png", "img10.png", "img1.jpg"]
    assert files[2]["skipped"] == ["img3.png", "img4.bmp"]
    assert cam.info()["skipped"] == ["img3.png", "img4.bmp"] and cam.info()["images"] == 5


def test_folder_of_only_corrupt_files_is_a_camera_error(tmp_path):
    (tmp_path / "a.png").write_bytes(b"junk")
    cam = open_camera(f"folder:{tmp_path}")
    with pytest.raises(CameraError, match="none of the images"):
        cam.grab()


def test_missing_or_empty_folder_is_a_camera_error(tmp_path):
    with pytest.raises(CameraError, match="not found"):
        open_camera(f"folder:{tmp_path / 'nope'}")
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(CameraError, match="no images") as err:
        open_camera(f"folder:{tmp_path}")
    assert ".png" in err.value.hint


def test_mono_and_16_bit_images_come_out_as_uint8(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.full((8, 8), 0x4000, np.uint16))
    frame = open_camera(f"folder:{tmp_path}").grab()
    assert frame.image.shape == (8, 8) and frame.image.dtype == np.uint8 and frame.image[0, 0] == 0x40


def test_video_replays_frames_in_rgb_then_ends(tmp_path):
    path = tmp_path / "line.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    if not writer.isOpened():
        pytest.skip("this OpenCV build cannot write MJPEG video")
    for value in (40, 120, 200):
        frame = np.zeros((48, 64, 3), np.uint8)
        frame[..., 2] = value                              # red, in OpenCV's BGR order
        writer.write(frame)
    writer.release()
    with open_camera(f"video:{path}") as cam:
        frames = [cam.grab() for _ in range(3)]
        with pytest.raises(CameraError, match="video ended"):
            cam.grab()
    assert frames[0].image.shape == (48, 64, 3)
    reds = [int(f.image[..., 0].mean()) for f in frames]
    assert all(abs(r - v) < 12 for r, v in zip(reds, (40, 120, 200)))
    assert frames[1].image[..., 2].mean() < 15                    # RGB: blue stays dark
    assert [f.frame_id for f in frames] == [0, 1, 2]


def test_missing_video_and_bad_webcam_spec_are_camera_errors(tmp_path):
    with pytest.raises(CameraError, match="video file not found"):
        open_camera(f"video:{tmp_path / 'none.mp4'}")
    (tmp_path / "fake.mp4").write_bytes(b"not a video")
    with pytest.raises(CameraError, match="cannot be read as a video"):
        open_camera(f"video:{tmp_path / 'fake.mp4'}")
    with pytest.raises(CameraError, match="camera number"):
        open_camera("opencv:front")
    with pytest.raises(CameraError, match="no camera at OpenCV index 97") as err:
        open_camera("opencv:97")
    assert "opencv:0" in err.value.hint
