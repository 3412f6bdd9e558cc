"""Bake-off: every candidate trained briefly on the same stratified subset, compared side by side."""
import json
import sys
from pathlib import Path

import pytest

import torch  # noqa: F401  a core dependency: a broken install fails, never skips
import onnxruntime  # noqa: F401  a core dependency: a broken install fails, never skips

sys.path.insert(0, str(Path(__file__).parent))
from test_training_support import make_shapes_project  # noqa: E402

from studio.training.bakeoff import (Candidate, default_candidates, format_table, load_last,  # noqa: E402
                                     run_bakeoff, stratified_subset)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return make_shapes_project(tmp_path_factory.mktemp("bake") / "p", n_train=24, n_test=8, masks=True)


def test_candidates_follow_what_the_labels_support(project, tmp_path):
    names = list(dict.fromkeys(c.task for c in default_candidates(project)))
    assert names == ["anomaly", "classification", "detection", "segmentation"]
    plain = make_shapes_project(tmp_path / "plain", n_train=6, n_test=2, boxes_as="none")
    assert list(dict.fromkeys(c.task for c in default_candidates(plain))) == ["anomaly", "classification"]


def test_anomaly_candidates_are_the_defaults_and_lever_settings_the_trainer_takes(project):
    from studio.training import anomaly_levers
    from studio.training.anomaly import DEFAULTS
    from studio.training.options import merge_options

    anomaly = [c for c in default_candidates(project, with_anomalib=True) if c.task == "anomaly"]
    assert anomaly[0].name == "anomaly (ours)" and anomaly[-1].options["backend"] == "anomalib"
    grids = []
    for c in anomaly:
        levers = anomaly_levers.read(merge_options(project, "anomaly", DEFAULTS, c.options))
        grids.append(levers.tiles(project.preprocessing.size).input_size)
    assert grids == [64, 64, 320, 120, 64]        # defaults, Lite2, Lite2 at 320 px, Lite2 2x2 tiles of 64, anomalib


def test_subset_is_stratified(project):
    ids = stratified_subset(project, 10)
    current = project.labels.current()
    ok = [i for i in ids if current[i].verdict == "ok"]
    assert len(ids) == 10 and len(ok) == 5
    assert set(ids) <= {r.id for r in project.dataset.records("train")}
    assert stratified_subset(project, 10) == ids                      # the same seed, the same subset


def test_side_by_side_table(project):
    cands = [Candidate("anomaly (ours)", "anomaly", {"coreset_ratio": 0.5}),
             Candidate("classification", "classification", {"epochs": 1}),
             Candidate("segmentation (U-Net)", "segmentation", {"epochs": 2}),
             Candidate("detection (YOLO)", "detection", {"epochs": 1, "model": "/nowhere/yolo.pt"})]
    rows = []
    result = run_bakeoff(project, cands, images=12, in_process=True, latency_images=4, on_row=rows.append)
    assert [r.name for r in rows] == [c.name for c in cands]
    assert result["subset"] == {"train": 12, "test": 8}
    by = {r["task"]: r for r in result["rows"]}
    for task, metric in (("anomaly", "image_auroc"), ("classification", "accuracy"), ("segmentation", "dice")):
        r = by[task]
        assert r["error"] is None and r["quality_metric"] == metric
        assert 0 <= r["quality"] <= 1 and r["latency_ms"] > 0 and r["train_s"] > 0 and r["size_mb"] > 0.1
    # a candidate that cannot train is a row with its reason, not the end of the bake-off
    assert "does not exist" in by["detection"]["error"]
    # the scratch project holds only the subset; the project's own models are untouched
    scratch = Path(result["folder"]) / "project"
    assert len(json.loads((scratch / "dataset.json").read_text())["images"]) == 20
    assert not project.models_dir.exists() or not any(project.models_dir.iterdir())
    assert load_last(project)["rows"] == result["rows"]
    table = format_table(result["rows"])
    assert "segmentation (U-Net)" in table and "failed: " in table


def test_cli_bakeoff_json(project, capsys):
    from studio.cli.main import main

    code = main(["bakeoff", str(project.root), "--tasks", "anomaly", "--images", "8", "--json"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and [r["name"] for r in out["rows"]] == ["anomaly (ours)", "anomaly (Lite2)",
                                                              "anomaly (Lite2, 320 px)", "anomaly (Lite2, 2x2 tiles)"]
    assert all(r["error"] is None and r["quality"] is not None for r in out["rows"])
    # each candidate's model sees its own input: the card's preprocessing, the station's resize
    from studio.project import Project

    scratch = Project.open(Path(out["folder"]) / "project")
    cards = [json.loads((scratch.models_dir / r["model_id"] / "card.json").read_text()) for r in out["rows"]]
    assert [c["preprocessing"]["size"] for c in cards] == [64, 64, 320, 120]
    assert [c["backbone"] for c in cards] == ["efficientnet_lite0"] + ["efficientnet_lite2"] * 3
    assert cards[3]["anomaly"]["tiles"] == "2x2"
    assert main(["bakeoff", str(project.root), "--tasks", "panoptic"]) == 2
