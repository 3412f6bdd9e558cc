"""Users and roles in the GUI (offscreen): engineer actions refused for nobody and for an operator, with the
sign-in asked, allowed after an engineer signs in (with a reason, audited); the labeler is the signed-in
person; idle falls back to the operator; a wrong PIN never leaves the locked kiosk."""
import json
import sys
import time
from pathlib import Path

import pytest

import PySide6  # noqa: F401  a core dependency: a broken install fails, never skips

from PySide6.QtCore import Qt  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from test_access_cli import _cheap_hashes  # noqa: E402,F401  (an autouse fixture: Argon2id at a test's cost)
from test_gui_kiosk import FakeStation  # noqa: E402

PASSWORDS = {"ada": "admin-secret-1", "eve": "engineer-secret", "olli": "operator-secret", "lena": "labeler-secret"}
PINS = {"eve": "246810", "olli": "135790"}


@pytest.fixture
def staffed(demo_project):
    from studio.access import user_list
    from studio.gui.sign_in import forget_sessions

    users = user_list(demo_project.root)
    ada = users.add("ada", "engineer", password=PASSWORDS["ada"])
    users.add("eve", "engineer", password=PASSWORDS["eve"], pin=PINS["eve"], by=ada)
    users.add("olli", "operator", password=PASSWORDS["olli"], pin=PINS["olli"], by=ada)
    users.add("lena", "labeler", password=PASSWORDS["lena"], by=ada)
    forget_sessions()
    yield demo_project
    forget_sessions()


def audit(root):
    path = Path(root) / "audit.jsonl"
    return [json.loads(l) for l in path.read_text().splitlines()] if path.exists() else []


class Prompts:
    """Stands in for the sign-in dialog and the reason box: records what was asked, answers as told."""

    def __init__(self, session):
        self.session, self.asked, self.sign_in_as, self.reason = session, [], None, "line trial 7"
        session.sign_in_prompt = self.sign_in
        session.reason_prompt = lambda parent, what: self.reason

    def sign_in(self, parent, role, message):
        self.asked.append(message)
        if self.sign_in_as is None:
            return None                                     # the person cancels the dialog
        return self.session.sign_in(self.sign_in_as, PASSWORDS[self.sign_in_as])


def model_card(project, threshold=0.5):
    from studio.inference.model import CARD_FILE

    folder = project.models_dir / "m1"
    folder.mkdir(parents=True, exist_ok=True)
    card = {"model_id": "m1", "task": "anomaly", "threshold": threshold, "created": "2024-01-01T00:00:00",
            "preprocessing": {"size": 64}, "classes": []}
    (folder / CARD_FILE).write_text(json.dumps(card))
    return folder / CARD_FILE


def test_threshold_refused_for_nobody_and_an_operator_allowed_for_an_engineer_with_a_reason(qtbot, staffed):
    from test_gui_threshold import evaluation

    from studio.gui.pages.threshold import ThresholdPage
    from studio.gui.sign_in import session_for

    card = model_card(staffed)
    page = ThresholdPage(staffed)
    qtbot.addWidget(page)
    page.show()
    page.refresh()
    page.show_evaluation(evaluation(0.5), model_id="m1")
    page.spin.setValue(0.3)
    session = session_for(staffed)
    asked = Prompts(session)
    page.save_button.click()                                            # nobody signed in
    assert json.loads(card.read_text())["threshold"] == 0.5
    assert "needs the engineer role (nobody is signed in)" in asked.asked[-1]
    assert "needs an engineer" in page.saved_label.text()
    session.sign_in("olli", PASSWORDS["olli"])                          # an operator
    page.save_button.click()
    assert json.loads(card.read_text())["threshold"] == 0.5
    assert "olli lacks the engineer role" in asked.asked[-1]
    refused = [e for e in audit(staffed.root) if e["action"] == "action.refused"]
    assert [(e["actor"], e["after"]["role"]) for e in refused] == [("(nobody)", "engineer"), ("olli", "engineer")]
    asked.sign_in_as, asked.reason = "eve", None                        # eve signs in, then cancels the reason
    page.save_button.click()
    assert json.loads(card.read_text())["threshold"] == 0.5
    asked.reason = "fewer escapes on line 2"
    page.save_button.click()                                            # eve is signed in now: no prompt
    assert json.loads(card.read_text())["threshold"] == pytest.approx(0.3)
    assert len(asked.asked) == 3
    e = [e for e in audit(staffed.root) if e["action"] == "threshold.set"][-1]
    assert (e["actor"], e["reason"], e["before"]["threshold"]) == ("eve", "fewer escapes on line 2", 0.5)
    page.shutdown()


def test_training_refused_until_an_engineer_signs_in(qtbot, staffed, monkeypatch):
    from test_gui_train import fake_training

    from studio.gui.pages.train import TrainPage
    from studio.gui.sign_in import session_for
    from studio.training import runner

    calls, seen = [], {}
    fake = fake_training(calls)
    monkeypatch.setattr(runner, "run_training", lambda *a, **kw: (seen.update(kw), fake(*a, **{
        k: v for k, v in kw.items() if k in ("on_event", "task_ctx")}))[1])
    page = TrainPage(staffed)
    qtbot.addWidget(page)
    page.show()
    page.refresh()
    asked = Prompts(session_for(staffed))
    page.start_button.click()
    assert not page.runner.is_running() and calls == [] and len(asked.asked) == 1
    asked.sign_in_as = "eve"
    page.start_button.click()
    qtbot.waitUntil(lambda: not page.runner.is_running(), timeout=10_000)
    assert calls and seen["actor"] == "eve" and seen["reason"] == "line trial 7"
    page.shutdown()


def _station_page_with_m1_live(qtbot, project, StationPage, *others):
    """A shown Station page of ``project`` whose live model is m1 (as configured), offering m1 and ``others``."""
    (project.root / "models").mkdir(exist_ok=True)
    (project.root / "models" / "live.yaml").write_text("schema_version: 1\nlive: m1\nhistory: []\n")
    page = StationPage(project)
    qtbot.addWidget(page)
    page.show()
    page.model_combo.clear()
    for model in ("m1", *others):
        page.model_combo.addItem(model, model)
    page._update_controls()
    return page


def test_stopping_the_station_from_its_page_needs_an_engineer(qtbot, staffed, monkeypatch, tmp_path):
    import studio.station
    from studio.gui.pages.station import StationPage
    from studio.gui.sign_in import session_for

    made = []

    def make(project, *a, **kw):
        s = FakeStation(project)
        s.data_dir = tmp_path / "data"
        made.append(s)
        return s

    monkeypatch.setattr(studio.station, "Station", make)
    page = _station_page_with_m1_live(qtbot, staffed, StationPage)   # the page starts m1, as configured
    page.start_button.click()                          # starting as configured: open to the operator
    qtbot.waitUntil(lambda: made and made[0].started == 1 and not page.runner.is_running(), timeout=5000)
    asked = Prompts(session_for(staffed))
    page.stop_station()
    assert made[0].stopped == 0 and page.station is not None and "engineer" in asked.asked[-1]
    asked.sign_in_as = "eve"
    page.stop_station()
    qtbot.waitUntil(lambda: made[0].stopped == 1, timeout=5000)
    assert made[0].stop_by == ("eve", "line trial 7")     # the station's station.stopped entry: test_station_audit
    page.shutdown()


def test_the_labeler_is_the_signed_in_person_never_a_typed_name(qtbot, staffed):
    import numpy as np

    from studio.gui.pages.label import LabelPage
    from studio.gui.sign_in import session_for

    for i in range(2):
        staffed.dataset.add_image(np.full((60, 80, 3), 50 * (i + 1), np.uint8), stem=f"part{i}")
    page = LabelPage(staffed)
    qtbot.addWidget(page)
    page.resize(1280, 800)
    page.show()
    qtbot.waitExposed(page)
    page.activateWindow()
    qtbot.waitActive(page)
    page.refresh()
    session = session_for(staffed)
    asked = Prompts(session)
    assert page.labeler_edit.isReadOnly() and page.labeler_edit.text() == "(nobody signed in)"
    page.labeler_edit.setFocus()
    qtbot.keyClicks(page.labeler_edit, "rita")                          # typing a name grants nothing
    assert page.labeler_edit.text() == "(nobody signed in)"
    page.image_list.setFocus()
    assert page.current_id is not None, page.ids
    page.label_current("ok")                                            # what the O key does
    assert staffed.labels.history() == [] and "labeler role" in asked.asked[-1]
    session.sign_in("lena", PASSWORDS["lena"])
    assert page.labeler_edit.text() == "lena"
    page.label_current("ok")
    (label,) = staffed.labels.history()
    assert label.labeler == "lena"
    e = [e for e in audit(staffed.root) if e["action"] == "label"][-1]
    assert e["what"] == label.id and e["actor"] == "lena"
    page.shutdown()


def test_idle_time_falls_back_to_the_operator_and_the_status_bar_says_who(qtbot, staffed, tmp_path):
    from studio.access import user_list
    from studio.gui.main_window import MainWindow
    from studio.gui.sign_in import SignInDialog, session_for

    users = user_list(staffed.root)
    users.set_idle_minutes(2, by=users.get("ada"))
    w = MainWindow(staffed)
    qtbot.addWidget(w)
    w.show()
    session = session_for(staffed)
    assert w.sign_in_status.label.text() == "Operator (nobody signed in)"
    dialog = SignInDialog(session, w)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.name_edit.setText("eve")
    dialog.secret_edit.setText("wrong-one")
    dialog.attempt()                                                     # wrong: stays open, says so
    assert dialog.isVisible() and "wrong name or password" in dialog.error.text() and session.user is None
    dialog.name_edit.setText("eve")
    dialog.secret_edit.setText(PASSWORDS["eve"])
    dialog.attempt()
    assert not dialog.isVisible() and session.user.name == "eve"
    assert w.sign_in_status.label.text() == "Signed in: eve (engineer)"
    assert w.sign_in_status.button.text() == "Sign out"
    assert session.idle_limit_s() == 120
    assert not session.check_idle(now=time.monotonic() + 60)
    assert session.check_idle(now=time.monotonic() + 121)               # two minutes without input
    assert session.user is None and w.sign_in_status.label.text() == "Operator (nobody signed in)"
    assert [e["action"] for e in audit(staffed.root)][-2:] == ["signin.refused", "signin"]
    w.close()


def test_screenshot_of_the_sign_in_dialog_and_the_status_bar(qtbot, staffed, tmp_path):
    from studio.gui.main_window import MainWindow
    from studio.gui.sign_in import SignInDialog, session_for

    w = MainWindow(staffed)
    qtbot.addWidget(w)
    w.show()
    session = session_for(staffed)
    session.sign_in("eve", PASSWORDS["eve"])
    dialog = SignInDialog(session, w, message="Setting the threshold needs the engineer role "
                                              "(nobody is signed in). Sign in as an engineer.")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.name_edit.setText("eve")
    dialog.secret_edit.setText("secret")
    out = Path(__import__("os").environ.get("STUDIO_SHOTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    assert dialog.grab().save(str(out / "sign_in_dialog.png"))
    assert w.statusBar().grab().save(str(out / "status_bar.png"))
    assert w.grab().save(str(out / "main_window_signed_in.png"))
    assert (out / "sign_in_dialog.png").stat().st_size > 1000
    dialog.close()
    w.close()


# ---- the locked kiosk -------------------------------------------------------------------------------
@pytest.fixture
def locked(qtbot, staffed, tmp_path):
    from studio.access import user_list
    from studio.audit.trail import AuditTrail
    from studio.gui.kiosk import KioskWindow
    from studio.gui.kiosk_lock import KioskLock

    station = FakeStation(staffed)
    station.data_dir = tmp_path / "data"
    w = KioskWindow(station, owns_station=True)
    answers = []
    lock = KioskLock(w, user_list(staffed.root), AuditTrail(station.data_dir),
                     ask=lambda parent, what: answers.pop(0) if answers else None)
    qtbot.addWidget(w)
    w.showFullScreen()
    qtbot.waitExposed(w)
    yield w, station, lock, answers
    lock.release()
    w.close()


def test_a_wrong_pin_never_leaves_the_kiosk(qtbot, locked, tmp_path):
    from PySide6.QtGui import QCloseEvent
    from PySide6.QtWidgets import QApplication

    w, station, lock, answers = locked
    assert w.windowFlags() & Qt.WindowType.FramelessWindowHint and lock.locked
    answers += [("eve", "000000"), ("eve", "999999"), ("olli", PINS["olli"]), ("nobody", "1234")]
    qtbot.keyClick(w, Qt.Key.Key_Escape)                                 # Esc, wrong PIN
    assert w.isVisible() and w.isFullScreen()
    w.close()                                                            # closing, wrong PIN
    assert w.isVisible()
    event = QCloseEvent()                                                # Alt+F4: the window manager's close
    QApplication.sendEvent(w, event)
    assert not event.isAccepted() and w.isVisible()                      # the operator's own PIN: no engineer
    qtbot.keyClick(w, Qt.Key.Key_Escape)                                 # an unknown name
    qtbot.keyClick(w, Qt.Key.Key_Escape)                                 # the dialog cancelled
    assert w.isVisible() and w.isFullScreen() and station.stopped == 0
    assert "the kiosk stays" in w.alert_label.text()
    trail = audit(tmp_path / "data")
    assert [e["action"] for e in trail] == ["signin.refused", "signin.refused", "signin", "action.refused",
                                            "signin.refused"]
    assert trail[3]["actor"] == "olli" and trail[3]["after"] == {"role": "engineer"}


def test_an_engineers_pin_leaves_the_kiosk_and_stops_the_station(qtbot, locked, tmp_path, monkeypatch):
    w, station, lock, answers = locked
    answers.append(("eve", PINS["eve"]))
    w.confirm_stop = lambda: True                                        # "Yes, stop"
    qtbot.keyClick(w, Qt.Key.Key_Escape)
    assert not w.isVisible() and station.stopped == 1
    left = audit(tmp_path / "data")[-1]
    assert left["action"] == "kiosk.left" and left["actor"] == "eve" and left["meaning"] == "responsibility"


def test_an_engineer_who_stays_locks_the_kiosk_again(qtbot, locked):
    w, station, lock, answers = locked
    answers.append(("eve", PINS["eve"]))
    w.confirm_stop = lambda: False                                       # "No": keep inspecting
    qtbot.keyClick(w, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: w.isFullScreen() and not lock.unlocked, timeout=3000)
    w.close()                                                            # locked again: nobody answers
    assert w.isVisible() and station.stopped == 0


def test_the_kiosk_closes_by_itself_when_the_station_finished(qtbot, locked):
    w, station, lock, answers = locked
    w.finished = True                                                    # --parts done
    w.close()
    assert not w.isVisible() and answers == []


def test_run_kiosk_a_wrong_pin_on_close_keeps_the_line_running(qtbot, staffed, monkeypatch, tmp_path):
    """Through run_kiosk, as `studio station run --kiosk` does: a refused close quits nothing."""
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QCloseEvent
    from PySide6.QtWidgets import QApplication

    from studio.gui import exception_hook, kiosk, kiosk_lock

    monkeypatch.setattr(exception_hook, "_installed", True)            # keep pytest's exception hooks
    answers = [("eve", "000000"), ("eve", PINS["eve"])]
    monkeypatch.setattr(kiosk_lock, "ask_pin", lambda parent, what: answers.pop(0))
    station = FakeStation(staffed)
    station.data_dir = tmp_path / "data"
    seen = {}

    def window():
        return next(w for w in QApplication.topLevelWidgets() if isinstance(w, kiosk.KioskWindow) and w.isVisible())

    def wrong_close():
        w = window()
        event = QCloseEvent()
        QApplication.sendEvent(w, event)                    # Alt+F4, a wrong PIN
        seen["refused"] = not event.isAccepted()
        QTimer.singleShot(300, check_and_leave)

    def check_and_leave():
        w = window()
        seen["still"] = w.isVisible() and w.isFullScreen() and station.stopped == 0
        w.close()                                           # the engineer's PIN: leaves

    QTimer.singleShot(100, wrong_close)
    QTimer.singleShot(10_000, QApplication.instance().quit)  # safety net: never hang the test run
    assert kiosk.run_kiosk(station) == 0
    assert seen == {"refused": True, "still": True} and station.stopped >= 1 and answers == []
    assert [e["action"] for e in audit(tmp_path / "data")] == ["signin.refused", "signin", "kiosk.left"]


def test_criteria_edits_need_an_engineer_and_carry_the_signed_in_name(qtbot, staffed):
    from studio.gui.labeling.criteria_editor import CriteriaEditor
    from studio.gui.sign_in import session_for

    editor = CriteriaEditor(staffed, author=lambda: "rita")               # a typed name is not the author
    qtbot.addWidget(editor)
    editor.show()
    editor.refresh()
    editor.class_list.setCurrentRow(0)
    editor.definition.setPlainText("any visible scratch")
    editor.reason.setText("clearer wording")
    asked = Prompts(session_for(staffed))
    v0 = staffed.criteria.version
    editor.save()
    assert staffed.criteria.version == v0 and "engineer role" in asked.asked[-1]
    asked.sign_in_as = "lena"                                             # a labeler is no engineer
    editor.save()
    assert staffed.criteria.version == v0 and len(asked.asked) == 2
    session_for(staffed).sign_out()
    asked.sign_in_as = "eve"
    editor.save()
    from studio.project import Project

    doc = Project.open(staffed.root).criteria
    assert doc.version == v0 + 1 and doc.history[-1]["author"] == "eve"
    e = [e for e in audit(staffed.root) if e["action"] == "criteria.version"][-1]
    assert (e["actor"], e["reason"], e["after"]) == ("eve", "clearer wording", v0 + 1)


def test_freezing_the_split_and_the_lighting_limits_need_an_engineer(qtbot, staffed):
    from studio.gui.pages.threshold import ThresholdPage
    from studio.gui.sign_in import session_for
    from studio.gui.widgets.limits_dialog import LimitsDialog
    from studio.lighting import limits as L

    page = ThresholdPage(staffed)
    qtbot.addWidget(page)
    asked = Prompts(session_for(staffed))
    from studio.dataset import splits

    page.refreeze_split()
    assert not splits.check(staffed)["frozen"]                            # refused: nothing frozen
    assert [e["action"] for e in audit(staffed.root)][-1] == "action.refused"
    dialog = LimitsDialog(staffed)
    qtbot.addWidget(dialog)
    dialog.save()
    assert not L.limits_path(staffed).exists() and len(asked.asked) == 2
    asked.sign_in_as = "eve"
    dialog.save()
    assert L.limits_path(staffed).exists()
    e = audit(staffed.root)[-1]
    assert (e["action"], e["actor"], e["reason"]) == ("lighting.limits", "eve", "line trial 7")
    page.refreeze_split()
    assert splits.check(staffed)["frozen"]
    e = audit(staffed.root)[-1]
    assert (e["action"], e["actor"]) == ("split.changed", "eve") and "frozen" in e["after"]["done"][0]
    page.shutdown()


# ---- the Station page: an operator runs the line as configured, only an engineer changes or stops it ----------
def test_the_station_page_refuses_an_operator_to_stop_or_to_start_another_model(qtbot, staffed, monkeypatch,
                                                                                 tmp_path):
    import studio.station
    from studio.gui.pages.station import StationPage
    from studio.gui.sign_in import session_for

    made = []

    def make(project, *a, **kw):
        s = FakeStation(project)
        s.data_dir = tmp_path / "data"
        s.model_id = kw.get("model_id")
        made.append(s)
        return s

    monkeypatch.setattr(studio.station, "Station", make)
    page = _station_page_with_m1_live(qtbot, staffed, StationPage, "m2")
    session = session_for(staffed)
    asked = Prompts(session)
    page.model_combo.setCurrentIndex(page.model_combo.findData("m2"))
    page.start_button.click()                                       # another model, nobody signed in
    assert made == [] and "needs the engineer role (nobody is signed in)" in asked.asked[-1]
    session.sign_in("olli", PASSWORDS["olli"])                      # an operator
    page.start_button.click()
    assert made == [] and "olli lacks the engineer role" in asked.asked[-1]
    page.model_combo.setCurrentIndex(page.model_combo.findData("m1"))
    page.start_button.click()                                       # as configured: the operator starts the line
    qtbot.waitUntil(lambda: made and made[0].started == 1 and not page.runner.is_running(), timeout=5000)
    assert (made[0].model_id, made[0].started_by, made[0].start_reason) == ("m1", "olli", None)
    assert not page.model_combo.isEnabled() and not page.camera_edit.isEnabled()   # nothing to change while it runs
    page.stop_station()                                             # the operator may not stop it
    assert made[0].stopped == 0 and page.station is made[0] and "olli lacks the engineer role" in asked.asked[-1]
    asked.sign_in_as = "eve"                                        # an engineer signs in (the dialog), says why
    page.stop_station()
    qtbot.waitUntil(lambda: made[0].stopped == 1 and page.station is None, timeout=5000)
    assert made[0].stop_by == ("eve", "line trial 7")
    page.model_combo.setCurrentIndex(page.model_combo.findData("m2"))
    asked.reason = "trial of m2 on line 2"
    page.start_button.click()                                       # eve is signed in: her change, her reason
    qtbot.waitUntil(lambda: len(made) == 2 and made[1].started == 1 and not page.runner.is_running(), timeout=5000)
    assert (made[1].model_id, made[1].started_by, made[1].start_reason) == ("m2", "eve", "trial of m2 on line 2")
    assert len(asked.asked) == 4                                    # no prompt for the signed-in engineer
    trail = audit(staffed.root)
    e = [e for e in trail if e["action"] == "station.settings"][-1]
    assert (e["actor"], e["before"], e["after"], e["reason"]) == ("eve", {"model": "m1"}, {"model": "m2"},
                                                                  "trial of m2 on line 2")
    refused = [(e["actor"], e["what"]) for e in trail if e["action"] == "action.refused"]
    assert refused == [("(nobody)", "station.started"), ("olli", "station.started"), ("olli", "station.stopped")]
    page.shutdown()


def test_a_retired_model_is_not_offered_on_the_station_page_and_marked_in_the_models_table(qtbot, staffed):
    from studio.gui.pages.models_table import ModelsTable, list_models
    from studio.gui.pages.station import StationPage
    from studio.project import live

    model_card(staffed)
    m2 = staffed.models_dir / "m2"
    m2.mkdir()
    card = json.loads((staffed.models_dir / "m1" / "card.json").read_text())
    (m2 / "card.json").write_text(json.dumps({**card, "model_id": "m2", "created": "2025-01-01T00:00:00"}))
    live.retire(staffed, "m2", actor="eve", reason="escapes on lot 7")
    page = StationPage(staffed)
    qtbot.addWidget(page)
    page.refresh()
    assert [page.model_combo.itemData(i) for i in range(page.model_combo.count())] == ["m1"]
    table = ModelsTable()
    qtbot.addWidget(table)
    table.set_cards(list_models(staffed))
    assert [table.item(r, 0).text() for r in range(table.rowCount())] == ["m2 (retired)", "m1"]
    page.shutdown()


# ---- a stop at the locked kiosk: the station's station.stopped entry names the engineer who gave the PIN -------
def _actions(data_dir, *wanted):
    return [(e["action"], e["actor"]) for e in audit(data_dir) if e["action"] in wanted]


WATCHED = ("station.started", "signin", "signin.refused", "kiosk.left", "station.stopped")


def test_a_pin_unlocked_stop_at_the_kiosk_is_station_stopped_under_the_engineers_name(qtbot, staffed, tmp_path):
    from test_station import make

    from studio.gui.kiosk import KioskWindow
    from studio.gui.kiosk_lock import lock_kiosk

    station, _ = make(staffed, tmp_path, max_parts=None, interval_s=0.05)
    w = KioskWindow(station, owns_station=True)
    answers = []
    lock = lock_kiosk(w, station, ask=lambda parent, what: answers.pop(0) if answers else None)
    qtbot.addWidget(w)
    station.start()
    try:
        w.showFullScreen()
        qtbot.waitExposed(w)
        answers.append(("eve", "000000"))
        w.confirm_stop = lambda: True                                    # "Yes, stop" once a PIN let it ask
        qtbot.keyClick(w, Qt.Key.Key_Escape)                             # a wrong PIN: the kiosk and the line stay
        assert w.isVisible() and w.isFullScreen() and station.state == "running"
        assert [a for a, _ in _actions(station.data_dir, *WATCHED)] == ["station.started", "signin.refused"]
        answers.append(("eve", PINS["eve"]))
        qtbot.keyClick(w, Qt.Key.Key_Escape)                             # the engineer's PIN, then "Yes"
        assert not w.isVisible() and station.state == "stopped"
    finally:
        lock.release()
        station.stop()
    assert _actions(station.data_dir, *WATCHED)[1:] == [("signin.refused", "eve"), ("signin", "eve"),
                                                        ("kiosk.left", "eve"), ("station.stopped", "eve")]
    stopped = audit(station.data_dir)[-1]
    assert stopped["action"] == "station.stopped"                         # the later stop() wrote nothing more
    assert (stopped["reason"], stopped["meaning"]) == ("stopped at the kiosk", "responsibility")
    assert stopped["before"]["model"] == station.model_id


def test_a_pin_unlocked_stop_at_an_attached_kiosk_reaches_the_station_under_the_engineers_name(qtbot, staffed,
                                                                                              tmp_path):
    """The kiosk in its own process (`studio kiosk DATA_DIR`, `station run --kiosk`): the stop is a request."""
    from test_station import make

    from studio.gui.kiosk import KioskWindow
    from studio.gui.kiosk_lock import lock_kiosk
    from studio.station.handle import AttachedStation

    station, _ = make(staffed, tmp_path, max_parts=None, interval_s=0.05)
    station.start()
    handle = None
    try:
        handle = AttachedStation(station.data_dir, poll_s=0.1)
        w = KioskWindow(handle, owns_station=False)
        answers = [("olli", PINS["olli"])]
        lock = lock_kiosk(w, handle, ask=lambda parent, what: answers.pop(0) if answers else None)
        qtbot.addWidget(w)
        handle.start()
        w.showFullScreen()
        qtbot.waitExposed(w)
        qtbot.waitUntil(lambda: handle.state == "running", timeout=10_000)
        w.confirm_stop = lambda: True
        qtbot.keyClick(w, Qt.Key.Key_Escape)                             # the operator's PIN: no engineer
        assert w.isVisible() and w.isFullScreen() and station.state == "running"
        answers.append(("eve", PINS["eve"]))
        qtbot.keyClick(w, Qt.Key.Key_Escape)                             # the engineer's: the request goes
        qtbot.waitUntil(lambda: station.state == "stopped", timeout=10_000)
        lock.release()
        w.close()
    finally:
        if handle is not None:
            handle.close()
        station.stop()
    watched = _actions(station.data_dir, *WATCHED, "action.refused")
    assert watched[1:] == [("signin", "olli"), ("action.refused", "olli"), ("signin", "eve"), ("kiosk.left", "eve"),
                           ("station.stopped", "eve")]
    assert audit(station.data_dir)[-1]["reason"] == "stopped at the kiosk"
