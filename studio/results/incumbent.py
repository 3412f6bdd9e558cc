"""Reading the incumbent's verdicts from the result log (table ``incumbent``, schema v3)."""
from __future__ import annotations

import sqlite3

from studio.results.schema import INCUMBENT_VERDICTS


def latest_verdicts(conn: sqlite3.Connection) -> dict[int, str]:
    """part -> the incumbent's latest verdict (the last one recorded counts; an empty dict for a log
    without the table)."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'incumbent'").fetchone():
        return {}
    out: dict[int, str] = {}
    for part, verdict in conn.execute("SELECT part, verdict FROM incumbent ORDER BY id"):
        if verdict in INCUMBENT_VERDICTS:
            out[int(part)] = verdict
    return out
