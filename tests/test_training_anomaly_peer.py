"""The grouped greedy coreset, and anomalib's PatchCore as a studio backend (the reference peer)."""
import sys
from pathlib import Path

import numpy as np
import pytest

import torch

sys.path.insert(0, str(Path(__file__).parent))
from test_training_support import make_project  # noqa: E402

from studio.core.errors import ModelError  # noqa: E402
from studio.training.anomaly import coreset_groups, greedy_coreset  # noqa: E402
from studio.training.report import Report  # noqa: E402


def _radius(points, chosen):
    return float(torch.cdist(points, points[chosen]).min(1).values.max())


def _clusters(n=6000, d=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(40, d, generator=g) * 4
    return centres[torch.randint(40, (n,), generator=g)] + torch.randn(n, d, generator=g)


def test_grouped_greedy_picks_k_distinct_points_and_covers_like_the_exact_one():
    pts = _clusters()
    exact = greedy_coreset(pts, 300, projection_dims=0, groups=1)
    grouped = greedy_coreset(pts, 300, projection_dims=0, groups=8)
    assert len(grouped) == 300 and len(set(grouped.tolist())) == 300
    assert grouped.min() >= 0 and grouped.max() < len(pts)
    r_exact, r_grouped = _radius(pts, exact), _radius(pts, grouped)
    r_random = _radius(pts, torch.randperm(len(pts), generator=torch.Generator().manual_seed(1))[:300])
    assert r_grouped < 1.3 * r_exact and r_grouped < r_random
    # uneven sizes: 1001 points in 7 groups still give exactly k picks
    assert len(set(greedy_coreset(pts[:1001], 50, groups=7).tolist())) == 50
    # by default one cell: the exact greedy; cells only when asked for, in powers of two
    assert coreset_groups(40) == 1 and coreset_groups(2048) == 1 and coreset_groups(10 ** 6) == 1
    assert coreset_groups(2048, 64) == 64 and coreset_groups(500, 5) == 4


def test_grouped_greedy_matches_anomalib_k_center_greedy_coverage():
    pytest.importorskip("anomalib")
    from anomalib.models.components import KCenterGreedy

    pts = _clusters(3000, 24)
    torch.manual_seed(0)
    theirs = KCenterGreedy(pts, sampling_ratio=0.05).select_coreset_idxs()
    ours = greedy_coreset(pts, len(theirs), projection_dims=0, groups=coreset_groups(len(theirs), 4))
    assert _radius(pts, ours) < 1.3 * _radius(pts, torch.tensor(theirs))


@pytest.fixture(scope="module")
def peer(tmp_path_factory):
    pytest.importorskip("anomalib")
    from studio.training.anomaly import train_anomaly

    project = make_project(tmp_path_factory.mktemp("peer") / "p")
    card = train_anomaly(project, {"backend": "anomalib", "coreset_ratio": 0.25}, Report())
    return project, card


def test_anomalib_backend_trains_exports_and_runs_in_the_station_model(peer):
    from studio.inference.model import InspectionModel
    from studio.labels import samples as labeled

    project, card = peer
    assert card["backend"] == "anomalib" and card["backbone"] == "anomalib-patchcore:efficientnet_lite0"
    assert card["metrics"]["bank_size"] == 80 and card["metrics"]["feature_dims"] == 152
    assert 0 <= card["onnx_check"]["max_abs_diff"] <= 5e-3 * max(1.0, 3 * card["metrics"]["train_score_max"])
    model = InspectionModel.load(project, card["model_id"])
    samples = labeled.test_samples(project)
    preds = model.predict_batch([project.dataset.load(project.dataset.get(s.image_id)) for s in samples])
    bad = [p.score for p, s in zip(preds, samples) if s.defective]
    good = [p.score for p, s in zip(preds, samples) if not s.defective]
    assert np.mean(bad) > np.mean(good)
    assert preds[0].anomaly_map.shape == (64, 64)


def test_unknown_backend_is_a_clear_error(tmp_path):
    from studio.training.anomaly import train_anomaly

    project = make_project(tmp_path / "p")
    with pytest.raises(ModelError, match="backend 'patchcore2'"):
        train_anomaly(project, {"backend": "patchcore2"}, Report())


def test_the_peer_runs_on_the_same_backbone_and_blocks_as_ours():
    pytest.importorskip("anomalib")
    from studio.training import anomalib_peer
    from studio.training.anomaly import build_feature_module
    from studio.training.backbone import create

    model = anomalib_peer.build_torch_model(backbone="efficientnet_lite2", layers=(1, 2))
    ours = create("efficientnet_lite2", pretrained=True).eval()
    theirs = model.feature_extractor.feature_extractor.state_dict()
    assert torch.equal(theirs["conv_stem.weight"], ours.conv_stem.weight)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        feats = model.feature_extractor(x)
        ref = build_feature_module(ours, layers=(1, 2))
        h = ref.stem(x)
        h1 = ref.stages[0](h)
    assert list(feats) == ["blocks.1", "blocks.2"] and torch.allclose(feats["blocks.1"], h1, atol=1e-5)
    assert feats["blocks.2"].shape[1] == 48            # Lite2's block 2, not Lite0's 40 channels


def test_the_peer_refuses_what_it_cannot_do(tmp_path):
    from studio.training import anomalib_peer
    from studio.training.anomaly import train_anomaly

    with pytest.raises(ModelError) as err:
        anomalib_peer.layer_names((2, 3))
    assert err.value.field == "layers" and "0, 1, 2, 4, 6" in str(err.value)
    project = make_project(tmp_path / "p")
    for option, value in (("tiles", "2x2"), ("image_score", "topk:5")):
        with pytest.raises(ModelError) as err:
            train_anomaly(project, {"backend": "anomalib", option: value}, Report())
        assert err.value.field == option and "backend=studio" in str(err.value)


def test_the_peer_graph_takes_any_batch_when_its_example_has_over_1024_patches():
    """anomalib chunks a search of more than 1,024 patches in a Python loop; exported that way (2
    images of 256 px = 2,048 patches) the graph failed on every other batch size."""
    pytest.importorskip("anomalib")
    import onnxruntime as ort

    from studio.training.anomaly import DEFAULTS, fit_anomalib
    from studio.training.export import to_onnx

    x = np.random.default_rng(0).random((16, 3, 256, 256), np.float32)
    graph, _, _ = fit_anomalib(x[:4], {**DEFAULTS, "backend": "anomalib", "coreset_ratio": 0.05, "device": "cpu"},
                               Report())
    graph = graph.cpu().eval()
    session = ort.InferenceSession(to_onnx(graph, torch.from_numpy(x[:2]), ["score", "anomaly_map"]),
                                   providers=["CPUExecutionProvider"])
    with torch.no_grad():
        expected = graph(torch.from_numpy(x))[0].numpy()
    for n in (1, 12, 16):
        scores, maps = session.run(None, {"image": x[:n]})
        assert scores.shape == (n,) and maps.shape[0] == n
        assert np.allclose(scores, expected[:n], rtol=1e-3)
