"""The desktop studio (PySide6 + pyqtgraph): the only package that imports Qt.

Entry points: ``studio.gui.app.main(project_path)`` for the studio window and
``studio.gui.kiosk.run_kiosk(station)`` for the operator's full-screen view;
``studio.app`` registers both as front ends of the command line
(``studio.cli.front_ends``).
"""
from studio.gui.qt_guard import guard_signal_refcounts

guard_signal_refcounts()
