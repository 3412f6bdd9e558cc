"""InspectionModel: loading, card-driven preprocessing, decisions, errors (hand-made ONNX models)."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import onnxruntime  # noqa: F401  a core dependency: a broken install fails, never skips
import torch  # noqa: F401  a core dependency: a broken install fails, never skips

sys.path.insert(0, str(Path(__file__).parent))
from test_training_support import make_project, plate, write_fake_model  # noqa: E402

from studio.core.errors import ModelError  # noqa: E402
from studio.inference.model import InspectionModel, Prediction, list_models, session_providers  # noqa: E402


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path / "p", good_train=0, good_test=2, bad_train=0, bad_test=2)


def test_no_model_says_train_first(project):
    with pytest.raises(ModelError) as err:
        InspectionModel.load(project)
    assert "train a model first" in str(err.value)
    with pytest.raises(ModelError, match="no model 'nope'"):
        InspectionModel.load(project, "nope")


def test_newest_model_is_loaded_and_listed_first(project):
    write_fake_model(project, "anomaly-old", "anomaly", threshold=1.0, created="2026-01-01T00:00:00")
    write_fake_model(project, "anomaly-new", "anomaly", threshold=1.0, created="2026-02-01T00:00:00")
    (project.models_dir / "anomaly-interrupted").mkdir()          # an export that never wrote its card
    assert [c["model_id"] for c in list_models(project)] == ["anomaly-new", "anomaly-old"]
    model = InspectionModel.load(project)
    assert model.model_id == "anomaly-new" and model.provider in session_providers()


def test_anomaly_decision_uses_the_card_threshold_and_preprocessing(project):
    write_fake_model(project, "a", "anomaly", threshold=1.0)
    # the project's preprocessing changes after training: the model keeps the card's copy
    project.settings["preprocessing"]["size"] = 32
    project.save()
    model = InspectionModel.load(project, "a")
    assert model.preprocessing.size == 64
    rng = np.random.default_rng(1)
    good, bad = model.predict_batch([plate(rng, False), plate(rng, True)])
    assert isinstance(good, Prediction) and good.anomaly_map.shape == (64, 64)
    # score = -(darkest normalised red value): the dark blob (35/255) is well above 1.0, the plate is not
    assert bad.score > 1.0 > good.score
    assert bad.defective and not good.defective
    assert bad.defect_class is None and bad.class_id == 0


def test_classification_maps_the_defect_to_its_plc_id(project):
    write_fake_model(project, "c", "classification", threshold=0.5, classes=["good", "stain", "dent"],
                     class_ids={"good": 0, "stain": 3, "dent": 2})
    model = InspectionModel.load(project, "c")
    dark = np.full((64, 64), 10, np.uint8)
    bright = np.full((64, 64), 250, np.uint8)
    d, b = model.predict_batch([dark, bright])
    assert d.defective and d.defect_class == "stain" and d.class_id == 3 and d.score > 0.5
    assert not b.defective and b.defect_class is None and b.class_id == 0 and b.score < 0.5
    assert d.anomaly_map is None


def test_corrupt_card_and_model_are_model_errors(project):
    folder = write_fake_model(project, "broken", "anomaly", threshold=1.0)
    (folder / "model.onnx").write_bytes(b"not an onnx model")
    with pytest.raises(ModelError, match="cannot load the model"):
        InspectionModel.load(project, "broken")
    (folder / "card.json").write_text("{ half a card")
    with pytest.raises(ModelError, match="unreadable"):
        InspectionModel.load(project, "broken")
    (folder / "card.json").write_text(json.dumps({"model_id": "broken", "task": "anomaly"}))
    with pytest.raises(ModelError, match="lacks threshold"):
        InspectionModel.load(project, "broken")
    assert list_models(project) == []


def test_providers_fall_back_to_cpu(monkeypatch):
    providers = session_providers()
    assert providers[-1] == "CPUExecutionProvider"
    monkeypatch.setenv("STUDIO_INFERENCE", "cpu")
    assert session_providers() == ["CPUExecutionProvider"]
