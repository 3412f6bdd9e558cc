"""Acknowledging an alert: who saw it, and when, written into the result log's ``alerts`` table.

``acknowledge(log_path, alert_id, by)`` opens its own short-lived writer
connection (the log is in WAL mode: the station's writer and the readers go
on), sets ``acked_by`` / ``acked_at`` on an open alert and closes again. An
alert already acknowledged keeps its first acknowledgement (returned as it
is). The person is a parameter: the kiosk, the Station page or a script
says who. The first acknowledgement is also an ``alert.acked`` entry of the
station's audit trail (``audit.jsonl`` beside the log).
"""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from studio.audit.trail import AuditTrail
from studio.core.errors import StudioError
from studio.results.schema import FILE_NAME


def _path(log_path: str | Path) -> Path:
    p = Path(log_path)
    return p / FILE_NAME if p.is_dir() else p


def acknowledge(log_path: str | Path, alert_id: int, by: str, *, at: float | None = None) -> dict[str, Any]:
    """Mark alert ``alert_id`` acknowledged by ``by``; returns the alert's row (``figures`` as stored)."""
    who = str(by or "").strip()
    if not who:
        raise StudioError("an alert is acknowledged by someone", field="by",
                          hint="give the name of the person acknowledging it")
    path = _path(log_path)
    if not path.is_file():
        raise StudioError("no result log here", file=path, hint="give the station's data directory")
    conn = sqlite3.connect(str(path), timeout=2.0, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("SELECT * FROM alerts WHERE id = ?", (int(alert_id),)).fetchone()
            if row is None:
                raise StudioError(f"there is no alert {alert_id} in the result log", file=path,
                                  hint="list the alerts with 'studio station report DATA_DIR'")
            first = row["acked_by"] is None
            if first:
                conn.execute("UPDATE alerts SET acked_by = ?, acked_at = ? WHERE id = ?",
                             (who, time.time() if at is None else float(at), int(alert_id)))
            conn.execute("COMMIT")
            if first:       # an acknowledgement is a record of the station's audit trail too
                AuditTrail(path.parent).append("alert.acked", actor=who, what=int(alert_id),
                                               after={"kind": row["kind"], "message": row["message"]},
                                               meaning="review")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return dict(conn.execute("SELECT * FROM alerts WHERE id = ?", (int(alert_id),)).fetchone())
    except sqlite3.Error as e:
        raise StudioError(f"the alert could not be acknowledged: {e}", file=path,
                          hint="try again; if the data directory is read-only, acknowledge on the station") from None
    finally:
        conn.close()


def open_alerts(log_path: str | Path, n: int = 100) -> list[dict[str, Any]]:
    """The last ``n`` alerts not yet acknowledged, newest first."""
    from studio.results.reader import ResultReader

    reader = ResultReader(_path(log_path))
    try:
        return [a for a in reader.alerts(n * 4) if a.get("acked_by") is None][:n]
    finally:
        reader.close()
