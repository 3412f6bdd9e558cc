"""station.yaml ``inference_threads``: the live model's ONNX Runtime threads (default 2)."""
import sys
from pathlib import Path

import pytest
import yaml
from test_station import FakeCamera

from studio.core.errors import StudioError
from studio.plc.sim import SimPlc
from studio.project import Project
from studio.project.station_settings import validate
from studio.station import Station

sys.path.insert(0, str(Path(__file__).parent))
from test_training_support import write_fake_model  # noqa: E402


@pytest.mark.parametrize("value", [0, -1, 65, "two", 1.5, True])
def test_a_bad_thread_count_is_named_with_what_to_write(value):
    problems = validate({"inference_threads": value})
    assert [p.field for p in problems] == ["inference_threads"]
    assert "inference_threads: ONNX Runtime threads" in problems[0].hint


@pytest.mark.parametrize("settings,threads", [({}, 2), ({"inference_threads": 1}, 1), ({"inference_threads": 4}, 4)])
def test_the_station_runs_its_model_on_the_threads_station_yaml_names(tmp_path, settings, threads):
    project = Project.create(tmp_path / "p")
    write_fake_model(project, "anomaly-t", "anomaly", threshold=100.0)
    (project.root / "station.yaml").write_text(yaml.safe_dump(settings))
    station = Station(Project.open(project.root), camera=FakeCamera(), plc=SimPlc(), max_parts=3,
                      data_dir=tmp_path / "data")
    assert station.run(timeout=30) is True
    assert station.model.session.get_session_options().intra_op_num_threads == threads
    assert len(station.plc.history) == 3
    station.reload_model()                      # a model loaded again keeps the setting
    assert station.model.session.get_session_options().intra_op_num_threads == threads


def test_a_station_yaml_with_a_bad_count_does_not_start(tmp_path):
    project = Project.create(tmp_path / "p")
    (project.root / "station.yaml").write_text("inference_threads: 0\n")
    with pytest.raises(StudioError, match="inference_threads"):
        Station(Project.open(project.root), camera=FakeCamera(), plc=SimPlc(), data_dir=tmp_path / "data")
