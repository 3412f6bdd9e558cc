"""Shadow mode and promotion: a shadow model beside the live one, the station watching only, the incumbent's
verdicts, the comparison, the promotion gate. Real Modbus over 127.0.0.1, real SQLite logs."""
import json
import sqlite3
import threading
import time

import pytest
from test_station import FakeModel, make
from waiting import until

from studio.cli.main import main
from studio.plc import open_plc
from studio.plc import register_map as rm
from tests.modbus_plc import PollingPlc, free_port


class ShadowModel(FakeModel):
    """The same scores as the live stand-in, judged at another threshold: it disagrees on some parts."""
    model_id = "20240601-candidate"
    threshold = 0.3


class TwinModel(FakeModel):
    """A candidate that always agrees with the live stand-in."""
    model_id = "20240602-twin"


def log_rows(path, where="1"):
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    out = [dict(r) for r in con.execute(f"SELECT * FROM results WHERE {where} ORDER BY part, shadow")]
    con.close()
    return out


class Poller:
    """A PLC program polling registers 1..4 and 10 as fast as it can, keeping every (counter, verdict) seen."""

    def __init__(self, port):
        self.plc = PollingPlc(port)
        self.seen = set()
        self.states = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            regs = self.plc.read(0, rm.REGISTER_COUNT)
            if regs[rm.PART_COUNTER]:
                self.seen.add((regs[rm.PART_COUNTER], regs[rm.VERDICT]))
            self.states.add(regs[rm.STATE])
            time.sleep(0.001)

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.plc.close()


@pytest.fixture(autouse=True)
def shadow_not_niced(monkeypatch):
    """Tests that count every shadow row: on the shared test machine a niced thread can starve and skip
    parts (by design: the line goes first; see test_a_slow_shadow_is_skipped_counted_and_said)."""
    from studio.station import shadow

    monkeypatch.setattr(shadow, "SHADOW_NICE", 0)


@pytest.fixture
def project(demo_project):
    return demo_project


@pytest.fixture
def modbus():
    link = open_plc(f"modbus-server://127.0.0.1:{free_port()}")
    yield link
    link.stop()


def report_json(capsys, data_dir, *extra):
    capsys.readouterr()
    assert main(["station", "report", str(data_dir), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_shadow_rows_never_reach_the_plc_and_kappa_is_sklearns(project, tmp_path, modbus, capsys):
    from sklearn.metrics import cohen_kappa_score

    station, events = make(project, tmp_path, plc=modbus, max_parts=40, interval_s=0.03, shadow=ShadowModel())
    poller = Poller(modbus.port)
    try:
        assert station.run(timeout=60) is True
    finally:
        poller.close()
    live = {r["part"]: r for r in log_rows(station.log_path, "shadow = 0")}
    shadow = {r["part"]: r for r in log_rows(station.log_path, "shadow = 1")}
    assert sorted(live) == list(range(1, 41)) and sorted(shadow) == sorted(live)
    assert {r["model_id"] for r in shadow.values()} == {ShadowModel.model_id}
    assert {r["model_id"] for r in live.values()} == {FakeModel.model_id}
    differ = [p for p in live if live[p]["verdict"] != shadow[p]["verdict"]]
    assert len(differ) >= 5                      # the candidate really disagrees on some parts
    # the PLC saw only live verdicts: every (counter, verdict) it read is the live row's
    assert poller.seen and all(live[part]["verdict_code"] == code for part, code in poller.seen)
    assert not any((p, shadow[p]["verdict_code"]) in poller.seen for p in differ)
    assert len(station.plc.registers()) and station.stats()["shadow_judged"] == 40
    assert station.stats()["shadow_skipped"] == 0

    report = report_json(capsys, station.data_dir)
    s = report["shadow"]
    assert s["model_id"] == ShadowModel.model_id and s["against"] == "live" and s["n"] == 40
    cand = [shadow[p]["verdict"] != "pass" for p in sorted(live)]
    ref = [live[p]["verdict"] != "pass" for p in sorted(live)]
    assert s["kappa"] == pytest.approx(cohen_kappa_score(cand, ref), abs=1e-12)
    assert s["kappa_ci"][0] <= s["kappa"] <= s["kappa_ci"][1]
    t = s["table"]
    assert t["only_shadow_reject"] == len(differ) and t["only_live_reject"] == 0
    assert t["both_reject"] + t["both_pass"] + len(differ) == 40
    assert s["agreement"] == pytest.approx((40 - len(differ)) / 40)
    assert {g["part"] for g in s["model_only_rejects"]} == set(differ)
    assert all(g["image_path"] for g in s["model_only_rejects"])
    capsys.readouterr()
    assert main(["station", "report", str(station.data_dir)]) == 0        # the same, in words
    words = capsys.readouterr().out
    assert f"shadow {ShadowModel.model_id} vs live: 40 parts" in words and "kappa" in words


def test_a_slow_shadow_is_skipped_counted_and_said(project, tmp_path):
    slow = ShadowModel(delay_s=0.2)
    station, events = make(project, tmp_path, max_parts=30, interval_s=0.005, shadow=slow)
    t0 = time.monotonic()
    assert station.run(timeout=60) is True
    stats = station.stats()
    assert stats["shadow_skipped"] > 0 and stats["shadow_judged"] + stats["shadow_skipped"] == 30
    assert any(k == "alert" and p.get("key") == "shadow" and "skipped" in p["message"] for k, p in events)
    assert len(log_rows(station.log_path, "shadow = 0")) == 30
    assert len(log_rows(station.log_path, "shadow = 1")) == stats["shadow_judged"]
    # the live path did not wait for the shadow: 30 parts at 5 ms, the shadow alone would need 6 s
    assert stats["latency_ms_p99"] < 150 and time.monotonic() - t0 < 30


def test_shadow_from_station_yaml(project, tmp_path):
    from studio.station.shadow import resolve_shadow

    assert resolve_shadow(None, {"shadow": "m1"}) == "m1"
    assert resolve_shadow(None, {"shadow": {"model": "m2"}}) == "m2"
    assert resolve_shadow("m3", {"shadow": "m1"}) == "m3"
    assert resolve_shadow(None, {}) is None
    with pytest.raises(Exception, match="more than one"):
        resolve_shadow(None, {"shadow": ["a", "b"]})


def test_mode_shadow_keeps_the_verdict_register_zero_and_takes_the_plcs_verdict(project, tmp_path, modbus):
    station, events = make(project, tmp_path, plc=modbus, max_parts=20, interval_s=0.03, mode="shadow")
    poller = Poller(modbus.port)
    plc = PollingPlc(modbus.port)
    try:
        station.start()
        assert until(lambda: station.stats()["parts"] >= 5, 20)
        counter = plc.read(rm.PART_COUNTER, 1)[0]
        # the PLC's own inspection: part `counter` is a reject, keyed by the counter (50..51 in one write)
        assert not plc.write(rm.INCUMBENT_PART_COUNTER, [counter, rm.VERDICT_REJECT]).isError()
        assert not plc.write(rm.INCUMBENT_PART_COUNTER, [counter - 1, rm.VERDICT_PASS]).isError()
        assert station.wait(60) is True
    finally:
        station.stop()
        poller.close()
        plc.close()
    assert poller.seen and {code for _, code in poller.seen} == {0}        # never a verdict
    assert rm.STATE_WATCHING in poller.states and rm.STATE_RUNNING not in poller.states
    assert max(part for part, _ in poller.seen) == 20                       # the counter moved
    rows = log_rows(station.log_path)
    assert len(rows) == 20 and all(r["watching"] == 1 for r in rows)
    assert {r["verdict"] for r in rows} >= {"pass", "reject"}              # the model judged as usual
    con = sqlite3.connect(station.log_path)
    got = con.execute("SELECT part, verdict, source FROM incumbent ORDER BY id").fetchall()
    con.close()
    assert got == [(counter, "reject", "plc"), (counter - 1, "pass", "plc")]
    assert "SHADOW MODE" in station.describe()


def test_mode_shadow_from_station_yaml_and_a_wrong_mode(project, tmp_path):
    (project.root / "station.yaml").write_text("mode: shadow\n")
    station, _ = make(project, tmp_path, max_parts=3)
    assert station.trial.watching
    assert station.run(timeout=30)
    assert station.plc.registers()[rm.VERDICT] == 0 and not station.plc.history
    from studio.core.errors import StudioError
    with pytest.raises(StudioError, match="mode"):
        make(project, tmp_path, mode="sideways")


def test_csv_import_by_part_part_id_and_time(project, tmp_path, capsys):
    station, _ = make(project, tmp_path, max_parts=10, interval_s=0.05, mode="shadow")
    assert station.run(timeout=30)
    rows = log_rows(station.log_path)
    by_part = tmp_path / "by_part.csv"
    by_part.write_text("part,verdict\n1,reject\n2,ok\n3,NG\n999,pass\n4,maybe\n")
    capsys.readouterr()
    assert main(["station", "incumbent", str(station.data_dir), str(by_part), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["imported"] == 3 and out["key"] == "part" and len(out["problems"]) == 2
    assert any("999" in p for p in out["problems"]) and any("maybe" in p for p in out["problems"])
    import datetime as dt
    by_time = tmp_path / "by_time.csv"
    t5, t6 = rows[4]["t_trigger"], rows[5]["t_trigger"]
    iso6 = dt.datetime.fromtimestamp(t6 + 0.004).isoformat()
    by_time.write_text(f"time,verdict\n{t5 + 0.003},pass\n{iso6},reject\n{t5 + 3600},pass\n")
    assert main(["station", "incumbent", str(station.data_dir), str(by_time), "--within", "0.02", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["imported"] == 2 and out["key"] == "time" and len(out["problems"]) == 1
    con = sqlite3.connect(station.log_path)
    got = con.execute("SELECT part, verdict, source FROM incumbent ORDER BY id").fetchall()
    con.close()
    assert got == [(1, "reject", "csv"), (2, "pass", "csv"), (3, "reject", "csv"),
                   (5, "pass", "csv"), (6, "reject", "csv")]
    # the comparison is now model vs incumbent
    report = report_json(capsys, station.data_dir)
    s = report["shadow"]
    assert s["against"] == "incumbent" and s["n"] == 5 and s["model_id"] == FakeModel.model_id
    model = {r["part"]: r["verdict"] != "pass" for r in rows}
    inc = {1: True, 2: False, 3: True, 5: False, 6: True}
    assert s["table"]["both_reject"] == sum(model[p] and inc[p] for p in inc)
    assert s["table"]["only_live_reject"] == sum(inc[p] and not model[p] for p in inc)
    bad = tmp_path / "bad.csv"
    bad.write_text("serial,result\n1,ok\n")
    assert main(["station", "incumbent", str(station.data_dir), str(bad)]) == 2
    assert "needs a 'verdict' column" in capsys.readouterr().err


def test_shifts():
    import datetime as dt

    from studio.monitoring.shifts import shift_of

    shifts = [{"name": "A", "start": "06:00"}, {"name": "B", "start": "14:00"}, {"name": "C", "start": "22:00"}]
    at = lambda h, m=0: dt.datetime(2026, 5, 4, h, m).timestamp()     # noqa: E731
    assert [shift_of(at(h), shifts) for h in (5, 6, 13, 14, 21, 22, 23)] == ["C", "A", "A", "B", "B", "C", "C"]
    assert shift_of(at(7), []) == ""          # no shifts: the comparison calls the day "all"
    from studio.core.errors import StudioError
    with pytest.raises(StudioError, match="HH:MM"):
        shift_of(at(7), [{"name": "A", "start": "6 o'clock"}])


# ---- promotion -----------------------------------------------------------
def _gate(project, **kw):
    import yaml

    gate = {"min_parts": 20, "min_agreement": 0.95, "max_false_reject_rate": 0.05, **kw}
    (project.root / "promotion_gate.yaml").write_text(yaml.safe_dump(gate))
    for m in (ShadowModel.model_id, TwinModel.model_id, FakeModel.model_id):
        (project.root / "models" / m).mkdir(parents=True, exist_ok=True)


def test_promotion_refused_when_the_gate_fails_recorded_when_it_passes_and_rolled_back(project, tmp_path, capsys):
    from studio.audit.trail import AuditTrail
    from studio.project import check_all
    from studio.project.live import live_model_id, read

    _gate(project)
    assert not [p for p in check_all(project.root) if "promotion_gate" in p.file]
    data = tmp_path / "station-data"
    for candidate in (ShadowModel(), TwinModel()):
        station, _ = make(project, tmp_path, max_parts=25, interval_s=0.03, shadow=candidate, data_dir=data)
        assert station.run(timeout=60)
        assert station.stats()["shadow_skipped"] == 0

    capsys.readouterr()
    code = main(["station", "promote", str(project.root), "--model", ShadowModel.model_id, "--reason", "pilot",
                 "--data-dir", str(data), "--user", "anna"])
    out = capsys.readouterr().out
    assert code == 1 and "refused" in out and "min_agreement: needs 0.95, has" in out
    assert live_model_id(project) is None
    assert AuditTrail(project.root).last("model.promoted") is None

    report = report_json(capsys, data, "--project", str(project.root))
    assert report["gate"]["defined"] is True
    assert code == 1
    assert main(["station", "promote", str(project.root), "--model", TwinModel.model_id, "--reason",
                 "agreed on every part", "--data-dir", str(data), "--user", "anna", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["promoted"] is True and out["gate"]["passed"] is True
    assert live_model_id(project) == TwinModel.model_id
    entry = AuditTrail(project.root).last("model.promoted")
    assert (entry["actor"], entry["what"], entry["before"], entry["after"], entry["meaning"], entry["reason"]) == \
        ("anna", TwinModel.model_id, None, TwinModel.model_id, "approval", "agreed on every part")

    # a second promotion (gate not involved: no gate file -> refused), then rollback to the first
    (project.root / "promotion_gate.yaml").unlink()
    assert main(["station", "promote", str(project.root), "--model", FakeModel.model_id, "--reason", "x",
                 "--data-dir", str(data)]) == 1
    assert "no promotion gate" in capsys.readouterr().out
    from studio.project import live
    live.promote(project, FakeModel.model_id, actor="ben", reason="retrained")
    assert live_model_id(project) == FakeModel.model_id
    assert main(["station", "promote", str(project.root), "--rollback", "--reason", "false rejects up",
                 "--user", "ben"]) == 0
    assert live_model_id(project) == TwinModel.model_id
    entry = AuditTrail(project.root).last("model.rolled_back")
    assert (entry["actor"], entry["before"], entry["after"]) == ("ben", FakeModel.model_id, TwinModel.model_id)
    assert [h["action"] for h in read(project)["history"]] == ["promoted", "promoted", "rolled_back"]
    assert AuditTrail(project.root).verify().ok


def test_the_station_runs_the_promoted_model_by_default(project, tmp_path, monkeypatch):
    from studio.core.errors import ModelError
    from studio.inference import InspectionModel
    from studio.project import live

    _gate(project)
    live.promote(project, TwinModel.model_id, actor="anna", reason="gate passed")
    asked = []

    def load(project_, model_id=None, **kw):
        asked.append(model_id)
        raise ModelError("stop here")

    monkeypatch.setattr(InspectionModel, "load", staticmethod(load))
    station, _ = make(project, tmp_path, model=None)
    with pytest.raises(ModelError):
        station.start()
    assert asked == [TwinModel.model_id]


def test_a_bad_gate_file_is_a_project_problem(project):
    from studio.project import check_all

    (project.root / "promotion_gate.yaml").write_text("min_parts: -3\nmin_agreement: 98\nsurprise: 1\n")
    found = {p.field for p in check_all(project.root) if p.file.endswith("promotion_gate.yaml")}
    assert found == {"min_parts", "min_agreement", "surprise"}


def test_adjudicated_escapes_and_false_rejects_per_shift(project, tmp_path, capsys):
    """Disagreements go to the review queue; the reference decisions turn into caught/missed/false rejects."""
    from studio.labels.review import decide, review_queue
    from studio.monitoring.shadow import compare

    station, _ = make(project, tmp_path, max_parts=20, interval_s=0.03, shadow=ShadowModel())
    assert station.run(timeout=60)
    assert station.stats()["shadow_skipped"] == 0
    capsys.readouterr()
    assert main(["station", "review", str(station.data_dir), "--disagreements", "--project", str(project.root),
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["sent"] == out["disagreements"] >= 3
    queued = {project.dataset.get(i.image_id).meta["station_part"]: i.image_id for i in review_queue(project)
              if project.dataset.get(i.image_id).meta.get("station_part")}
    assert set(queued) == set(out["parts"])
    assert main(["station", "review", str(station.data_dir), "--disagreements", "--project", str(project.root),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["already"] == out["sent"]
    parts = sorted(queued)
    critical = project.criteria.critical_classes()
    cls = critical[0] if critical else None
    reviewer = __import__("studio.labels.review", fromlist=["reference_labeler"]).reference_labeler(project) or "ref"
    decide(project, queued[parts[0]], "ng", cls, labeler=reviewer, rationale="a real defect")   # caught
    for p in parts[1:]:
        decide(project, queued[p], "ok", None, labeler=reviewer, rationale="good part")      # false rejects
    s = compare(station.data_dir, project=project, shifts=[{"name": "A", "start": "00:00"},
                                                           {"name": "B", "start": "12:00"}])
    adj = s["adjudicated"]
    assert adj["caught"] == 1 and adj["false_rejects"] == len(parts) - 1 and adj["pending"] == 0
    assert adj["missed"] == 0 and adj["critical_escape_count"] == 0
    t = s["table"]
    assert adj["false_reject_rate"] == pytest.approx((len(parts) - 1) / (t["both_pass"] + len(parts) - 1))
    assert sum(v["n"] for v in adj["per_shift"].values()) == 20


def test_a_v2_result_log_is_migrated_to_v3_after_a_backup(tmp_path):
    from studio.results import ResultLog, schema

    path = tmp_path / "results.sqlite"
    con = sqlite3.connect(path, isolation_level=None)
    schema._run_script(con, schema._RESULTS_V1 + schema._V2)
    con.execute("INSERT INTO meta (key, value) VALUES ('schema_version', '2')")
    con.execute("INSERT INTO results (part, verdict, verdict_code, shadow, part_id, image_state) "
                "VALUES (1, 'pass', 1, 0, '', 'none')")
    con.close()
    log = ResultLog(path)
    log.add_incumbent(1, "reject", "kiosk", who="maria")
    assert log.flush(5)
    log.close()
    con = sqlite3.connect(path)
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "3"
    assert con.execute("SELECT part, watching FROM results").fetchall() == [(1, 0)]
    assert con.execute("SELECT part, verdict, source, who FROM incumbent").fetchall() == [(1, "reject", "kiosk", "maria")]
    con.close()
    assert (tmp_path / "results.v2.bak.sqlite").is_file()


def test_the_shadow_thread_yields_the_cpu_to_the_station(monkeypatch):
    import os

    from studio.station import shadow

    monkeypatch.setattr(shadow, "SHADOW_NICE", 5)
    runner = shadow.ShadowRunner(ShadowModel(), lambda row: True, lambda *a, **k: None)
    try:
        assert until(lambda: runner.niced, 5)
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, runner._thread.native_id) == min(19, mine + 5)
    finally:
        runner.close()
