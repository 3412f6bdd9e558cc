"""Another tool's images come back under their own names and bytes, through every format and back."""
import hashlib
import json
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from studio.core.errors import ImportProblem
from studio.interchange.importers import run_import
from studio.interchange import run_export
from studio.labels import shapes as S
from studio.project import Project

H, W = 48, 64
FORMATS = ["coco", "voc", "yolo", "mvtec", "folders"]


def _jpeg(seed):
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.integers(0, 255, (H, W, 3), dtype=np.uint8), (0, 0), 2)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return buf.tobytes()


def _sha(data):
    return hashlib.sha1(data).hexdigest()


@pytest.fixture
def jpeg_source(tmp_path):
    """A project holding another tool's JPEGs (imported from class folders), labelled with shapes."""
    src = tmp_path / "tool"
    files = {"good/13000204_temp.jpg": 1, "good/000.jpg": 2, "mousebite/13000204_test.jpg": 3,
             "mousebite/000.jpg": 4, "spur/plate-7.jpg": 5}
    for rel, seed in files.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(_jpeg(seed))
    p = Project.create(tmp_path / "source", template="demo")
    report = run_import(p, "folders", src)
    assert report.imported == 5
    # the two 000.jpg share a name in the project: one keeps it, the other is told apart, and the report says so
    assert [Path(f).name for f, _ in report.renamed] == ["000.jpg"] and report.renamed[0][1] == "000_2.jpg"
    by_name = {(Path(r.meta["original"]).parent.name, r.meta["original_name"]): r for r in p.dataset}
    for (folder, name), rec in by_name.items():
        assert _sha(p.dataset.path(rec).read_bytes()) == _sha((src / folder / name).read_bytes())   # same JPEG
        assert p.dataset.path(rec).suffix == ".jpg"
    L = p.labels
    m = np.zeros((H, W), bool)
    m[10:22, 30:50] = True
    shapes = {("mousebite", "13000204_test.jpg"): [S.box(3, 4, 20, 6, "mousebite"), S.box(30, 20, 10, 12, "mousebite")],
              ("mousebite", "000.jpg"): [S.polygon([(5, 5), (25, 6), (20, 30), (6, 22)], "mousebite")],
              ("spur", "plate-7.jpg"): [{"type": "mask", "class": "spur", "file": S.save_mask(p.root, m)}]}
    for key, rec in by_name.items():
        if key in shapes:
            L.add(rec.id, "ng", key[0], labeler="anna", shapes=shapes[key])
    return p, src, files


def _exported_images(dest):
    return {f.name: _sha(f.read_bytes()) for f in dest.rglob("*.jpg")}


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_gives_back_the_same_names_and_bytes_twice_round(jpeg_source, tmp_path, fmt):
    source, src, files = jpeg_source
    originals = sorted((Path(rel).name, _sha((src / rel).read_bytes())) for rel in files)
    first = tmp_path / f"{fmt}_1"
    rep = run_export(source, fmt, first)
    assert rep["exported"] == 5
    got = sorted((f.name, _sha(f.read_bytes())) for f in first.rglob("*.jpg"))
    assert sorted(h for _, h in got) == sorted(h for _, h in originals)      # the same JPEG bytes
    # every image under its own name; a second name only where two share one folder, and said so
    want = Counter(n for n, _ in originals)
    for r in rep["renamed"]:
        want[r["name"]] -= 1
        want[Path(r["exported_as"]).name] += 1
    assert Counter(n for n, _ in got) == +want
    if fmt in ("coco", "voc"):           # one images folder: the two 000.jpg meet there
        assert [r["name"] for r in rep["renamed"]] == ["000.jpg"]
    if fmt in ("mvtec", "folders"):      # one folder per class: no clash, no renaming
        assert rep["renamed"] == []
    assert not list(first.rglob("*.png")) or fmt == "mvtec"          # no re-encoded images (masks only)
    # import what was exported, export again: the same names, bytes and shapes
    target = Project.create(tmp_path / f"{fmt}_in", template="demo")
    src_of = first / "annotations.json" if fmt == "coco" else first
    imp = run_import(target, fmt, src_of, labeler="outside")
    assert imp.imported == 5 and imp.skipped == []
    second = tmp_path / f"{fmt}_2"
    run_export(target, fmt, second)
    assert _exported_images(second) == _exported_images(first)
    before = {r.meta["original_name"]: source.labels.current().get(r.id) for r in source.dataset}
    after = {Path(r.meta["original"]).name: target.labels.current()[r.id] for r in target.dataset}
    for rec in target.dataset:
        name = Path(rec.meta["original"]).name
        assert rec.meta["original_name"] == name and Path(rec.file).suffix == ".jpg"
        assert _sha(target.dataset.path(rec).read_bytes()) == _sha(Path(rec.meta["original"]).read_bytes())
    if fmt == "coco":
        for name in ("13000204_test.jpg", "plate-7.jpg"):
            a, b = before[name], after[name]
            assert [s["type"] for s in a.shapes] == [s["type"] for s in b.shapes]
            for x, y in zip(a.shapes, b.shapes):
                if x["type"] == "mask":
                    assert np.array_equal(S.load_mask(source.root, x["file"]), S.load_mask(target.root, y["file"]))
                else:
                    assert x == y
    if fmt in ("voc", "yolo"):
        b = after["13000204_test.jpg"].shapes
        assert [s[k] for s in b for k in "xywh"] == pytest.approx([3, 4, 20, 6, 30, 20, 10, 12], abs=1e-3)


def test_a_real_coco_to_voc_round_trip_keeps_deeppcb_names(shared_data, tmp_path):
    """The reported case: COCO in (DeepPCB JPEGs) -> VOC out gave mousebite_13000204_test.png."""
    files = sorted((shared_data / "deeppcb").glob("group*/*/*_test.jpg"))[:3]
    assert files
    coco = tmp_path / "coco"
    (coco / "images").mkdir(parents=True)
    images, anns = [], []
    for i, f in enumerate(files, 1):
        (coco / "images" / f.name).write_bytes(f.read_bytes())
        images.append({"id": i, "file_name": f.name, "width": 640, "height": 640})
        anns.append({"id": i, "image_id": i, "category_id": 3, "bbox": [100, 120, 30, 20], "iscrowd": 0})
    (coco / "annotations.json").write_text(json.dumps({"images": images, "annotations": anns,
                                                       "categories": [{"id": 3, "name": "mousebite"}]}))
    p = Project.create(tmp_path / "p", template="demo")
    assert run_import(p, "coco", coco / "annotations.json").imported == 3
    run_export(p, "voc", tmp_path / "voc")
    out = sorted((tmp_path / "voc" / "JPEGImages").iterdir())
    assert [f.name for f in out] == sorted(f.name for f in files)
    assert all(o.read_bytes() == f.read_bytes() for o, f in zip(out, sorted(files, key=lambda f: f.name)))
    xml = (tmp_path / "voc" / "Annotations" / f"{files[0].stem}.xml").read_text()
    assert f"<filename>{files[0].name}</filename>" in xml and "<xmin>101</xmin>" in xml


def _yolo(tmp_path, label_text):
    root = tmp_path / "yolo"
    (root / "images" / "train").mkdir(parents=True)
    (root / "labels" / "train").mkdir(parents=True)
    (root / "data.yaml").write_text("names: [scratch, dent]\n")
    for stem in ("a", "b"):
        (root / "images" / "train" / f"{stem}.jpg").write_bytes(_jpeg(7))
    (root / "labels" / "train" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (root / "labels" / "train" / "b.txt").write_text(label_text)
    return root


@pytest.mark.parametrize("text,why", [("0 0.5 0.5 0.2 0.2\nscratch at 0.4 0.4\n", "b.txt:2"),
                                      ("0,0.5,0.5,0.2,0.2\n", "b.txt:1"),
                                      ("7 0.5 0.5 0.2 0.2\n", "class 7"),
                                      ("1 0.5 0.5 0.2\n", "neither a box")])
def test_a_yolo_label_line_that_cannot_be_parsed_is_an_error_not_a_good_part(demo_project, tmp_path, text, why):
    root = _yolo(tmp_path, text)
    before = len(demo_project.dataset)
    with pytest.raises(ImportProblem) as e:
        run_import(demo_project, "yolo", root)
    assert why in str(e.value) and "b.txt" in str(e.value)
    assert len(demo_project.dataset) == before          # nothing came in, no defect as an OK part


def test_a_voc_folder_whose_xml_files_are_all_malformed_names_the_parse_errors(demo_project, tmp_path):
    root = tmp_path / "voc"
    root.mkdir()
    for stem in ("p1", "p2"):
        (root / f"{stem}.jpg").write_bytes(_jpeg(3))
        (root / f"{stem}.xml").write_text("<annotation><object><name>dent</name>")     # cut off
    with pytest.raises(ImportProblem) as e:
        run_import(demo_project, "voc", root)
    msg = str(e.value)
    assert "none can be read" in msg and "p1.xml" in msg and "unreadable XML" in msg
    assert "matches an image" not in msg


def test_a_voc_xml_that_cannot_be_read_keeps_its_image_out(demo_project, tmp_path):
    root = tmp_path / "voc"
    root.mkdir()
    (root / "p1.jpg").write_bytes(_jpeg(3))
    (root / "p1.xml").write_text("<annotation><filename>p1.jpg</filename></annotation>")
    (root / "p2.jpg").write_bytes(_jpeg(4))
    (root / "p2.xml").write_text("<annotation><object>")
    report = run_import(demo_project, "voc", root)
    assert report.imported == 1 and [Path(f).name for f, _ in report.skipped] == ["p2.xml"]
    assert {r.meta["original_name"] for r in demo_project.dataset} == {"p1.jpg"}


def test_the_cli_says_when_a_name_was_taken(tmp_path, capsys):
    from studio.cli.main import main

    src = tmp_path / "tool"
    for cls in ("good", "scratch"):
        (src / cls).mkdir(parents=True)
        (src / cls / "000.jpg").write_bytes(_jpeg(1 if cls == "good" else 2))
    proj = tmp_path / "p"
    assert main(["project", "new", str(proj), "--template", "demo"]) == 0
    capsys.readouterr()
    assert main(["import", str(proj), "--format", "folders", str(src)]) == 0
    out = capsys.readouterr().out
    assert "imported 2 images" in out and "renamed" in out and "000_2.jpg" in out
    assert main(["export", str(proj), str(tmp_path / "voc"), "--format", "voc"]) == 0
    out = capsys.readouterr().out
    assert "renamed 000.jpg -> JPEGImages/000_2.jpg" in out
    assert main(["export", str(proj), str(tmp_path / "f"), "--format", "folders"]) == 0
    assert sorted(p.relative_to(tmp_path / "f").as_posix() for p in (tmp_path / "f").rglob("*.jpg")) == \
        ["good/000.jpg", "scratch/000.jpg"]
