"""COCO from another tool: plain annotation JSON (no studio fields), polygons, boxes and compressed RLE."""
import json

import numpy as np
import pytest

from studio.interchange.importers import run_import
from studio.dataset.store import encode_png
from studio.interchange.coco import rle_decode, rle_encode


def test_rle_matches_pycocotools():
    mask_api = pytest.importorskip("pycocotools.mask", reason="pycocotools (dev extra) cross-checks RLE")
    rng = np.random.default_rng(1)
    m = np.zeros((37, 53), bool)
    m[5:20, 7:30] = True
    m[rng.random((37, 53)) < 0.05] = True
    compressed = mask_api.encode(np.asfortranarray(m.astype(np.uint8)))
    compressed["counts"] = compressed["counts"].decode("ascii")
    assert np.array_equal(rle_decode(compressed), m)                       # their string, our decoder
    ours = rle_encode(m)
    theirs = mask_api.frPyObjects(ours, *ours["size"])                     # our counts, their decoder
    assert np.array_equal(mask_api.decode(theirs).astype(bool), m)


def test_plain_coco_from_another_tool(demo_project, tmp_path):
    (tmp_path / "images").mkdir()
    for name in ("a.png", "b.png", "c.png"):
        (tmp_path / "images" / name).write_bytes(encode_png(np.full((30, 40), 90, np.uint8)))
    m = np.zeros((30, 40), bool)
    m[3:9, 10:20] = True
    rle = rle_encode(m)
    data = {"images": [{"id": 1, "file_name": "a.png", "width": 40, "height": 30},
                       {"id": 2, "file_name": "b.png", "width": 40, "height": 30},
                       {"id": 3, "file_name": "c.png", "width": 40, "height": 30}],
            "categories": [{"id": 7, "name": "crack"}, {"id": 8, "name": "pit"}],
            "annotations": [
                {"id": 1, "image_id": 1, "category_id": 7, "bbox": [1, 2, 10, 4], "segmentation": [],
                 "iscrowd": 0},
                {"id": 2, "image_id": 1, "category_id": 7, "bbox": [0, 0, 5, 5],
                 "segmentation": [[0, 0, 5, 0, 5, 5, 0, 5]], "iscrowd": 0},
                {"id": 3, "image_id": 1, "category_id": 8, "bbox": [10, 3, 10, 6], "segmentation": rle,
                 "iscrowd": 1}]}
    (tmp_path / "ann.json").write_text(json.dumps(data))
    report = run_import(demo_project, "coco", tmp_path / "ann.json", labeler="other-tool")
    assert report.imported == 3 and set(report.classes_added) == {"crack", "pit"}
    cur = demo_project.labels.current()
    by = {r.meta["original"].rsplit("/", 1)[-1]: cur[r.id] for r in demo_project.dataset}
    a = by["a.png"]
    assert (a.verdict, a.defect_class) == ("ng", "crack")                   # the most frequent category
    assert [s["type"] for s in a.shapes] == ["box", "polygon", "mask"]
    from studio.labels.shapes import load_mask

    assert np.array_equal(load_mask(demo_project.root, a.shapes[2]["file"]), m)
    assert by["b.png"].verdict == "ok" and by["c.png"].verdict == "ok"      # no annotation: a good part
