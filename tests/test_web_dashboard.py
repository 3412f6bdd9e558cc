"""The read-only web dashboard against a real station: pages and JSON over real HTTP, values as logged."""
import json
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import tomllib
import urllib.error
import urllib.request
from fnmatch import fnmatch
from pathlib import Path

import pytest
from test_station import FakeModel
from waiting import until
from web_fixtures import fake_report, seed_history

from studio.core.errors import StudioError
from studio.plc.sim import SimPlc
from studio.station import Station
from studio.web import DashboardProcess, DashboardThread, parse_listen, resolve_listen
from studio.web.data import REPORT_TTL_S

REPO = Path(__file__).resolve().parents[1]


def get(url, timeout=10.0, method="GET"):
    """(status, content type, body bytes) of a real HTTP request; errors are answers too."""
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers.get("content-type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type", ""), e.read()


def get_json(url):
    status, kind, body = get(url)
    assert kind.startswith("application/json"), (url, status, kind, body[:200])
    return status, json.loads(body)


def log_rows(data_dir):
    con = sqlite3.connect(data_dir / "results.sqlite")
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("SELECT * FROM results WHERE shadow = 0 ORDER BY part")]
    finally:
        con.close()


@pytest.fixture
def ran(demo_project, tmp_path):
    """A finished station run of 30 parts: the simulated camera (sim:), the simulated PLC, a stand-in model."""
    station = Station(demo_project, model=FakeModel(), plc=SimPlc(), data_dir=tmp_path / "data", max_parts=30,
                      interval_s=0.005)
    assert station.run(timeout=60)
    return station


@pytest.fixture
def web(ran):
    with DashboardThread(ran.data_dir, port=0, project=ran.project) as dash:
        yield dash


def test_json_endpoints_say_what_the_log_says(ran, web):
    rows = log_rows(ran.data_dir)
    assert len(rows) == 30
    status, health = get_json(web.url + "api/health")
    assert status == 200 and health["ok"] and health["log"] == "ok"
    assert health["parts"] == 30 and health["last_part"] == 30

    status, report = get_json(web.url + "api/report")
    assert status == 200 and report["parts"] == 30
    rejected = sum(r["verdict"] in ("reject", "fault") for r in rows)
    assert report["figures"]["reject"] == sum(r["verdict"] == "reject" for r in rows)
    assert report["figures"]["reject_rate"] == pytest.approx(rejected / 30)
    assert sum(h["parts"] for h in report["hours"]) == 30
    assert {"hours", "alerts", "drift", "shadow", "gate"} <= set(report)

    status, recent = get_json(web.url + "api/recent?n=5")
    assert status == 200
    assert [r["part"] for r in recent] == [30, 29, 28, 27, 26]
    for got in recent:
        want = rows[got["part"] - 1]
        assert {k: got[k] for k in want} == want                # every column, as logged
    assert len(get_json(web.url + "api/recent")[1]) == 20       # the default

    status, part = get_json(web.url + "api/parts/7")
    assert status == 200 and {k: part[k] for k in rows[6]} == rows[6]
    assert part["image_url"] == "/api/image/7"

    status, kind, png = get(web.url + "api/image/7")
    assert status == 200 and kind == "image/png"
    assert png == (ran.data_dir / rows[6]["image_path"]).read_bytes()

    status, alerts = get_json(web.url + "api/alerts")
    con = sqlite3.connect(ran.data_dir / "results.sqlite")
    logged = [r[0] for r in con.execute("SELECT message FROM alerts ORDER BY id DESC")]
    con.close()
    assert status == 200 and [a["message"] for a in alerts] == logged


def test_pages_show_the_figures_the_images_and_the_chart(ran, web):
    rows = log_rows(ran.data_dir)
    status, kind, body = get(web.url)
    page = body.decode()
    assert status == 200 and kind.startswith("text/html")
    assert "Reject rate per hour" in page and "<svg" in page and 'class="hour' in page
    rate = sum(r["verdict"] != "pass" for r in rows) / 30
    assert f"{100 * rate:.2f} %" in page
    assert 'src="/api/image/30"' in page and 'href="/parts/30"' in page      # the newest part's image
    assert "/static/dashboard.js" in page and "/static/dashboard.css" in page
    assert not re.search(r'(src|href|url)\s*[=(]\s*["\']?(https?:)?//', page)      # nothing from outside

    for path, words in (("parts", "The last 60 parts"), ("parts/3", "Part #3"), ("alerts", "Alerts"),
                        ("shadow", "No shadow model is logged"), ("gate", "No promotion gate")):
        status, kind, body = get(web.url + path)
        assert status == 200 and words in body.decode(), path
    status, _, fragment = get(web.url + "?fragment=1")         # what the live page swaps in
    assert status == 200 and b"<html" not in fragment and b"Reject rate per hour" in fragment
    for name in ("dashboard.js", "dashboard.css", "favicon.svg"):
        status, kind, body = get(web.url + "static/" + name)
        assert status == 200 and body == (REPO / "studio/web/static" / name).read_bytes()


def test_the_report_keys_other_engineers_add_are_drawn(ran, monkeypatch):
    """Control limits per hour, drift, the shadow's 2x2 table and the gate, in the shapes of the issue."""
    import studio.monitoring.report as report_module

    real = report_module.build_report
    monkeypatch.setattr(report_module, "build_report", lambda *a, **k: fake_report(real(*a, **k)))
    with DashboardThread(ran.data_dir, port=0) as web:
        page = get(web.url)[2].decode()
        assert page.count('class="limit lower"') == page.count('class="limit upper"') >= 1
        assert "20260301-candidate" in page and "The gate is not met" in page
        shadow = get(web.url + "shadow")[2].decode()
        assert "94.40 %" in shadow and "0.72 – 0.9" in shadow
        for n in (31, 139, 6, 4):
            assert f">{n}</td>" in shadow
        gate = get(web.url + "gate")[2].decode()
        assert "minimum agreement" in gate and "0.944" in gate
        assert get_json(web.url + "api/report")[1]["shadow"]["table"]["both_pass"] == 139


def test_no_path_leaves_the_data_directory(ran, web, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("the PLC password")
    for path in ("static/..%2F..%2Fpyproject.toml", "static/../../pyproject.toml", "static/%2e%2e/app.py",
                 "api/image/..%2F..%2Fsecret.txt", "api/image/../../secret.txt", "api/image/-1",
                 "api/image/%2e%2e%2fsecret.txt", "parts/..%2F..%2Fsecret.txt"):
        status, kind, body = get(web.url + path)
        assert status in (400, 404), (path, status)
        assert b"PLC password" not in body and b"[tool.setuptools" not in body and b"import" not in body
    # a tampered row pointing outside the data directory is refused, and said
    con = sqlite3.connect(ran.data_dir / "results.sqlite")
    con.execute("UPDATE results SET image_path = '../secret.txt' WHERE part = 5")
    con.execute("UPDATE results SET image_path = ? WHERE part = 6", (str(secret),))
    con.commit()
    con.close()
    for n in (5, 6):
        status, data = get_json(web.url + f"api/image/{n}")
        assert status == 404 and "not in the data directory" in data["error"]


def test_read_only_and_errors_are_clear(ran, web):
    before = (ran.data_dir / "results.sqlite").read_bytes()
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        for path in ("api/report", "api/parts/3", "", "api/alerts"):
            status, kind, body = get(web.url + path, method=method)
            assert status == 405, (method, path)
    assert (ran.data_dir / "results.sqlite").read_bytes() == before
    assert len(log_rows(ran.data_dir)) == 30

    status, err = get_json(web.url + "api/recent?n=many")
    assert status == 400 and "whole number" in err["error"]
    status, err = get_json(web.url + "api/parts/999")
    assert status == 404 and err["error"] == "no part 999 in the result log"
    status, err = get_json(web.url + "api/report?since=yesterday")
    assert status == 400 and "ISO" in err["error"]
    status, err = get_json(web.url + "api/nothing")
    assert status == 404 and "/api/" in err["hint"]
    status, kind, body = get(web.url + "nothing")
    assert status == 404 and kind.startswith("text/html") and b"Traceback" not in body
    status, kind, body = get(web.url + "parts/abc")
    assert status == 400 and b"whole number" in body and b"Traceback" not in body


def test_a_data_directory_without_a_log_yet(tmp_path):
    (tmp_path / "empty").mkdir()
    with DashboardThread(tmp_path / "empty", port=0) as web:
        status, health = get_json(web.url + "api/health")
        assert status == 200 and health["log"] == "missing" and health["parts"] == 0
        status, kind, body = get(web.url)
        assert status == 200 and b"no result log here yet" in body
        status, err = get_json(web.url + "api/report")
        assert status == 503 and "no result log here yet" in err["error"] and err["hint"]
        status, err = get_json(web.url + "api/recent")
        assert status == 503


def read_events(url, want, timeout=20.0):
    """The data of the first ``want`` SSE 'update' events."""
    out = []
    with urllib.request.urlopen(url, timeout=timeout) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        event = None
        deadline = time.monotonic() + timeout
        while len(out) < want and time.monotonic() < deadline:
            line = r.readline().decode().rstrip("\n")
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "update":
                out.append(json.loads(line.split(":", 1)[1]))
                event = None
    return out


def test_it_keeps_serving_while_the_station_writes(demo_project, tmp_path):
    data_dir = tmp_path / "data"
    station = Station(demo_project, model=FakeModel(), plc=SimPlc(), data_dir=data_dir, interval_s=0.01)
    with DashboardThread(data_dir, port=0, project=demo_project) as web:
        station.start()
        try:
            assert until(lambda: station.stats()["parts"] >= 3, timeout=30)
            seen, reported, failures = [], [], []
            events: list = []
            sse = threading.Thread(target=lambda: events.extend(read_events(web.url + "api/events", 3)))
            sse.start()
            t_end = time.monotonic() + 3.0
            while time.monotonic() < t_end:
                for path in ("api/recent?n=3", "api/report", "", "api/health"):
                    status, _, body = get(web.url + path)
                    if status != 200:
                        failures.append((path, status, body[:200]))
                    elif path == "api/report":
                        reported.append(json.loads(body)["parts"])     # shared by all clients for 2 s
                    elif path == "api/health":
                        seen.append(json.loads(body)["parts"])
            sse.join(30)
        finally:
            station.stop()
        assert not failures
        assert seen == sorted(seen) and seen[-1] > seen[0]        # it followed the log as it grew
        assert reported == sorted(reported) and reported[-1] > reported[0]
        assert len(events) == 3 and [e["last_part"] for e in events] == sorted(e["last_part"] for e in events)
        assert events[-1]["last_part"] > events[0]["last_part"]
        n = len(log_rows(data_dir))
        assert n == station.stats()["parts"]
        # the count is shared between clients for REPORT_TTL_S: within that it is every logged part
        assert until(lambda: get_json(web.url + "api/health")[1]["parts"] == n, timeout=3 * REPORT_TTL_S, step=0.1)


def test_the_station_s_dashboard_process(demo_project, tmp_path):
    """What `station run --web` starts: a child at lower priority on the socket bound here; it ends with its pipe."""
    data_dir = tmp_path / "data"
    seed_history(data_dir, hours=3)
    dash = DashboardProcess(data_dir, "127.0.0.1", 0, demo_project.root).start()
    try:
        assert until(lambda: _serves(dash.url), timeout=30)          # the child takes a moment to import
        status, report = get_json(dash.url + "api/report")
        assert status == 200 and report["parts"] == 60 == len(log_rows(data_dir))
        import os
        assert os.getpriority(os.PRIO_PROCESS, dash.proc.pid) > os.getpriority(os.PRIO_PROCESS, 0)
        if hasattr(os, "SCHED_IDLE"):           # Linux: only the CPU time nothing else wants
            assert os.sched_getscheduler(dash.proc.pid) == os.SCHED_IDLE
    finally:
        dash.stop()
    assert dash.proc.returncode == 0 and not dash.alive()
    assert not _listens(dash.port)


def _serves(url):
    try:
        return get(url + "api/health", timeout=2)[0] == 200
    except OSError:
        return False


def _listens(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_standalone_command_serves_any_data_directory(tmp_path):
    data_dir = tmp_path / "copied-data"
    seed_history(data_dir, hours=2)
    proc = subprocess.Popen([sys.executable, "-m", "studio", "station", "web", str(data_dir), "--listen",
                             "127.0.0.1:0"], stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        line = proc.stderr.readline()
        assert "web dashboard of" in line and "read-only" in line, line
        url = line.split(": ", 1)[1].split(" ")[0]
        status, parts = get_json(url + "api/recent?n=500")
        assert status == 200 and len(parts) == 40
    finally:
        proc.terminate()
        proc.wait(10)
    out = subprocess.run([sys.executable, "-m", "studio", "station", "web", str(tmp_path / "nowhere")],
                         capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 2 and "no such data directory" in out.stderr and "Traceback" not in out.stderr


def test_a_busy_port_is_refused_before_the_line_starts(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        with pytest.raises(StudioError, match=f"port {port} is already in use"):
            DashboardProcess(tmp_path, "127.0.0.1", port)


def test_where_it_listens():
    assert parse_listen("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_listen("0.0.0.0:9000") == ("0.0.0.0", 9000)
    assert parse_listen("8080") == parse_listen(8080) == parse_listen(":8080") == ("127.0.0.1", 8080)
    assert parse_listen("[::1]:8080") == ("::1", 8080)
    assert parse_listen(True) == ("127.0.0.1", 8080)
    assert parse_listen({"host": "0.0.0.0", "port": 8081}) == ("0.0.0.0", 8081)
    assert parse_listen({"listen": "10.0.0.5:80"}) == ("10.0.0.5", 80)
    assert parse_listen(False) is None and parse_listen("off") is None and parse_listen(None) is None
    assert resolve_listen(None, {"web": "127.0.0.1:8090"}) == ("127.0.0.1", 8090)
    assert resolve_listen("off", {"web": "127.0.0.1:8090"}) is None           # the CLI wins
    assert resolve_listen("0.0.0.0:1", {}) == ("0.0.0.0", 1)
    assert resolve_listen(None, {}) is None                                     # off unless asked for
    with pytest.raises(StudioError, match=r"station.yaml: field 'web': .*has no port"):
        resolve_listen(None, {"web": "nonsense"}, "station.yaml")
    for bad in ("localhost", "127.0.0.1:http", "127.0.0.1:70000", {"port": "x"}, {"addr": 1}):
        with pytest.raises(StudioError):
            parse_listen(bad)


def test_every_asset_is_package_data():
    """An installed studio has the page's script, style sheet and icon (no CDN on an air-gapped line)."""
    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["studio"]
    files = [p.relative_to(REPO / "studio").as_posix() for p in (REPO / "studio/web/static").iterdir()]
    assert files and all(any(fnmatch(f, g) for g in globs) for f in files), (files, globs)
    from studio.web.app import static_files

    assert set(static_files()) == {Path(f).name for f in files}


def test_station_run_serves_the_dashboard_beside_it(demo_project, tmp_path):
    """`studio station run --web`: the address is taken before the line starts; a busy one stops the start."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        busy = s.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "studio", "station", "run", str(demo_project.root), "--parts",
                              "1", "--data-dir", str(tmp_path / "d"), "--web", f"127.0.0.1:{busy}"],
                             capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 2 and f"port {busy} is already in use" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
    # a free port: the dashboard is announced (this demo project has no model yet, so the station itself stops)
    out = subprocess.run([sys.executable, "-m", "studio", "station", "run", str(demo_project.root), "--parts", "1",
                          "--data-dir", str(tmp_path / "d"), "--web", "127.0.0.1:0"],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert "web dashboard: http://127.0.0.1:" in out.stderr and "(read-only)" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
