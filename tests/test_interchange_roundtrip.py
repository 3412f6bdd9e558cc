"""Export then import for every format: labels, classes, splits and shapes come back (as far as the format holds them)."""
import json
from pathlib import Path

import numpy as np
import pytest

from studio.cli.main import main
from studio.core.errors import StudioError
from studio.interchange.importers import run_import
from studio.interchange import run_export
from studio.labels import shapes as S
from studio.project import Project

H, W = 40, 60


@pytest.fixture
def source(demo_project):
    """Eight parts: OK, boxes, a polygon, a brush mask, and two that must stay out (disputed, borderline)."""
    p = demo_project
    rng = np.random.default_rng(0)
    specs = [("ok0", "train"), ("ok1", "test"), ("box0", "train"), ("box1", "test"), ("poly", "train"),
             ("brush", "test"), ("disputed", "train"), ("border", "train")]
    for stem, split in specs:
        p.dataset.add_image(rng.integers(0, 255, (H, W, 3), dtype=np.uint8), stem=stem, split=split, save=False)
    p.dataset.save()
    L = p.labels
    L.add("ok0", "ok", labeler="anna")
    L.add("ok1", "ok", labeler="anna")
    L.add("box0", "ng", "scratch", labeler="anna", shapes=[S.box(3, 4, 20, 5, "scratch")])
    L.add("box1", "ng", "scratch", labeler="anna",
          shapes=[S.box(10, 10, 8, 8, "scratch"), S.box(30.5, 2.25, 12, 6, "scratch")])
    L.add("poly", "ng", "dent", labeler="anna", shapes=[S.polygon([(5, 5), (25, 6), (20, 30), (6, 22)], "dent")])
    m = np.zeros((H, W), bool)
    m[12:25, 30:50] = True
    m[14:18, 20:30] = True
    L.add("brush", "ng", "stain", labeler="anna",
          shapes=[{"type": "mask", "class": "stain", "file": S.save_mask(p.root, m)}])
    L.add("disputed", "ok", labeler="anna")
    L.add("disputed", "ng", "dent", labeler="ben")
    L.add("border", "borderline", labeler="anna")
    return p


EXPECTED = {"ok0": ("ok", None), "ok1": ("ok", None), "box0": ("ng", "scratch"), "box1": ("ng", "scratch"),
            "poly": ("ng", "dent"), "brush": ("ng", "stain")}


def round_trip(source, tmp_path, fmt, src_of=lambda d: d):
    dest = tmp_path / f"out_{fmt}"
    report = run_export(source, fmt, dest)
    assert report["exported"] == 6 and report["left_out"] == 2
    target = Project.create(tmp_path / f"in_{fmt}", template="demo")
    imp = run_import(target, fmt, src_of(dest), labeler="outside-team")
    assert imp.imported == 6 and imp.skipped == []
    by_orig = {}
    for rec in target.dataset:
        by_orig[Path(rec.meta["original"]).stem] = rec
    assert set(by_orig) == set(EXPECTED)
    labels = target.labels.current()
    for orig, rec in by_orig.items():
        assert (labels[rec.id].verdict, labels[rec.id].defect_class) == EXPECTED[orig], orig
        assert labels[rec.id].labeler == "outside-team"
        assert np.array_equal(target.dataset.load(rec), source.dataset.load(source.dataset.get(orig)))
    return target, by_orig, labels


def shapes_of(labels, rec):
    return labels[rec.id].shapes


def test_coco_round_trip_keeps_boxes_polygons_masks_and_split(source, tmp_path):
    target, by_orig, labels = round_trip(source, tmp_path, "coco", lambda d: d / "annotations.json")
    for orig in EXPECTED:
        assert by_orig[orig].split == source.dataset.get(orig).split
        before = source.labels.current()[orig].shapes
        after = shapes_of(labels, by_orig[orig])
        assert [s["type"] for s in after] == [s["type"] for s in before]
        for a, b in zip(before, after):
            if a["type"] == "mask":
                assert np.array_equal(S.load_mask(source.root, a["file"]), S.load_mask(target.root, b["file"]))
            else:
                assert a == b
    data = json.loads((tmp_path / "out_coco" / "annotations.json").read_text())
    assert {c["name"] for c in data["categories"]} >= {"scratch", "dent", "stain"}
    assert len(data["annotations"]) == 5


def test_voc_round_trip_keeps_boxes(source, tmp_path):
    target, by_orig, labels = round_trip(source, tmp_path, "voc")
    assert shapes_of(labels, by_orig["box1"]) == source.labels.current()["box1"].shapes
    poly = shapes_of(labels, by_orig["poly"])
    assert poly == [S.box(5, 5, 20, 25, "dent")]                  # VOC holds the polygon's box
    assert shapes_of(labels, by_orig["brush"]) == [S.box(20, 12, 30, 13, "stain")]
    assert by_orig["box1"].split == "test" and by_orig["box0"].split == "train"


def test_yolo_round_trip_keeps_boxes_and_polygons(source, tmp_path):
    target, by_orig, labels = round_trip(source, tmp_path, "yolo")
    for orig in ("box0", "box1", "poly"):
        before = source.labels.current()[orig].shapes
        after = shapes_of(labels, by_orig[orig])
        assert len(after) == len(before)
        for a, b in zip(before, after):
            assert a["type"] == b["type"] and a["class"] == b["class"]
            if a["type"] == "box":
                assert [b[k] for k in "xywh"] == pytest.approx([a[k] for k in "xywh"], abs=1e-3)
            else:
                assert np.array(b["points"]) == pytest.approx(np.array(a["points"]), abs=1e-3)
    brush = shapes_of(labels, by_orig["brush"])[0]
    assert brush["type"] == "polygon"                              # a brush mask travels as its outline
    area = S.rasterize([brush], (H, W))
    src = S.rasterize(source.labels.current()["brush"].shapes, (H, W), source.root)
    assert (area & src).sum() / (area | src).sum() > 0.85
    assert by_orig["ok1"].split == "test"


def test_mvtec_round_trip_keeps_defect_masks(source, tmp_path):
    target, by_orig, labels = round_trip(source, tmp_path, "mvtec")
    assert by_orig["ok0"].split == "train" and by_orig["ok1"].split == "test"
    brush = target.dataset.load_mask(by_orig["brush"])
    want = S.rasterize(source.labels.current()["brush"].shapes, (H, W), source.root)
    assert np.array_equal(brush > 0, want)
    poly = target.dataset.load_mask(by_orig["poly"])
    assert np.array_equal(poly > 0, S.rasterize(source.labels.current()["poly"].shapes, (H, W)))
    assert by_orig["box0"].mask is None                           # boxes are not masks


def test_folders_round_trip(source, tmp_path):
    round_trip(source, tmp_path, "folders")
    assert sorted(p.name for p in (tmp_path / "out_folders").iterdir()) == ["dent", "good", "scratch", "stain"]


def test_export_cli_refuses_a_non_empty_folder(source, tmp_path, capsys):
    dest = tmp_path / "busy"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    assert main(["export", str(source.root), str(dest), "--format", "coco"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["export", str(source.root), str(tmp_path / "fresh"), "--format", "yolo", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["exported"] == 6


def test_bad_sources_are_clear_errors(demo_project, tmp_path):
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(StudioError, match="COCO"):
        run_import(demo_project, "coco", tmp_path / "x.json")
    with pytest.raises(StudioError, match="YOLO"):
        run_import(demo_project, "yolo", tmp_path)
    with pytest.raises(StudioError, match="VOC"):
        run_import(demo_project, "voc", tmp_path)


def test_outside_labelers_labels_are_measured_for_agreement(source, tmp_path, capsys):
    """An outside team's COCO labels come in as theirs; agreement is measured on them."""
    run_export(source, "coco", tmp_path / "team")
    target = Project.create(tmp_path / "t", template="demo")
    first = run_import(target, "coco", tmp_path / "team" / "annotations.json", labeler="us")
    assert first.imported == 6 and first.attached == 0
    data = json.loads((tmp_path / "team" / "annotations.json").read_text())
    for im in data["images"]:                                       # the team calls box1 a dent
        if im["studio"]["image_id"] == "box1":
            im["studio"]["defect_class"] = "dent"
    (tmp_path / "team" / "annotations.json").write_text(json.dumps(data))
    second = run_import(target, "coco", tmp_path / "team" / "annotations.json", labeler="team")
    assert second.imported == 0 and second.attached == 6 and len(target.dataset) == 6
    ids = {Path(r.meta["original"]).stem: r.id for r in target.dataset}
    assert main(["labels", "agreement", str(target.root), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    pair = rep["cohen_kappa"][0]
    assert pair["labelers"] == ["team", "us"] and pair["n"] == 6 and pair["percent_agreement"] == 5 / 6
    assert [d["image_id"] for d in rep["disputed"]] == [ids["box1"]]


def test_neu_det_voc_boxes_import(shared_data, tmp_path, demo_project):
    neu = shared_data / "neu_det"
    if not (neu / "ANNOTATIONS").is_dir():
        pytest.skip(f"NEU-DET is not in {shared_data}")
    src = tmp_path / "neu"
    (src / "ANNOTATIONS").mkdir(parents=True)
    (src / "IMAGES").mkdir()
    for cls in ("crazing", "inclusion", "scratches"):
        for i in (1, 2):
            (src / "ANNOTATIONS" / f"{cls}_{i}.xml").symlink_to(neu / "ANNOTATIONS" / f"{cls}_{i}.xml")
            (src / "IMAGES" / f"{cls}_{i}.jpg").symlink_to(neu / "IMAGES" / f"{cls}_{i}.jpg")
    report = run_import(demo_project, "voc", src)
    assert report.imported == 6
    cur = demo_project.labels.current()
    for rec in demo_project.dataset:
        label = cur[rec.id]
        assert label.verdict == "ng" and label.defect_class in ("crazing", "inclusion", "scratches")
        assert label.shapes and all(s["type"] == "box" and s["w"] > 0 for s in label.shapes)
    first = next(r for r in demo_project.dataset if r.meta["original"].endswith("crazing_1.jpg"))
    assert cur[first.id].shapes[0] == S.box(1, 1, 192, 193, "crazing")    # xmin 2..xmax 193, 1-based


def test_a_named_labelers_import_finds_captured_images(demo_project, tmp_path):
    """Captured images carry no pixel digest: a second opinion still lands on them, not on copies."""
    img = np.random.default_rng(3).integers(0, 255, (20, 30, 3), dtype=np.uint8)
    rec = demo_project.dataset.add_image(img, stem="captured")
    assert "pixel_sha1" not in rec.meta
    demo_project.labels.add(rec.id, "ok", labeler="anna")
    run_export(demo_project, "folders", tmp_path / "out")
    report = run_import(demo_project, "folders", tmp_path / "out", labeler="team")
    assert report.attached == 1 and report.imported == 0 and len(demo_project.dataset) == 1
    assert set(demo_project.labels.by_labeler()[rec.id]) == {"anna", "team"}
