"""The demo's own camera passes its first lighting audit, and fails it when a lighting fault is switched on."""
import pytest

from studio.capture.camera import open_camera
from studio.lighting.audit import audit_frames, grab_frames


def _audit(spec, frames=10):
    with open_camera(spec) as cam:
        images, masks, classes = grab_frames(cam, frames)
    return audit_frames(images, masks=masks, classes=classes, source=spec)


def test_the_demo_camera_passes_its_first_audit(demo_project):
    a = _audit(demo_project.camera_spec)
    assert a.verdict == "pass", {c.name: (c.value, c.limit, c.advice[:80]) for c in a.checks if c.passed is False}
    contrast = a.check("defect_contrast")
    assert contrast.passed is True and contrast.value >= 1.0          # judged, not skipped
    assert contrast.measures["per_class"]["missing_hole"] >= 1.0       # was 0.126: the weakest class


@pytest.mark.parametrize("fault,check", [("relief=0.1", "defect_contrast"), ("exposure=2.5", "exposure"),
                                         ("blur=2", "focus"), ("uneven=0.6", "uniformity")])
def test_the_demo_camera_fails_when_a_lighting_fault_is_switched_on(demo_project, fault, check):
    a = _audit(f"{demo_project.camera_spec},{fault}")
    assert check in a.failed(), {c.name: (c.value, c.limit) for c in a.checks}
