"""The command line as a script or a person meets it."""
import json
import os
import subprocess
import sys

from studio.cli.main import build_parser, main


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "studio", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=120)


def test_every_command_names_a_handler_that_exists():
    import importlib

    parser = build_parser()
    seen = []

    def walk(p):
        for action in p._actions:
            if getattr(action, "choices", None) and isinstance(action.choices, dict):
                for sub in action.choices.values():
                    walk(sub)
        handler = p.get_default("handler")
        if handler:
            module, _, attr = handler.partition(":")
            assert callable(getattr(importlib.import_module(module), attr)), handler
            seen.append(handler)

    walk(parser)
    assert len(seen) >= 11        # gui, project new/check, capture, import, label, train, evaluate, ...


def test_gui_without_a_display_says_so_instead_of_aborting(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = run("gui", "projects/demo", env=env)
    assert r.returncode == 2
    assert "no display" in r.stderr and "xvfb-run" in r.stderr
    assert "Traceback" not in r.stderr


def test_repeated_simulated_captures_add_new_parts(tmp_path, capsys):
    proj = tmp_path / "p"
    assert main(["project", "new", str(proj), "--template", "demo"]) == 0
    for _ in range(2):
        assert main(["capture", str(proj), "--count", "3", "--camera", "sim:seed=3,width=96,height=72",
                     "--json"]) == 0
    data = json.loads((proj / "dataset.json").read_text())
    records = data["images"] if isinstance(data, dict) else data
    indices = [r["meta"]["index"] for r in records]
    assert indices == [0, 1, 2, 3, 4, 5]


def test_a_studio_error_is_a_message_and_exit_status_2(tmp_path):
    r = run("evaluate", tmp_path / "missing-project")
    assert r.returncode == 2
    assert r.stderr.startswith("error: ") and "Traceback" not in r.stderr
