"""`studio evaluate`, `studio threshold` and `studio compare` on a hand-made model whose scores are known."""
import json
import sys
from pathlib import Path

import pytest

import onnxruntime  # noqa: F401  a core dependency: a broken install fails, never skips
import torch  # noqa: F401  a core dependency: a broken install fails, never skips

sys.path.insert(0, str(Path(__file__).parent))
from test_training_support import make_project, write_fake_model  # noqa: E402

from studio.cli.main import main  # noqa: E402

Z = 1.959963984540054


def cli(capsys, *args):
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, (json.loads(out.strip().splitlines()[-1]) if "--json" in args and rc == 0 else out), err


def card(project, model_id="m1"):
    return json.loads((project.models_dir / model_id / "card.json").read_text())


@pytest.fixture
def project(tmp_path):
    p = make_project(tmp_path / "p", good_train=2, good_test=4, bad_train=1, bad_test=3)
    write_fake_model(p, "m1", "anomaly", threshold=100.0)      # far above every score: nothing rejected
    return p


def test_evaluate_json_reports_the_operating_point_and_intervals(project, capsys):
    rc, ev, _ = cli(capsys, "evaluate", project.root, "--model", "m1", "--json")
    assert rc == 0
    assert {"n", "n_defective", "image_auroc", "average_precision", "threshold", "precision", "recall",
            "confusion", "intervals", "per_class_recall", "operating_point", "warnings"} <= ev.keys()
    assert ev["confusion"] == {"tp": 0, "fp": 0, "tn": 4, "fn": 3} and ev["recall"] == 0.0
    r = ev["intervals"]["recall"]
    assert (r["k"], r["n"]) == (0, 3) and r["wilson"][1] == pytest.approx(1 - 1 / (1 + Z * Z / 3))
    assert ev["intervals"]["precision"] is None                      # nothing rejected
    assert ev["per_class_recall"] == [{**ev["per_class_recall"][0], "class": "stain", "n": 3, "caught": 0}]
    assert ev["operating_point"]["how"] == "trained" and ev["test_split"]["n"] == 7
    rc, text, _ = cli(capsys, "evaluate", project.root, "--model", "m1")
    assert "recall 0.0 % (0 of 3 defective parts caught): at most" in text
    assert "recall of stain" in text


def test_threshold_by_cost_and_by_recall_target(project, capsys):
    _, ev, _ = cli(capsys, "evaluate", project.root, "--json")
    good = max(r["score"] for r in ev["scores"] if not r["defective"])
    bad = min(r["score"] for r in ev["scores"] if r["defective"])
    assert good < bad                                                 # the fake model separates the plates
    rc, out, _ = cli(capsys, "threshold", project.root, "--escape-cost", "100", "--false-reject-cost", "1",
                     "--defect-rate", "2%", "--json")
    assert rc == 0 and out["threshold"] == pytest.approx((good + bad) / 2)   # halfway: cost 0 there
    op = card(project)["operating_point"]
    assert op["how"] == "cost" and op["cost_per_1000"] == 0.0 and op["defect_rate"] == pytest.approx(0.02)
    assert op["at_choice"]["recall"] == 1.0 and op["at_choice"]["intervals"]["recall"]["wilson"][0] == \
        pytest.approx(1 / (1 + Z * Z / 3))
    _, ev, _ = cli(capsys, "evaluate", project.root, "--json")
    assert ev["confusion"] == {"tp": 3, "fp": 0, "tn": 4, "fn": 0} and ev["operating_point"]["how"] == "cost"
    rc, out, _ = cli(capsys, "threshold", project.root, "--recall-target", "99.5%", "--json")
    assert out["threshold"] == pytest.approx((good + bad) / 2) and out["operating_point"]["how"] == "recall_target"
    rc, text, _ = cli(capsys, "threshold", project.root, "--value", str(good - 1))
    assert rc == 0 and "threshold set to" in text
    assert card(project)["threshold"] == pytest.approx(good - 1)
    assert card(project)["operating_point"]["how"] == "value"


def test_review_band_is_saved_and_reported(project, capsys):
    _, ev, _ = cli(capsys, "evaluate", project.root, "--json")
    scores = sorted(r["score"] for r in ev["scores"])
    assert scores[1] > scores[0] and scores[4] > scores[3]
    low, high = (scores[0] + scores[1]) / 2, (scores[3] + scores[4]) / 2     # good parts 2..4 in the band
    rc, out, _ = cli(capsys, "threshold", project.root, "--value", low, "--review-up-to", high, "--json")
    assert rc == 0 and out["review_band"] == {"low": pytest.approx(low), "high": pytest.approx(high)}
    assert out["operating_point"]["at_choice"]["review_band"]["review"] == 3
    _, ev, _ = cli(capsys, "evaluate", project.root, "--json")
    assert ev["review_band"]["review"] == 3 and ev["review_band"]["review_share"]["value"] == pytest.approx(3 / 7)
    assert ev["review_band"]["review_good"] == 3 and ev["confusion"]["fp"] == 3     # reviewed = not passed
    rc, _, err = cli(capsys, "threshold", project.root, "--value", high, "--review-up-to", low)
    assert rc == 2 and "below the threshold" in err
    cli(capsys, "threshold", project.root, "--value", low)                  # a plain value removes the band
    assert "review_band" not in card(project)


def test_no_defects_threshold_from_false_reject_target(tmp_path, capsys):
    p = make_project(tmp_path / "p", good_train=2, good_test=5, bad_train=0, bad_test=0)
    write_fake_model(p, "m1", "anomaly", threshold=100.0)
    rc, _, err = cli(capsys, "threshold", p.root, "--escape-cost", "100", "--false-reject-cost", "1",
                     "--defect-rate", "0.01")
    assert rc == 2 and "recall is unknown" in err and "--false-reject-target" in err
    rc, out, _ = cli(capsys, "threshold", p.root, "--false-reject-target", "0", "--json")
    assert rc == 0
    _, ev, _ = cli(capsys, "evaluate", p.root, "--json")
    assert out["threshold"] > max(r["score"] for r in ev["scores"])           # every good part passes
    assert ev["recall"] is None and ev["intervals"]["recall"] is None
    assert any("Recall is unknown" in w for w in ev["warnings"])
    rc, text, _ = cli(capsys, "evaluate", p.root)
    assert "recall: unknown" in text and "WARNING: Recall is unknown" in text


def test_argument_mistakes_are_clear(project, capsys):
    rc, _, err = cli(capsys, "threshold", project.root, "--escape-cost", "100")
    assert rc == 2 and "needs all three" in err
    rc, _, err = cli(capsys, "threshold", project.root)
    assert rc == 2 and "one way" in err
    # the demo criteria mark missing_hole critical; the test split's defects are all stains
    rc, _, err = cli(capsys, "threshold", project.root, "--recall-target", "0.99", "--critical")
    assert rc == 2 and "no defective parts of class missing_hole" in err
    rc, out, _ = cli(capsys, "threshold", project.root, "--recall-target", "0.99", "--classes", "stain", "--json")
    assert rc == 0 and out["operating_point"]["classes"] == ["stain"]
    assert out["operating_point"]["class_recall"] == 1.0
    rc, _, err = cli(capsys, "threshold", project.root, "--value", "1", "--critical")
    assert rc == 2 and "go with --recall-target" in err
    with pytest.raises(SystemExit):
        main(["threshold", str(project.root), "--recall-target", "lots"])


def test_compare_two_models_on_the_same_split(project, capsys):
    write_fake_model(project, "m2", "anomaly", threshold=-1e9, created="2026-02-01T00:00:00")   # rejects all
    rc, out, _ = cli(capsys, "compare", project.root, "m1", "m2", "--json")
    assert rc == 0
    a, b = out["models"]
    assert a["model_id"] == "m1" and b["model_id"] == "m2"
    assert a["test_split"] == b["test_split"]
    # m1 passes all (right on 4 good), m2 rejects all (right on 3 defective)
    assert out["paired"] == {"n": 7, "only_first_right": 4, "only_second_right": 3, "both_wrong": 0,
                             "mcnemar_p": pytest.approx(1.0)}
    rc, text, _ = cli(capsys, "compare", project.root, "m1", "m2")
    assert "McNemar" in text and "m1" in text and "could well be chance" in text


def test_review_cost_lets_the_cost_model_choose_a_band(project, capsys):
    rc, text, _ = cli(capsys, "threshold", project.root, "--escape-cost", "100", "--false-reject-cost", "1",
                      "--defect-rate", "0.02", "--review-cost", "0.5")
    assert rc == 0 and "a review band would not pay off" in text      # the plates separate: cost 0 without one
    op = card(project)["operating_point"]
    assert op["review_cost"] == 0.5 and op["cost_per_1000"] == 0.0 and "review_band" not in card(project)
    rc, _, err = cli(capsys, "threshold", project.root, "--recall-target", "0.9", "--review-cost", "1")
    assert rc == 2 and "goes with the cost model" in err
