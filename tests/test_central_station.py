"""Stations forwarding to a real PostgreSQL while it goes away and comes back; lag alerts."""
import sqlite3
import time

import psycopg
import pytest
import yaml
from pg_server import PgServer, bin_dir, free_port
from test_station import FakeCamera, FakeModel, until

from studio.plc.sim import SimPlc
from studio.project import Project
from studio.results import ResultReader
from studio.station import Station

pytestmark = pytest.mark.skipif(bin_dir() is None, reason="needs PostgreSQL's server (installer/setup.sh)")


def station_for(tmp_path, name, settings, **kw):
    project = Project.create(tmp_path / name / "demo", template="demo")
    (project.root / "station.yaml").write_text(yaml.safe_dump(settings))
    return Station(project, model=FakeModel(), camera=FakeCamera(), plc=SimPlc(), data_dir=tmp_path / name / "data",
                   **kw)


def local(station):
    con = sqlite3.connect(station.log_path)
    rows = con.execute("SELECT id, part, shadow, verdict, score, model_id, image_path FROM results ORDER BY id").fetchall()
    con.close()
    return rows


@pytest.mark.slow
def test_two_stations_forward_through_a_database_outage_exactly_once_in_order(tmp_path):
    server = PgServer()
    server.start()
    try:
        url = server.create_database("plant")
        stations = [station_for(tmp_path, sid, {"central": url, "station_id": sid}, max_parts=400, interval_s=0.01)
                    for sid in ("line-1", "line-2")]
        for st in stations:
            st.start()
        assert until(lambda: all(st.central.lag()["forwarded_rows"] > 20 for st in stations), 30)
        server.stop()                                   # the database goes away mid-run
        down_at = min(st.stats()["parts"] for st in stations)
        assert until(lambda: all(st.central.lag()["connected"] is False for st in stations), 15)
        time.sleep(1.0)
        behind = [st.central.lag()["rows"] for st in stations]
        server.start()                                  # ... and comes back
        for st in stations:
            assert st.wait(60) is True                  # the line never waited for it
        assert all(st.stats()["parts"] > down_at for st in stations)
        assert until(lambda: all(st.central.lag()["rows"] == 0 and st.central.lag()["connected"]
                                 for st in stations), 60), [st.central.lag() for st in stations]
        for st in stations:
            st.stop()
        assert max(behind) > 0                          # rows really waited during the outage
        with psycopg.connect(url) as c:
            for st in stations:
                sid = st.central.station_id
                rows = local(st)
                assert [r[1] for r in rows] == list(range(1, 401))      # the station never missed a part
                assert [p.part for p in st.plc.history] == list(range(1, 401))
                central = c.execute("SELECT local_id, part, shadow::int, verdict, score, model_id, image_path "
                                    "FROM results WHERE station_id = %s ORDER BY id", (sid,)).fetchall()
                assert central == rows                  # every row exactly once, in the log's order
                assert st.central.lag()["reconnects"] >= 1, st.central.lag()
                about = c.execute("SELECT project, model_id, lag_rows FROM stations WHERE station_id = %s",
                                  (sid,)).fetchone()
                assert about == ("demo", FakeModel.model_id, 0)
                assert c.execute("SELECT state FROM stations WHERE station_id = %s", (sid,)).fetchone()[0] \
                    == "stopped"
    finally:
        server.close()


def test_lag_is_alerted_and_shown_while_the_central_store_is_away(tmp_path):
    url = f"postgresql://studio@127.0.0.1:{free_port()}/plant"    # nobody listens there
    st = station_for(tmp_path, "line-9", {"central": url, "station_id": "line-9", "central_lag_limit_s": 0.3},
                     max_parts=40, interval_s=0.02)
    events = []
    st.events.subscribe(lambda kind, payload: events.append((kind, payload)))
    st.start()
    assert st.wait(30) is True                          # inspection goes on without the central store
    assert until(lambda: any(k == "alert" and p.get("key") == "central" for k, p in events), 15)
    assert until(lambda: st.stats()["central"]["rows"] == 40, 5)      # refreshed while it waits to retry
    lag = st.stats()["central"]
    assert lag["connected"] is False and lag["rows"] == 40 and lag["seconds"] > 0.3 and lag["error"]
    st.stop()
    reader = ResultReader(st.log_path)
    kinds = [a["kind"] for a in reader.alerts()]
    reader.close()
    assert "central" in kinds
    from studio.central.forwarder import describe_lag, read_status

    assert "not reachable" in describe_lag(lag) and "40 rows behind" in describe_lag(lag)
    status = read_status(st.data_dir)
    assert status is not None and status["rows"] == 40 and status["station_id"] == "line-9"
    from studio.monitoring.report import build_report

    assert build_report(st.data_dir)["central"]["rows"] == 40      # the report says how far behind it is
