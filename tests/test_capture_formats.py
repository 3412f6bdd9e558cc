"""GenICam pixel formats -> uint8 mono / RGB, checked with hand-made buffers."""
import numpy as np
import pytest

from studio.capture.pixel_formats import to_numpy
from studio.core.errors import CameraError

W, H = 6, 4


def test_mono8_reshapes_and_copies():
    data = np.arange(W * H, dtype=np.uint8)
    out = to_numpy(data, W, H, "Mono8")
    assert out.shape == (H, W) and out.dtype == np.uint8
    assert out[1, 2] == 1 * W + 2
    assert not np.shares_memory(out, data)          # the driver refills the buffer right after


def test_mono12_in_uint16_is_scaled_to_8_bits():
    data = np.full(W * H, 4095, np.uint16)
    data[0], data[1] = 0, 2048
    out = to_numpy(data, W, H, "Mono12")
    assert out.dtype == np.uint8 and out.shape == (H, W)
    assert out[0, 0] == 0 and out[0, 1] == 128 and out[0, 2] == 255


def test_mono16_as_raw_little_endian_bytes():
    data = np.full(W * H, 0x8000, "<u2").view(np.uint8)
    assert to_numpy(data, W, H, "Mono16")[2, 3] == 128
    assert to_numpy(np.full(W * H, 1023, np.uint16), W, H, "Mono10")[0, 0] == 255


def test_rgb8_keeps_channel_order():
    pixels = np.zeros((H, W, 3), np.uint8)
    pixels[..., 0], pixels[..., 1], pixels[..., 2] = 10, 20, 30
    out = to_numpy(pixels.reshape(-1), W, H, "RGB8")
    assert out.shape == (H, W, 3) and tuple(out[3, 5]) == (10, 20, 30)


def test_bgr8_is_turned_into_rgb():
    pixels = np.zeros((H, W, 3), np.uint8)
    pixels[..., 0] = 200                             # blue, in BGR order
    out = to_numpy(pixels.reshape(-1), W, H, "BGR8")
    assert tuple(out[0, 0]) == (0, 0, 200)


@pytest.mark.parametrize("fmt, expected", [("RGBa8", (1, 2, 3)), ("BGRa8", (3, 2, 1))])
def test_alpha_is_dropped(fmt, expected):
    pixels = np.zeros((H, W, 4), np.uint8)
    pixels[...] = (1, 2, 3, 255)
    data = pixels.reshape(-1)
    out = to_numpy(data, W, H, fmt)
    assert out.shape == (H, W, 3) and tuple(out[2, 2]) == expected
    assert out.flags.c_contiguous and not np.shares_memory(out, data)


def bayer_rg(r, g, b, h=8, w=8):
    """A uniform colour patch as a GenICam BayerRG mosaic: R at (0,0), G at (0,1)/(1,0), B at (1,1)."""
    raw = np.empty((h, w), np.uint8)
    raw[0::2, 0::2], raw[0::2, 1::2], raw[1::2, 0::2], raw[1::2, 1::2] = r, g, g, b
    return raw


def test_bayer_rg8_demosaics_to_the_right_colour():
    raw = bayer_rg(200, 60, 20)
    out = to_numpy(raw.reshape(-1), 8, 8, "BayerRG8")
    assert out.shape == (8, 8, 3) and out.dtype == np.uint8
    assert tuple(out[4, 4]) == (200, 60, 20)         # interior pixel of a uniform patch


@pytest.mark.parametrize("fmt, rows", [("BayerGB8", ((60, 20), (200, 60))), ("BayerGR8", ((60, 200), (20, 60))),
                                       ("BayerBG8", ((20, 60), (60, 200)))])
def test_other_bayer_layouts(fmt, rows):
    raw = np.empty((8, 8), np.uint8)
    (raw[0::2, 0::2], raw[0::2, 1::2]), (raw[1::2, 0::2], raw[1::2, 1::2]) = rows
    assert tuple(to_numpy(raw.reshape(-1), 8, 8, fmt)[4, 4]) == (200, 60, 20)


def test_bayer_rg12_is_scaled_then_demosaiced():
    raw = bayer_rg(200, 60, 20).astype(np.uint16) << 4
    assert tuple(to_numpy(raw.reshape(-1), 8, 8, "BayerRG12")[4, 4]) == (200, 60, 20)


def test_padded_buffer_is_trimmed_and_short_buffer_is_a_camera_error():
    data = np.arange(W * H + 16, dtype=np.uint8)
    assert to_numpy(data, W, H, "Mono8").shape == (H, W)
    with pytest.raises(CameraError, match="needs 24"):
        to_numpy(np.zeros(10, np.uint8), W, H, "Mono8")


def test_unknown_format_names_the_supported_ones():
    with pytest.raises(CameraError) as err:
        to_numpy(np.zeros(W * H * 2, np.uint8), W, H, "YCbCr422_8")
    assert "YCbCr422_8" in str(err.value) and "BayerRG8" in str(err.value)
    with pytest.raises(CameraError):
        to_numpy(np.zeros(W * H * 2, np.uint8), W, H, "Mono12p")


def test_mono10_as_raw_bytes_and_uint16_agree():
    values = np.array([[0, 4, 1020], [1023, 512, 8]], np.uint16)          # 10-bit samples
    from_u16 = to_numpy(values.ravel(), 3, 2, "Mono10")
    from_bytes = to_numpy(values.astype("<u2").tobytes(), 3, 2, "Mono10")
    assert from_u16.tolist() == [[0, 1, 255], [255, 128, 2]]
    assert np.array_equal(from_u16, from_bytes) and from_u16.dtype == np.uint8
