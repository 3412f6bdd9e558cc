"""Segmentation: U-Net on the pretrained EfficientNet-Lite0, trained from the project's masks, to ONNX."""
import json
import sys
from pathlib import Path

import pytest

import torch  # noqa: F401  a core dependency: a broken install fails, never skips
import onnxruntime  # noqa: F401  a core dependency: a broken install fails, never skips

sys.path.insert(0, str(Path(__file__).parent))
from test_training_support import make_shapes_project  # noqa: E402

from studio.core.errors import ModelError  # noqa: E402
from studio.dataset.preprocessing import mask_to_input  # noqa: E402
from studio.labels import samples as labeled  # noqa: E402
from studio.training.report import Report  # noqa: E402


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from studio.training.segmentation import train_segmentation

    project = make_shapes_project(tmp_path_factory.mktemp("seg") / "p", masks=True, boxes_as="none")
    report = Report()
    card = train_segmentation(project, {"epochs": 8}, report)
    return project, card, report


def test_card_metrics_and_lineage(trained):
    project, card, report = trained
    folder = project.models_dir / card["model_id"]
    assert json.loads((folder / "card.json").read_text()) == card
    assert card["task"] == "segmentation" and card["classes"] == ["good", "stain"]
    assert card["outputs"] == ["score", "class_map"] and card["backbone"] == "unet:efficientnet_lite0"
    assert card["data"] == {"n_train": 16, "n_test": 8, "dataset_digest": card["data"]["dataset_digest"]}
    assert card["lineage"]["images"]["test"] == [r.id for r in project.dataset.records("test")]
    assert 0 <= card["onnx_check"]["max_abs_diff"] < 1e-3
    # dark squares on plates: a few epochs find them
    assert card["metrics"]["dice"] > 0.5 and card["metrics"]["image_auroc"] > 0.9
    losses = [e["value"] for e in report.events if e.get("name") == "epoch_loss"]
    assert losses[-1] < losses[0]


def test_station_model_gives_a_mask_and_class(trained):
    from studio.inference.model import InspectionModel
    from studio.station.decide import decide

    project, card, _ = trained
    model = InspectionModel.load(project, task="segmentation")
    recs = project.dataset.records("test")
    preds = model.predict_batch([project.dataset.load(r) for r in recs])
    for rec, pred in zip(recs, preds):
        assert pred.mask.shape == (64, 64) and pred.anomaly_map.shape == (64, 64)
        truth = project.dataset.load_mask(rec)
        if truth is not None:
            assert pred.defective and pred.defect_class == "stain"
            # the mask lies on the defect (model input is the whole 96 px image at 64 px)
            small = mask_to_input(truth, model.preprocessing).astype(bool)
            assert (pred.mask & small).sum() > 0.5 * pred.mask.sum()
    good = [p.score for p, r in zip(preds, recs) if not r.mask]
    bad = [p.score for p, r in zip(preds, recs) if r.mask]
    assert min(bad) > max(good)
    d = decide(model, project.dataset.load(recs[1]))
    assert d.verdict == "reject" and d.class_id == project.criteria.class_id("stain")


def test_needs_masks(tmp_path):
    from studio.training.segmentation import train_segmentation

    project = make_shapes_project(tmp_path / "p", n_train=4, n_test=2, boxes_as="none", masks=False)
    with pytest.raises(ModelError, match="needs defective training images with a mask"):
        train_segmentation(project, {"epochs": 1}, Report())


def test_box_shapes_become_masks(tmp_path):
    project = make_shapes_project(tmp_path / "p", n_train=2, n_test=0, boxes_as="shapes")
    samples = labeled.segmentation_samples(project, "train")
    assert [s.defective for s in samples] == [False, True]
    rec = project.dataset.get(samples[1].image_id)
    mask = labeled.image_mask(project, rec, project.labels.current()[rec.id])
    shape = project.labels.current()[rec.id].shapes[0]
    assert mask.sum() == pytest.approx(shape["w"] * shape["h"])
