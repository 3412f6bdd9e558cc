"""The studio's cycle collector runs on the GUI thread only (studio.gui.gc_policy)."""
import gc
import threading

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication

from studio.gui.gc_policy import _PROPERTY, collect_on_gui_thread


def test_a_cycle_holding_a_qt_object_is_freed_on_the_gui_thread_not_where_memory_was_allocated(qtbot):
    app = QApplication.instance()
    collector = collect_on_gui_thread(app, interval_s=0.05)
    try:
        assert collect_on_gui_thread(app) is collector           # once per application
        assert not gc.isenabled()                                # no automatic collection on any thread
        freed = []
        o = QObject()
        o.me = o                                                 # a cycle: only the collector frees it
        o.destroyed.connect(lambda *_: freed.append(threading.current_thread()))
        del o

        kept = []

        def allocate():                                          # what a station thread does all day
            kept.append([[[]] for _ in range(200_000)])          # kept: the count stays over the threshold

        worker = threading.Thread(target=allocate)
        worker.start()
        worker.join()
        assert freed == []                                       # not collected on the worker
        qtbot.waitUntil(lambda: bool(freed), timeout=5000)       # the GUI timer collects it
        assert freed == [threading.main_thread()]
    finally:
        collector.timer.stop()
        delattr(app, _PROPERTY)
        gc.enable()
