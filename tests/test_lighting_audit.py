"""The lighting audit on the simulated camera: each injected fault fails its check only."""
import numpy as np
import pytest

from studio.capture.camera import open_camera
from studio.core.errors import ProjectError, StudioError
from studio.lighting import limits as L
from studio.lighting.audit import audit_frames, grab_frames
from studio.lighting.checks import CHECK_NAMES

# The audit scene: the line stopped with a dented part under the camera (labelled defect
# in view, so defect_contrast is judged too).
SCENE = "sim:seed=3,still=1,defect=dent"

# fault injected -> the one check that must fail (the fault x check table)
FAULTS = {
    "exposure=0.35": "exposure",          # under-exposed
    "uneven=0.6": "uniformity",           # one-sided light
    "blur=2": "focus",                    # out of focus
    "noise=9": "noise",                   # high gain / too little light
    "flicker=0.3": "stability",           # mains flicker
    "glare=1": "glare",                   # specular hot spot
    "relief=0.1": "defect_contrast",      # flat light that hides the dent
}


def audit(spec, frames=8, **kw):
    with open_camera(spec) as cam:
        images, masks, classes = grab_frames(cam, frames)
    return audit_frames(images, masks=masks, classes=classes, source=spec, **kw)


def test_clean_scene_passes_every_check():
    a = audit(SCENE)
    assert a.verdict == "pass", a.to_dict()
    assert [c.name for c in a.checks] == list(CHECK_NAMES)
    assert all(c.passed is True for c in a.checks), [(c.name, c.value) for c in a.checks]
    assert all(c.advice == "" for c in a.checks)


@pytest.mark.parametrize("fault,check", FAULTS.items())
def test_fault_fails_its_check_and_no_other(fault, check):
    a = audit(f"{SCENE},{fault}")
    assert a.verdict == "fail"
    assert a.failed() == [check], {c.name: (c.value, c.limit) for c in a.checks}
    failing = a.check(check)
    assert len(failing.advice) > 30                       # says what to do
    assert all(c.passed is True for c in a.checks if c.name != check)


def test_advice_speaks_to_the_fault():
    assert "reduce the exposure time or gain" in audit(f"{SCENE},exposure=2.5").check("exposure").advice.lower()
    assert "raise the exposure" in audit(f"{SCENE},exposure=0.35").check("exposure").advice.lower()
    assert "right side" in audit(f"{SCENE},uneven=0.6").check("uniformity").advice
    assert "dome" in audit(f"{SCENE},glare=1").check("glare").advice
    assert "lamp frequency" in audit(f"{SCENE},flicker=0.3").check("stability").advice
    assert "dark-field" in audit(f"{SCENE},relief=0.1").check("defect_contrast").advice


def test_over_exposure_is_exposure_not_glare():
    a = audit(f"{SCENE},exposure=2.5")
    assert a.check("exposure").passed is False
    assert a.check("exposure").measures["clipped_bright"] > 0.2
    assert a.check("glare").passed is True


def test_glare_clipping_is_not_counted_as_over_exposure():
    a = audit(f"{SCENE},glare=1")
    assert a.check("glare").value > 1.0
    assert a.check("exposure").measures["clipped_bright"] < 0.005


def test_moving_line_without_defects_passes_and_uses_spatial_noise():
    a = audit("sim:seed=5", frames=6)
    assert a.verdict == "pass", a.to_dict()
    assert a.check("noise").measures["method"] == "spatial"
    assert a.check("defect_contrast").passed is None          # nothing labelled in view: skipped


def test_noise_of_a_moving_textured_scene_is_not_judged_from_texture():
    # a fine-grained surface (sandblasted) sliding under the camera with almost no sensor noise:
    # the spatial estimate is high because of the texture, the temporal one because of the motion
    rng = np.random.default_rng(0)
    surface = np.clip(128 + 25 * rng.standard_normal((300, 460)), 0, 255).astype(np.uint8)
    frames = [surface[:, 12 * i:12 * i + 400].copy() for i in range(5)]
    a = audit_frames(frames)
    n = a.check("noise")
    assert n.measures["spatial"] > 10 and n.measures["method"] == "spatial"
    assert n.passed is None and "standing still" in n.measures["why"]
    still = audit_frames([surface[:, :400].copy() for _ in range(5)])      # the same surface standing still
    assert still.check("noise").passed is True and still.check("noise").value < 0.5


def test_still_scene_measures_temporal_noise_close_to_the_truth():
    # sim noise sigma 6 per channel -> gray sigma 6 * |(0.299, 0.587, 0.114)| = 4.0
    a = audit("sim:seed=3,still=1,noise=6", frames=6)
    n = a.check("noise").measures
    assert n["method"] == "temporal"
    assert n["temporal"] == pytest.approx(6 * np.linalg.norm([0.299, 0.587, 0.114]), rel=0.15)


def test_single_frame_cannot_judge_stability_but_audits_the_rest():
    a = audit(SCENE, frames=1)
    assert a.check("stability").passed is None and a.check("stability").value is None
    assert a.check("exposure").passed is True and a.verdict == "pass"


def test_focus_is_judged_against_the_baseline_when_there_is_one():
    clean = audit(SCENE, frames=3)
    baseline = clean.summary
    slightly_soft = audit(f"{SCENE},blur=1.2", frames=3)
    assert slightly_soft.check("focus").passed is True               # still sharp in absolute terms
    judged = audit(f"{SCENE},blur=1.2", frames=3, baseline=baseline)
    f = judged.check("focus")
    assert f.baseline == baseline["focus"] and f.limit == pytest.approx(baseline["focus"] * 0.85, abs=1e-3)
    assert f.passed is False and "baseline" in f.advice


def test_roi_restricts_the_measures():
    # a right-hand strip of the unevenly lit scene is much darker than the whole
    whole = audit(f"{SCENE},uneven=0.6", frames=2)
    right = audit(f"{SCENE},uneven=0.6", frames=2, roi=[300, 0, 100, 300])
    assert right.check("exposure").value < whole.check("exposure").value - 15
    assert right.roi == [300, 0, 100, 300] and right.pictures["frame"].shape[:2] == (300, 100)


def test_limits_are_editable_and_change_the_verdict():
    lim = L.merge({"noise": {"sigma_max": 0.5}})
    assert lim["noise"]["sigma_max"] == 0.5 and lim["exposure"]["mean_min"] == 60
    assert audit(SCENE, frames=3, limits=lim).failed() == ["noise"]


@pytest.mark.parametrize("bad,field", [
    ({"nosie": {"sigma_max": 1}}, "nosie"),
    ({"noise": {"sigma": 1}}, "noise.sigma"),
    ({"noise": {"sigma_max": "low"}}, "noise.sigma_max"),
    ({"noise": 3}, "noise"),
])
def test_bad_limits_name_the_field(bad, field):
    with pytest.raises(ProjectError) as e:
        L.merge(bad, "limits.yaml")
    assert e.value.field == field and "limits.yaml" in str(e.value)


def test_no_frames_is_a_clear_error():
    with pytest.raises(StudioError, match="no frames"):
        audit_frames([])


def test_mono_frames_are_audited_too():
    a = audit("sim:seed=3,still=1,mono=1", frames=3)
    assert a.verdict == "pass" and a.pictures["frame"].ndim == 2
