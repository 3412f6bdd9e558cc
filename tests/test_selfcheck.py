"""`studio selfcheck`: one table of what works in this installation; exit 1 when anything does not."""
import json

from studio.cli import selfcheck_commands
from studio.cli.main import main


def last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_selfcheck_passes_on_a_whole_installation(capsys):
    assert main(["selfcheck", "--json"]) == 0
    result = last_json(capsys)
    checks = {c["name"]: c for c in result["checks"]}
    assert result["ok"] and all(c["ok"] for c in checks.values())
    for name in ("import torch", "import onnxruntime", "import PySide6", "onnxruntime run", "qt offscreen",
                 "weights EfficientNet-Lite0", "project", "camera grab"):
        assert name in checks, name
    assert "CPUExecutionProvider" in checks["onnxruntime run"]["detail"]
    assert "platform offscreen" in checks["qt offscreen"]["detail"]
    assert "demo" in checks["project"]["detail"]
    assert checks["camera grab"]["detail"].startswith("sim:")


def test_selfcheck_names_what_is_broken_and_exits_1(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(selfcheck_commands, "CORE_MODULES", ["numpy", "no_such_dependency"])
    assert main(["selfcheck", "--project", str(tmp_path / "no-project"), "--json"]) == 1
    checks = {c["name"]: c for c in last_json(capsys)["checks"]}
    assert checks["import numpy"]["ok"]
    assert not checks["import no_such_dependency"]["ok"]
    assert "ModuleNotFoundError" in checks["import no_such_dependency"]["detail"]
    assert not checks["project"]["ok"]
    # a failing check does not stop the others: the camera is still tried (the plain simulator)
    assert checks["camera grab"]["ok"] and checks["camera grab"]["detail"].startswith("sim:")
    # and the words for people end with what failed
    assert main(["selfcheck", "--project", str(tmp_path / "no-project")]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and out.strip().splitlines()[-1].startswith("2 check(s) failed: import no_such_dependency")
