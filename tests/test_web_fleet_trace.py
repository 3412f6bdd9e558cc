"""The web dashboard's Fleet page (a real PostgreSQL central store) and a part's trace, over real HTTP."""
import json

import pytest
import yaml
from pg_server import free_port
from test_gui_fleet import fill
from test_station import FakeModel
from test_web_dashboard import get, get_json

from studio.central import connect
from studio.central.fleet import fleet
from studio.plc.sim import SimPlc
from studio.station import Station
from studio.station.trace import trace_part
from studio.web import DashboardThread


@pytest.fixture
def ran(demo_project, tmp_path):
    station = Station(demo_project, model=FakeModel(), plc=SimPlc(), data_dir=tmp_path / "data", max_parts=12,
                      interval_s=0.005)
    assert station.run(timeout=60)
    return station


# ---- a part's trace ------------------------------------------------------------------
def test_a_parts_trace_is_what_studio_trace_says_and_linked_from_the_part(ran):
    with DashboardThread(ran.data_dir, port=0, project=ran.project) as web:
        status, chain = get_json(f"{web.url}api/parts/5/trace")
        assert status == 200
        expected = json.loads(json.dumps(trace_part(ran.data_dir, 5, project=ran.project), default=str))
        for key in ("part", "model", "training", "data", "criteria_version", "threshold", "promotion"):
            assert key in chain
        assert chain["part"] == expected["part"] and chain["model"] == expected["model"]
        assert chain["part"]["part"] == 5 and chain["model"]["model_id"] == FakeModel.model_id
        assert chain["gaps"] == expected["gaps"]
        status, kind, body = get(f"{web.url}parts/5/trace")
        page = body.decode()
        assert status == 200 and kind.startswith("text/html")
        assert "Part #5: what decided it" in page and FakeModel.model_id in page
        assert "The threshold decision" in page and "The promotion that made it live" in page
        for gap in expected["gaps"]:                     # every link that cannot be followed is said
            assert gap.replace("'", "&#x27;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;") in page
        status, _, body = get(f"{web.url}parts/5")
        assert status == 200 and 'href="/parts/5/trace"' in body.decode()
        status, err = get_json(f"{web.url}api/parts/999/trace")
        assert status == 404 and "no part 999" in err["error"]
        status, _, body = get(f"{web.url}parts/999/trace")
        assert status == 404
        status, err = get_json(f"{web.url}api/parts/x/trace")
        assert status == 400


# ---- the fleet ------------------------------------------------------------------------
def test_no_central_store_no_fleet_page(ran):
    with DashboardThread(ran.data_dir, port=0, project=ran.project) as web:
        _, _, body = get(f"{web.url}")
        assert 'href="/fleet"' not in body.decode()
        status, err = get_json(f"{web.url}api/fleet")
        assert status == 404 and "no central store" in err["error"] and "--central" in err["hint"]


def test_the_fleet_page_shows_every_station_from_the_central_store(ran, pg_url, tmp_path):
    fill(pg_url, tmp_path / "fleet")
    conn = connect(pg_url)
    try:
        expected = fleet(conn)
    finally:
        conn.close()
    # central: in the project's station.yaml is what the station's own dashboard reads
    (ran.project.root / "station.yaml").write_text(yaml.safe_dump({"central": pg_url}))
    with DashboardThread(ran.data_dir, port=0, project=ran.project) as web:
        status, view = get_json(f"{web.url}api/fleet")
        assert status == 200
        got = {s["station_id"]: s for s in view["stations"]}
        assert sorted(got) == ["line-1", "line-2", "line-3"]
        for s in expected["stations"]:
            g = got[s["station_id"]]
            assert (g["project"], g["parts"], g["rejected"], g["lag_rows"]) == \
                (s["project"], s["parts"], s["rejected"], s["lag_rows"])
            assert g["reject_rate"] == pytest.approx(s["reject_rate"])
            assert [h["parts"] for h in g["hours"]] == [h["parts"] for h in s["hours"]] and len(g["hours"]) == 3
            assert g["alerts"]["total"] == s["alerts"]["total"]
        demo = next(p for p in view["projects"] if p["project"] == "demo")
        assert sorted(s["station_id"] for s in demo["stations"]) == ["line-1", "line-2"]
        assert "password" not in json.dumps(view) and view["url"]
        status, kind, body = get(f"{web.url}fleet")
        page = body.decode()
        assert status == 200 and 'href="/fleet"' in page
        for s in expected["stations"]:
            assert f'id="station-{s["station_id"]}"' in page
            assert f'{100 * s["reject_rate"]:.2f} %' in page
        assert "Project demo" in page and "spread between stations" in page and "Project caps" in page
        status, view = get_json(f"{web.url}api/fleet?hours=0.001")     # the window is the caller's
        assert status == 200 and all(s["parts"] == 0 for s in view["stations"])
        status, err = get_json(f"{web.url}api/fleet?hours=x")
        assert status == 400


def test_the_fleet_page_says_when_the_database_is_away(ran):
    away = f"postgresql://studio@127.0.0.1:{free_port()}/plant"
    with DashboardThread(ran.data_dir, port=0, project=ran.project, central=away) as web:
        status, err = get_json(f"{web.url}api/fleet")
        assert status == 503 and "cannot be reached" in err["error"] and "not affected" in err["hint"]
        status, kind, body = get(f"{web.url}fleet")
        assert status == 200 and "cannot be reached" in body.decode()
        status, rows = get_json(f"{web.url}api/recent?n=3")       # the station's own pages go on
        assert status == 200 and len(rows) == 3


def test_a_wrong_central_address_is_refused_before_serving(tmp_path, capsys):
    from studio.cli.main import main

    (tmp_path / "data").mkdir()
    code = main(["station", "web", str(tmp_path / "data"), "--listen", "127.0.0.1:0", "--central", "mysql://x/y"])
    assert code != 0
    err = capsys.readouterr().err
    assert "--central" in err and "postgresql://" in err
