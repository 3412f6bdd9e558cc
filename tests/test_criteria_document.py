"""The acceptance-criteria document: versions with author/date/reason, measurable rules, examples, print."""
import json

import numpy as np
import pytest

from studio.cli.main import main
from studio.core.errors import ProjectError, StudioError
from studio.criteria.document import CriteriaDocument, validate
from studio.criteria.examples import add_example
from studio.criteria.rules import limit_pixels
from studio.labels.measure import measure_shape
from studio.criteria.versions import diff, edit, load_version, versions
from studio.labels.shapes import box, polygon
from studio.project import Project


def test_every_change_is_a_new_version_and_old_ones_stay_readable(demo_project, capsys):
    root = demo_project.root
    v0 = demo_project.criteria.version
    rc = main(["criteria", "set", str(root), "scratch", "--measure", "length", "--limit", "2", "--surface", "A",
               "--pixel-size-mm", "0.05", "--author", "eva", "--reason", "customer complaint 4711", "--json"])
    assert rc == 0
    doc = Project.open(root).criteria
    assert doc.version == v0 + 1
    h = doc.history[-1]
    assert (h["version"], h["author"], h["reason"]) == (v0 + 1, "eva", "customer complaint 4711") and h["date"]
    old = load_version(root, v0)
    assert old.get("scratch").measure is None and doc.get("scratch").limit == 2.0
    assert v0 + 1 in versions(root)
    assert any("scratch.limit" in line for line in diff(old, doc))
    text = doc.get("scratch").rule_text(doc.pixel_size_mm)
    assert text.startswith("scratch longer than 2 mm on surface A: reject")
    assert "40 px" in text                                      # 2 mm / 0.05 mm/px
    capsys.readouterr()
    assert main(["criteria", "show", str(root), "--version", str(v0), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert shown["version"] == v0
    with pytest.raises(ProjectError, match="not kept"):
        load_version(root, 99)


def test_a_version_needs_author_and_reason(demo_project):
    with pytest.raises(ProjectError, match="author and reason"):
        edit(demo_project, "eva", "  ", lambda doc: None)


def test_measurable_limits_in_pixels_and_shape_measures():
    from studio.criteria.document import DefectClass

    c = DefectClass(1, "stain", measure="area", limit=1.0)
    assert limit_pixels(c, 0.1) == pytest.approx(100.0)          # 1 mm² at 0.1 mm/px = 100 px²
    assert limit_pixels(DefectClass(2, "x", measure="count", limit=3), 0.1) is None
    assert measure_shape(box(0, 0, 40, 4), "length", 0.05) == pytest.approx(2.0)
    assert measure_shape(box(0, 0, 40, 4), "width", 0.05) == pytest.approx(0.2)
    assert measure_shape(polygon([(0, 0), (10, 0), (10, 10), (0, 10)]), "area", 0.1) == pytest.approx(1.0)


def test_validation_names_the_bad_field(tmp_path):
    probs = validate({"classes": [{"id": 1, "name": "a", "measure": "weight"},
                                  {"id": 2, "name": "b", "limit": "big"}]})
    assert {p.field for p in probs} == {"classes[0].measure", "classes[1].limit"}
    (tmp_path / "c.yaml").write_text("classes: [{id: 1, name: a, measure: length, limit: 2, surface: A}]\n")
    assert CriteriaDocument.load(tmp_path / "c.yaml").classes[0].surface == "A"


def test_examples_from_labeled_images_and_the_printed_page(demo_project, tmp_path, capsys):
    p = demo_project
    for i in range(3):
        p.dataset.add_image(np.full((30, 40, 3), 60 * i, np.uint8), stem=f"s{i}")
    add_example(p, "scratch", "s0", "reject", author="eva", note="3.1 mm")
    assert main(["criteria", "example", str(p.root), "scratch", "s1", "--kind", "accept", "--author", "eva"]) == 0
    assert main(["criteria", "example", str(p.root), "scratch", "s2", "--kind", "borderline"]) == 0
    doc = Project.open(p.root).criteria
    assert [e["kind"] for e in doc.get("scratch").examples] == ["reject", "accept", "borderline"]
    with pytest.raises(StudioError, match="no image"):
        add_example(p, "scratch", "nope", "reject", author="eva")
    with pytest.raises(StudioError, match="not in the criteria"):
        add_example(p, "crack", "s0", "reject", author="eva")
    out = tmp_path / "criteria.html"
    assert main(["criteria", "print", str(p.root), str(out)]) == 0
    page = out.read_text()
    assert page.count("<div class='page'") == len(doc.classes)
    assert page.count("page-break-after: always") == len(doc.classes) - 1     # one page per class
    assert page.count("data:image/png;base64,") == 3
    assert "Clear reject" in page and "3.1 mm" in page and f"version {doc.version}" in page


def test_two_processes_adding_examples_lose_nothing(demo_project, tmp_path):
    import subprocess
    import sys
    import textwrap

    p = demo_project
    for i in range(20):
        p.dataset.add_image(np.full((8, 8), i, np.uint8), stem=f"e{i}", save=False)
    p.dataset.save()
    script = tmp_path / "w.py"
    script.write_text(textwrap.dedent("""
        import sys
        from studio.project import Project
        from studio.criteria.examples import add_example
        root, start = sys.argv[1], int(sys.argv[2])
        for i in range(start, 20, 2):
            add_example(Project.open(root), "dent", f"e{i}", "reject", author=f"w{start}")
    """))
    v0 = p.criteria.version
    procs = [subprocess.Popen([sys.executable, str(script), str(p.root), str(k)]) for k in (0, 1)]
    assert [pr.wait(timeout=60) for pr in procs] == [0, 0]
    doc = Project.open(p.root).criteria
    assert sorted(e["image_id"] for e in doc.get("dent").examples) == sorted(f"e{i}" for i in range(20))
    assert doc.version == v0 + 20 and len(versions(p.root)) >= 20
