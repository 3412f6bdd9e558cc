"""The kiosk shows the station's lighting-drift alert (a real Station, the sim line's lamp dimming)."""

import PySide6  # noqa: F401  a core dependency: a broken install fails, never skips


def test_kiosk_shows_the_lighting_drift_alert(qtbot, demo_project, tmp_path):
    from test_lighting_drift import PassModel, SwitchingCamera

    from studio.gui.kiosk import KioskWindow
    from studio.lighting import store
    from studio.lighting.run import audit_project
    from studio.plc.sim import SimPlc
    from studio.station import Station

    audit_project(demo_project, "sim:seed=3", 4)
    store.save_baseline(demo_project)
    station = Station(demo_project, camera=SwitchingCamera(dim_after=10), model=PassModel(), plc=SimPlc(),
                      data_dir=tmp_path / "data", max_parts=200, interval_s=0.01)
    w = KioskWindow(station, owns_station=False)
    qtbot.addWidget(w)
    w.show()
    station.start()
    try:
        qtbot.waitUntil(lambda: "lighting drift" in w.alert_label.text(), timeout=30_000)
        assert "brightness" in w.alert_label.text() and w.alert_label.isVisible()
    finally:
        station.stop()
