"""``studio lighting``: audit JSON, exit codes, reports kept in audits/, baseline, history, limits."""
import json

import numpy as np
import pytest

from studio.cli.main import main
from studio.dataset.store import encode_png
from studio.lighting import store
from studio.lighting.run import audit_project

CLEAN = "sim:seed=3,still=1,defect=dent"


def run_json(capsys, argv):
    code = main(argv)
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1])


def test_audit_json_has_the_contract_and_keeps_the_report(demo_project, capsys):
    root = str(demo_project.root)
    code, result = run_json(capsys, ["lighting", "audit", root, "--camera", CLEAN, "--frames", "4", "--json"])
    assert code == 0 and result["verdict"] == "pass"
    names = [c["name"] for c in result["checks"]]
    assert names == ["exposure", "uniformity", "focus", "noise", "stability", "glare", "defect_contrast"]
    for c in result["checks"]:
        assert set(c) >= {"name", "value", "limit", "passed", "advice"}
    folder = demo_project.audits_dir / result["audit_id"]
    saved = json.loads((folder / "audit.json").read_text())
    assert saved["verdict"] == "pass" and saved["checks"] == result["checks"]
    html = (folder / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3 and "uniformity" in html and "PASS" in html
    for png in ("frame.png", "histogram.png", "uniformity.png"):
        assert (folder / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_failing_audit_exits_1_and_says_what_to_do(demo_project, capsys):
    code = main(["lighting", "audit", str(demo_project.root), "--camera", CLEAN + ",glare=1", "--frames", "3"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL  glare" in out and "dome" in out and "report:" in out


def test_baseline_only_from_a_passing_audit_and_later_audits_compare(demo_project, capsys):
    root = str(demo_project.root)
    code, bad = run_json(capsys, ["lighting", "audit", root, "--camera", CLEAN + ",flicker=0.3", "--frames", "4",
                                  "--save-baseline", "--json"])
    assert code == 1 and bad["baseline_saved"] is None and store.load_baseline(demo_project) is None
    assert main(["lighting", "baseline", root, "--audit", bad["audit_id"]]) == 2
    assert "only a passing audit" in capsys.readouterr().err

    code, good = run_json(capsys, ["lighting", "audit", root, "--camera", CLEAN, "--frames", "4",
                                   "--save-baseline", "--json"])
    assert code == 0 and good["baseline_saved"] == good["audit_id"]
    code, shown = run_json(capsys, ["lighting", "baseline", root, "--show", "--json"])
    assert shown["baseline"]["audit_id"] == good["audit_id"] and shown["baseline"]["summary"]["focus"] > 0.6

    # slightly soft: passes on its own, fails against the baseline
    code, later = run_json(capsys, ["lighting", "audit", root, "--camera", CLEAN + ",blur=1.2", "--frames", "3",
                                    "--json"])
    focus = next(c for c in later["checks"] if c["name"] == "focus")
    assert later["baseline_id"] == good["audit_id"] and focus["baseline"] == shown["baseline"]["summary"]["focus"]
    assert code == 1 and focus["passed"] is False

    code, hist = run_json(capsys, ["lighting", "history", root, "--json"])
    ids = [h["audit_id"] for h in hist["audits"]]
    assert ids[0] == later["audit_id"] and set(ids) == {bad["audit_id"], good["audit_id"], later["audit_id"]}
    assert [h["baseline"] for h in hist["audits"]].count(True) == 1
    assert next(h for h in hist["audits"] if h["audit_id"] == bad["audit_id"])["failed"] == ["stability"]


def test_folder_camera_audits_the_images_as_a_sequence(demo_project, tmp_path, capsys):
    from studio.capture.sim import SimCamera

    folder = tmp_path / "shots"
    folder.mkdir()
    cam = SimCamera("seed=3,still=1,exposure=0.35")
    for i in range(3):
        (folder / f"shot{i}.png").write_bytes(encode_png(cam.render(i)[0]))
    code, result = run_json(capsys, ["lighting", "audit", str(demo_project.root), "--camera", f"folder:{folder}",
                                     "--frames", "10", "--json", "--no-save"])
    assert code == 1 and result["frames"] == 3 and result["audit_id"] is None
    assert [c["name"] for c in result["checks"] if c["passed"] is False] == ["exposure"]
    assert not list(demo_project.audits_dir.glob("*/audit.json"))


def test_limits_edit_and_bad_input(demo_project, capsys):
    root = str(demo_project.root)
    code, res = run_json(capsys, ["lighting", "limits", root, "--set", "noise.sigma_max=0.5", "--json"])
    assert code == 0 and res["limits"]["noise"]["sigma_max"] == 0.5
    assert "sigma_max: 0.5" in (demo_project.audits_dir / "limits.yaml").read_text()
    code, result = run_json(capsys, ["lighting", "audit", root, "--camera", CLEAN, "--frames", "3", "--json"])
    assert code == 1 and [c["name"] for c in result["checks"] if c["passed"] is False] == ["noise"]
    assert main(["lighting", "limits", root, "--set", "noise.loud=3"]) == 2
    assert "unknown limit 'loud'" in capsys.readouterr().err
    assert main(["lighting", "audit", root, "--roi", "1,2,3"]) == 2
    assert "x,y,width,height" in capsys.readouterr().err


def test_labelled_project_defects_are_the_contrast_examples(demo_project):
    from studio.capture.sim import SimCamera

    cam = SimCamera("seed=4,defect=scratch")
    for i in range(3):
        image, meta, mask = cam.render(i)
        rec = demo_project.dataset.add_image(image, stem=f"ng{i}", source="test", mask=mask, save=False)
        demo_project.labels.add(rec.id, "ng", "scratch", labeler="eva")
    demo_project.dataset.save()
    a = audit_project(demo_project, "sim:seed=3,still=1", 3, save=False)   # no defect in view
    c = a.check("defect_contrast")
    assert c.passed is True and c.measures["source"] == "labelled project images" and c.measures["examples"] == 3
    assert c.value > 1.0 and np.isfinite(c.value)


@pytest.mark.parametrize("spec", ["nosuch:1", "folder:/no/such/dir"])
def test_camera_problems_are_clear_errors(demo_project, capsys, spec):
    assert main(["lighting", "audit", str(demo_project.root), "--camera", spec]) == 2
    assert "error:" in capsys.readouterr().err
