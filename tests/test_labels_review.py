"""Review queue and reference decisions (the training set uses them), criteria examples, overlap set."""
import json

import numpy as np
import pytest

from studio.cli.main import main
from studio.core.errors import StudioError
from studio.labels.assignment import LabelingPlan
from studio.labels.review import decide, review_queue
from studio.labels import samples as labeled


@pytest.fixture
def project(demo_project):
    p = demo_project
    for i in range(8):
        p.dataset.add_image(np.full((32, 32), 20 * i, np.uint8), stem=f"p{i}", split="train", save=False)
    p.dataset.save()
    for i in range(6):
        p.labels.add(f"p{i}", "ok", labeler="anna")
    p.labels.add("p6", "ng", "scratch", labeler="anna")
    p.labels.add("p6", "ng", "dent", labeler="ben")          # disputed: scratch or dent?
    p.labels.add("p7", "borderline", labeler="anna")         # borderline: the labeler cannot tell
    return p


def test_queue_holds_disputes_and_borderline(project):
    q = review_queue(project)
    assert [(it.image_id, it.reason) for it in q] == [("p6", "disputed"), ("p7", "borderline")]
    assert {n: l.category for n, l in q[0].labels.items()} == {"anna": "scratch", "ben": "dent"}


def test_reference_decision_resolves_the_dispute_and_training_uses_it(project):
    ids = {s.image_id for s in labeled._labeled(project, "train")}
    assert "p6" not in ids and "p7" not in ids                 # neither teaches anything yet
    with pytest.raises(StudioError):
        labeled.classification_train(project)           # no defect class settled yet
    label = decide(project, "p6", "ng", "dent", labeler="ref",
                   rationale="a 1.5 mm wide depression, not a line: dent wider than 1 mm")
    assert label.kind == "reference" and label.criterion.startswith("dent: ")
    assert label.criteria_version == project.criteria.version
    samples, classes = labeled.classification_train(project)
    by_id = {s.image_id: s for s in samples}
    assert classes == ["good", "dent"] and by_id["p6"].defect_class == "dent"
    assert [it.image_id for it in review_queue(project)] == ["p7"]
    # and the decision outlives a later labeler's change
    project.labels.add("p6", "ng", "scratch", labeler="ben")
    assert project.labels.current()["p6"].defect_class == "dent"


def test_decision_can_add_the_image_as_a_criteria_example(project, capsys):
    v0 = project.criteria.version
    rc = main(["labels", "review", "decide", str(project.root), "p7", "--verdict", "ok", "--class", "stain",
               "--rationale", "stain 3 mm across, under the 4 mm limit", "--example", "borderline",
               "--labeler", "ref", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["kind"] == "reference" and out["verdict"] == "ok"
    from studio.project import Project

    again = Project.open(project.root)
    assert again.criteria.version == v0 + 1
    ex = again.criteria.get("stain").examples
    assert ex[0]["image_id"] == "p7" and ex[0]["kind"] == "borderline" and ex[0]["added_by"] == "ref"
    assert again.criteria.history[-1]["author"] == "ref"
    from studio.criteria.versions import load_version

    assert load_version(project.root, v0).get("stain").examples == []     # the old version is kept
    assert again.labels.current()["p7"].verdict == "ok"


def test_only_the_reference_labeler_decides_once_one_is_set(project, capsys):
    assert main(["labels", "assign", str(project.root), "--labelers", "anna,ben", "--reference", "ref"]) == 0
    with pytest.raises(StudioError, match="reference labeler"):
        decide(project, "p6", "ng", "dent", labeler="anna", rationale="mine")
    assert main(["labels", "review", "decide", str(project.root), "p6", "--verdict", "ng", "--class",
                 "nonsense", "--rationale", "x", "--labeler", "ref"]) == 2
    assert "not in the criteria" in capsys.readouterr().err


def test_overlap_set_sends_a_share_to_two_labelers():
    plan = LabelingPlan(labelers=["anna", "ben", "carl"], overlap=0.2, copies=2)
    ids = [f"img{i:04d}" for i in range(2000)]
    assigned = {i: plan.assigned(i) for i in ids}
    multi = [i for i, who in assigned.items() if len(who) == 2]
    assert 0.17 < len(multi) / len(ids) < 0.23
    assert all(len(set(w)) == len(w) for w in assigned.values())
    assert all(len(w) == 1 for i, w in assigned.items() if i not in multi)
    per = {n: sum(n in w for w in assigned.values()) for n in plan.labelers}
    assert min(per.values()) > 0.3 * len(ids)                  # spread evenly (1.2 copies / 3 labelers)
    assert LabelingPlan(labelers=["anna", "ben", "carl"], overlap=0.2).assigned("img0001") == assigned["img0001"]
    todo = plan.queue(ids, "anna", done={ids[0]: object()})
    assert ids[0] not in todo and all("anna" in assigned[i] for i in todo)


def test_assign_and_todo_cli(project, capsys):
    assert main(["labels", "assign", str(project.root), "--labelers", "anna,ben", "--overlap", "1.0",
                 "--reference", "ref", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["overlap_images"] == 8 and out["per_labeler"] == {"anna": 8, "ben": 8}
    assert main(["labels", "todo", str(project.root), "--labeler", "ben", "--json"]) == 0
    todo = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["todo"]
    assert todo == [f"p{i}" for i in range(6)] + ["p7"]        # ben labeled p6 only; anna's labels are hidden
    assert main(["labels", "assign", str(project.root), "--overlap", "1.5"]) == 2


def test_operator_disagreement_from_the_station_lands_in_the_queue(project):
    from studio.labels.review import operator_disagrees

    operator_disagrees(project, "p0", "ng", "stain", operator="kim", note="oil mark visible at the line")
    q = {it.image_id: it for it in review_queue(project)}
    assert q["p0"].reason == "disputed" and q["p0"].labels["operator:kim"].category == "stain"
    assert q["p0"].labels["operator:kim"].rationale == "oil mark visible at the line"
