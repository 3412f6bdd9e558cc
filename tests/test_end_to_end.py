"""Camera to PLC, headless, through the CLI a station integrator would script.

new demo project -> capture from the simulated camera (labeled from the
simulator's truth) -> label by hand -> train anomaly -> evaluate ->
``station run`` for 20 parts serving Modbus TCP, while a real pymodbus client
polls the registers like a PLC. What the client reads must match the SQLite
result log, and the heartbeat must advance.
"""
import json
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
import yaml

pytestmark = pytest.mark.slow


def cli(*args, timeout=300):
    r = subprocess.run([sys.executable, "-m", "studio", *map(str, args)], capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, f"studio {' '.join(map(str, args))} failed:\n{r.stdout}\n{r.stderr}"
    return r


def last_json(r):
    return json.loads(r.stdout.strip().splitlines()[-1])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_camera_to_plc(tmp_path):
    from pymodbus.client import ModbusTcpClient

    proj = tmp_path / "bracket"
    cli("project", "new", proj, "--template", "demo")
    settings = yaml.safe_load((proj / "project.yaml").read_text())
    settings["preprocessing"]["size"] = 64          # small: trains in seconds on 2 cores
    settings["camera"]["spec"] = "sim:seed=11,defect_rate=0.35,width=200,height=150"
    (proj / "project.yaml").write_text(yaml.safe_dump(settings))

    captured = last_json(cli("capture", proj, "--count", "36", "--label-truth", "--json"))
    assert captured["captured"] == 36
    first = captured["image_ids"][0]
    labeled = last_json(cli("label", proj, first, "--verdict", "ok", "--labeler", "anna", "--json"))
    assert labeled["labeler"] == "anna" and labeled["verdict"] == "ok"

    trained = last_json(cli("train", proj, "--task", "anomaly", "--json"))
    assert {"model_id", "task", "metrics", "seconds"} <= trained.keys() and trained["task"] == "anomaly"
    card = json.loads((proj / "models" / trained["model_id"] / "card.json").read_text())
    assert card["model_id"] == trained["model_id"] and card["preprocessing"]["size"] == 64

    ev = last_json(cli("evaluate", proj, "--model", trained["model_id"], "--json"))
    for key in ("n", "n_defective", "image_auroc", "average_precision", "threshold", "precision", "recall"):
        assert key in ev
    assert set(ev["confusion"]) == {"tp", "fp", "tn", "fn"} and sum(ev["confusion"].values()) == ev["n"]
    assert ev["n_defective"] > 0 and ev["image_auroc"] > 0.6   # the simulated defects are visible

    port = free_port()
    data_dir = tmp_path / "station-data"
    station = subprocess.Popen(
        [sys.executable, "-m", "studio", "station", "run", str(proj),
         "--camera", "sim:seed=99,defect_rate=0.4,width=200,height=150",
         "--plc", f"modbus-server://127.0.0.1:{port}", "--parts", "20", "--interval", "0.25",
         "--data-dir", str(data_dir), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    seen: dict[int, tuple[int, int, int]] = {}     # part counter -> (verdict, score*1000, class id)
    heartbeats: list[int] = []
    stop = threading.Event()

    def poll():
        client = ModbusTcpClient("127.0.0.1", port=port, timeout=1)
        while not stop.is_set():
            if not client.connected and not client.connect():
                time.sleep(0.05)
                continue
            try:
                rr = client.read_holding_registers(0, count=5)
            except Exception:
                client.close()
                time.sleep(0.05)
                continue
            if not rr.isError():
                hb, part, verdict, score, cls = rr.registers
                heartbeats.append(hb)
                if part:
                    seen[part] = (verdict, score, cls)
            time.sleep(0.02)
        client.close()

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        out, err = station.communicate(timeout=240)
    finally:
        stop.set()
        poller.join(5)
        if station.poll() is None:
            station.kill()
    assert station.returncode == 0, err
    stats = json.loads(out.strip().splitlines()[-1])
    assert stats["parts"] == 20

    dbs = list(data_dir.rglob("*.sqlite")) + list(data_dir.rglob("*.db"))
    assert len(dbs) == 1, dbs
    con = sqlite3.connect(dbs[0])
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    rows = con.execute("SELECT part, verdict, verdict_code, score, class_id, model_id, image_path "
                       "FROM results ORDER BY part").fetchall()
    assert [r[0] for r in rows] == list(range(1, 21))
    assert all(r[5] == trained["model_id"] for r in rows)
    assert all((data_dir / r[6]).exists() or __import__("pathlib").Path(r[6]).exists() for r in rows)

    # the PLC saw most parts (it polls every 20 ms, parts come every 250 ms) and what it saw is the log
    assert len(seen) >= 15, f"the client saw only parts {sorted(seen)}"
    by_part = {r[0]: r for r in rows}
    for part, (verdict, score, cls) in seen.items():
        row = by_part[part]
        assert verdict == row[2], f"part {part}: PLC read verdict {verdict}, log has {row[1]}"
        assert abs(score - max(0, min(65535, row[3] * 1000))) <= 1, f"part {part}: score {score} vs {row[3]}"
        assert cls == row[4]
    assert {r[1] for r in rows} <= {"pass", "reject", "fault"}
    assert len(set(heartbeats)) >= 3, "the heartbeat did not advance"
