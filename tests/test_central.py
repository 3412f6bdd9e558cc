"""The central store (PostgreSQL, a real server started by the tests): migrations, the forwarder,
``studio station sync`` and ``studio fleet``."""
import json
import sqlite3
import threading
import time

import psycopg
import pytest

from studio.audit import AuditTrail
from studio.central import connect
from studio.central import schema as central_schema
from studio.central.forwarder import Forwarder
from studio.cli.main import main
from studio.core.errors import StudioError
from studio.results import rates
from studio.results.log import ResultLog


HOUR = 3600.0


def write_log(data_dir, verdicts, *, t0=None, step=1.0, shadow_every=0, model_id="m-1", first_part=1):
    """A real result log: one row per verdict (part numbers from ``first_part``), a shadow row after
    every ``shadow_every``-th part, and one alert. Returns the log's path."""
    t0 = time.time() - len(verdicts) * step - 60 if t0 is None else t0
    log = ResultLog(data_dir / "results.sqlite")
    for i, v in enumerate(verdicts):
        t = t0 + i * step
        part = first_part + i
        row = {"part": part, "frame_id": part, "verdict": v, "verdict_code": {"pass": 1, "reject": 2}.get(v, 3),
               "score": 0.1 * (i % 10), "model_id": model_id, "t_trigger": t - 0.01, "t_captured": t - 0.005,
               "t_decided": t, "t_actuated": t + 0.001, "latency_ms": 11.0, "part_id": f"P{part}"}
        log.append(row)
        if shadow_every and part % shadow_every == 0:
            log.append({**row, "shadow": 1, "model_id": "m-shadow", "verdict": "pass", "verdict_code": 1})
    log.alert("camera", "warning", "frame timeout (cable unplugged?)", {"timeouts": 1})
    log.flush()
    log.close()
    return data_dir / "results.sqlite"


def local_rows(path):
    con = sqlite3.connect(path)
    out = con.execute("SELECT id, part, shadow, verdict, score, model_id, t_decided FROM results ORDER BY id").fetchall()
    con.close()
    return out


def central_rows(url, station_id):
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT local_id, part, shadow::int, verdict, score, model_id, "
                            "extract(epoch FROM t_decided)::float8 FROM results WHERE station_id = %s ORDER BY id",
                            (station_id,)).fetchall()


def same_rows(local, central):
    assert len(local) == len(central)
    for a, b in zip(local, central):
        assert a[:6] == b[:6]
        assert a[6] == pytest.approx(b[6], abs=2e-6)      # timestamptz keeps microseconds


# ---- migrations -----------------------------------------------------------------------------
def test_migrations_apply_on_a_fresh_database_and_are_idempotent(pg_url):
    conn = connect(pg_url)
    assert central_schema.version_of(conn) == central_schema.CURRENT
    tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"schema_migrations", "stations", "results", "alerts", "audit", "forward_marks"} <= tables
    indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'results'")}
    assert {"results_station_time", "results_time", "results_model_time", "results_part_identity"} <= indexes
    assert central_schema.migrate(conn) == []             # a second time: nothing to do
    assert conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == central_schema.CURRENT
    conn.close()
    connect(pg_url).close()                               # connecting again applies nothing, fails nothing


def test_two_stations_migrating_a_fresh_database_at_once(pg_server):
    url = pg_server.create_database("race")
    applied, errors = [], []

    def go():
        try:
            c = psycopg.connect(url)
            applied.append(central_schema.migrate(c))
            c.close()
        except Exception as e:      # noqa: BLE001 - counted: the test fails on any
            errors.append(e)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert sorted(applied, key=len) == [[], [], [], list(range(1, central_schema.CURRENT + 1))]


def test_a_database_newer_than_the_studio_is_refused(pg_url):
    connect(pg_url).close()
    with psycopg.connect(pg_url) as c:
        c.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, 'from the future')",
                  (central_schema.CURRENT + 1,))
    with pytest.raises(StudioError, match="newer than this studio"):
        connect(pg_url)


def test_a_bad_address_is_a_clear_error(tmp_path):
    with pytest.raises(StudioError, match="postgresql://"):
        Forwarder(tmp_path, "mysql://x/y", "s1")
    from studio.project.station_settings import validate

    problems = {p.field: p.message for p in validate({"central": "http://x", "station_id": "line 1/a"})}
    assert "postgresql://" in problems["central"] and "letters, digits" in problems["station_id"]
    assert validate({"central": "postgresql://studio@central/plant", "station_id": "line-1.cam_2",
                     "central_lag_limit_s": 60, "reject_images_to": "/mnt/rejects"}) == []


# ---- sync: a backfill, and a resend --------------------------------------------------------
def test_sync_twice_never_duplicates_and_keeps_the_order(pg_url, tmp_path, capsys):
    data = tmp_path / "station"
    verdicts = ["pass", "reject", "pass", "fault", "review"] * 20
    path = write_log(data, verdicts, shadow_every=4)
    trail = AuditTrail(data)
    trail.append("station.started", actor="op", what="line-1")
    trail.append("model.promoted", actor="qe", what="m-1", reason="better")
    argv = ["station", "sync", str(data), "--to", pg_url, "--station-id", "line-1", "--project", "demo", "--json"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    local = local_rows(path)
    assert first["forwarded_rows"] == len(local) == 125 and first["rows"] == 0
    same_rows(local, central_rows(pg_url, "line-1"))
    assert main(argv) == 0                                 # the resend: the marks say all is there
    second = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert second["forwarded"] == 0
    with psycopg.connect(pg_url) as c:                     # a lost mark (a restored database): a full resend
        c.execute("DELETE FROM forward_marks")
    assert main(argv) == 0
    third = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert third["forwarded"] == 0 and third["resent"] == 125
    same_rows(local, central_rows(pg_url, "line-1"))
    with psycopg.connect(pg_url) as c:
        assert c.execute("SELECT COUNT(*) FROM alerts").fetchone()[0] == 1
        audit = c.execute("SELECT seq, action, actor FROM audit ORDER BY seq").fetchall()
        assert audit == [(1, "station.started", "op"), (2, "model.promoted", "qe")]
        assert c.execute("SELECT COUNT(*) FILTER (WHERE shadow), COUNT(DISTINCT project) FROM results").fetchone() \
            == (25, 1)
    trail.append("station.stopped", actor="op", what="line-1")  # a new entry: only it goes
    assert main(argv) == 0
    fourth = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert fourth["forwarded"] == 1


def test_an_acknowledgement_made_after_the_alert_was_sent_follows_it(pg_url, tmp_path):
    path = write_log(tmp_path / "station", ["pass"] * 3)
    fw = Forwarder(tmp_path / "station", pg_url, "line-1", status_file=False)
    fw.sync()
    con = sqlite3.connect(path)
    con.execute("UPDATE alerts SET acked_by = 'anna', acked_at = ?", (time.time(),))
    con.commit()
    con.close()
    fw.sync()
    with psycopg.connect(pg_url) as c:
        assert c.execute("SELECT COUNT(*), MAX(acked_by) FROM alerts").fetchone() == (1, "anna")


def test_a_fresh_data_directory_does_not_clash_with_the_old_part_numbers(pg_url, tmp_path):
    """A station's disk replaced: its new log counts parts from 1 again, under a new log identity."""
    old, new = tmp_path / "old", tmp_path / "new"
    write_log(old, ["pass"] * 10)
    write_log(new, ["reject"] * 5)
    Forwarder(old, pg_url, "line-1", status_file=False).sync()
    out = Forwarder(new, pg_url, "line-1", status_file=False).sync()
    assert out["forwarded_rows"] == 5
    with psycopg.connect(pg_url) as c:
        assert c.execute("SELECT COUNT(*), COUNT(DISTINCT log_uid) FROM results").fetchone() == (15, 2)


def test_a_data_directory_that_goes_away_and_comes_back_is_forwarded_once(pg_url, tmp_path):
    """The log rewritten into a data directory that came back keeps its identity: nothing twice."""
    from waiting import until

    data = tmp_path / "station"
    lg = ResultLog(data / "results.sqlite", watch_s=0.05)
    fw = Forwarder(data, pg_url, "line-1", poll_s=0.05, status_file=False).start()

    def publish(n):
        t = time.time()
        return lg.append({"part": n, "verdict": "pass", "verdict_code": 1, "t_decided": t, "t_actuated": t})

    for n in range(1, 21):
        publish(n)
    assert until(lambda: fw.lag()["forwarded_rows"] == 20, 20)
    data.rename(tmp_path / "unplugged")
    assert until(lambda: lg.failing is not None)
    for n in range(21, 31):
        publish(n)
    data.mkdir()
    assert until(lambda: lg.held == 0 and lg.failing is None, 20)
    for n in range(31, 36):
        publish(n)
    lg.close()
    if not until(lambda: fw.lag()["forwarded_rows"] == 35 and fw.lag()["rows"] == 0, 20):
        with psycopg.connect(pg_url) as c:
            dump = c.execute("SELECT log_uid, min(part), max(part), count(*), min(local_id), max(local_id) "
                             "FROM results GROUP BY 1").fetchall()
            marks = c.execute("SELECT * FROM forward_marks").fetchall()
        raise AssertionError(f"{fw.lag()} {dump} {marks}")
    fw.stop()
    with psycopg.connect(pg_url) as c:
        got = c.execute("SELECT part, log_uid FROM results ORDER BY id").fetchall()
    assert [p for p, _ in got] == list(range(1, 36)) and len({u for _, u in got}) == 1


def test_two_stations_under_one_station_id_are_told(pg_url, tmp_path):
    from waiting import until

    told = []
    write_log(tmp_path / "a", ["pass"] * 3)
    write_log(tmp_path / "b", ["pass"] * 3)
    fws = [Forwarder(tmp_path / d, pg_url, "line-1", poll_s=0.05, status_file=False,
                     on_alert=lambda m, level: told.append(m)).start() for d in ("a", "b")]
    assert until(lambda: any("also used by" in m for m in told), 20), told
    for fw in fws:
        fw.stop()
    with psycopg.connect(pg_url) as c:           # both logs arrived, apart
        assert c.execute("SELECT COUNT(*), COUNT(DISTINCT log_uid) FROM results").fetchone() == (6, 2)


def test_reject_images_are_copied_to_the_shared_folder(pg_url, tmp_path):
    import numpy as np

    data, share = tmp_path / "station", tmp_path / "share"
    log = ResultLog(data / "results.sqlite")
    t = time.time()
    for part, verdict in enumerate(["pass", "reject", "fault", "pass"], 1):
        log.append({"part": part, "verdict": verdict, "verdict_code": 1, "t_decided": t + part, "t_actuated": t + part,
                    "image": np.full((8, 8, 3), part, np.uint8), "model_id": "m"})
    log.flush()
    log.close()
    Forwarder(data, pg_url, "line-7", reject_images_to=share, status_file=False).sync()
    with psycopg.connect(pg_url) as c:
        rows = c.execute("SELECT part, verdict, image_path, shared_image FROM results ORDER BY part").fetchall()
    assert [r[3] is not None for r in rows] == [False, True, True, False]
    for _part, _, image_path, shared in rows:
        assert (data / image_path).is_file()               # the image stays on the station
        if shared:
            assert shared.startswith(str(share / "line-7")) and open(shared, "rb").read() == \
                (data / image_path).read_bytes()


# ---- the fleet view --------------------------------------------------------------------------
def test_fleet_json_figures_match_the_rows(pg_url, tmp_path, capsys):
    now = time.time()
    hour0 = (now // HOUR) * HOUR - 2 * HOUR         # two clock hours ago
    a = ["pass"] * 30 + ["reject"] * 6 + ["fault"] * 2 + ["review"] * 2       # 40 parts in hour0
    b = ["pass"] * 18 + ["reject"] * 2                                        # 20 parts an hour later
    write_log(tmp_path / "a", a, t0=hour0 + 10, step=1.0, shadow_every=5)
    write_log(tmp_path / "b1", b, t0=hour0 + HOUR + 10, step=1.0)
    write_log(tmp_path / "c", ["reject"] * 4, t0=hour0 + 10, model_id="other")
    for d, sid, project in (("a", "line-1", "demo"), ("b1", "line-2", "demo"), ("c", "line-3", "caps")):
        Forwarder(tmp_path / d, pg_url, sid, project=project, status_file=False).sync()
    assert main(["fleet", pg_url, "--json"]) == 0
    view = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    st = {s["station_id"]: s for s in view["stations"]}
    assert set(st) == {"line-1", "line-2", "line-3"}
    counts_a = rates.tally(a)
    assert st["line-1"]["parts"] == 40 and st["line-1"]["rejected"] == 8 and st["line-1"]["review"] == 2
    assert st["line-1"]["reject_rate"] == pytest.approx(rates.reject_rate(counts_a)) == pytest.approx(0.2)
    assert st["line-1"]["hours"] == [{"hour": hour0, "parts": 40, "rejected": 8, "review": 2, "rate": 0.2}]
    assert st["line-2"]["hours"] == [{"hour": hour0 + HOUR, "parts": 20, "rejected": 2, "review": 0, "rate": 0.1}]
    assert st["line-1"]["project"] == "demo" and st["line-1"]["model_id"] == "m-1"
    assert st["line-1"]["alerts"]["total"] == 1 and st["line-1"]["alerts"]["recent"][0]["kind"] == "camera"
    assert st["line-1"]["lag_rows"] == 0
    projects = {p["project"]: p for p in view["projects"]}
    demo = projects["demo"]
    assert [(s["station_id"], s["parts"], s["reject_rate"]) for s in demo["stations"]] == \
        [("line-1", 40, pytest.approx(0.2)), ("line-2", 20, pytest.approx(0.1))]
    assert demo["parts"] == 60 and demo["reject_rate"] == pytest.approx(10 / 60)
    assert demo["spread"] == pytest.approx(0.1)
    assert projects["caps"]["reject_rate"] == 1.0
    assert main(["fleet", pg_url, "--hours", "3"]) == 0   # the text view, a shorter window
    text = capsys.readouterr().out
    assert "line-2" in text and "Project demo" in text and "Recent alerts" in text
    h2 = time.strftime("%H", time.gmtime(hour0 + HOUR))
    assert f"{h2}h 20 10.0 %" in text                     # line-2's hour


def test_fleet_on_an_unreachable_server_is_a_clear_error(capsys):
    from pg_server import free_port

    assert main(["fleet", f"postgresql://studio@127.0.0.1:{free_port()}/x"]) == 2
    assert "cannot reach the central store" in capsys.readouterr().err
