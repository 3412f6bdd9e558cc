"""A candidate in shadow through the CLI, with real ONNX models: station run --shadow, report, --mode shadow."""
import json
import sqlite3
import subprocess
import sys

import pytest
import yaml

pytestmark = pytest.mark.slow


def cli(*args, timeout=300, ok=True):
    r = subprocess.run([sys.executable, "-m", "studio", *map(str, args)], capture_output=True, text=True,
                       timeout=timeout)
    if ok:
        assert r.returncode == 0, f"studio {' '.join(map(str, args))} failed:\n{r.stdout}\n{r.stderr}"
    return r


def last_json(r):
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_a_real_candidate_in_shadow_and_the_station_watching(tmp_path):
    proj = tmp_path / "bracket"
    cli("project", "new", proj, "--template", "demo")
    settings = yaml.safe_load((proj / "project.yaml").read_text())
    settings["preprocessing"]["size"] = 64          # small: trains in seconds
    settings["camera"]["spec"] = "sim:seed=11,defect_rate=0.35,width=200,height=150"
    (proj / "project.yaml").write_text(yaml.safe_dump(settings))
    cli("capture", proj, "--count", "24", "--label-truth")
    live = last_json(cli("train", proj, "--task", "anomaly", "--json"))["model_id"]
    candidate = last_json(cli("train", proj, "--task", "anomaly", "--json"))["model_id"]
    assert live != candidate

    data = tmp_path / "data"
    r = cli("station", "run", proj, "--camera", "sim:seed=99,defect_rate=0.4,width=200,height=150",
            "--parts", "12", "--interval", "0.15", "--model", live, "--shadow", candidate, "--data-dir", data,
            "--json")
    stats = last_json(r)
    assert stats["parts"] == 12 and stats["shadow_model_id"] == candidate
    assert stats["shadow_judged"] + stats["shadow_skipped"] == 12 and stats["shadow_judged"] > 0
    assert f"shadow model {candidate}" in r.stderr
    con = sqlite3.connect(data / "results.sqlite")
    shadow = con.execute("SELECT part, model_id FROM results WHERE shadow = 1").fetchall()
    live_rows = con.execute("SELECT part, model_id FROM results WHERE shadow = 0").fetchall()
    con.close()
    assert {m for _, m in shadow} == {candidate} and {m for _, m in live_rows} == {live}
    report = last_json(cli("station", "report", data, "--json"))
    assert report["shadow"]["model_id"] == candidate and report["shadow"]["n"] == len(shadow)

    bad = cli("station", "run", proj, "--parts", "1", "--model", live, "--shadow", "no-such-model",
              "--data-dir", tmp_path / "bad", ok=False)
    assert bad.returncode == 2 and "no model 'no-such-model'" in bad.stderr

    watched = tmp_path / "watched"
    stats = last_json(cli("station", "run", proj, "--parts", "5", "--model", live, "--mode", "shadow",
                          "--data-dir", watched, "--json"))
    assert stats["mode"] == "shadow" and stats["parts"] == 5
    con = sqlite3.connect(watched / "results.sqlite")
    assert con.execute("SELECT COUNT(*) FROM results WHERE watching = 1").fetchone()[0] == 5
    con.close()
