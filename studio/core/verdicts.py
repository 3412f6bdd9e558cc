"""The station's four verdicts and their codes: one vocabulary for every layer that speaks them.

The decision (``studio.station.decide``) gives a verdict and its code, the
result log stores the code, the PLC register map sends it, and
``studio.results.rates`` counts by it. The codes live here, below all of
them, so none has to import another to know them.
"""
from __future__ import annotations

VERDICT_PASS = 1
VERDICT_REJECT = 2
VERDICT_FAULT = 3
VERDICT_REVIEW = 4           # only when the model card has a review band
VERDICT_CODES = {"pass": VERDICT_PASS, "reject": VERDICT_REJECT, "fault": VERDICT_FAULT,
                 "review": VERDICT_REVIEW}
