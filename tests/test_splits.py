"""Splits by physical part, the frozen test split, and the warnings for changes and leaks."""
import json

import numpy as np
import pytest

from studio.cli.main import main
from studio.dataset.splits import check, freeze, group_from_name, group_of, read_frozen, regroup
from studio.project import Project


def img(v: int) -> np.ndarray:
    rng = np.random.default_rng(v)
    return rng.integers(0, 255, (24, 24), dtype=np.uint8)


@pytest.fixture
def project(tmp_path):
    return Project.create(tmp_path / "p", template="demo")


def test_group_rules():
    assert group_of("x", {"group": "P-17"}) == "group:P-17"
    assert group_of("x", {"truth": {}, "seed": 3, "index": 12, "lighting": {"glare": 1}}) == "sim:3:12"
    assert group_from_name("part17__top") == "part17"
    assert group_from_name("part17_view2") == "part17"
    assert group_from_name("A3-cam1") == "A3"
    assert group_from_name("p9_light3") == "p9"
    assert group_from_name("00041001_temp") == group_from_name("00041001_test") == "00041001"   # DeepPCB pair
    assert group_from_name("000") is None and group_from_name("scratch_012") is None
    assert group_of("a", {"original": "/data/good/part17_view2.png"}) == "file:part17"
    assert group_of("a", {"original": "/data/good/000.png"}) == "image:a"
    assert group_of("a", None) == "image:a"


def test_reference_pairs_from_a_real_folder_import_stay_together(project, shared_data):
    """DeepPCB: each board's defect-free template and its test image must land on the same side."""
    import shutil

    from studio.interchange.importers import import_folders

    src = project.root.parent / "pcb"
    pairs = sorted((shared_data / "deeppcb" / "group00041" / "00041").glob("*_temp.jpg"))[:12]
    if not pairs:
        pytest.skip("no DeepPCB pairs in the shared data")
    (src / "good").mkdir(parents=True)
    (src / "pcb_defect").mkdir()
    for temp in pairs:
        shutil.copy(temp, src / "good" / temp.name)
        shutil.copy(temp.with_name(temp.name.replace("_temp", "_test")), src / "pcb_defect")
    import_folders(project, src)
    sides: dict[str, set] = {}
    for r in project.dataset:
        sides.setdefault(group_of(r.id, r.meta), set()).add(r.split)
    assert len(sides) == len(pairs) and all(len(s) == 1 for s in sides.values())
    assert {s for v in sides.values() for s in v} == {"train", "test"}


def test_images_of_one_part_never_straddle(project):
    ds = project.dataset
    for part in range(40):
        for view in range(3):
            ds.add_image(img(part * 10 + view), stem=f"p{part}v{view}", meta={"group": f"P{part}"}, save=False)
    ds.save()
    sides = {}
    for r in ds:
        sides.setdefault(r.meta["group"], set()).add(r.split)
    assert all(len(s) == 1 for s in sides.values())
    n_test = sum(s == {"test"} for s in sides.values())
    assert 4 <= n_test <= 22                                # about 30 % of 40 parts
    report = check(project, duplicates=False)
    assert report["straddling_groups"] == []
    assert report["parts"] == {"train": 40 - n_test, "test": n_test}


def test_simulated_parts_keep_their_side_under_other_lighting(project):
    from studio.capture.acquire import capture_to_project
    from studio.capture.camera import open_camera

    first = capture_to_project(project, open_camera("sim:seed=3,width=160,height=120"), 12)
    again = capture_to_project(project, open_camera("sim:seed=3,width=160,height=120,glare=1"), 12)
    assert [r.meta["index"] for r in first] == [r.meta["index"] for r in again]
    assert [r.split for r in first] == [r.split for r in again]
    assert {r.split for r in first} == {"train", "test"}       # 12 parts: both sides get some


def test_freeze_then_new_parts_go_to_train_and_changes_are_reported(project):
    ds = project.dataset
    recs = [ds.add_image(img(i), stem=f"a{i}", split="test" if i < 4 else "train", meta={"group": f"G{i}"},
                         save=False) for i in range(8)]
    ds.save()
    for r in recs:
        project.labels.add(r.id, "ok")
    record = freeze(project)
    assert record["n"] == 4 and set(read_frozen(project.root)["images"]) == {r.id for r in recs[:4]}
    clean = check(project)
    assert clean["warnings"] == [] and clean["frozen"] == record["frozen"]

    assert all(ds.add_image(img(100 + i), stem=f"new{i}", meta={"group": f"N{i}"}).split == "train"
               for i in range(10))
    assert ds.add_image(img(200), stem="a0_again", meta={"group": "G0"}).split == "test"   # its part is in test
    project.labels.add(recs[1].id, "ng", "scratch")                                      # relabeled
    recs[2].split = "train"                                                              # moved: a leak
    ds.save()
    report = check(project)
    assert report["added"] == ["a0_again"] and report["relabeled"] == [recs[1].id]
    assert report["moved_to_train"] == [recs[2].id]
    text = " ".join(report["warnings"])
    assert "The test split changed since it was frozen" in text and "1 images added" in text
    assert "1 images relabeled" in text and "Leak: 1 images of the frozen test split are now in the train" in text


def test_removed_images_and_duplicates_are_found(project):
    ds = project.dataset
    a = ds.add_image(img(1), stem="a", split="test", meta={"group": "A"})
    ds.add_image(img(2), stem="b", split="test", meta={"group": "B"})
    ds.add_image(img(1), stem="a_copy", split="train", meta={"group": "C"})           # the same file bytes
    freeze(project)
    manifest = json.loads((project.root / "dataset.json").read_text())
    manifest["images"] = [r for r in manifest["images"] if r["id"] != "b"]
    (project.root / "dataset.json").write_text(json.dumps(manifest))
    report = check(Project.open(project.root))
    assert report["removed"] == ["b"]
    assert report["duplicates"] == [[a.id, "a_copy"]]
    assert any("byte-identical" in w for w in report["warnings"])


def test_regroup_moves_a_straddling_part_to_the_frozen_test_side(project):
    ds = project.dataset
    ds.add_image(img(1), stem="t", split="test", meta={"group": "P1"})
    ds.add_image(img(2), stem="u", split="train", meta={"group": "P1"})
    ds.add_image(img(3), stem="v", split="train", meta={"group": "P1"})
    assert check(project)["straddling_groups"] == ["group:P1"]
    freeze(project)
    assert regroup(project) == 2
    assert {r.split for r in Project.open(project.root).dataset} == {"test"}
    assert check(project)["straddling_groups"] == []


def test_split_command(project, capsys):
    project.dataset.add_image(img(1), stem="t", split="test", meta={"group": "P1"})
    project.dataset.add_image(img(2), stem="u", split="train", meta={"group": "P1"})
    assert main(["split", str(project.root), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["frozen"] is None and out["counts"]["straddling_groups"] == 1
    assert any("not frozen yet" in w for w in out["warnings"])
    assert main(["split", str(project.root), "--regroup"]) == 0
    assert "1 images moved" in capsys.readouterr().out
    assert main(["split", str(project.root), "--freeze"]) == 0
    text = capsys.readouterr().out
    assert "test split frozen: 2 images" in text and "no changes and no leaks" in text
    assert main(["split", str(project.root), "--unfreeze"]) == 0
    assert read_frozen(project.root) is None
