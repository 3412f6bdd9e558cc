"""PatchCore-style anomaly model trained in-process on tiny synthetic plates."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import torch
import onnxruntime as ort
import onnx

sys.path.insert(0, str(Path(__file__).parent))
from test_training_support import make_project  # noqa: E402

from studio.core.errors import ModelError  # noqa: E402
from studio.labels import samples as labeled  # noqa: E402
from studio.training.report import Report  # noqa: E402

CARD_KEYS = {"model_id", "task", "created", "backbone", "preprocessing", "classes", "class_ids", "threshold",
             "metrics", "data", "labels_digest", "criteria_version", "training_options", "seconds", "onnx_check"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from studio.training.anomaly import train_anomaly

    project = make_project(tmp_path_factory.mktemp("anomaly") / "p")
    report = Report()
    card = train_anomaly(project, {"coreset_ratio": 0.25}, report)
    return project, card, report


def test_card_describes_the_model(trained):
    project, card, _ = trained
    assert CARD_KEYS <= card.keys()
    folder = project.models_dir / card["model_id"]
    assert json.loads((folder / "card.json").read_text()) == card
    assert card["model_id"].startswith("anomaly-") and card["task"] == "anomaly"
    assert card["preprocessing"] == project.preprocessing.to_dict() and card["preprocessing"]["size"] == 64
    assert card["data"]["n_train"] == 5            # good training plates only; the NG one is left out
    assert card["data"]["n_test"] == 6
    assert card["classes"][0] == "good" and card["class_ids"]["good"] == 0
    assert card["training_options"]["coreset_ratio"] == 0.25
    # 5 images x 8x8 patches, a quarter kept
    assert card["metrics"]["bank_size"] == 80
    assert 0 <= card["onnx_check"]["max_abs_diff"] < 1e-2
    assert np.isfinite(card["threshold"]) and card["threshold"] > 0


def test_onnx_graph_holds_the_bank_and_takes_any_batch(trained):
    project, card, _ = trained
    path = project.models_dir / card["model_id"] / "model.onnx"
    model = onnx.load(str(path))
    assert [i.name for i in model.graph.input] == ["image"]       # the bank is a constant, not an input
    assert [o.name for o in model.graph.output] == ["score", "anomaly_map"]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = labeled.load_inputs(project, labeled.test_samples(project))
    scores, maps = session.run(None, {"image": x})
    assert scores.shape == (6,) and maps.shape == (6, 1, 8, 8)
    one, _ = session.run(None, {"image": x[:1]})
    assert one[0] == pytest.approx(scores[0], rel=1e-5)
    assert scores.max() == pytest.approx(maps.reshape(6, -1).max(1).max(), rel=1e-6)


def test_defective_plates_score_higher(trained):
    from studio.inference.model import InspectionModel

    project, card, _ = trained
    model = InspectionModel.load(project)
    assert model.model_id == card["model_id"] and model.provider == "CPUExecutionProvider"
    # a CPU station searches the bank in 8 bits, and the test split was scored the same way
    assert model.search == "int8" and card["metrics"]["bank_search"] == "int8"
    samples = labeled.test_samples(project)
    images = [project.dataset.load(project.dataset.get(s.image_id)) for s in samples]
    preds = model.predict_batch(images)
    good = [p.score for p, s in zip(preds, samples) if not s.defective]
    bad = [p.score for p, s in zip(preds, samples) if s.defective]
    assert np.mean(bad) > np.mean(good)
    one = model.predict(images[0])
    assert one.score == pytest.approx(preds[0].score, rel=1e-5)
    assert one.anomaly_map.shape == (8, 8) and one.defect_class is None and one.class_id == 0
    assert one.defective == (one.score >= card["threshold"])


def test_progress_and_coreset_events(trained):
    _, _, report = trained
    kinds = {e["event"] for e in report.events}
    assert {"status", "progress", "metric"} <= kinds
    fractions = [e["fraction"] for e in report.events if e["event"] == "progress"]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(e["event"] == "metric" and e["name"] == "coreset_radius" for e in report.events)


def test_evaluate_and_set_threshold_on_the_trained_model(trained):
    from studio.evaluation.evaluate import evaluate
    from studio.project.model_card import set_threshold

    project, card, _ = trained
    ev = evaluate(project, card["model_id"])
    assert ev["n"] == 6 and ev["n_defective"] == 3 and ev["image_auroc"] >= 0.5
    assert sum(ev["confusion"].values()) == 6 and ev["threshold"] == card["threshold"]
    updated = set_threshold(project, card["model_id"], 1e9)
    assert updated["threshold"] == 1e9 and "threshold_set" in updated
    assert evaluate(project, card["model_id"])["confusion"]["tp"] == 0
    set_threshold(project, card["model_id"], card["threshold"])


def test_greedy_coreset_covers_every_cluster():
    from studio.training.anomaly import greedy_coreset

    gen = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    points = (centres[:, None, :] + 0.1 * torch.randn(4, 50, 2, generator=gen)).reshape(-1, 2)
    chosen = greedy_coreset(points, 4, projection_dims=0)
    assert sorted(set((chosen // 50).tolist())) == [0, 1, 2, 3]     # one pick in each cluster
    assert len(set(chosen.tolist())) == 4


def test_too_few_good_images_is_a_clear_error(tmp_path):
    project = make_project(tmp_path / "p", good_train=2, good_test=0, bad_train=0, bad_test=0)
    with pytest.raises(ModelError) as err:
        labeled.anomaly_train(project)
    assert "at least 3 good" in str(err.value) and "there are 2" in str(err.value)
    assert "capture" in str(err.value)


def test_borderline_and_ng_are_not_good_training_parts(tmp_path):
    project = make_project(tmp_path / "p", good_train=4, good_test=0, bad_train=1, bad_test=0)
    first = project.dataset.records("train")[0].id
    project.labels.add(first, "borderline")
    ids = {s.image_id for s in labeled.anomaly_train(project)}
    assert first not in ids and len(ids) == 3
