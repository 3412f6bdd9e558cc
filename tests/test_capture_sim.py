"""The simulated camera: deterministic parts, visible defects with truth, lighting faults."""
import json
import time

import cv2
import numpy as np
import pytest

from studio.capture.camera import open_camera
from studio.capture.scene import DEFECTS
from studio.capture.sim import SimCamera
from studio.core.errors import CameraError


def frame(spec="sim", index=0, **options):
    image, meta, mask = SimCamera(spec.partition(":")[2], **options).render(index)
    return image, meta, mask


def test_default_frame_is_rgb_400x300_uint8_with_json_meta():
    with open_camera("sim:seed=1") as cam:
        f = cam.grab()
        assert f.image.shape == (300, 400, 3) and f.image.dtype == np.uint8
        assert f.meta["truth"] == {"defect": None, "defect_box": None}
        assert f.meta["seed"] == 1 and f.meta["index"] == 0 and f.frame_id == 0
        assert set(f.meta["lighting"]) >= {"exposure", "uneven", "glare", "blur", "flicker", "noise"}
        json.dumps(f.meta)                                   # stored in dataset.json as is
        assert cam.last_mask() is None
        assert cam.grab().meta["index"] == 1
        assert abs(f.timestamp - time.time()) < 60


def test_part_is_brighter_than_the_belt_and_has_holes():
    image, _, _ = frame("sim:seed=2,noise=0")
    gray = image.mean(axis=2)
    assert gray[150, 120] > gray[150, 20] + 60              # brushed plate vs dark belt
    assert gray[150, 200] < 60                               # central bore is dark


def test_same_seed_and_index_give_identical_frames_and_others_differ():
    a, meta_a, _ = frame("sim:seed=5", index=3)
    b, meta_b, _ = frame("sim:seed=5", index=3)
    assert np.array_equal(a, b) and meta_a == meta_b
    other_seed, _, _ = frame("sim:seed=6", index=3)
    other_index, _, _ = frame("sim:seed=5", index=4)
    assert not np.array_equal(a, other_seed)
    assert not np.array_equal(a, other_index)


def test_grab_sequence_replays_after_reopen():
    cam = open_camera("sim:seed=9,defect_rate=0.5")
    first = [cam.grab().image for _ in range(3)]
    cam.close()
    cam.open()
    again = [cam.grab().image for _ in range(3)]
    assert all(np.array_equal(x, y) for x, y in zip(first, again))


def test_pose_jitter_is_small():
    poses = [frame("sim:seed=3", index=i)[1]["pose"] for i in range(20)]
    assert all(abs(p["dx"]) <= 4 and abs(p["dy"]) <= 4 and abs(p["angle"]) < 2 for p in poses)
    assert len({(p["dx"], p["angle"]) for p in poses}) > 15            # but parts do move


@pytest.mark.parametrize("defect", DEFECTS)
def test_each_defect_changes_the_image_inside_its_truth_box(defect):
    clean, _, _ = frame("sim:seed=4", index=2)
    image, meta, mask = frame("sim:seed=4", index=2, defect=defect)
    assert meta["truth"]["defect"] == defect
    x, y, w, h = meta["truth"]["defect_box"]
    assert 3 <= w <= 120 and 3 <= h <= 120
    diff = np.abs(image.astype(int) - clean.astype(int)).max(axis=2)
    inside = np.zeros(diff.shape, bool)
    inside[y:y + h, x:x + w] = True
    assert diff[inside].max() >= 40, "defect must be visible"
    assert diff[inside].mean() > 5 * (diff[~inside].mean() + 0.1)
    assert diff[~inside].max() <= 3          # elsewhere: nothing changed beyond the sensor noise (2)
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 1}
    assert mask[inside].sum() > 5 and mask[~inside].sum() == 0


def test_last_mask_follows_the_last_grab():
    cam = open_camera("sim:seed=4,defect=stain")
    f = cam.grab()
    x, y, w, h = f.meta["truth"]["defect_box"]
    assert cam.last_mask()[y:y + h, x:x + w].any()
    cam.options["defect"] = None
    cam.grab()
    assert cam.last_mask() is None


def test_defect_rate_draws_roughly_that_share_of_defects():
    cam = SimCamera("seed=0,defect_rate=0.3")
    truths = [cam.render(i)[1]["truth"]["defect"] for i in range(50)]
    share = sum(t is not None for t in truths) / 50
    assert 0.15 <= share <= 0.45
    assert len({t for t in truths if t}) >= 3                # several kinds of defect
    assert all(cam.render(i)[1]["truth"]["defect"] is None for i in range(10)
               for cam in [SimCamera("seed=0")])              # default rate is 0


def test_forced_defect_appears_on_every_frame():
    cam = SimCamera("seed=1,defect=missing_hole")
    assert all(cam.render(i)[1]["truth"]["defect"] == "missing_hole" for i in range(10))


def test_missing_hole_fills_a_dark_hole_with_metal():
    clean, _, _ = frame("sim:seed=8,noise=0")
    image, meta, _ = frame("sim:seed=8,noise=0", defect="missing_hole")
    x, y, w, h = meta["truth"]["defect_box"]
    cy, cx = y + h // 2, x + w // 2
    assert clean[cy, cx].mean() < 70 and image[cy, cx].mean() > 120


def mean(spec, index=0):
    return frame(spec, index)[0].astype(float).mean()


def test_exposure_raises_mean_and_clips():
    normal, _, _ = frame("sim:seed=1")
    over, meta, _ = frame("sim:seed=1,exposure=2.5")
    under, _, _ = frame("sim:seed=1,exposure=0.3")
    assert over.mean() > normal.mean() * 1.8 and under.mean() < normal.mean() * 0.4
    assert (over == 255).mean() > 0.15 and (normal == 255).mean() < 0.001
    assert meta["lighting"]["exposure"] == 2.5


def test_blur_lowers_laplacian_variance():
    def sharpness(spec):
        return cv2.Laplacian(frame(spec)[0].mean(axis=2), cv2.CV_64F).var()
    assert sharpness("sim:seed=1,blur=2.5") < 0.3 * sharpness("sim:seed=1")


def test_flicker_varies_brightness_from_frame_to_frame():
    steady = [mean("sim:seed=1", i) for i in range(10)]
    flicker = [mean("sim:seed=1,flicker=0.8", i) for i in range(10)]
    assert np.std(flicker) > 5 * np.std(steady) and np.std(flicker) > 5


def test_uneven_light_darkens_one_side():
    def left_right(spec):
        g = frame(spec)[0].astype(float).mean(axis=2)
        return g[:, :200].mean() - g[:, 200:].mean()
    assert left_right("sim:seed=1,uneven=0.8") > left_right("sim:seed=1") + 20


def test_glare_adds_saturated_pixels():
    plain, _, _ = frame("sim:seed=1")
    glare, _, _ = frame("sim:seed=1,glare=0.8")
    assert (glare.min(axis=2) == 255).sum() > (plain.min(axis=2) == 255).sum() + 200


def test_noise_option_sets_the_noise_level():
    a, _, _ = frame("sim:seed=1,noise=0")
    b, _, _ = frame("sim:seed=1,noise=10")
    assert np.array_equal(a, frame("sim:seed=1,noise=0")[0])
    assert 6 < np.std(b.astype(float) - a.astype(float)) < 14


def test_mono_and_size_options():
    image, _, mask = frame("sim:seed=1,mono=1,width=200,height=150,defect=dent")
    assert image.shape == (150, 200) and image.dtype == np.uint8
    assert mask.shape == (150, 200) and mask.any()


def test_settings_override_the_spec_and_unknown_features_are_listed():
    cam = open_camera("sim:seed=1,exposure=1", {"exposure": 0.5, "ExposureTime": 5000})
    assert cam.options["exposure"] == 0.5
    assert cam.info()["unsupported_features"] == ["ExposureTime"]


@pytest.mark.parametrize("spec, words", [("sim:defect=crack", "scratch"), ("sim:foo=1", "defect_rate"),
                                         ("sim:seed=-1", "seed"), ("sim:width=ten", "width"),
                                         ("sim:glare=1.5", "0..1"), ("sim:seed", "key=value")])
def test_bad_sim_options_are_camera_errors_that_say_what_to_write(spec, words):
    with pytest.raises(CameraError) as err:
        open_camera(spec)
    assert words in str(err.value)


def test_render_with_every_fault_on_gives_whole_frames():
    """(How fast it renders is measured in benchmarks/station_latency.py, not here.)"""
    cam = open_camera("sim:seed=1,defect_rate=0.5,uneven=0.3,glare=0.3,flicker=0.3")
    frames = [cam.grab() for _ in range(15)]
    assert len({f.frame_id for f in frames}) == 15
    assert all(f.image.dtype == np.uint8 and f.image.ndim == 3 and f.image.std() > 0 for f in frames)


def test_fps_paces_grabs():
    cam = open_camera("sim:fps=50,width=64,height=48")
    t = time.perf_counter()
    for _ in range(6):
        cam.grab()
    assert time.perf_counter() - t >= 5 / 50 * 0.9
