"""Object detection with ultralytics YOLO, offline: boxes -> YOLO data set -> ONNX -> station-usable Prediction."""
import json
import socket
import threading
import sys
from pathlib import Path

import numpy as np
import pytest

import torch
import ultralytics  # noqa: F401  a core dependency: a broken install fails, never skips
import onnxruntime  # noqa: F401  a core dependency: a broken install fails, never skips

sys.path.insert(0, str(Path(__file__).parent))
from test_training_support import make_shapes_project  # noqa: E402

from studio.core.errors import ModelError  # noqa: E402
from studio.dataset.preprocessing import Preprocessing  # noqa: E402
from studio.inference.detections import decode_detections, input_to_image, map50, nms  # noqa: E402
from studio.dataset.preprocessing import box_to_input  # noqa: E402
from studio.labels import samples as labeled  # noqa: E402
from studio.training.report import Report  # noqa: E402


LOOPBACK = ("127.0.0.1", "localhost", "::1")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from studio.training.detection import train_detection

    project = make_shapes_project(tmp_path_factory.mktemp("det") / "p", n_train=12, n_test=4)
    calls = []
    real = socket.getaddrinfo

    def no_network(*a, **k):           # nothing may look anything up on the network
        host = a[0] if a else None
        if host in LOOPBACK and threading.current_thread() is not threading.main_thread():
            return real(*a, **k)        # another test's server or client on this machine, not the network
        calls.append(host)
        raise OSError("offline test")

    socket.getaddrinfo = no_network
    try:
        card = train_detection(project, {"epochs": 3, "batch_size": 8, "mosaic": 0.0}, Report())
    finally:
        socket.getaddrinfo = real
    return project, card, calls


def test_trains_offline_and_writes_a_card_with_lineage(trained):
    project, card, calls = trained
    assert calls == []
    folder = project.models_dir / card["model_id"]
    assert json.loads((folder / "card.json").read_text()) == card
    assert card["task"] == "detection" and card["classes"] == ["good", "stain"]
    assert card["outputs"] == ["detections"] and card["backbone"] == "yolo:yolov8n.yaml"
    assert card["data"]["n_train"] == 12 and card["metrics"]["n_train_boxes"] == 6
    lineage = card["lineage"]
    assert lineage["seed"] == 0 and lineage["criteria_version"] == project.criteria.version
    assert sorted(lineage["images"]["train"]) == sorted(r.id for r in project.dataset.records("train"))
    assert lineage["code_version"].startswith("0.")
    # ONNX Runtime agrees with torch (the export is checked before the model is written)
    assert 0 <= card["onnx_check"]["max_abs_diff"] < 1e-2
    assert (folder / "yolo.pt").is_file()


def test_onnx_loads_in_the_station_model(trained):
    from studio.inference.model import InspectionModel
    from studio.station.decide import decide

    project, card, _ = trained
    model = InspectionModel.load(project, task="detection")
    assert model.model_id == card["model_id"]
    image = project.dataset.load(project.dataset.records("test")[1])
    raw = model.run(model.preprocessing.apply_batch([image]))[0]
    # 64 px input: 8x8 + 4x4 + 2x2 anchors, 4 box values + 1 class
    assert raw.shape == (1, 5, 84)
    pred = model.predict(image)
    assert isinstance(pred.boxes, list) and np.isfinite(pred.score)
    assert decide(model, image).verdict in ("pass", "reject")


def test_a_user_given_pt_file_continues_training(trained, tmp_path):
    from studio.training.detection import train_detection

    project, card, _ = trained
    pt = project.models_dir / card["model_id"] / "yolo.pt"
    again = train_detection(project, {"epochs": 1, "batch_size": 8, "mosaic": 0.0, "model": str(pt)}, Report())
    assert again["backbone"] == "yolo:yolo.pt" and again["model_id"] != card["model_id"]
    with pytest.raises(ModelError, match="does not exist"):
        train_detection(project, {"model": str(tmp_path / "missing.pt")}, Report())


def test_no_boxes_is_a_clear_error(tmp_path):
    from studio.training.detection import train_detection

    project = make_shapes_project(tmp_path / "p", n_train=4, n_test=2, boxes_as="none")
    with pytest.raises(ModelError, match="needs defect boxes"):
        train_detection(project, {"epochs": 1}, Report())


def test_boxes_come_from_shapes_then_meta_then_truth(tmp_path):
    project = make_shapes_project(tmp_path / "p", n_train=4, n_test=0, boxes_as="meta")
    samples = labeled.detection_samples(project, "train")
    assert [len(s.boxes) for s in samples] == [0, 1, 0, 1]
    name, box = samples[1].boxes[0]
    assert name == "stain" and box[2] > 0
    rec = project.dataset.records("train")[3]
    rec.meta = {"truth": {"defect": "scratch", "defect_box": [5, 6, 7, 8]}}
    label = project.labels.current()[rec.id]
    assert labeled.image_boxes(project, rec, label) == [("stain", (5.0, 6.0, 7.0, 8.0))]


def test_box_mapping_round_trips_through_the_roi():
    pre = Preprocessing(size=64, roi=[20, 10, 100, 50])
    box = (40.0, 20.0, 30.0, 10.0)
    inp = box_to_input(box, (80, 200), pre)
    assert inp == pytest.approx((12.8, 12.8, 19.2, 12.8))
    assert input_to_image(inp, (80, 200), pre) == pytest.approx(box)


def test_decode_suppresses_overlaps_per_class_and_map50():
    # anchors: two overlapping class-0 boxes, one class-1 box, one weak box
    raw = np.array([[10, 11, 40, 5], [10, 10, 40, 5], [8, 8, 8, 4], [8, 8, 8, 4],
                    [0.9, 0.8, 0.1, 0.1], [0.1, 0.1, 0.7, 0.05]], np.float32)
    found = decode_detections(raw, conf=0.25, iou=0.5)
    assert [(b["class_index"], round(b["score"], 2)) for b in found] == [(0, 0.9), (1, 0.7)]
    assert found[0]["x"] == pytest.approx(6) and found[0]["w"] == pytest.approx(8)
    assert nms(np.array([[0, 0, 10, 10], [20, 20, 30, 30]], float), np.array([0.5, 0.6]), 0.5) == [1, 0]
    truths = [[(0, (6, 6, 8, 8)), (1, (36, 36, 8, 8))]]
    assert map50([found], truths, 2) == pytest.approx(1.0)
    assert map50([found[:1]], truths, 2) == pytest.approx(0.5)


def test_station_prediction_from_a_hand_made_detector(tmp_path):
    """A detector that always finds one box: the Prediction carries it in image pixels, with its PLC class id."""
    from studio.inference.model import InspectionModel
    from studio.project import Project
    from studio.station.decide import decide
    from studio.training.export import to_onnx

    class OneBox(torch.nn.Module):
        def forward(self, image):
            n = image.shape[0]
            row = torch.tensor([[16.0, 16.0, 8.0, 4.0, 0.1, 0.9], [0, 0, 1, 1, 0.01, 0.01]]).t()
            return row[None].expand(n, 6, 2) + image.mean() * 0

    project = Project.create(tmp_path / "p", template="demo")
    project.settings["preprocessing"]["size"] = 32
    project.save()
    name = project.criteria.class_names()[0]
    folder = project.models_dir / "det"
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(to_onnx(OneBox(), torch.zeros(2, 3, 32, 32), ["detections"]))
    card = {"model_id": "det", "task": "detection", "threshold": 0.5, "classes": ["good", "other", name],
            "class_ids": {"good": 0, "other": 7, name: project.criteria.class_id(name)},
            "preprocessing": project.preprocessing.to_dict(), "detection": {"conf": 0.25, "iou": 0.5}}
    (folder / "card.json").write_text(json.dumps(card))
    model = InspectionModel.load(project, "det")
    pred = model.predict(np.zeros((64, 128), np.uint8))          # input 32 px: x scale 4, y scale 2
    assert pred.defective and pred.defect_class == name and pred.score == pytest.approx(0.9)
    assert pred.class_id == project.criteria.class_id(name) and pred.class_id > 0
    (b,) = pred.boxes
    assert (b["x"], b["y"], b["w"], b["h"]) == pytest.approx((48.0, 28.0, 32.0, 8.0))
    d = decide(model, np.zeros((64, 128), np.uint8))
    assert d.verdict == "reject" and d.class_id == pred.class_id
