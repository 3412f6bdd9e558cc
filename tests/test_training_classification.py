"""Classification fine-tuned for one epoch at 64 px on good vs one defect class."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import torch  # noqa: F401  a core dependency: a broken install fails, never skips
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).parent))
from test_training_support import make_project  # noqa: E402

from studio.core.errors import ModelError  # noqa: E402
from studio.labels import samples as labeled  # noqa: E402
from studio.training.report import Report  # noqa: E402


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from studio.training.classification import train_classification

    project = make_project(tmp_path_factory.mktemp("cls") / "p", good_train=4, good_test=2,
                           bad_train=4, bad_test=2, defect_class="stain")
    project.labels.add(project.dataset.records("train")[0].id, "ng", None)    # NG without a class: left out
    report = Report()
    card = train_classification(project, {"epochs": 1, "batch_size": 4}, report)
    return project, card, report


def test_card_classes_and_plc_ids(trained):
    project, card, _ = trained
    assert card["task"] == "classification" and card["classes"] == ["good", "stain"]
    assert card["class_ids"] == {"good": 0, "stain": project.criteria.class_id("stain")}
    assert card["class_ids"]["stain"] == 3                     # the demo criteria's id for stain
    assert card["threshold"] == 0.5 and card["data"]["n_train"] == 7 and card["data"]["n_test"] == 4
    assert card["training_options"]["epochs"] == 1
    assert card["onnx_check"]["max_abs_diff"] < 1e-3
    saved = json.loads((project.models_dir / card["model_id"] / "card.json").read_text())
    assert saved["model_id"] == card["model_id"]


def test_onnx_probabilities_sum_to_one(trained):
    project, card, _ = trained
    session = ort.InferenceSession(str(project.models_dir / card["model_id"] / "model.onnx"),
                                   providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["probabilities"]
    x = labeled.load_inputs(project, labeled.test_samples(project))
    (probs,) = session.run(None, {"image": x})
    assert probs.shape == (4, 2)
    assert np.allclose(probs.sum(1), 1.0, atol=1e-5) and (probs >= 0).all()


def test_loss_reported_per_step(trained):
    _, card, report = trained
    losses = [e for e in report.events if e["event"] == "metric" and e["name"] == "loss"]
    assert [e["step"] for e in losses] == [1, 2]              # 7 images, batches of 4
    assert all(np.isfinite(e["value"]) for e in losses)
    assert card["metrics"]["final_loss"] == pytest.approx(np.mean([e["value"] for e in losses]))


def test_prediction_maps_class_to_plc_id(trained):
    from studio.inference.model import InspectionModel

    project, card, _ = trained
    model = InspectionModel.load(project, card["model_id"])
    image = project.dataset.load(project.dataset.records("test")[0])
    pred = model.predict(image)
    assert 0.0 <= pred.score <= 1.0 and pred.defective == (pred.score >= 0.5)
    if pred.defective:
        assert pred.defect_class == "stain" and pred.class_id == 3
    else:
        assert pred.defect_class is None and pred.class_id == 0


def test_one_class_is_not_enough(tmp_path):
    project = make_project(tmp_path / "p", good_train=4, good_test=0, bad_train=0, bad_test=0)
    with pytest.raises(ModelError) as err:
        labeled.classification_train(project)
    assert "at least one defect class" in str(err.value) and "4 good" in str(err.value)
