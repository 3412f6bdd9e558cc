"""The anomaly model's quality levers: backbone, layers, image score and tiles (training options)."""
import sys
from pathlib import Path

import numpy as np
import pytest

import torch
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).parent))
from test_training_support import make_project  # noqa: E402

from studio.core.errors import ModelError  # noqa: E402
from studio.training import anomaly_levers  # noqa: E402
from studio.training.anomaly import DEFAULTS, build_feature_module, build_graph  # noqa: E402
from studio.training.backbone import create  # noqa: E402
from studio.training.export import to_onnx  # noqa: E402
from studio.training.report import Report  # noqa: E402


@pytest.mark.parametrize("option, value, valid", [
    ("backbone", "resnet18", "efficientnet_lite2"),
    ("layers", "2,9", "0..6"),
    ("layers", "two", "layers=2,4"),
    ("layers", "2,2", "layers=2,4"),
    ("image_score", "mean", "topk:K"),
    ("image_score", "topk:0", "topk:K"),
    ("tiles", "2x3", "3x3"),
    ("tiles", "big", "1x1"),
    ("input_size", "big", "input_size=320"),
    ("input_size", 8, "32 to 2048"),
])
def test_a_bad_lever_names_the_option_and_the_valid_values(tmp_path, option, value, valid):
    from studio.training.anomaly import train_anomaly

    with pytest.raises(ModelError) as err:
        anomaly_levers.read({**DEFAULTS, option: value})
    assert err.value.field == option and repr(value) in str(err.value) and valid in str(err.value)
    project = make_project(tmp_path / "p")
    with pytest.raises(ModelError) as err:          # the trainer says the same, before reading any image
        train_anomaly(project, {option: value}, Report())
    assert err.value.field == option
    assert not any(project.models_dir.glob("*/card.json"))


def test_defaults_are_todays_model():
    levers = anomaly_levers.read(DEFAULTS)
    assert levers == anomaly_levers.Levers("efficientnet_lite0", (2, 4), 0, 1)
    assert levers.stride == 8 and anomaly_levers.read({}).summary() == levers.summary()
    assert anomaly_levers.parse_layers([4, 2]) == (2, 4) and anomaly_levers.parse_image_score("TopK:12") == 12


@pytest.mark.parametrize("layers, dims, cells", [((2, 4), 40 + 112, 8), ((1, 2), 24 + 40, 16),
                                                 ((2, 3, 4), 40 + 80 + 112, 8), ((3, 4), 80 + 112, 4)])
def test_layers_set_the_descriptor_and_its_grid(layers, dims, cells):
    net = create("efficientnet_lite0", pretrained=False).eval()
    features = build_feature_module(net, layers=layers)
    with torch.no_grad():
        f = features(torch.randn(2, 3, 64, 64))
    assert features.dims == dims and f.shape == (2, dims, cells, cells)
    assert anomaly_levers.read({"layers": ",".join(map(str, layers))}).stride == 64 // cells


def test_default_layers_are_blocks_2_and_4_pooled_and_stacked():
    F = torch.nn.functional
    net = create("efficientnet_lite0", pretrained=False).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        h = net.bn1(net.conv_stem(x))
        taps = {}
        for i, block in enumerate(net.blocks[:5]):
            h = block(h)
            taps[i] = F.avg_pool2d(h, 3, 1, 1, count_include_pad=True)
        want = torch.cat([taps[2], F.interpolate(taps[4], size=(8, 8), mode="bilinear", align_corners=False)], 1)
        got = build_feature_module(net)(x)
    assert torch.allclose(got, want, atol=1e-5)


def _graph(topk=0, tiles=None, size=64):
    torch.manual_seed(0)
    net = create("efficientnet_lite0", pretrained=False).eval()
    features = build_feature_module(net)
    with torch.no_grad():
        bank = features(torch.randn(3, 3, size, size)).permute(0, 2, 3, 1).reshape(-1, features.dims)
    return build_graph(features, bank[::4].contiguous(), topk=topk, tiles=tiles)


def test_topk_score_is_the_mean_of_the_highest_cells_in_the_exported_graph():
    x = torch.randn(3, 3, 64, 64)
    plain, top1, top5 = _graph(), _graph(topk=1), _graph(topk=5)
    with torch.no_grad():
        s_max, amap = plain(x)
        s1, _ = top1(x)
        s5, map5 = top5(x)
    assert torch.allclose(s1, s_max) and torch.equal(map5, amap)
    want = amap.flatten(1).sort(dim=1, descending=True).values[:, :5].mean(1)
    assert torch.allclose(s5, want) and (s5 < s_max).all()
    session = ort.InferenceSession(to_onnx(top5, x[:2], ["score", "anomaly_map"]), providers=["CPUExecutionProvider"])
    got, _ = session.run(None, {"image": x.numpy()})
    assert np.allclose(got, s5.numpy(), rtol=1e-4)


def test_tile_grid_geometry():
    grid = anomaly_levers.TileGrid(2, 224, 8)
    assert (grid.overlap, grid.step, grid.input_size, grid.cells, grid.map_size) == (32, 192, 416, 28, 52)
    three = anomaly_levers.TileGrid(3, 256, 8)
    assert three.input_size == 256 + 2 * 224 and three.map_size == 32 + 2 * 28
    assert anomaly_levers.TileGrid.for_input(3, three.input_size, 8) == three
    assert anomaly_levers.TileGrid(1, 224, 8).input_size == 224
    with pytest.raises(ModelError) as err:
        anomaly_levers.read({"tiles": "2x2", "layers": "3,4"}).tiles(200)       # 200 is no multiple of 16
    assert err.value.field == "tiles" and "multiple of 16" in str(err.value)


def test_tiles_are_cut_row_by_row_and_stitched_back_in_place():
    grid = anomaly_levers.TileGrid(2, 16, 4)          # overlap 4 px, input 28, tile map 4 cells, map 7
    x = torch.arange(2 * 28 * 28, dtype=torch.float32).reshape(2, 1, 28, 28)
    tiles = grid.cut(x)
    assert tiles.shape == (8, 1, 16, 16)
    assert torch.equal(tiles[1], x[0, :, 0:16, 12:28]) and torch.equal(tiles[6], x[1, :, 12:28, 0:16])
    # tile t of each image has distance t + 1 everywhere: the stitched map shows each in its corner
    d = torch.arange(1, 5, dtype=torch.float32).repeat(2)[:, None, None, None].expand(8, 1, 4, 4)
    out = grid.stitch(d)
    assert out.shape == (2, 1, 7, 7)
    assert out[0, 0, 0, 0] == 1 and out[0, 0, 0, 6] == 2 and out[1, 0, 6, 0] == 3 and out[1, 0, 6, 6] == 4
    assert out[0, 0, 3, 3] == 4 and out[0, 0, 0, 3] == 2      # where tiles overlap, the larger distance


def test_a_tiled_graph_scores_each_tile_against_the_bank_and_exports():
    grid = anomaly_levers.TileGrid(2, 64, 8)          # input 120 px, map 15 cells
    graph = _graph(tiles=grid)
    x = torch.randn(2, 3, grid.input_size, grid.input_size)
    with torch.no_grad():
        score, amap = graph(x)
        per_tile = _graph()(grid.cut(x))[1]            # the same bank, tile by tile, untiled
    assert amap.shape == (2, 1, 15, 15) and score.shape == (2,)
    assert torch.allclose(score, amap.flatten(1).max(1).values)
    # the stitched map's corners are the tiles' own maps (before the blur reaches across a seam)
    assert torch.allclose(amap[0, 0, 0, 0], per_tile[0, 0, 0, 0], rtol=1e-4)
    session = ort.InferenceSession(to_onnx(graph, x[:1], ["score", "anomaly_map"]), providers=["CPUExecutionProvider"])
    got_s, got_m = session.run(None, {"image": x.numpy()})
    assert np.allclose(got_s, score.numpy(), rtol=1e-4) and got_m.shape == (2, 1, 15, 15)


@pytest.fixture(scope="module")
def tiled(tmp_path_factory):
    from studio.training.anomaly import train_anomaly

    project = make_project(tmp_path_factory.mktemp("levers") / "p")
    card = train_anomaly(project, {"coreset_ratio": 0.25, "backbone": "efficientnet_lite1", "layers": "2,3",
                                   "image_score": "topk:3", "tiles": "2x2"}, Report())
    return project, card


def test_the_card_records_the_levers_and_the_input_the_tiles_are_cut_from(tiled):
    project, card = tiled
    assert card["backbone"] == "efficientnet_lite1"
    assert card["anomaly"] == {"backbone": "efficientnet_lite1", "layers": "2,3", "image_score": "topk:3",
                               "tiles": "2x2", "tile_size": 64, "tile_overlap": 8}
    assert card["preprocessing"]["size"] == 120 and project.preprocessing.size == 64     # 2 x 64 - 8
    assert card["lineage"]["preprocessing"]["size"] == 64                                # the project's setting
    assert card["anomaly_map_size"] == [15, 15]
    assert card["metrics"]["feature_dims"] == 40 + 80
    # the bank was fit on the tiles: 5 good images x 4 tiles x 8 x 8 cells, a quarter kept
    assert card["metrics"]["bank_size"] == 5 * 4 * 64 // 4


def test_the_station_gets_the_tiled_score_and_a_heat_map_over_the_roi(tiled):
    from studio.inference.model import InspectionModel
    from studio.labels import samples as labeled

    project, card = tiled
    model = InspectionModel.load(project, card["model_id"])
    samples = labeled.test_samples(project)
    images = [project.dataset.load(project.dataset.get(s.image_id)) for s in samples]
    preds = model.predict_batch(images)
    assert all(p.anomaly_map.shape == (15, 15) for p in preds)
    for p in preds:      # the graph's top-3 mean of its own map, judged against the card's threshold
        assert p.score == pytest.approx(float(np.sort(p.anomaly_map.ravel())[-3:].mean()), rel=1e-4)
        assert p.defective == (p.score >= card["threshold"])
    good = [p.score for p, s in zip(preds, samples) if not s.defective]
    bad = [p.score for p, s in zip(preds, samples) if s.defective]
    assert np.mean(bad) > np.mean(good)
    heat = pytest.importorskip("studio.gui.pages.error_gallery").heat_overlay(images[0], preds[0].anomaly_map,
                                                                                card["threshold"])
    assert heat.shape[:2] == images[0].shape[:2]


def test_input_size_sets_what_the_model_sees_and_the_project_keeps_its_own(tmp_path):
    from studio.training.anomaly import train_anomaly

    project = make_project(tmp_path / "p")                      # preprocessing size 64
    card = train_anomaly(project, {"coreset_ratio": 0.25, "input_size": 96}, Report())
    assert card["preprocessing"]["size"] == 96 and project.preprocessing.size == 64
    assert card["anomaly_map_size"] == [12, 12] and card["metrics"]["bank_size"] == 5 * 144 // 4
    # tiles of input_size: the grid is cut from 2 x 96 - 16 px
    assert anomaly_levers.read({"input_size": 96, "tiles": "2x2"}).tiles(64).input_size == 176


def test_training_inputs_are_capped_in_memory(tmp_path, monkeypatch):
    from studio.training.anomaly import train_anomaly

    assert anomaly_levers.train_images_cap(224) == 2674          # 0.6 MB each in 1.5 GiB
    assert anomaly_levers.train_images_cap(608) == 363           # 3x3 tiles of 224 px: 4.4 MB each
    monkeypatch.setattr(anomaly_levers, "TRAIN_INPUT_BYTES", 3 * 64 * 64 * 4 * 3)   # three 64 px inputs
    report = Report()
    card = train_anomaly(make_project(tmp_path / "p"), {"coreset_ratio": 0.25}, report)
    assert card["data"]["n_train"] == 3                         # of the project's 5 good training images
    assert any("at most 3 training images" in e.get("text", "") for e in report.events)
