"""The anomaly benchmarks' data sets (benchmarks/anomaly_data.py): DeepPCB and magnetic tile with masks."""
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data_module():
    spec = importlib.util.spec_from_file_location("anomaly_data", REPO / "benchmarks" / "anomaly_data.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["anomaly_data"] = module          # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_read_boxes_spaces_or_commas(data_module, tmp_path):
    f = tmp_path / "00001.txt"
    f.write_text("540 140 571 182 1\n342,492,375,521,3\n\n")
    assert data_module.read_boxes(f) == [(540, 140, 571, 182, 1), (342, 492, 375, 521, 3)]
    f.write_text("1 2 3\n")
    with pytest.raises(ValueError, match="x1,y1,x2,y2,type"):
        data_module.read_boxes(f)


def test_boxes_fill_the_mask(data_module, tmp_path):
    case = data_module.Case(tmp_path / "x_test.jpg", ("open",), None, ((2, 1, 5, 3), (8, 8, 20, 20)))
    m = case.mask((10, 10))
    assert m.sum() == 3 * 2 + 2 * 2          # the second box is cut at the image's edge
    assert m[1:3, 2:5].all() and not m[0].any()
    assert not data_module.Case(tmp_path / "good.jpg").mask((4, 4)).any()


def test_deeppcb_split(data_module, shared_data):
    split = data_module.deeppcb(40, 20, 30, root=shared_data)
    pairs = data_module.deeppcb_pairs(shared_data)
    assert len(pairs) >= 100
    assert len(split.train) == 40 and all(p.name.endswith("_temp.jpg") for p in split.train)
    good = [c for c in split.test if not c.defective]
    bad = [c for c in split.test if c.defective]
    assert len(good) == 20 and all(c.path.name.endswith("_temp.jpg") for c in good)
    assert len(bad) == 30 and all(c.path.name.endswith("_test.jpg") for c in bad)
    # nothing tested is in the bank: not a good template, nor the template of a tested image
    trained = set(split.train)
    assert not trained & {c.path for c in good}
    assert not trained & {c.path.with_name(c.path.name.replace("_test", "_temp")) for c in bad}
    assert set(split.classes) <= set(data_module.DEEPPCB_TYPES.values())
    assert len(split.classes) >= 4
    import cv2

    img = cv2.imread(str(bad[0].path), cv2.IMREAD_GRAYSCALE)
    m = bad[0].mask(img.shape)
    assert m.shape == (640, 640) and 0 < m.mean() < 0.5
    x1, y1, x2, y2 = bad[0].boxes[0]
    assert m[y1:y2, x1:x2].all()


def test_magnetic_tile_split_has_masks(data_module, shared_data):
    split = data_module.magnetic_tile(30, 10, 50, root=shared_data)
    assert len(split.train) == 30
    good = [c for c in split.test if not c.defective]
    bad = [c for c in split.test if c.defective]
    assert len(good) == 10 and not set(split.train) & {c.path for c in good}
    assert set(split.classes) == {"Blowhole", "Break", "Crack", "Fray", "Uneven"}
    assert 45 <= len(bad) <= 55                       # each class keeps its share
    import cv2

    shape = cv2.imread(str(bad[0].path), cv2.IMREAD_GRAYSCALE).shape
    m = bad[0].mask(shape)
    assert m.shape == shape and m.any() and not m.all()
    assert set(np.unique(m).tolist()) <= {False, True}


def test_variant_parsing_goes_through_the_trainers_options(data_module):
    spec = importlib.util.spec_from_file_location("anomaly_quality", REPO / "benchmarks" / "anomaly_quality.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    name, size, raw = module.parse_variant("big:size=320,max_bank=2048,layers=2,4")
    assert (name, size, raw) == ("big", 320, {"max_bank": 2048, "layers": "2,4"})
    assert module.parse_variant("plain") == ("plain", 256, {})      # a new project's size
    opts = module.trainer_options({"max_bank": "1024"})
    assert opts["max_bank"] == 1024 and opts["device"] == "cpu"
    with pytest.raises(SystemExit, match="unknown anomaly training option"):
        module.trainer_options({"max_bnak": 3})
    # a tiled variant reads its images at the grid's size, as train_anomaly does (2x2 tiles of 224 px)
    grid = module.model_grid(module.trainer_options({"tiles": "2x2"}), 224)
    assert (grid.size, grid.input_size) == (224, 416)
    assert module.model_grid(module.trainer_options({"input_size": 320}), 224).input_size == 320
