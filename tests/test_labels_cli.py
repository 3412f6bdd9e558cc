"""The labeling commands in words (no --json): what a person reads."""
import numpy as np
import pytest

from studio.cli.main import main


@pytest.fixture
def project(demo_project):
    p = demo_project
    for i in range(3):
        p.dataset.add_image(np.full((16, 16), 50 * i, np.uint8), stem=f"q{i}")
    p.labels.add("q0", "ng", "scratch", labeler="anna")
    p.labels.add("q0", "ok", labeler="ben")
    p.labels.add("q1", "borderline", labeler="anna")
    p.labels.add("q2", "ok", labeler="anna")
    return p


def run(capsys, *argv):
    rc = main(list(argv))
    return rc, capsys.readouterr().out


def test_words(project, capsys):
    root = str(project.root)
    rc, out = run(capsys, "labels", "agreement", root)
    assert rc == 0 and "1 images labeled by two or more of 2 labelers (anna, ben)" in out
    assert "Cohen's kappa anna / ben: 0.000 on 1 images" in out and "2 images wait" in out
    rc, out = run(capsys, "labels", "review", "list", root)
    assert out.splitlines()[0] == "2 images to review"
    assert "q0 (disputed): anna scratch, ben ok" in out and "q1 (borderline): anna borderline" in out
    rc, out = run(capsys, "labels", "review", "decide", root, "q0", "--verdict", "ok", "--labeler", "eva",
                  "--rationale", "a reflection, not a scratch")
    assert rc == 0 and "q0: reference decision ok by eva" in out
    rc, out = run(capsys, "labels", "history", root, "q0")
    lines = out.splitlines()
    assert len(lines) == 3 and "anna" in lines[0] and "reference" in lines[2] and "a reflection" in lines[2]
    rc, out = run(capsys, "labels", "readiness", root)
    assert "Recommendation: anomaly" in out
    rc, out = run(capsys, "criteria", "show", root)
    assert out.startswith(f"criteria version {project.criteria.version}") and "1 scratch (major)" in out
    rc, out = run(capsys, "labels", "todo", root, "--labeler", "ben")
    assert out.startswith("2 images for ben: q1 q2")


def test_cli_and_gui_record_the_same_criterion_text(project, capsys):
    """`studio label` records the class's rule as the GUI does ("scratch: <rule>"), built in one place."""
    from studio.labels.criterion import criterion_text

    rc, _ = run(capsys, "label", str(project.root), "q2", "--verdict", "ng", "--class", "scratch",
                "--labeler", "carl")
    assert rc == 0
    from studio.project import Project

    again = Project.open(project.root)
    mine = again.labels.view("carl")["q2"]
    expected = criterion_text(again.criteria, "scratch")
    assert expected.startswith("scratch: ") and len(expected) > len("scratch: ")
    assert mine.criterion == expected
    assert criterion_text(again.criteria, None) is None


def test_a_planned_labeler_labels_blind():
    from studio.labels.assignment import LabelingPlan

    plan = LabelingPlan(labelers=["anna", "ben"], reference="eva")
    assert plan.labels_blind("anna") and not plan.labels_blind("eva")
    assert not LabelingPlan().labels_blind("anna")
