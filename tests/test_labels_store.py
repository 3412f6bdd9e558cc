"""The label model: labelers, shapes, brush masks, criteria version, borderline, audit trail, blind view,
the resolved training label, and two processes appending at once."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from studio.core.errors import StudioError
from studio.labels import shapes as S
from studio.labels.store import LabelStore


@pytest.fixture
def project(demo_project):
    for i in range(6):
        demo_project.dataset.add_image(np.full((40, 60), 30 * i, np.uint8), stem=f"p{i}")
    return demo_project


def test_label_records_labeler_time_criterion_version_and_shapes(project):
    mask = np.zeros((40, 60), bool)
    mask[5:15, 10:30] = True
    rel = S.save_mask(project.root, mask)
    shapes = [S.box(1, 2, 10, 5, "scratch"), S.polygon([(0, 0), (10, 0), (5, 8)], "dent"),
              {"type": "mask", "class": "stain", "file": rel}]
    label = project.labels.add("p0", "ng", "scratch", labeler="anna", criteria_version=3, shapes=shapes)
    again = LabelStore(project.root).history("p0")[0]          # what another process reads
    assert again.labeler == "anna" and again.criteria_version == 3 and again.criterion == "scratch"
    assert again.time == label.time and again.id == label.id and again.shapes == label.shapes
    assert (project.root / rel).exists()
    assert np.array_equal(S.load_mask(project.root, rel), mask)
    # rasterising the three shapes gives their union
    r = S.rasterize(again.shapes, (40, 60), project.root)
    assert r[5:15, 10:30].all() and r[2:7, 1:11].all() and not r[30:, 40:].any()


def test_bad_input_is_a_clear_error(project):
    with pytest.raises(StudioError, match="verdict"):
        project.labels.add("p0", "maybe")
    with pytest.raises(StudioError, match="positive width"):
        project.labels.add("p0", "ng", "dent", shapes=[S.box(1, 1, 0, 4)])
    with pytest.raises(StudioError, match="three points"):
        project.labels.add("p0", "ng", "dent", shapes=[{"type": "polygon", "points": [[0, 0], [1, 1]]}])
    with pytest.raises(StudioError, match="rationale"):
        project.labels.decide("p0", "ok", labeler="ref", rationale=" ")


def test_blind_view_never_shows_another_labelers_label(project):
    st = project.labels
    st.add("p0", "ok", labeler="anna")
    st.add("p0", "ng", "dent", labeler="ben")
    st.add("p1", "ng", "scratch", labeler="ben")
    st.add("p2", "borderline", labeler="anna")
    st.decide("p0", "ng", "dent", labeler="ref", rationale="dent 1.4 mm > 1 mm")
    for who in ("anna", "ben", "carl"):
        view = st.view(who)
        assert all(l.labeler == who and l.kind == "label" for l in view.values())
    assert set(st.view("anna")) == {"p0", "p2"} and st.view("anna")["p0"].verdict == "ok"
    assert set(st.view("ben")) == {"p0", "p1"} and st.view("carl") == {}


def test_training_label_is_reference_then_agreement_then_single(project):
    st = project.labels
    st.add("p0", "ng", "dent", labeler="anna")          # single
    st.add("p1", "ng", "dent", labeler="anna")          # agreed
    st.add("p1", "ng", "dent", labeler="ben")
    st.add("p2", "ok", labeler="anna")                  # disputed
    st.add("p2", "ng", "scratch", labeler="ben")
    st.add("p3", "borderline", labeler="anna")          # borderline: to the reference labeler
    st.add("p4", "ok", labeler="anna")                  # disputed, then decided
    st.add("p4", "ng", "stain", labeler="ben")
    st.decide("p4", "ok", labeler="ref", rationale="stain 2 mm < 4 mm: accept")
    res = st.resolve()
    assert {k: r.status for k, r in res.items()} == {"p0": "single", "p1": "agreed", "p2": "disputed",
                                                      "p3": "borderline", "p4": "reference"}
    cur = st.current()
    assert "p2" not in cur and cur["p4"].verdict == "ok" and cur["p4"].labeler == "ref"
    assert cur["p1"].defect_class == "dent" and cur["p3"].verdict == "borderline"
    assert st.counts()["disputed"] == 1
    # a labeler changing their mind ends the dispute: only the latest label of each labeler counts
    st.add("p2", "ng", "scratch", labeler="anna")
    assert st.current()["p2"].defect_class == "scratch"


def test_audit_trail_keeps_every_change_and_withdrawal(project):
    st = project.labels
    st.add("p0", "ok", labeler="anna")
    st.add("p0", "ng", "dent", labeler="anna")
    st.withdraw("p0", "anna")
    hist = LabelStore(project.root).history("p0")
    assert [(l.labeler, l.kind, l.verdict) for l in hist] == [
        ("anna", "label", "ok"), ("anna", "label", "ng"), ("anna", "withdraw", "ok")]
    assert hist[0].time <= hist[1].time <= hist[2].time
    assert "p0" not in st.current() and "p0" not in st.view("anna")


def test_store_reads_what_another_store_appended(project):
    a, b = LabelStore(project.root), LabelStore(project.root)
    a.add("p0", "ok", labeler="anna")
    b.add("p1", "ng", "dent", labeler="ben")
    assert set(a.current()) == {"p0", "p1"} and set(b.current()) == {"p0", "p1"}


WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    from studio.labels.store import LabelStore
    from studio.labels.shapes import save_mask, box
    root, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    st = LabelStore(root)
    for i in range(n):
        m = np.zeros((8, 8), bool); m[i % 8, (i // 8) % 8] = True
        m[0, 0] = who == "anna"
        rel = save_mask(root, m)
        st.add(f"img{i}", "ng", "dent", labeler=who, shapes=[box(i, i, 2, 2, "dent"),
               {"type": "mask", "class": "dent", "file": rel}])
""")


def test_two_processes_labeling_the_same_project_lose_nothing(project, tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    n = 150
    procs = [subprocess.Popen([sys.executable, str(script), str(project.root), who, str(n)])
             for who in ("anna", "ben")]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    hist = LabelStore(project.root).history()
    assert len(hist) == 2 * n
    for who in ("anna", "ben"):
        mine = [l for l in hist if l.labeler == who]
        assert [l.image_id for l in mine] == [f"img{i}" for i in range(n)]      # in order, none lost
        for l in mine:
            assert S.load_mask(project.root, l.shapes[1]["file"])[0, 0] == (who == "anna")
    lines = (project.root / "labels.jsonl").read_text().splitlines()
    assert len(lines) == 2 * n and all(line.startswith("{") and line.endswith("}") for line in lines)


def test_a_person_corrects_a_prelabel_without_a_dispute(project):
    st = project.labels
    st.add("p0", "ng", "scratch", labeler="simulator")
    st.add("p1", "ng", "scratch", labeler="import:mvtec")
    st.add("p2", "ng", "scratch", labeler="outside-team")        # an import with --labeler: a vote
    for image_id in ("p0", "p1", "p2"):
        st.add(image_id, "ok", labeler="anna")
    res = st.resolve()
    assert res["p0"].status == res["p1"].status == "single" and st.current()["p0"].labeler == "anna"
    assert res["p2"].status == "disputed"
    st.add("p3", "ng", "dent", labeler="simulator")
    assert st.current()["p3"].defect_class == "dent"              # alone, a pre-label is the label


def test_label_cli_with_shapes(project, capsys):
    from studio.cli.main import main

    assert main(["label", str(project.root), "p0", "--verdict", "ng", "--class", "scratch", "--labeler", "anna",
                 "--box", "1,2,10,5", "--polygon", "0,0;10,0;5,8", "--json"]) == 0
    shapes = LabelStore(project.root).view("anna")["p0"].shapes
    assert shapes == [S.box(1, 2, 10, 5, "scratch"), S.polygon([(0, 0), (10, 0), (5, 8)], "scratch")]
    assert main(["label", str(project.root), "p0", "--verdict", "ng", "--box", "1,2,x"]) == 2
    assert "--box X,Y,W,H" in capsys.readouterr().err
