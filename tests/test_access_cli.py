"""Users and roles from the CLI: the first account is admin, later changes need an admin, hashes only;
a signed-out or operator user is refused every engineer action (exit 4, naming the role), allowed after an
engineer signs in, and each change is an audit entry with its reason; `studio audit --verify` catches an edit."""
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_training_support import make_project, write_fake_model  # noqa: E402

from studio.access import passwords  # noqa: E402
from studio.cli.main import main  # noqa: E402

PRODUCT_HASHER = passwords._hasher

PASSWORDS = {"ada": "admin-secret-1", "eve": "engineer-secret", "olli": "operator-secret", "lena": "labeler-secret",
             "rita": "reference-secret"}


@pytest.fixture(autouse=True)
def _cheap_hashes(monkeypatch, request):
    """Argon2id still, at a test's cost (8 MiB, one pass): the product's own cost is checked once below."""
    from argon2 import PasswordHasher

    cheap = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    if "product_hashes" in request.node.name:
        return
    monkeypatch.setattr(passwords, "_hasher", lambda: cheap)


def test_the_product_hashes_with_argon2id_at_64_mib():
    stored = PRODUCT_HASHER().hash("a long secret")
    assert stored.startswith("$argon2id$") and "m=65536" in stored and "a long secret" not in stored
    assert passwords.verify_password(stored, "a long secret") and not passwords.verify_password(stored, "a long secreT")
    assert passwords.hash_password.__module__ == "studio.access.passwords"
    from studio.plc import accounts

    assert accounts.hash_password is passwords.hash_password      # one place for hashing


def cli(capsys, monkeypatch, *args, stdin: str | None = None, password: str | None = None):
    import io

    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    if password is None:
        monkeypatch.delenv("STUDIO_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("STUDIO_PASSWORD", password)
    try:
        rc = main([str(a) for a in args])
    except SystemExit as e:                 # argparse: a required option missing
        rc = e.code
    out, err = capsys.readouterr()
    return rc, out, err


def audit(project):
    path = Path(project.root) / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def project(tmp_path):
    p = make_project(tmp_path / "p", good_train=2, good_test=3, bad_train=1, bad_test=2)
    write_fake_model(p, "m1", "anomaly", threshold=100.0)
    return p


@pytest.fixture
def staffed(project, capsys, monkeypatch):
    """ada (admin, first), eve (engineer), olli (operator), lena (labeler), rita (reference)."""
    assert cli(capsys, monkeypatch, "users", "add", project.root, "ada", "--roles", "engineer", "--password-stdin",
               stdin="admin-secret-1\n")[0] == 0
    for name, roles in (("eve", "engineer"), ("olli", "operator"), ("lena", "labeler"), ("rita", "reference")):
        rc, out, err = cli(capsys, monkeypatch, "users", "add", project.root, name, "--roles", roles,
                           "--password-stdin", "--user", "ada", stdin=PASSWORDS[name] + "\n",
                           password=PASSWORDS["ada"])
        assert rc == 0, err
    return project


def test_first_account_is_admin_without_credentials_and_later_changes_need_an_admin(project, capsys, monkeypatch,
                                                                                      tmp_path):
    from studio.access import config_dir

    rc, out, err = cli(capsys, monkeypatch, "users", "add", project.root, "ada", "--roles", "engineer",
                       "--password-stdin", "--pin-stdin", "--json", stdin="admin-secret-1\n4711\n")
    assert rc == 0, err
    first = json.loads(out.strip().splitlines()[-1])
    assert first["roles"] == ["engineer", "admin"] and first["has_pin"] and first["scope"] == "station"
    assert Path(first["file"]) == config_dir() / "users.yaml" and str(tmp_path) not in first["file"]
    # a second account without credentials: refused (4), the admin role named
    rc, out, err = cli(capsys, monkeypatch, "users", "add", project.root, "eve", "--roles", "engineer",
                       "--password-stdin", stdin="engineer-secret\n")
    assert rc == 4 and "admin" in err
    # with the wrong admin password: refused, and a refused sign-in in the trail beside the list
    rc, _, err = cli(capsys, monkeypatch, "users", "add", project.root, "eve", "--roles", "engineer",
                     "--password-stdin", "--user", "ada", stdin="engineer-secret\n", password="wrong-password")
    assert rc == 4 and "wrong name or password" in err
    trail = [json.loads(l) for l in (config_dir() / "audit.jsonl").read_text().splitlines()]
    assert [e["action"] for e in trail] == ["user.added", "action.refused", "signin.refused"]
    assert trail[1]["after"] == {"role": "admin"} and trail[2]["actor"] == "ada"
    # by an admin: added, and no more an admin than asked
    rc, out, err = cli(capsys, monkeypatch, "users", "add", project.root, "eve", "--roles", "engineer",
                       "--password-stdin", "--user", "ada", "--json", stdin="engineer-secret\n",
                       password="admin-secret-1")
    assert rc == 0, err
    assert json.loads(out.strip().splitlines()[-1])["roles"] == ["engineer"]
    # an engineer is no admin
    rc, _, err = cli(capsys, monkeypatch, "users", "remove", project.root, "ada", "--user", "eve",
                     password="engineer-secret")
    assert rc == 4 and "eve lacks the admin role" in err
    # the last admin cannot go
    rc, _, err = cli(capsys, monkeypatch, "users", "remove", project.root, "ada", "--user", "ada",
                     password="admin-secret-1")
    assert rc == 2 and "no admin" in err
    rc, out, _ = cli(capsys, monkeypatch, "users", "list", project.root, "--json")
    listed = json.loads(out.strip().splitlines()[-1])
    assert [u["name"] for u in listed["users"]] == ["ada", "eve"] and listed["enforced"]
    trail = [json.loads(l) for l in (config_dir() / "audit.jsonl").read_text().splitlines()]
    assert [e["action"] for e in trail][3:] == ["signin", "user.added", "signin", "action.refused", "signin"]
    assert trail[4]["actor"] == "ada" and trail[4]["what"] == "eve" and trail[6]["actor"] == "eve"


def test_the_file_holds_argon2_hashes_never_the_secrets(staffed):
    from studio.access import config_dir

    text = (config_dir() / "users.yaml").read_text()
    for secret in [*PASSWORDS.values()]:
        assert secret not in text
    import yaml

    users = yaml.safe_load(text)["users"]
    assert all(u["password"].startswith("$argon2id$") for u in users.values())
    assert len({u["password"] for u in users.values()}) == len(users)          # salted
    assert oct((config_dir() / "users.yaml").stat().st_mode & 0o777) == "0o600"


def test_deleting_the_user_list_does_not_switch_access_control_off(staffed, capsys, monkeypatch):
    from studio.access import config_dir

    (config_dir() / "users.yaml").unlink()
    rc, _, err = cli(capsys, monkeypatch, "threshold", staffed.root, "--value", "0.5", "--reason", "x")
    assert rc == 2 and "user list is gone" in err


ENGINEER_ACTIONS = [
    ("threshold", ["threshold", "{p}", "--value", "0.5"]),
    ("train", ["train", "{p}", "--option", "epochs=1"]),
    ("criteria set", ["criteria", "set", "{p}", "stain", "--limit", "2", "--measure", "length"]),
    ("split freeze", ["split", "{p}", "--freeze"]),
    ("labels assign", ["labels", "assign", "{p}", "--reference", "lena"]),
    ("lighting limits", ["lighting", "limits", "{p}", "--set", "noise.sigma_max=4"]),
    ("station plc-user", ["station", "plc-user", "{p}", "plc1", "--password-stdin"]),
    ("station run --model", ["station", "run", "{p}", "--model", "m1", "--parts", "1"]),
    ("import", ["import", "{p}", "{p}/images", "--format", "folders"]),
    ("station run --shadow", ["station", "run", "{p}", "--shadow", "m1", "--parts", "1"]),
    ("station promote", ["station", "promote", "{p}", "--model", "m1"]),
    ("station promote --rollback", ["station", "promote", "{p}", "--rollback"]),
]


@pytest.mark.parametrize("name,argv", ENGINEER_ACTIONS, ids=[n for n, _ in ENGINEER_ACTIONS])
def test_signed_out_and_operator_are_refused_each_engineer_action(staffed, capsys, monkeypatch, name, argv):
    args = [a.replace("{p}", str(staffed.root)) for a in argv] + ["--reason", "test"]
    before = (staffed.root / "criteria.yaml").read_text(), json.loads((staffed.models_dir / "m1" / "card.json")
                                                                       .read_text())["threshold"]
    rc, _, err = cli(capsys, monkeypatch, *args, stdin="plc-password\n")
    assert rc == 4, err
    assert "engineer" in err and "nobody signed in" in err
    for who in ("olli", "lena", "rita"):
        rc, _, err = cli(capsys, monkeypatch, *args, "--user", who, stdin="plc-password\n", password=PASSWORDS[who])
        assert rc == 4 and f"{who} lacks the engineer role" in err
    rc, _, err = cli(capsys, monkeypatch, *args, "--user", "eve", stdin="plc-password\n", password="not-hers")
    assert rc == 4 and "wrong name or password" in err
    after = (staffed.root / "criteria.yaml").read_text(), json.loads((staffed.models_dir / "m1" / "card.json")
                                                                      .read_text())["threshold"]
    assert after == before                                                          # nothing changed
    actions = [e["action"] for e in audit(staffed)]
    assert actions.count("action.refused") == 4 and actions.count("signin.refused") == 1
    refused = [e for e in audit(staffed) if e["action"] == "action.refused"]
    assert [e["actor"] for e in refused] == ["(nobody)", "olli", "lena", "rita"]
    assert all(e["after"] == {"role": "engineer"} for e in refused)


ALLOWED = [
    ("threshold", ["threshold", "{p}", "--value", "0.5"], "threshold.set"),
    ("criteria set", ["criteria", "set", "{p}", "stain", "--limit", "2", "--measure", "length"], "criteria.version"),
    ("split freeze", ["split", "{p}", "--freeze"], "split.changed"),
    ("labels assign", ["labels", "assign", "{p}", "--reference", "rita"], "labels.plan"),
    ("lighting limits", ["lighting", "limits", "{p}", "--set", "noise.sigma_max=4"], "lighting.limits"),
    ("station plc-user", ["station", "plc-user", "{p}", "plc1", "--password-stdin"], "station.settings"),
]


@pytest.mark.parametrize("name,argv,action", ALLOWED, ids=[n for n, _, _ in ALLOWED])
def test_an_engineer_signed_in_is_allowed_and_the_change_is_audited_with_the_reason(staffed, capsys, monkeypatch,
                                                                                    name, argv, action):
    args = [a.replace("{p}", str(staffed.root)) for a in argv] + ["--user", "eve"]
    rc, _, err = cli(capsys, monkeypatch, *args, stdin="plc-password\n", password="engineer-secret")
    assert rc == 2 and "--reason" in err                                        # an engineer says why
    rc, _, err = cli(capsys, monkeypatch, *args, "--reason", "line trial 12", stdin="plc-password\n",
                     password="engineer-secret")
    assert rc == 0, err
    entry = [e for e in audit(staffed) if e["action"] == action][-1]
    assert entry["actor"] == "eve" and entry["reason"] == "line trial 12"
    assert [e["action"] for e in audit(staffed)][-2:] == ["signin", action]


def test_threshold_entry_has_before_and_after(staffed, capsys, monkeypatch):
    rc, _, err = cli(capsys, monkeypatch, "threshold", staffed.root, "--value", "0.5", "--review-up-to", "0.7",
                     "--user", "eve", "--reason", "fewer escapes", password="engineer-secret")
    assert rc == 0, err
    e = [e for e in audit(staffed) if e["action"] == "threshold.set"][-1]
    assert e["what"] == "m1" and e["before"]["threshold"] == 100.0 and e["after"]["threshold"] == 0.5
    assert e["after"]["review_band"] == {"low": 0.5, "high": 0.7} and e["meaning"] == "approval"


def test_the_password_file_signs_in_for_automation(staffed, capsys, monkeypatch, tmp_path):
    f = tmp_path / "pw"
    f.write_text("engineer-secret\n")
    rc, _, err = cli(capsys, monkeypatch, "threshold", staffed.root, "--value", "0.4", "--user", "eve",
                     "--password-file", f, "--reason", "automation")
    assert rc == 0, err


def test_labels_are_the_signed_in_persons_and_nobody_reviews_in_anothers_name(staffed, capsys, monkeypatch):
    image = next(iter(staffed.dataset)).id
    rc, _, err = cli(capsys, monkeypatch, "label", staffed.root, image, "--verdict", "ok")
    assert rc == 4 and "labeler" in err
    rc, _, err = cli(capsys, monkeypatch, "label", staffed.root, image, "--verdict", "ok", "--user", "olli",
                     password=PASSWORDS["olli"])
    assert rc == 4 and "olli lacks the labeler role" in err
    # lena cannot label under rita's name (the old hole: typing the reference labeler's name)
    rc, _, err = cli(capsys, monkeypatch, "label", staffed.root, image, "--verdict", "ok", "--user", "lena",
                     "--labeler", "rita", password=PASSWORDS["lena"])
    assert rc == 4 and "cannot act as 'rita'" in err
    rc, out, err = cli(capsys, monkeypatch, "label", staffed.root, image, "--verdict", "ok", "--user", "lena",
                       "--json", password=PASSWORDS["lena"])
    assert rc == 0, err
    label = json.loads(out.strip().splitlines()[-1])
    assert label["labeler"] == "lena"
    e = [e for e in audit(staffed) if e["action"] == "label"][-1]
    assert e["what"] == label["id"] and e["actor"] == "lena"              # linked to the labels.jsonl line
    # review decisions need the reference role
    rc, _, err = cli(capsys, monkeypatch, "labels", "review", "decide", staffed.root, image, "--verdict", "ok",
                     "--rationale", "clean", "--user", "lena", password=PASSWORDS["lena"])
    assert rc == 4 and "reference labeler" in err
    rc, out, err = cli(capsys, monkeypatch, "labels", "review", "decide", staffed.root, image, "--verdict", "ok",
                       "--rationale", "clean", "--user", "rita", "--json", password=PASSWORDS["rita"])
    assert rc == 0, err
    e = [e for e in audit(staffed) if e["action"] == "review.decision"][-1]
    assert e["actor"] == "rita" and e["meaning"] == "review" and e["reason"] == "clean"


def test_reading_stays_open_and_the_station_runs_as_configured(staffed, capsys, monkeypatch):
    for argv in (["models", staffed.root], ["evaluate", staffed.root, "--model", "m1"],
                 ["labels", "review", "list", staffed.root], ["audit", staffed.root], ["users", "list", staffed.root]):
        rc, _, err = cli(capsys, monkeypatch, *argv)
        assert rc == 0, (argv, err)


def test_without_any_account_nothing_is_enforced(project, capsys, monkeypatch):
    rc, _, err = cli(capsys, monkeypatch, "threshold", project.root, "--value", "0.5")
    assert rc == 0, err
    assert [e["action"] for e in audit(project)][-1] == "threshold.set"


def test_a_project_list_governs_its_project(project, capsys, monkeypatch):
    rc, out, err = cli(capsys, monkeypatch, "users", "add", project.root, "pia", "--roles", "engineer",
                       "--password-stdin", "--scope", "project", "--json", stdin="project-secret\n")
    assert rc == 0, err
    assert json.loads(out.strip().splitlines()[-1])["scope"] == "project"
    assert (project.root / "users.yaml").exists()
    rc, _, err = cli(capsys, monkeypatch, "threshold", project.root, "--value", "0.5", "--reason", "r")
    assert rc == 4
    rc, _, err = cli(capsys, monkeypatch, "threshold", project.root, "--value", "0.5", "--reason", "r",
                     "--user", "pia", password="project-secret")
    assert rc == 0, err


def test_audit_lists_and_verify_names_the_edited_entry(staffed, capsys, monkeypatch):
    for v in ("0.5", "0.6", "0.7"):
        assert cli(capsys, monkeypatch, "threshold", staffed.root, "--value", v, "--user", "eve", "--reason",
                   f"to {v}", password="engineer-secret")[0] == 0
    rc, out, _ = cli(capsys, monkeypatch, "audit", staffed.root, "--json")
    entries = json.loads(out.strip().splitlines()[-1])["entries"]
    assert [e["after"]["threshold"] for e in entries if e["action"] == "threshold.set"] == [0.5, 0.6, 0.7]
    rc, out, _ = cli(capsys, monkeypatch, "audit", staffed.root, "--since", "2999-01-01", "--json")
    assert json.loads(out.strip().splitlines()[-1])["entries"] == []
    rc, out, _ = cli(capsys, monkeypatch, "audit", staffed.root)
    assert rc == 0 and "to 0.6" in out and "eve" in out
    assert cli(capsys, monkeypatch, "audit", staffed.root, "--verify")[0] == 0
    path = staffed.root / "audit.jsonl"
    lines = path.read_text().splitlines()
    n = next(i for i, l in enumerate(lines, 1) if '"to 0.6"' in l)
    lines[n - 1] = lines[n - 1].replace('"to 0.6"', '"to 0.65"')              # someone edits the reason
    path.write_text("\n".join(lines) + "\n")
    rc, out, _ = cli(capsys, monkeypatch, "audit", staffed.root, "--verify", "--json")
    result = json.loads(out.strip().splitlines()[-1])
    assert rc == 1 and result["broken_at"] == n and not result["ok"]
    rc, out, _ = cli(capsys, monkeypatch, "audit", staffed.root, "--verify")
    assert rc == 1 and f"BROKEN at entry {n}" in out and "changed after it was written" in out


def test_a_project_list_cannot_sidestep_the_line_pcs_accounts(staffed, capsys, monkeypatch):
    rc, _, err = cli(capsys, monkeypatch, "users", "add", staffed.root, "mallory", "--roles", "engineer",
                     "--password-stdin", "--scope", "project", stdin="mallory-secret\n")
    assert rc == 4 and "admin" in err and not (staffed.root / "users.yaml").exists()
    rc, _, err = cli(capsys, monkeypatch, "users", "add", staffed.root, "pia", "--roles", "engineer",
                     "--password-stdin", "--scope", "project", "--user", "ada", stdin="project-secret\n",
                     password=PASSWORDS["ada"])
    assert rc == 0, err
    assert (staffed.root / "users.yaml").exists()


def test_a_person_changes_their_own_password(staffed, capsys, monkeypatch):
    rc, _, err = cli(capsys, monkeypatch, "users", "passwd", staffed.root, "olli", "--password-stdin", "--user",
                     "olli", stdin="a new operator secret\n", password=PASSWORDS["olli"])
    assert rc == 0, err
    rc, _, err = cli(capsys, monkeypatch, "users", "passwd", staffed.root, "eve", "--password-stdin", "--user",
                     "olli", stdin="hijacked-password\n", password="a new operator secret")
    assert rc == 4 and "admin" in err                                   # not someone else's
