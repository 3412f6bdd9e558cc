"""The lighting audit: measure exposure, uniformity, focus, noise, stability, glare and
defect contrast on the region of interest, judge them against per-project limits, say
what to do, keep the report in ``audits/`` and watch the lighting at run time (``drift``).

No Qt here: the CLI (``studio lighting ...``), the GUI's Lighting page and the station
all call these functions.
"""
from studio.lighting.audit import Audit, audit_frames, grab_frames  # noqa: F401
