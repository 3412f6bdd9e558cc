"""Waiting in tests: for something a station's threads will do soon."""
import time


def until(predicate, timeout=10.0, step=0.01):
    """True as soon as ``predicate()`` is; False after ``timeout`` seconds. A generous timeout
    costs nothing when the test passes (it returns at once) and keeps a loaded CI machine green."""
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        if predicate():
            return True
        time.sleep(step)
    return False
