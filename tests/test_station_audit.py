"""The station's start and stop are entries of its trail: who started it and what it runs; who stopped it, why."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from test_station import make  # noqa: E402


def trail(data_dir):
    return [json.loads(l) for l in (Path(data_dir) / "audit.jsonl").read_text().splitlines()]


def test_start_and_stop_record_who_and_what_the_station_runs(demo_project, tmp_path):
    station, _ = make(demo_project, tmp_path, max_parts=None)
    station.started_by = "eve"
    station.start()
    station.stop(by="erik", reason="changeover to line B")
    started, stopped = trail(station.data_dir)[-2:]
    assert started["action"] == "station.started" and started["actor"] == "eve"
    assert started["after"]["model"] == station.model_id and started["after"]["plc"] == station.plc_spec
    assert {"model", "shadow", "mode", "camera", "plc"} <= started["after"].keys()
    assert stopped["action"] == "station.stopped" and stopped["actor"] == "erik"
    assert stopped["reason"] == "changeover to line B" and stopped["meaning"] == "responsibility"


def test_an_unattended_run_is_recorded_under_the_os_login_with_its_end(demo_project, tmp_path):
    from studio.audit.trail import default_actor

    station, _ = make(demo_project, tmp_path, max_parts=3)
    assert station.run(timeout=30) is True
    started, stopped = trail(station.data_dir)[-2:]
    assert started["actor"] == default_actor() and stopped["actor"] == default_actor()
    assert stopped["reason"] == "finished its 3 parts"
