"""Making a thread yield the CPU to the station's threads (Linux: per-thread niceness)."""
from __future__ import annotations

import os
import threading


def lower_this_thread(step: int) -> bool:
    """Raise the calling thread's niceness by ``step`` (at most 19); True when done. On another OS, or
    where it is not allowed, nothing changes and False is returned: callers keep their own bounded
    queues, so the line is protected either way."""
    if step <= 0:
        return False
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + step))
        return True
    except (AttributeError, OSError):
        return False
