"""Retiring a model (`studio models retire PROJECT --model ID --reason ...`): an engineer's action with its
reason, a `model.retired` entry in the hash-chained trail, the mark in the model card; the newest model the
station runs by default passes a retired one over, promotion (and a rollback to it) refuses it, the live model
cannot be retired, `studio models` and `studio trace` show it."""
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_access_cli import PASSWORDS, _cheap_hashes, audit, cli  # noqa: E402,F401  (an autouse fixture)
from test_training_support import make_project, write_fake_model  # noqa: E402


@pytest.fixture
def project(tmp_path):
    p = make_project(tmp_path / "p", good_train=2, good_test=3, bad_train=1, bad_test=2)
    write_fake_model(p, "m1", "anomaly", threshold=100.0)
    return p


@pytest.fixture
def two(project):
    """m1 (older) and m2 (the newest)."""
    write_fake_model(project, "m2", "anomaly", threshold=100.0, created="2026-02-01T00:00:00")
    return project


def card(p, model_id):
    return json.loads((p.models_dir / model_id / "card.json").read_text())


def test_retiring_needs_an_engineer_and_a_reason_and_is_audited(two, capsys, monkeypatch):
    staffed = two                       # ada (admin), eve (engineer), olli (operator)
    assert cli(capsys, monkeypatch, "users", "add", staffed.root, "ada", "--roles", "engineer", "--password-stdin",
               stdin="admin-secret-1\n")[0] == 0
    for name, roles in (("eve", "engineer"), ("olli", "operator")):
        assert cli(capsys, monkeypatch, "users", "add", staffed.root, name, "--roles", roles, "--password-stdin",
                   "--user", "ada", stdin=PASSWORDS[name] + "\n", password=PASSWORDS["ada"])[0] == 0
    argv = ["models", "retire", staffed.root, "--model", "m2"]
    rc, _, err = cli(capsys, monkeypatch, *argv, "--reason", "escapes on lot 7")
    assert rc == 4 and "engineer" in err and "nobody signed in" in err
    rc, _, err = cli(capsys, monkeypatch, *argv, "--reason", "escapes on lot 7", "--user", "olli",
                     password=PASSWORDS["olli"])
    assert rc == 4 and "olli lacks the engineer role" in err
    rc, _, err = cli(capsys, monkeypatch, *argv, "--user", "eve", password=PASSWORDS["eve"])
    assert rc == 2 and "--reason" in err                                   # an engineer says why
    assert "retired" not in card(staffed, "m2")                            # nothing changed yet
    rc, out, err = cli(capsys, monkeypatch, *argv, "--reason", "escapes on lot 7", "--user", "eve", "--json",
                       password=PASSWORDS["eve"])
    assert rc == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["station_runs"] == "m1" and result["retired"]["by"] == "eve"
    mark = card(staffed, "m2")["retired"]
    assert mark["by"] == "eve" and mark["reason"] == "escapes on lot 7" and mark["time"]
    entries = audit(staffed)
    assert [e["action"] for e in entries][-2:] == ["signin", "model.retired"]
    e = entries[-1]
    assert (e["actor"], e["what"], e["reason"], e["meaning"]) == ("eve", "m2", "escapes on lot 7", "approval")
    assert e["before"] == {"retired": False, "live": None} and e["after"] == {"retired": True, "live": None}
    refused = [e for e in entries if e["action"] == "action.refused"]
    assert [e["actor"] for e in refused] == ["(nobody)", "olli"]
    assert cli(capsys, monkeypatch, "audit", staffed.root, "--verify")[0] == 0      # the chain still holds
    # twice: said, not written again
    rc, _, err = cli(capsys, monkeypatch, *argv, "--reason", "again", "--user", "eve", password=PASSWORDS["eve"])
    assert rc == 2 and "already retired by eve" in err
    assert [e["action"] for e in audit(staffed)].count("model.retired") == 1
    # the list shows it (open to everybody)
    rc, out, _ = cli(capsys, monkeypatch, "models", staffed.root)
    assert rc == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith("m2") and "RETIRED by eve" in lines[0] and "escapes on lot 7" in lines[0]
    assert "RETIRED" not in lines[1]
    rc, out, _ = cli(capsys, monkeypatch, "models", "list", staffed.root, "--json")
    listed = {c["model_id"]: c for c in json.loads(out.strip().splitlines()[-1])["models"]}
    assert listed["m2"]["retired"]["by"] == "eve" and "retired" not in listed["m1"]


def test_bad_models_commands_are_clear(two, capsys, monkeypatch):
    rc, _, err = cli(capsys, monkeypatch, "models", "retire", two.root, "--reason", "x")
    assert rc == 2 and "--model ID" in err
    rc, _, err = cli(capsys, monkeypatch, "models", "retire", two.root, "--model", "nope", "--reason", "x")
    assert rc == 2 and "no model 'nope'" in err
    rc, _, err = cli(capsys, monkeypatch, "models", "retire", two.root, "--model", "m2")
    assert rc == 2 and "needs a reason" in err and "Traceback" not in err
    rc, _, err = cli(capsys, monkeypatch, "models", "unplug", two.root)
    assert rc == 2 and "not a models command" in err
    rc, _, err = cli(capsys, monkeypatch, "models", two.root, "--model", "m2")
    assert rc == 2 and "--model is for 'studio models retire'" in err


def test_the_newest_model_passes_a_retired_one_over(two):
    from studio.core.errors import ModelError
    from studio.inference.model import InspectionModel, list_models, newest_model_id
    from studio.project import live
    from studio.station.station_audit import configured

    assert newest_model_id(two) == "m2"
    live.retire(two, "m2", actor="eve", reason="escapes")
    assert newest_model_id(two) == "m1" and newest_model_id(two, "anomaly") == "m1"
    assert InspectionModel.load(two).model_id == "m1"                   # what the station runs by default
    assert configured(two)["model"] == "m1"                             # what "as configured" means
    assert InspectionModel.load(two, "m2").model_id == "m2"             # named on purpose: still loads
    assert [c["model_id"] for c in list_models(two)] == ["m2", "m1"]    # listed, with its mark
    live.retire(two, "m1", actor="eve", reason="the line changed")
    with pytest.raises(ModelError, match=r"every trained model of this project is retired \(m2, m1\)"):
        newest_model_id(two)
    with pytest.raises(ModelError, match="no trained classification model yet"):
        newest_model_id(two, "classification")                         # retired anomaly models do not count


def test_promotion_refuses_a_retired_model_and_the_live_one_cannot_be_retired(two, capsys, monkeypatch):
    from studio.core.errors import StudioError
    from studio.project import live

    live.retire(two, "m2", actor="eve", reason="escapes")
    rc, _, err = cli(capsys, monkeypatch, "station", "promote", two.root, "--model", "m2", "--reason", "try")
    assert rc == 2 and "m2 is retired (by eve" in err and "a retired model is not promoted" in err
    assert not (two.root / live.FILE).exists()
    with pytest.raises(StudioError, match="is retired"):
        live.promote(two, "m2", actor="eve", reason="gate passed")
    # the live model: promote or roll back to another first
    live.promote(two, "m1", actor="eve", reason="gate passed")
    rc, _, err = cli(capsys, monkeypatch, "models", "retire", two.root, "--model", "m1", "--reason", "old")
    assert rc == 2 and "m1 is the station's live model" in err and "promote another model first" in err
    assert "retired" not in card(two, "m1") and live.live_model_id(two) == "m1"
    assert [e["action"] for e in audit(two)].count("model.retired") == 1
    assert cli(capsys, monkeypatch, "audit", two.root, "--verify")[0] == 0


def test_a_rollback_never_makes_a_retired_model_live(project):
    from studio.core.errors import StudioError
    from studio.project import live

    write_fake_model(project, "m2", "anomaly", threshold=1.0, created="2026-02-01T00:00:00")
    live.promote(project, "m1", actor="eve", reason="first")
    live.promote(project, "m2", actor="eve", reason="better")
    live.retire(project, "m1", actor="eve", reason="withdrawn")         # not live any more: allowed
    with pytest.raises(StudioError, match="a retired model is not rolled back to"):
        live.rollback(project, actor="eve", reason="m2 escapes")
    assert live.live_model_id(project) == "m2"


def test_project_check_names_a_live_model_that_is_retired_or_gone(two):
    """``check_file`` gets the project's folder (a Path, whose own ``.root`` is "/"): it reads that folder's record."""
    from studio.project import live

    live.retire(two, "m2", actor="eve", reason="escapes")
    (two.root / live.FILE).write_text("schema_version: 1\nlive: m2\nhistory: []\n")       # edited by hand
    problems = live.check_file(two.root)
    assert problems and "names model 'm2', which is retired" in problems[0].message
    (two.root / live.FILE).write_text("schema_version: 1\nlive: m9\nhistory: []\n")
    assert "which is not in models/" in live.check_file(two.root)[0].message
    assert live.live_model_id(two.root) == live.live_model_id(two) == "m9"


def test_trace_says_the_model_was_retired_after_the_part(tmp_path, capsys, monkeypatch):
    from studio.project import Project
    from studio.station import Station
    from studio.station.trace import trace_part

    p = Project.create(tmp_path / "p", template="demo")
    p.settings["preprocessing"]["size"] = 64
    p.save()
    write_fake_model(p, "m-old", "anomaly", threshold=-0.2)
    data = tmp_path / "data"
    assert Station(p, "sim:seed=3,width=160,height=120", "sim", data_dir=data, max_parts=3).run(30)
    assert trace_part(data, 2)["model"]["retired"] is None
    rc, _, err = cli(capsys, monkeypatch, "models", "retire", p.root, "--model", "m-old", "--reason",
                     "escapes found in the audit of lot 7")
    assert rc == 0, err
    chain = trace_part(data, 2)
    r = chain["model"]["retired"]
    assert r["why"] == "escapes found in the audit of lot 7" and r["after_part"] is True
    assert r["entry"]["action"] == "model.retired" and r["trail"] == "project"
    rc, out, err = cli(capsys, monkeypatch, "trace", data, "--part", 2)
    assert rc == 0, err
    assert "  retired    by " in out and "escapes found in the audit of lot 7 (after this part)" in out


def test_a_project_given_as_a_plain_path_is_its_folder_not_the_file_systems_root(tmp_path):
    from studio.core.folders import project_folder

    assert Path("/x/y").root == "/"                       # why getattr(project, "root", project) was wrong
    assert project_folder(tmp_path) == tmp_path and project_folder(str(tmp_path)) == tmp_path
    assert project_folder(type("P", (), {"root": tmp_path})()) == tmp_path
