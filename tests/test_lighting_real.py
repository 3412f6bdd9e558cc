"""The lighting audit on real industrial images (magnetic tiles): skipped where ../shared/data is absent."""
import cv2
import numpy as np

from studio.lighting.audit import audit_frames


def load(folder, n):
    out = []
    for jpg in sorted(folder.glob("*.jpg"))[:n]:
        image = cv2.imread(str(jpg), cv2.IMREAD_GRAYSCALE)
        mask = cv2.imread(str(jpg.with_suffix(".png")), cv2.IMREAD_GRAYSCALE)
        if image is not None and mask is not None and (mask > 127).any():
            out.append((image, (mask > 127).astype(np.uint8)))
    return out


def test_real_blowholes_stand_out_and_flattened_ones_do_not(shared_data):
    holes = load(shared_data / "magnetic_tile" / "MT_Blowhole" / "Imgs", 12)
    assert len(holes) >= 6
    examples = [(img, mask, "blowhole") for img, mask in holes]
    a = audit_frames([holes[0][0]], examples=examples)
    c = a.check("defect_contrast")
    assert c.measures["source"] == "labelled project images" and c.measures["examples"] == len(holes)
    assert c.passed is True and c.value > 1.5
    # the same tiles with each defect painted over by its surroundings' level: nothing left to see
    flat = []
    for img, mask in holes:
        ring = cv2.dilate(mask, np.ones((15, 15), np.uint8)).astype(bool) & ~mask.astype(bool)
        painted = img.copy()
        painted[mask.astype(bool)] = int(np.median(img[ring]))
        flat.append((painted, mask, "blowhole"))
    c2 = audit_frames([holes[0][0]], examples=flat).check("defect_contrast")
    assert c2.passed is False and c2.value < 0.5 and "dark-field" in c2.advice


def test_a_single_real_tile_is_audited_without_false_noise_alarms(shared_data):
    tiles = load(shared_data / "magnetic_tile" / "MT_Blowhole" / "Imgs", 4)
    for img, _ in tiles:
        a = audit_frames([img])
        assert a.check("noise").passed in (True, None)       # texture is never reported as noise
        assert a.check("stability").passed is None           # one frame: not judged
        assert 0 < a.check("uniformity").value <= 1
