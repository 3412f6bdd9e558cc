"""Judging models on the test split.

``metrics`` is pure numpy; ``evaluate`` holds ``evaluate``, ``set_threshold``
and ``operating_point``. (The function is not re-exported here: it would
shadow its own module, ``studio.evaluation.evaluate``.)
"""
