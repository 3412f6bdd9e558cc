"""evaluate() and set_threshold() on a hand-made model whose scores are known."""
import json
import sys
from pathlib import Path

import pytest

import onnxruntime  # noqa: F401  a core dependency: a broken install fails, never skips
import torch  # noqa: F401  a core dependency: a broken install fails, never skips

sys.path.insert(0, str(Path(__file__).parent))
from test_training_support import make_project, write_fake_model  # noqa: E402

from studio.core.errors import ModelError  # noqa: E402
from studio.core.task import TaskContext  # noqa: E402
from studio.evaluation.evaluate import evaluate, operating_point  # noqa: E402
from studio.project.model_card import set_threshold  # noqa: E402

KEYS = {"model_id", "task", "n", "n_defective", "image_auroc", "average_precision", "threshold", "precision",
        "recall", "confusion", "curve", "scores"}


@pytest.fixture
def project(tmp_path):
    p = make_project(tmp_path / "p", good_train=2, good_test=4, bad_train=1, bad_test=3)
    p.labels.add(p.dataset.records("test")[0].id, "borderline")          # left out of the test set
    write_fake_model(p, "anomaly-a", "anomaly", threshold=1.0)
    return p


def test_evaluate_scores_the_labeled_test_split(project):
    fractions = []
    ev = evaluate(project, "anomaly-a", task=TaskContext(on_progress=fractions.append))
    assert KEYS <= ev.keys()
    assert ev["n"] == 6 and ev["n_defective"] == 3 and ev["threshold"] == 1.0
    assert ev["image_auroc"] == 1.0 and ev["average_precision"] == 1.0      # dark blobs always score higher
    assert ev["confusion"] == {"tp": 3, "fp": 0, "tn": 3, "fn": 0}
    assert ev["precision"] == 1.0 and ev["recall"] == 1.0
    assert len(ev["curve"]["precision"]) == len(ev["curve"]["thresholds"]) == len(ev["curve"]["recall"])
    assert {s["image_id"] for s in ev["scores"]} == {r.id for r in project.dataset.records("test")[1:]}
    assert fractions[-1] == 1.0
    json.dumps(ev)                                                          # the CLI prints it as JSON


def test_set_threshold_persists_and_changes_the_verdicts(project):
    card = set_threshold(project, "anomaly-a", 100.0)
    assert card["threshold"] == 100.0 and card["threshold_set"]
    on_disk = json.loads((project.models_dir / "anomaly-a" / "card.json").read_text())
    assert on_disk["threshold"] == 100.0 and on_disk["threshold_history"][-1]["from"] == 1.0
    ev = evaluate(project)
    assert ev["confusion"] == {"tp": 0, "fp": 0, "tn": 3, "fn": 3} and ev["precision"] is None
    with pytest.raises(ModelError, match="not a number"):
        set_threshold(project, "anomaly-a", float("nan"))
    with pytest.raises(ModelError, match="no model"):
        set_threshold(project, "missing", 1.0)


def test_cancel_stops_evaluation(project):
    from studio.core.errors import Cancelled

    ctx = TaskContext()
    ctx.cancel()
    with pytest.raises(Cancelled):
        evaluate(project, task_ctx=ctx)


def test_operating_point_for_the_picker():
    point = operating_point([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.35)
    assert point["confusion"] == {"tp": 2, "fp": 1, "tn": 1, "fn": 0}
    assert point["precision"] == pytest.approx(2 / 3) and point["recall"] == 1.0


def test_classification_per_class_recall_says_how_often_the_class_is_named_right(tmp_path):
    p = make_project(tmp_path / "c", good_train=2, good_test=3, bad_train=1, bad_test=2, defect_class="stain")
    write_fake_model(p, "cls-a", "classification", threshold=-1.0, classes=["good", "stain"])   # rejects all
    ev = evaluate(p, "cls-a")
    row = ev["per_class_recall"][0]
    assert (row["class"], row["n"], row["caught"]) == ("stain", 2, 2)
    assert row["named_right"] == 2                 # the only defect class the model knows is stain
    assert ev["class_accuracy"] == pytest.approx(2 / 5)
