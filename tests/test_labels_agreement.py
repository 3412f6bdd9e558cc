"""Agreement: kappa values by hand and by scikit-learn, per class, IoU of shapes, the CLI's JSON."""
import json

import numpy as np
import pytest

from studio.cli.main import main
from studio.labels import shapes as S
from studio.labels.agreement import cohen_kappa, fleiss_kappa, per_class

# Two scripted labelers with a known confusion on ten parts (ok / scratch / dent).
A = ["ok"] * 5 + ["scratch"] * 3 + ["dent"] * 2
B = ["ok", "ok", "ok", "ok", "scratch", "scratch", "scratch", "ok", "dent", "scratch"]
# p_o = 7/10; p_e = (5*5 + 3*4 + 2*1) / 100 = 0.39; kappa = 0.31 / 0.61
KAPPA_AB = 0.31 / 0.61

# Three labelers on four parts.
THREE = {"anna": ["ok", "ok", "dent", "ok"], "ben": ["ok", "ok", "dent", "dent"],
         "carl": ["ok", "dent", "dent", "dent"]}


def test_cohen_kappa_by_hand_and_sklearn():
    from sklearn.metrics import cohen_kappa_score

    assert cohen_kappa(A, B) == pytest.approx(KAPPA_AB)
    assert cohen_kappa(A, B) == pytest.approx(cohen_kappa_score(A, B))
    assert cohen_kappa(A, A) == pytest.approx(1.0)
    assert cohen_kappa(["ok"] * 4, ["ok"] * 4) is None        # one category only: undefined


def test_fleiss_kappa_published_example_and_hand_value():
    # Fleiss (1971) worked example as given on Wikipedia: 10 subjects, 14 raters, 5 categories -> 0.210
    rows = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
            [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    table = [{str(j): n for j, n in enumerate(r) if n} for r in rows]
    assert fleiss_kappa(table) == pytest.approx(0.20993, abs=1e-4)
    # three labelers: P = (1 + 1/3 + 1 + 1/3) / 4 = 2/3, Pe = 0.5**2 + 0.5**2 -> kappa 1/3
    t3 = [{"ok": 3}, {"ok": 2, "dent": 1}, {"dent": 3}, {"ok": 1, "dent": 2}]
    assert fleiss_kappa(t3) == pytest.approx(1 / 3)
    pc = per_class(t3)
    assert pc["ok"]["kappa"] == pytest.approx(1 / 3) and pc["dent"]["kappa"] == pytest.approx(1 / 3)
    assert pc["ok"]["specific_agreement"] == pytest.approx(8 / 12)
    assert pc["ok"]["ratings"] == 6 and pc["dent"]["images"] == 3


@pytest.fixture
def labeled(demo_project):
    p = demo_project
    ids = [p.dataset.add_image(np.full((40, 60), 10 * i, np.uint8), stem=f"p{i}", save=False).id
           for i in range(10)]
    p.dataset.save()
    return p, ids


def _label(p, image_id, who, cat, **kw):
    if cat in ("ok", "borderline"):
        p.labels.add(image_id, cat, labeler=who, **kw)
    else:
        p.labels.add(image_id, "ng", cat, labeler=who, **kw)


def agreement_json(root, capsys):
    assert main(["labels", "agreement", str(root), "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_cli_agreement_for_two_scripted_labelers(labeled, capsys):
    from sklearn.metrics import cohen_kappa_score

    p, ids = labeled
    for i, image_id in enumerate(ids):
        _label(p, image_id, "anna", A[i])
        _label(p, image_id, "ben", B[i])
    p.labels.add(ids[0], "ok", labeler="carl")       # one image only: no pair with enough overlap beyond it
    rep = agreement_json(p.root, capsys)
    assert rep["images_with_multiple_labels"] == 10
    ab = next(c for c in rep["cohen_kappa"] if c["labelers"] == ["anna", "ben"])
    assert ab["n"] == 10 and ab["kappa"] == pytest.approx(KAPPA_AB)
    assert ab["kappa"] == pytest.approx(cohen_kappa_score(A, B))
    assert {tuple(c["labelers"]) for c in rep["cohen_kappa"]} == {("anna", "ben"), ("anna", "carl"),
                                                                   ("ben", "carl")}
    assert set(rep["per_class"]) == {"ok", "scratch", "dent"}
    assert sorted(d["image_id"] for d in rep["disputed"]) == sorted(ids[i] for i in (4, 7, 9))
    assert rep["disputed"][0]["labels"].keys() >= {"anna", "ben"}


def test_cli_agreement_three_labelers_fleiss(labeled, capsys):
    p, ids = labeled
    for who, cats in THREE.items():
        for image_id, cat in zip(ids, cats):
            _label(p, image_id, who, cat)
    rep = agreement_json(p.root, capsys)
    assert rep["fleiss_kappa"] == pytest.approx(1 / 3)
    from sklearn.metrics import cohen_kappa_score

    for c in rep["cohen_kappa"]:
        a, b = c["labelers"]
        assert c["kappa"] == pytest.approx(cohen_kappa_score(THREE[a], THREE[b])) and c["n"] == 4


def test_iou_agreement_for_boxes_and_masks(labeled, capsys):
    p, ids = labeled
    p.labels.add(ids[0], "ng", "dent", labeler="anna", shapes=[S.box(0, 0, 10, 10, "dent")])
    p.labels.add(ids[0], "ng", "dent", labeler="ben", shapes=[S.box(5, 0, 10, 10, "dent")])   # IoU 1/3
    ma = np.zeros((40, 60), bool)
    ma[0:20, 0:20] = True
    mb = np.zeros((40, 60), bool)
    mb[0:20, 10:30] = True                                                                   # IoU 1/3
    for who, m in (("anna", ma), ("ben", mb)):
        p.labels.add(ids[1], "ng", "stain", labeler=who,
                     shapes=[{"type": "mask", "class": "stain", "file": S.save_mask(p.root, m)}])
    rep = agreement_json(p.root, capsys)
    assert rep["iou"]["boxes"] == {"mean_iou": pytest.approx(1 / 3), "pairs": 1}
    assert rep["iou"]["masks"] == {"mean_iou": pytest.approx(1 / 3), "pairs": 1}


def test_agreement_with_the_reference_labeler(labeled, capsys):
    p, ids = labeled
    for i in range(4):
        _label(p, ids[i], "anna", "dent")
        _label(p, ids[i], "ben", "ok" if i else "dent")
        p.labels.decide(ids[i], "ng", "dent", labeler="ref", rationale="dent wider than 1 mm")
    rep = agreement_json(p.root, capsys)
    by = {r["labeler"]: r for r in rep["reference_agreement"]}
    assert by["anna"]["agreement"] == 1.0 and by["ben"]["agreement"] == 0.25 and by["ben"]["n"] == 4
    assert by["ben"]["by_week"][0]["n"] == 4
    assert rep["disputed"] == [] and rep["reference_decisions"] == 4
