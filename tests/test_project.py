import os
import subprocess
import sys

import pytest
import yaml

from studio.core.atomic import atomic_write_text
from studio.core.errors import ProjectError
from studio.project import Project, check
from studio.project import schema


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "studio", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def test_create_open_save_roundtrip(tmp_path):
    p = Project.create(tmp_path / "line3", template="demo")
    assert (p.root / "project.yaml").exists() and (p.root / "criteria.yaml").exists()
    p.settings["preprocessing"]["size"] = 96
    p.save()
    q = Project.open(tmp_path / "line3")
    assert q.preprocessing.size == 96
    assert q.task == "anomaly"
    assert [c.name for c in q.criteria.classes] == ["scratch", "dent", "stain", "missing_hole"]
    assert q.criteria.class_id("stain") == 3 and q.criteria.class_id(None) == 0


def test_create_refuses_to_overwrite(tmp_path):
    Project.create(tmp_path / "p")
    with pytest.raises(ProjectError, match="already exists"):
        Project.create(tmp_path / "p")


def test_invalid_settings_are_not_saved(tmp_path):
    p = Project.create(tmp_path / "p")
    before = (p.root / "project.yaml").read_text()
    p.settings["preprocessing"]["size"] = 5
    with pytest.raises(ProjectError, match="preprocessing.size"):
        p.save()
    assert (p.root / "project.yaml").read_text() == before


def test_malformed_yaml_names_file_and_line(tmp_path):
    p = Project.create(tmp_path / "p")
    (p.root / "project.yaml").write_text("name: demo\ntask: [anomaly\n")
    with pytest.raises(ProjectError) as err:
        Project.open(p.root)
    msg = str(err.value)
    assert "project.yaml" in msg and "line" in msg and "What to do" in msg


def test_check_lists_every_problem_with_field_and_hint(tmp_path):
    p = Project.create(tmp_path / "p")
    data = yaml.safe_load((p.root / "project.yaml").read_text())
    data["task"] = "magic"
    data["preprocessing"]["roi"] = [0, 0, -5]
    (p.root / "project.yaml").write_text(yaml.safe_dump(data))
    problems = check(p.root)
    fields = {q.field for q in problems}
    assert fields == {"task", "preprocessing.roi"}
    assert all(q.hint for q in problems)


def test_migration_hook_upgrades_and_saves(tmp_path, monkeypatch):
    p = Project.create(tmp_path / "p")
    data = yaml.safe_load((p.root / "project.yaml").read_text())
    data["schema_version"] = 0
    data.pop("split")
    (p.root / "project.yaml").write_text(yaml.safe_dump(data))

    def v0_to_v1(d):
        d = dict(d)
        d.setdefault("split", {"test_fraction": 0.25, "seed": 0})
        return d

    monkeypatch.setitem(schema.MIGRATIONS, 0, v0_to_v1)
    q = Project.open(p.root)
    assert q.settings["split"]["test_fraction"] == 0.25
    saved = yaml.safe_load((p.root / "project.yaml").read_text())
    assert saved["schema_version"] == schema.SCHEMA_VERSION and "split" in saved


def test_newer_schema_is_refused(tmp_path):
    p = Project.create(tmp_path / "p")
    data = yaml.safe_load((p.root / "project.yaml").read_text())
    data["schema_version"] = schema.SCHEMA_VERSION + 1
    (p.root / "project.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ProjectError, match="newer"):
        Project.open(p.root)


def test_atomic_write_keeps_old_file_when_write_fails(tmp_path, monkeypatch):
    target = tmp_path / "project.yaml"
    target.write_text("old: 1\n")

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_text(target, "new: 2\n")
    assert target.read_text() == "old: 1\n"
    assert [f.name for f in tmp_path.iterdir()] == ["project.yaml"]  # no temp file left behind


def test_cli_project_new_and_check(tmp_path):
    r = run_cli("project", "new", str(tmp_path / "d"), "--template", "demo")
    assert r.returncode == 0, r.stderr
    r = run_cli("project", "check", str(tmp_path / "d"))
    assert r.returncode == 0 and "valid" in r.stdout


def test_cli_check_malformed_project_gives_clear_error_not_traceback(tmp_path):
    Project.create(tmp_path / "d")
    (tmp_path / "d" / "project.yaml").write_text("schema_version: 1\nname: x\ntask: anomaly\ncamera: {spec: sim\n")
    r = run_cli("project", "check", str(tmp_path / "d"))
    assert r.returncode != 0
    assert "project.yaml" in r.stderr and "What to do" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    r = run_cli("train", str(tmp_path / "d"))
    assert r.returncode == 2 and "project.yaml" in r.stderr and "Traceback" not in r.stderr


def test_bundled_demo_project_is_valid():
    from pathlib import Path

    demo = Path(__file__).resolve().parents[1] / "projects" / "demo"
    assert check(demo) == []
    assert Project.open(demo).camera_spec.startswith("sim")


def test_labels_log_survives_a_torn_last_line(tmp_path):
    p = Project.create(tmp_path / "p")
    p.labels.add("a", "ok")
    p.labels.add("b", "ng", "scratch")
    with open(p.root / "labels.jsonl", "a") as f:
        f.write('{"image_id": "c", "verd')
    q = Project.open(p.root)
    assert set(q.labels.current()) == {"a", "b"}
    assert q.labels.get("b").defect_class == "scratch"
