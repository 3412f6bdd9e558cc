"""Capturing frames into a project: images, capture metadata, truth labels, cancel."""
import numpy as np
import pytest

from studio.capture.acquire import capture_to_project
from studio.capture.camera import open_camera
from studio.core.errors import CameraError, StudioError
from studio.core.task import TaskContext
from studio.project import Project


def test_capture_with_truth_labels(demo_project):
    progress = []
    spec = "sim:seed=3,defect_rate=0.5,width=160,height=120"
    cam = open_camera(spec)
    records = capture_to_project(demo_project, cam, 8, label_truth=True,
                                 task=TaskContext(on_progress=progress.append))
    assert len(records) == 8 and progress[-1] == 1.0 and len(progress) == 8
    # Stored: reopen the project from disk.
    project = Project.open(demo_project.root)
    assert len(project.dataset) == 8
    labels = project.labels.current()
    defective = 0
    for rec in records:
        stored = project.dataset.get(rec.id)
        truth = stored.meta["truth"]
        assert stored.source == "capture" and stored.meta["camera"] == spec
        assert {"frame_id", "timestamp", "camera_info", "lighting", "seed", "index"} <= stored.meta.keys()
        assert project.dataset.load(stored).shape == (120, 160, 3)
        label = labels[rec.id]
        assert label.labeler == "simulator" and label.criteria_version == project.criteria.version
        if truth["defect"]:
            defective += 1
            assert label.verdict == "ng" and label.defect_class == truth["defect"]
            assert truth["defect"] in project.criteria.class_names()
            mask = project.dataset.load_mask(stored)
            x, y, w, h = truth["defect_box"]
            assert mask[y:y + h, x:x + w].any() and mask.sum() == mask[y:y + h, x:x + w].sum()
        else:
            assert label.verdict == "ok" and label.defect_class is None and stored.mask is None
    assert 0 < defective < 8


def test_capture_without_labels_leaves_labels_alone(demo_project):
    records = capture_to_project(demo_project, open_camera("sim:width=64,height=48"), 3)
    assert len(records) == 3 and demo_project.labels.current() == {}
    assert [r.meta["index"] for r in records] == [0, 1, 2]


def test_cancel_keeps_what_was_captured(demo_project):
    calls = []

    def on_progress(fraction):                 # the user presses cancel after the second image
        calls.append(fraction)
        if len(calls) == 2:
            task.cancel()

    task = TaskContext(on_progress=on_progress)
    records = capture_to_project(demo_project, open_camera("sim:width=64,height=48"), 10, task=task)
    assert len(records) == 2
    assert len(Project.open(demo_project.root).dataset) == 2


def test_camera_failure_half_way_saves_the_frames_before_it(demo_project, tmp_path):
    import cv2

    folder = tmp_path / "two"
    folder.mkdir()
    for i in range(2):
        cv2.imwrite(str(folder / f"{i}.png"), np.full((10, 10, 3), 50, np.uint8))
    cam = open_camera(f"folder:{folder}")
    real_grab, grabbed = cam.grab, []

    def flaky_grab(timeout=2.0):
        if len(grabbed) == 2:
            raise CameraError("cable pulled")
        grabbed.append(1)
        return real_grab(timeout)

    cam.grab = flaky_grab
    with pytest.raises(CameraError, match="cable pulled"):
        capture_to_project(demo_project, cam, 5)
    assert len(Project.open(demo_project.root).dataset) == 2


def test_truth_labels_need_the_simulator(demo_project, tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(StudioError, match="no ground truth"):
        capture_to_project(demo_project, open_camera(f"folder:{tmp_path}"), 1, label_truth=True)
    assert len(demo_project.dataset) == 0
