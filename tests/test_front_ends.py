"""The command line hands over to the GUI by name; only the entry point above both (studio.app) knows the GUI."""
import pytest

from studio.cli import front_ends
from studio.core.errors import StudioError


def test_the_entry_point_registers_the_studio_window_and_the_kiosk():
    import studio.app  # noqa: F401  (registers on import)

    assert {"studio", "kiosk"} <= set(front_ends.FRONT_ENDS.names())
    from studio.gui import app, kiosk

    assert front_ends.FRONT_ENDS.get("studio") is app.main
    assert front_ends.FRONT_ENDS.get("kiosk") is kiosk.run_kiosk


def test_a_command_line_started_without_the_gui_says_how_to_start_it(monkeypatch):
    monkeypatch.setattr(front_ends, "FRONT_ENDS", front_ends.Registry("front end"))
    with pytest.raises(StudioError) as e:
        front_ends.hand_over("kiosk", object())
    assert "no kiosk front end" in str(e.value) and "python -m studio" in str(e.value)


def test_hand_over_returns_the_front_ends_exit_code(monkeypatch):
    registry = front_ends.Registry("front end")
    registry.register("studio", "builtins:len")      # any callable: len("abc") == 3
    monkeypatch.setattr(front_ends, "FRONT_ENDS", registry)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert front_ends.hand_over("studio", "abc") == 3
