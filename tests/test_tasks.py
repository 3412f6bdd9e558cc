"""One description per inspection task (studio.tasks): every layer reads the same table."""
import pytest

from studio import tasks
from studio.core.errors import StudioError


def test_every_description_names_things_that_exist():
    assert tasks.names() == ("anomaly", "classification", "detection", "segmentation")
    for name in tasks.names():
        d = tasks.get(name)
        assert callable(d.load("trainer")) and callable(d.load("predictions")), name
        assert d.trainable is None or callable(d.load("trainable"))
        assert d.figures is None or callable(d.load("figures"))
        low, high = d.needs
        assert 0 < low < high and d.counts in ("good images", "images", "boxes", "masks")
        assert d.outputs and d.bakeoff and d.title and d.learns_from
        assert set(d.needs_peer) <= {label for label, _ in d.bakeoff}


def test_every_layer_takes_its_table_from_the_descriptions():
    from studio.inference.model import OUTPUTS
    from studio.labels.readiness import NEEDS
    from studio.project import model_card, schema
    from studio.training import TRAINERS
    from studio.training.bakeoff import QUALITY

    assert schema.TASKS == model_card.TASKS == tasks.names()
    assert TRAINERS.names() == sorted(tasks.names())
    for name in tasks.names():
        d = tasks.get(name)
        assert OUTPUTS[name] == list(d.outputs)
        assert NEEDS[name] == d.needs and QUALITY[name] == d.measure
        assert TRAINERS.get(name) is d.load("trainer")


def test_an_unknown_task_names_the_tasks_there_are():
    with pytest.raises(StudioError) as e:
        tasks.get("ocr")
    assert "unknown task 'ocr'" in str(e.value) and "segmentation" in str(e.value)


def test_a_project_with_an_unknown_task_is_told_what_each_task_learns_from(demo_project):
    import yaml

    from studio.project import schema

    data = yaml.safe_load((demo_project.root / "project.yaml").read_text(encoding="utf-8"))
    problems = schema.validate({**data, "task": "ocr"})
    task = [p for p in problems if p.field == "task"]
    assert task and "'ocr'" in task[0].message
    assert "good (OK) parts only" in task[0].hint and "boxes drawn around each defect" in task[0].hint


def test_the_bakeoff_offers_what_the_labels_can_train(demo_project):
    from studio.training.bakeoff import default_candidates

    # a fresh demo: anomaly only, unless labels for the others are there; the peer only when asked
    names = [c.name for c in default_candidates(demo_project)]
    assert names[0] == "anomaly (ours)" and "anomaly (anomalib)" not in names
    assert "anomaly (anomalib)" in [c.name for c in default_candidates(demo_project, with_anomalib=True)]
