"""schema_version on every persistent file, and migrations: one step per version, a backup first, newer refused."""
import json

import pytest
import yaml

from studio.core.errors import ModelError, ProjectError
from studio.core.migrations import Migrator
from studio.project import Project


def test_steps_run_in_order_and_the_old_file_is_kept_once(tmp_path):
    m = Migrator("thing.json", 3)
    seen = []

    @m.step(0)
    def _a(d):
        seen.append(0)
        return {**d, "a": 1}

    @m.step(1)
    def _b(d):
        seen.append(1)
        return {**d, "b": d["a"] + 1}

    m.step(2)(lambda d: {**d, "c": 3})
    original = {"x": 1}
    data, old = m.migrate(original, tmp_path / "thing.json")
    assert (old, seen) == (0, [0, 1]) and data == {"x": 1, "a": 1, "b": 2, "c": 3, "schema_version": 3}
    assert original == {"x": 1}                              # the caller's dict is untouched
    assert m.migrate(data) == (data, 3)                     # current: nothing runs
    path = tmp_path / "thing.json"
    path.write_text('{"x": 1}')
    backup = m.backup(path, 0)
    assert backup.name == "thing.json.v0.bak" and backup.read_text() == '{"x": 1}'
    path.write_text('{"x": 2}')
    assert m.backup(path, 0) == backup and backup.read_text() == '{"x": 1}'   # the first original is kept
    assert m.backup(path, 3) is None


def test_newer_missing_step_bad_version_and_failing_step_are_clear_errors():
    m = Migrator("station.yaml", 2)
    m.step(0)(lambda d: d)
    with pytest.raises(ProjectError, match="newer than this studio understands"):
        m.migrate({"schema_version": 7})
    with pytest.raises(ProjectError, match="no migration exists from version 1"):
        m.migrate({"schema_version": 0})
    with pytest.raises(ProjectError, match="not a whole number"):
        m.migrate({"schema_version": "two"})

    def broken(d):
        raise KeyError("plc")

    m.step(1)(broken)
    with pytest.raises(ProjectError, match="from schema_version 1 to 2"):
        m.migrate({"schema_version": 1})


def test_project_yaml_migration_keeps_a_backup(tmp_path, monkeypatch):
    from studio.project import schema

    p = Project.create(tmp_path / "p")
    data = yaml.safe_load((p.root / "project.yaml").read_text())
    data["schema_version"] = 0
    (p.root / "project.yaml").write_text(yaml.safe_dump(data))
    before = (p.root / "project.yaml").read_text()
    monkeypatch.setitem(schema.MIGRATIONS, 0, lambda d: {**d, "note": "migrated"})
    q = Project.open(p.root)
    assert q.settings["note"] == "migrated" and q.settings["schema_version"] == schema.SCHEMA_VERSION
    assert (p.root / "project.yaml.v0.bak").read_text() == before


def card(model_id="anomaly-a", **extra):
    return {"model_id": model_id, "task": "anomaly", "threshold": 0.5, "preprocessing": {"size": 64},
            "classes": ["good", "anomaly"], **extra}


def test_a_card_without_schema_version_loads_and_is_upgraded_with_a_backup_when_rewritten(tmp_path):
    from studio.project.model_card import set_threshold
    from studio.project import model_card

    p = Project.create(tmp_path / "p")
    folder = p.models_dir / "anomaly-a"
    folder.mkdir(parents=True)
    old_text = json.dumps(card())
    (folder / "card.json").write_text(old_text)
    assert model_card.load(folder)["schema_version"] == model_card.SCHEMA_VERSION   # in memory
    assert "schema_version" not in json.loads((folder / "card.json").read_text())   # reading never writes
    set_threshold(p, "anomaly-a", 0.7)
    saved = json.loads((folder / "card.json").read_text())
    assert saved["schema_version"] == 1 and saved["threshold"] == 0.7
    assert (folder / "card.json.v0.bak").read_text() == old_text


def test_a_card_from_a_newer_studio_is_refused_naming_the_model(tmp_path):
    from studio.project import model_card

    folder = tmp_path / "models" / "anomaly-b"
    folder.mkdir(parents=True)
    (folder / "card.json").write_text(json.dumps(card("anomaly-b", schema_version=9)))
    with pytest.raises(ModelError) as err:
        model_card.load(folder)
    assert "anomaly-b" in str(err.value) and "newer" in str(err.value)


def test_training_writes_versioned_cards(tmp_path):
    from studio.training.export import write_model

    p = Project.create(tmp_path / "p")
    fields = {k: v for k, v in card().items() if k not in ("model_id", "task")}
    out = write_model(p, "anomaly", b"onnx", fields)
    text = (p.models_dir / out["model_id"] / "card.json").read_text()
    assert next(iter(json.loads(text))) == "schema_version" and out["schema_version"] == 1


def test_dataset_json_gets_a_version_and_the_unversioned_file_is_kept(tmp_path):
    import numpy as np

    p = Project.create(tmp_path / "p")
    p.dataset.add_image(np.zeros((8, 8), np.uint8), stem="a")
    data = json.loads((p.root / "dataset.json").read_text())
    assert data["schema_version"] == 1
    data.pop("schema_version")
    old = json.dumps(data)
    (p.root / "dataset.json").write_text(old)
    q = Project.open(p.root)
    assert [r.id for r in q.dataset] == ["a"]
    q.dataset.add_image(np.zeros((8, 8), np.uint8), stem="b")
    assert (p.root / "dataset.json.v0.bak").read_text() == old
    assert json.loads((p.root / "dataset.json").read_text())["schema_version"] == 1
    (p.root / "dataset.json").write_text(json.dumps({"schema_version": 5, "images": []}))
    with pytest.raises(ProjectError, match="newer"):
        _ = Project.open(p.root).dataset            # the dataset is read on first use


def test_labeling_plan_test_split_limits_and_station_yaml_carry_their_version(tmp_path):
    from studio.dataset.splits import freeze, read_frozen
    from studio.labels.assignment import LabelingPlan
    from studio.lighting import limits

    p = Project.create(tmp_path / "p", template="demo")
    (p.root / "labeling.yaml").write_text("labelers: [ann]\n")           # written before versions
    LabelingPlan.load(p.root).save(p.root)
    assert yaml.safe_load((p.root / "labeling.yaml").read_text())["schema_version"] == 1
    assert (p.root / "labeling.yaml.v0.bak").read_text() == "labelers: [ann]\n"
    freeze(p)
    assert read_frozen(p.root)["schema_version"] == 1
    limits.set_limit(p, "noise", "sigma_max", 4.0)
    saved = yaml.safe_load((p.root / "audits" / "limits.yaml").read_text())
    assert saved == {"schema_version": 1, "noise": {"sigma_max": 4.0}}
    assert limits.load(p)["noise"]["sigma_max"] == 4.0
    (p.root / "station.yaml").write_text("schema_version: 3\nplc: sim\n")
    with pytest.raises(ProjectError, match="newer"):
        p.station_settings()
    (p.root / "station.yaml").write_text("plc: sim\n")                    # unversioned: version 0, fine
    assert p.station_settings()["schema_version"] == 1


def test_criteria_yaml_carries_a_layout_version_apart_from_its_rule_version(tmp_path):
    from studio.criteria.document import CriteriaDocument

    p = Project.create(tmp_path / "p", template="demo")
    saved = yaml.safe_load((p.root / "criteria.yaml").read_text())
    assert saved["schema_version"] == 1 and saved["version"] == 1
    saved.pop("schema_version")
    old = yaml.safe_dump(saved)
    (p.root / "criteria.yaml").write_text(old)                 # a project from before layout versions
    doc = CriteriaDocument.load(p.root / "criteria.yaml")
    doc.new_version("anna", "stain limit")
    doc.save(p.root / "criteria.yaml")
    assert (p.root / "criteria.yaml.v0.bak").read_text() == old
    assert yaml.safe_load((p.root / "criteria.yaml").read_text())["schema_version"] == 1
    saved["schema_version"] = 4
    (p.root / "criteria.yaml").write_text(yaml.safe_dump(saved))
    with pytest.raises(ProjectError, match="newer"):
        Project.open(p.root)
