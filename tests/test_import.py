import numpy as np
import pytest

from studio.core.errors import ImportProblem
from studio.interchange.importers import run_import
from studio.dataset.store import encode_png


def write_png(path, value=128, size=32):
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.full((size, size), value, np.uint8)
    path.write_bytes(encode_png(img))


def make_mvtec(root):
    for i in range(4):
        write_png(root / "train" / "good" / f"{i:03d}.png")
    for i in range(2):
        write_png(root / "test" / "good" / f"{i:03d}.png")
    for i in range(3):
        write_png(root / "test" / "crack" / f"{i:03d}.png", value=40)
        m = np.zeros((32, 32), np.uint8)
        m[10:20, 10:20] = 255
        (root / "ground_truth" / "crack").mkdir(parents=True, exist_ok=True)
        (root / "ground_truth" / "crack" / f"{i:03d}_mask.png").write_bytes(encode_png(m))
    (root / "test" / "crack" / "bad.png").write_bytes(b"this is not a png")


def test_mvtec_import_keeps_split_masks_and_labels(demo_project, tmp_path):
    make_mvtec(tmp_path / "bottle")
    report = run_import(demo_project, "mvtec", tmp_path / "bottle")
    assert report.imported == 9
    assert len(report.skipped) == 1 and "bad.png" in report.skipped[0][0]
    assert "crack" in report.classes_added and "crack" in demo_project.criteria.class_names()
    assert demo_project.criteria.version == 2
    ds = demo_project.dataset
    assert len(ds.records("train")) == 4 and len(ds.records("test")) == 5
    labels = demo_project.labels.current()
    ng = [r for r in ds if labels[r.id].verdict == "ng"]
    assert len(ng) == 3 and all(labels[r.id].defect_class == "crack" for r in ng)
    assert all(labels[r.id].criteria_version == 2 for r in ng)
    mask = ds.load_mask(ng[0])
    assert mask is not None and mask[15, 15] == 1 and mask[0, 0] == 0
    assert all(r.mask is None for r in ds if labels[r.id].verdict == "ok")


def test_folders_import_with_labeler_and_corrupt_file(demo_project, tmp_path):
    src = tmp_path / "src"
    for i in range(3):
        write_png(src / "good" / f"g{i}.png")
        write_png(src / "scratch" / f"s{i}.png", value=10)
    (src / "scratch" / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    report = run_import(demo_project, "folders", src, labeler="outside-team")
    assert report.imported == 6 and len(report.skipped) == 1
    labels = demo_project.labels.current().values()
    assert {l.labeler for l in labels} == {"outside-team"}
    assert sorted(l.verdict for l in labels) == ["ng"] * 3 + ["ok"] * 3
    # the deterministic split puts every image in train or test
    assert {r.split for r in demo_project.dataset} <= {"train", "test"}


def test_wrong_layout_is_a_clear_error(demo_project, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImportProblem, match="MVTec"):
        run_import(demo_project, "mvtec", tmp_path / "empty")
    with pytest.raises(ImportProblem, match="sub-folder"):
        run_import(demo_project, "folders", tmp_path / "empty")
