"""The forwarder: a station's result log, alerts and audit trail, copied to the central store.

The station never waits for it. The forwarder is a background thread with
its own read-only connection to the station's SQLite log (WAL: the station
writes on, a reader never blocks it) and its own PostgreSQL connection. Each
batch is one PostgreSQL transaction that

1. locks the station's high-water mark for that source (``forward_marks``:
   the local row id of the last row that arrived, with the row's part and
   shadow flag to recognise it; ``SELECT ... FOR UPDATE``, so a
   ``studio station sync`` running at the same time cannot interleave),
2. reads the next rows after the mark from the local log, in their order,
3. inserts them with ``ON CONFLICT DO NOTHING`` (the tables' unique keys make
   a resend a no-op), and
4. moves the mark, in the same transaction.

So the mark says exactly what the central side has: after the database or
the network went away (a commit whose answer never came), the forwarder
reconnects with a growing back-off (``BACKOFF_S``), reads the mark again and
goes on from there; nothing arrives twice and nothing is skipped.

A row is forwarded once the station has finished it (its image written and
its actuation recorded: ``image_state`` not 'pending' and ``t_actuated`` set;
a shadow row needs no actuation), or once it is ``SETTLE_S`` old, or when the
log was closed cleanly; the batch stops at the first row still open, so rows
arrive in the log's order. A row's later changes are not sent again (an
image pruned for the disk quota), except an alert's acknowledgement
(``acked_by``, ``acked_at``), which follows as an update.

Sources, each with its own mark: ``results`` (live and shadow rows), ``alerts``
(the log's alerts table) and ``audit`` (``audit.jsonl`` in the data directory,
by ``seq``, recognised by its hash). A result log file has an identity (meta
``log_uid``), so a station whose data directory is replaced by a fresh one
starts a new mark instead of clashing with its old part numbers.

Lag (``lag()``): rows of the log not yet central, and the age of the oldest of
them; past ``lag_limit_s`` (station.yaml ``central_lag_limit_s``) the station
is alerted (kind ``central``), and told again when it has caught up. The
forwarder also keeps ``central.json`` in the data directory (its last state),
for reports and for a person looking at the station PC.

Reject images can be copied to a shared folder (``reject_images_to``):
``<folder>/<station_id>/<day>/part-NNNNNN.png``, atomically; the central row's
``shared_image`` names the copy. A share that is away does not stop the rows:
the row arrives without ``shared_image`` and the failure is counted and alerted.
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from studio.core.atomic import atomic_write_bytes, atomic_write_json
from studio.core.errors import StudioError
from studio.core.host import default_station_id
from studio.results import rates
from studio.results.schema import FILE_NAME as LOG_FILE

log = logging.getLogger(__name__)

BATCH = 500             # rows per transaction
POLL_S = 0.5            # how often an idle forwarder looks for new rows
SETTLE_S = 10.0         # a row still open after this long is forwarded as it is
BACKOFF_S = (0.5, 10.0)     # first and longest wait between attempts to reach the database
LAG_LIMIT_S = 300.0     # default alert limit (station.yaml central_lag_limit_s)
STATUS_FILE = "central.json"
STATUS_EVERY_S = 5.0
AUDIT_FILE = "audit.jsonl"

# the local columns forwarded, in order (central names are the same)
COLUMNS = ("id", "part", "part_id", "frame_id", "verdict", "verdict_code", "score", "defect_class", "class_id",
           "model_id", "shadow", "image_path", "image_state", "image_bytes", "t_trigger", "t_captured",
           "t_decided", "t_actuated", "latency_ms", "note")
_TIMES = ("t_trigger", "t_captured", "t_decided", "t_actuated")
_INSERT_RESULT = (
    "INSERT INTO results (station_id, log_uid, local_id, project, part, part_id, frame_id, verdict, verdict_code, score, "
    "defect_class, class_id, model_id, shadow, image_path, image_state, image_bytes, shared_image, t_trigger, "
    "t_captured, t_decided, t_actuated, latency_ms, note) VALUES "
    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT DO NOTHING")
_INSERT_ALERT = ("INSERT INTO alerts (station_id, local_id, time, kind, level, message, figures, acked_by, acked_at) "
                 "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING")
_INSERT_AUDIT = ("INSERT INTO audit (station_id, seq, time_utc, actor, action, what, entry, hash) "
                 "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING")


def _when(t: Any) -> _dt.datetime | None:
    if t is None:
        return None
    try:
        return _dt.datetime.fromtimestamp(float(t), _dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def describe_lag(lag: dict[str, Any] | None) -> str:
    """One line for the operator (Station page, CLI) about the forwarder."""
    if not lag:
        return ""
    where = lag.get("url") or "the central store"
    if lag.get("error") and not lag.get("connected"):
        head = f"Central store {where}: not reachable ({lag['error']})"
    else:
        head = f"Central store {where}: connected"
    rows, secs = int(lag.get("rows") or 0), float(lag.get("seconds") or 0.0)
    behind = "up to date" if rows == 0 else f"{rows} row{'s' if rows != 1 else ''} behind ({secs:.0f} s)"
    return f"{head}; {behind}; {lag.get('forwarded', 0)} sent"


class Forwarder:
    """Copies the log in ``data_dir`` to the central store at ``url`` as station ``station_id``.

    ``describe()`` (optional) gives the station's ``project``, ``model_id`` and
    ``state`` for its ``stations`` row; ``on_alert(message, level)`` tells the
    station about lag and the shared folder.
    """

    def __init__(self, data_dir: str | Path, url: str, station_id: str | None = None, *,
                 describe: Callable[[], dict[str, Any]] | None = None,
                 on_alert: Callable[[str, str], None] | None = None,
                 reject_images_to: str | Path | None = None, lag_limit_s: float = LAG_LIMIT_S,
                 batch: int = BATCH, poll_s: float = POLL_S, settle_s: float = SETTLE_S,
                 backoff_s: tuple[float, float] = BACKOFF_S, status_file: bool = True,
                 project: str | None = None):
        from studio.central.store import check_url, safe_url

        wrong = check_url(url)
        if wrong:
            raise StudioError(f"the central store's address {wrong}", field="central",
                              hint="set central: postgresql://USER@HOST:PORT/DATABASE in station.yaml")
        self.data_dir = Path(data_dir)
        self.log_path = self.data_dir / LOG_FILE
        self.url, self.shown_url = url.strip(), safe_url(url.strip())
        self.station_id = str(station_id or default_station_id())
        self.describe = describe
        self.project = project          # the project's name, when no describe() gives it
        self._project = project
        self.on_alert = on_alert
        self.reject_images_to = Path(reject_images_to) if reject_images_to else None
        self.lag_limit_s, self.batch, self.poll_s, self.settle_s = lag_limit_s, batch, poll_s, settle_s
        self.backoff_s = backoff_s
        self.status_file = status_file
        # figures (read by lag(); written by the forwarder's thread only)
        self.forwarded = {"results": 0, "alerts": 0, "audit": 0}    # inserted now (resends not counted)
        self.resent = 0                 # rows the central side already had
        self.images_copied = 0
        self.images_failed = 0
        self.reconnects = 0
        self.connected = False
        self.error: str | None = None
        self.last_ok: float | None = None
        self.lag_rows = 0
        self.lag_s = 0.0
        self.alerts_lag = 0
        self.audit_lag = 0
        self._marks: dict[str, int] = {"results": 0, "alerts": 0}
        self._lag_alerted = False
        self._share_alerted = False
        self._outage = False            # lost the database since the last connect
        self._ack_seen = 0.0            # acked_at of the last acknowledgement sent
        self._wrote_row = False         # this forwarder has written its stations row (to tell a twin)
        self._twin_alerted = False
        self._conn: Any = None
        self._local: sqlite3.Connection | None = None
        self._local_ino: tuple[int, int] | None = None
        self._audit_seen: tuple[int, int] | None = None     # (size, mtime_ns) of audit.jsonl when it was caught up
        self._stop = threading.Event()
        self._closing = threading.Event()
        self._drain_until = 0.0
        self._thread: threading.Thread | None = None
        self._last_status = 0.0
        self._station_row_at = 0.0

    # ---- life cycle -------------------------------------------------------------------------
    def start(self) -> Forwarder:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="central-forwarder", daemon=True)
            self._thread.start()
        return self

    def stop(self, drain_s: float = 5.0) -> None:
        """Send what is left for up to ``drain_s`` seconds (when the database is there), then stop."""
        if self._thread is None:
            self._close()
            return
        self._drain_until = time.monotonic() + drain_s
        self._closing.set()
        self._thread.join(drain_s + 10.0)
        self._stop.set()
        self._thread.join(5.0)
        self._thread = None

    def lag(self) -> dict[str, Any]:
        """How far behind the central store is, for the station's stats."""
        return {"url": self.shown_url, "station_id": self.station_id, "connected": self.connected,
                "rows": self.lag_rows, "seconds": round(self.lag_s, 3), "alerts": self.alerts_lag,
                "audit": self.audit_lag, "forwarded": sum(self.forwarded.values()),
                "forwarded_rows": self.forwarded["results"], "resent": self.resent, "error": self.error,
                "last_ok": self.last_ok, "reconnects": self.reconnects,
                "images_copied": self.images_copied, "images_failed": self.images_failed,
                "limit_s": self.lag_limit_s}

    def sync(self, timeout_s: float | None = None) -> dict[str, Any]:
        """One-shot (``studio station sync``): connect, send everything the log has, return the figures.

        Raises StudioError when the database cannot be reached."""
        import psycopg

        t_end = None if timeout_s is None else time.monotonic() + timeout_s
        try:
            self._connect()
        except psycopg.Error as e:
            raise StudioError(f"cannot reach the central store at {self.shown_url}: {_short(e)}",
                              hint="check the address, that the server runs and that this PC may log in "
                                   "(pg_hba.conf, ~/.pgpass)") from None
        try:
            while True:
                try:
                    moved = self._cycle()
                except psycopg.Error as e:
                    raise StudioError(f"the central store stopped answering: {_short(e)}",
                                      hint="run the sync again: it goes on from where the central side is") from None
                if moved == 0 or (t_end is not None and time.monotonic() > t_end):
                    break
            self._update_lag()
            self._update_station_row(force=True)
            self._conn.commit()
            return self.lag()
        finally:
            self._close()

    # ---- the thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        import psycopg

        wait = self.backoff_s[0]
        while not self._stop.is_set():
            moved = 0
            try:
                if self._conn is None:
                    self._connect()
                    wait = self.backoff_s[0]
                moved = self._cycle(everything=self._closing.is_set())
                self.last_ok = time.time()
                self.error = None
            except psycopg.Error as e:
                self._lost(f"{_short(e)}")
            except StudioError as e:           # a database newer than this studio: wait, say why
                self._lost(e.message)
            except (sqlite3.Error, OSError) as e:
                self.error = f"the station's log cannot be read: {e}"
                self._close_local()
            except Exception as e:             # never let the forwarder die silently
                log.exception("central forwarder")
                self._lost(f"{type(e).__name__}: {e}")
            try:
                self._update_lag()
            except (sqlite3.Error, OSError):
                self._close_local()
            self._check_lag()
            self._write_status()
            if self._closing.is_set() and (moved == 0 or self._conn is None
                                           or time.monotonic() > self._drain_until):
                break
            if self._conn is None:
                self._idle(wait)
                wait = min(wait * 2, self.backoff_s[1])
            elif moved == 0:
                self._stop.wait(self.poll_s)
        if self._conn is not None:              # the last word on this station's lag
            try:
                self._update_lag()
                self._update_station_row(force=True)
                self._conn.commit()
            except Exception:       # noqa: BLE001 - closing: the database may be gone
                pass
        self._write_status(force=True)
        self._close()

    def _idle(self, seconds: float) -> None:
        """Wait before the next attempt; the lag (the station's stats, the alert) stays current meanwhile."""
        t_end = time.monotonic() + seconds
        while not self._stop.is_set() and not self._closing.is_set():
            left = t_end - time.monotonic()
            if left <= 0:
                return
            self._stop.wait(min(self.poll_s, left))
            try:
                self._update_lag()
            except (sqlite3.Error, OSError):
                self._close_local()
            self._check_lag()
            self._write_status()

    def _lost(self, why: str) -> None:
        if self._conn is not None or self.connected:
            log.info("central store %s: %s", self.shown_url, why)
        self.error = why
        self.connected = False
        self._outage = True
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:       # noqa: BLE001 - a broken connection may fail to close in any way
                pass
            self._conn = None

    def _connect(self) -> None:
        from studio.central.store import connect

        self._conn = connect(self.url)
        if self._outage:
            self.reconnects += 1
            self._outage = False
        self.connected = True
        with self._conn.transaction():
            self._conn.execute("INSERT INTO stations (station_id, host, data_dir) VALUES (%s, %s, %s) "
                               "ON CONFLICT (station_id) DO NOTHING",
                               (self.station_id, socket.gethostname(), str(self.data_dir)))
        self._update_station_row(force=True)
        self._conn.commit()

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:       # noqa: BLE001
                pass
            self._conn = None
        self.connected = False
        self._close_local()

    # ---- the local side ---------------------------------------------------------------------
    def _local_conn(self) -> sqlite3.Connection | None:
        """The read-only connection to the log; opened again when the file was replaced."""
        try:
            st = os.stat(self.log_path)
        except OSError:
            self._close_local()
            return None
        ino = (st.st_dev, st.st_ino)
        if self._local is not None and ino != self._local_ino:
            self._close_local()
        if self._local is None:
            self._local = sqlite3.connect(f"{self.log_path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0,
                                          check_same_thread=False)
            self._local_ino = ino
        return self._local

    def _close_local(self) -> None:
        if self._local is not None:
            try:
                self._local.close()
            except sqlite3.Error:
                pass
            self._local = None

    def _meta(self, local: sqlite3.Connection, key: str) -> str | None:
        row = local.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # ---- one pass over every source ---------------------------------------------------------------
    def _cycle(self, everything: bool = False) -> int:
        local = self._local_conn()
        moved = 0
        if local is not None:
            # one snapshot of the log for the whole pass: its identity and its rows agree (a log being
            # rewritten into a data directory that came back gets rows and identity in one transaction)
            local.execute("BEGIN")
            try:
                # the first read starts the snapshot: the schema as it is in it (a file being made has none)
                tables = {r[0] for r in local.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                if {"meta", "results"} <= tables:
                    uid = self._meta(local, "log_uid") or ""
                    closed = self._meta(local, "open") == "0"
                    moved += self._forward_results(local, uid, everything or closed)
                    moved += self._forward_alerts(local, uid)
                    moved += self._forward_acks(local)
            finally:
                if local.in_transaction:
                    local.execute("COMMIT")
        moved += self._forward_audit()
        self._update_lag()
        self._update_station_row()
        self._conn.commit()
        return moved

    def _lock_mark(self, source: str, uid: str) -> tuple[int, str | None]:
        conn = self._conn
        conn.execute("INSERT INTO forward_marks (station_id, source, log_uid) VALUES (%s, %s, %s) "
                     "ON CONFLICT DO NOTHING", (self.station_id, source, uid))
        mark, key = conn.execute("SELECT mark, mark_key FROM forward_marks WHERE station_id = %s AND source = %s "
                                 "AND log_uid = %s FOR UPDATE", (self.station_id, source, uid)).fetchone()
        return int(mark), key

    def _set_mark(self, source: str, uid: str, mark: int, key: str | None) -> None:
        self._conn.execute("UPDATE forward_marks SET mark = %s, mark_key = %s, updated_at = now() "
                           "WHERE station_id = %s AND source = %s AND log_uid = %s",
                           (mark, key, self.station_id, source, uid))

    def _forward_results(self, local: sqlite3.Connection, uid: str, everything: bool) -> int:
        conn = self._conn
        with conn.transaction():
            mark, key = self._lock_mark("results", uid)
            if mark:
                at = local.execute("SELECT part, shadow FROM results WHERE id = ?", (mark,)).fetchone()
                if at is None or f"{at[0]}:{at[1]}" != key:
                    # the log was rewritten (its folder went away and came back): find the row again
                    part, _, shadow = (key or "0:0").partition(":")
                    found = local.execute("SELECT id FROM results WHERE part = ? AND shadow = ?",
                                          (int(part or 0), int(shadow or 0))).fetchone()
                    mark = int(found[0]) if found else 0
            rows = local.execute(f"SELECT {', '.join(COLUMNS)} FROM results WHERE id > ? ORDER BY id LIMIT ?",
                                 (mark, self.batch)).fetchall()
            now = time.time()
            ready = []
            for row in rows:
                r = dict(zip(COLUMNS, row))
                if not everything and not self._settled(r, now):
                    break
                ready.append(r)
            if not ready:
                self._marks["results"] = mark
                return 0
            values = [self._result_values(r, uid) for r in ready]
            with conn.cursor() as cur:
                cur.executemany(_INSERT_RESULT, values)
                inserted = max(cur.rowcount, 0)
            last = ready[-1]
            self._set_mark("results", uid, int(last["id"]), f"{last['part']}:{last['shadow']}")
        self._marks["results"] = int(last["id"])
        self.forwarded["results"] += inserted
        self.resent += len(ready) - inserted
        return len(ready)

    def _settled(self, r: dict[str, Any], now: float) -> bool:
        """The station has finished the row (its image and actuation), or it is old enough."""
        done = r["image_state"] != "pending" and (bool(r["shadow"]) or r["t_actuated"] is not None)
        if done:
            return True
        t = r["t_decided"] or r["t_captured"] or r["t_trigger"] or 0.0
        return abs(now - float(t)) > self.settle_s

    def _result_values(self, r: dict[str, Any], uid: str) -> tuple:
        shared = self._share_image(r)
        t_decided = _when(r["t_decided"] or r["t_captured"] or r["t_trigger"] or 0.0)
        return (self.station_id, uid, r["id"], self._project, r["part"] or 0, r["part_id"], r["frame_id"], r["verdict"],
                r["verdict_code"], r["score"], r["defect_class"], r["class_id"], r["model_id"], bool(r["shadow"]),
                r["image_path"], r["image_state"], r["image_bytes"], shared, _when(r["t_trigger"]),
                _when(r["t_captured"]), t_decided, _when(r["t_actuated"]), r["latency_ms"], r["note"])

    def _share_image(self, r: dict[str, Any]) -> str | None:
        """Copy a reject's image to the shared folder; its path there, or None."""
        if (self.reject_images_to is None or r["shadow"] or r["image_state"] != "saved" or not r["image_path"]
                or rates.bucket(r["verdict"]) not in rates.REJECTED):
            return None
        src = self.data_dir / r["image_path"]
        rel = Path(r["image_path"])
        rel = Path(*rel.parts[1:]) if len(rel.parts) > 1 and rel.parts[0] == "images" else Path(rel.name)
        dst = self.reject_images_to / self.station_id / rel
        try:
            if not (dst.is_file() and dst.stat().st_size == src.stat().st_size):
                atomic_write_bytes(dst, src.read_bytes(), fsync=False)
            self.images_copied += 1
            if self._share_alerted:
                self._share_alerted = False
                self._tell(f"reject images are copied to {self.reject_images_to} again", "info")
            return str(dst)
        except OSError as e:
            self.images_failed += 1
            if not self._share_alerted:
                self._share_alerted = True
                self._tell(f"reject image of part {r['part']} not copied to the shared folder "
                           f"{self.reject_images_to}: {e}; the rows still reach the central store", "warning")
            return None

    def _forward_alerts(self, local: sqlite3.Connection, uid: str) -> int:
        conn = self._conn
        try:
            rows = None
            with conn.transaction():
                mark, key = self._lock_mark("alerts", uid)
                if mark:
                    at = local.execute("SELECT time FROM alerts WHERE id = ?", (mark,)).fetchone()
                    if at is None or repr(float(at[0])) != key:
                        found = local.execute("SELECT id FROM alerts WHERE time = ?",
                                              (float(key or 0),)).fetchone()
                        mark = int(found[0]) if found else 0
                rows = local.execute("SELECT id, time, kind, level, message, figures, acked_by, acked_at "
                                     "FROM alerts WHERE id > ? ORDER BY id LIMIT ?", (mark, self.batch)).fetchall()
                if not rows:
                    self._marks["alerts"] = mark
                    return 0
                values = []
                for i, t, kind, level, message, figures, acked_by, acked_at in rows:
                    try:
                        fig = json.dumps(json.loads(figures)) if figures else None
                    except ValueError:
                        fig = json.dumps({"text": figures})
                    values.append((self.station_id, i, _when(t), kind, level, message, fig, acked_by, _when(acked_at)))
                with conn.cursor() as cur:
                    cur.executemany(_INSERT_ALERT, values)
                    inserted = max(cur.rowcount, 0)
                self._set_mark("alerts", uid, int(rows[-1][0]), repr(float(rows[-1][1])))
        except sqlite3.OperationalError as e:
            if "no such table" in str(e):
                return 0            # a log from before alerts existed
            raise
        self._marks["alerts"] = int(rows[-1][0])
        self.forwarded["alerts"] += inserted
        return len(rows)

    def _forward_acks(self, local: sqlite3.Connection) -> int:
        """Acknowledgements made after their alert was sent (the only later change of a sent row that is
        followed): an UPDATE each, idempotent. Remembered in memory only: after a restart they go again."""
        try:
            acks = local.execute("SELECT time, kind, message, acked_by, acked_at FROM alerts WHERE acked_at > ? "
                                 "AND id <= ? ORDER BY acked_at LIMIT ?",
                                 (self._ack_seen, self._marks["alerts"], self.batch)).fetchall()
        except sqlite3.OperationalError:
            return 0                # no alerts table (an old log), or no acked_at column
        if not acks:
            return 0
        with self._conn.transaction(), self._conn.cursor() as cur:
            cur.executemany("UPDATE alerts SET acked_by = %s, acked_at = %s WHERE station_id = %s AND time = %s "
                            "AND kind = %s AND message_md5 = md5(%s) AND acked_at IS DISTINCT FROM %s",
                            [(by, _when(at), self.station_id, _when(t), kind, message, _when(at))
                             for t, kind, message, by, at in acks])
        self._ack_seen = float(acks[-1][4])
        return len(acks)

    def _forward_audit(self) -> int:
        path = self.data_dir / AUDIT_FILE
        try:
            st = path.stat()
        except OSError:
            self.audit_lag = 0
            return 0
        seen = (st.st_size, st.st_mtime_ns)
        if seen == self._audit_seen:
            return 0
        from studio.audit.trail import AuditTrail

        conn = self._conn
        with conn.transaction():
            mark, key = self._lock_mark("audit", "")
            entries = list(AuditTrail(path).entries())
            if mark and not any(e.get("seq") == mark and e.get("hash") == key for e in entries):
                mark = 0            # another trail than the one the mark was made in: its hashes tell
            new = [e for e in entries if int(e.get("seq") or 0) > mark][: self.batch]
            if not new:
                self._audit_seen = seen
                self.audit_lag = 0
                return 0
            values = [(self.station_id, int(e.get("seq") or 0), e.get("time_utc"), e.get("actor"), e.get("action"),
                       json.dumps(e.get("what"), default=str), json.dumps(e, default=str), str(e.get("hash")))
                      for e in new]
            with conn.cursor() as cur:
                cur.executemany(_INSERT_AUDIT, values)
                inserted = max(cur.rowcount, 0)
            self._set_mark("audit", "", int(new[-1]["seq"]), str(new[-1]["hash"]))
        self.forwarded["audit"] += inserted
        self.audit_lag = sum(1 for e in entries if int(e.get("seq") or 0) > int(new[-1]["seq"]))
        return len(new)

    # ---- figures ---------------------------------------------------------------------------------
    def _update_lag(self) -> None:
        local = self._local_conn()
        if local is None:
            return
        mark = self._marks["results"]
        top = local.execute("SELECT COALESCE(MAX(id), 0) FROM results").fetchone()[0]
        self.lag_rows = max(int(top) - mark, 0)     # row ids are never reused or deleted
        if self.lag_rows:
            t = local.execute("SELECT COALESCE(t_decided, t_trigger) FROM results WHERE id > ? ORDER BY id LIMIT 1",
                              (mark,)).fetchone()
            self.lag_s = max(time.time() - float(t[0] or time.time()), 0.0) if t else 0.0
        else:
            self.lag_s = 0.0
        try:
            top_alert = local.execute("SELECT COALESCE(MAX(id), 0) FROM alerts").fetchone()[0]
            self.alerts_lag = max(int(top_alert) - self._marks["alerts"], 0)
        except sqlite3.OperationalError:
            self.alerts_lag = 0

    def _check_lag(self) -> None:
        behind = self.lag_s > self.lag_limit_s
        if behind and not self._lag_alerted:
            self._lag_alerted = True
            why = f": {self.error}" if self.error else ""
            self._tell(f"the central store is {self.lag_s:.0f} s behind ({self.lag_rows} rows not sent to "
                       f"{self.shown_url}){why}; the station inspects on, its log keeps every row", "warning")
        elif self._lag_alerted and self.lag_s <= self.lag_limit_s / 2:
            self._lag_alerted = False
            self._tell(f"the central store has caught up ({self.lag_rows} rows behind)", "info")

    def _tell(self, message: str, level: str) -> None:
        if self.on_alert is None:
            log.warning("%s", message)
            return
        try:
            self.on_alert(message, level)
        except Exception:       # noqa: BLE001 - the receiver's failure must not stop the forwarder
            log.exception("central forwarder alert receiver")

    def _update_station_row(self, force: bool = False) -> None:
        now = time.monotonic()
        if self._conn is None or (not force and now - self._station_row_at < 1.0):
            return
        self._station_row_at = now
        about = {"project": self.project}
        if self.describe is not None:
            try:
                about = dict(self.describe() or {})
            except Exception:   # noqa: BLE001 - a view of the station must not stop the forwarder
                pass
        self._project = about.get("project") or self._project
        if not about.get("model_id"):
            local = self._local_conn()
            if local is not None:
                row = local.execute("SELECT model_id FROM results WHERE shadow = 0 ORDER BY id DESC LIMIT 1").fetchone()
                about["model_id"] = row[0] if row else None
        me = (socket.gethostname(), str(self.data_dir))
        was = self._conn.execute("SELECT host, data_dir FROM stations WHERE station_id = %s",
                                 (self.station_id,)).fetchone()
        if self._wrote_row and was is not None and tuple(was) != me and not self._twin_alerted:
            self._twin_alerted = True       # another PC (or data directory) writes under our station id
            self._tell(f"station id {self.station_id} is also used by {was[0]} ({was[1]}): give each station its "
                       "own station_id in station.yaml; the central rows stay apart, the fleet figures mix",
                       "warning")
        self._wrote_row = True
        self._conn.execute(
            "UPDATE stations SET project = COALESCE(%s, project), model_id = COALESCE(%s, model_id), "
            "state = COALESCE(%s, state), host = %s, data_dir = %s, last_seen = now(), lag_rows = %s, lag_s = %s, "
            "forwarded = forwarded + %s WHERE station_id = %s",
            (about.get("project"), about.get("model_id"), about.get("state"), socket.gethostname(),
             str(self.data_dir), self.lag_rows, self.lag_s, self._unreported(), self.station_id))

    def _unreported(self) -> int:
        total = sum(self.forwarded.values())
        n = total - getattr(self, "_reported", 0)
        self._reported = total
        return n

    def _write_status(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self.status_file or (not force and now - self._last_status < STATUS_EVERY_S):
            return
        self._last_status = now
        if not self.data_dir.is_dir():
            return
        try:
            atomic_write_json(self.data_dir / STATUS_FILE, {**self.lag(), "time": time.time()})
        except OSError:
            pass        # the data directory's own troubles are the result log's to report


def read_status(data_dir: str | Path) -> dict[str, Any] | None:
    """The forwarder's last state written in ``data_dir`` (``central.json``), or None."""
    try:
        return json.loads((Path(data_dir) / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _short(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def from_settings(settings: Any, data_dir: str | Path, **kw: Any) -> Forwarder | None:
    """The forwarder station.yaml asks for (``central``, ``station_id``, ``central_lag_limit_s``,
    ``reject_images_to``), or None when it names no central store."""
    url = settings.get("central")
    if not url:
        return None
    return Forwarder(data_dir, str(url), str(settings.get("station_id") or "") or None,
                     reject_images_to=settings.get("reject_images_to"),
                     lag_limit_s=float(settings.get("central_lag_limit_s") or LAG_LIMIT_S), **kw)


def for_station(station: Any) -> Forwarder | None:
    """Start the forwarder of a running ``studio.station.Station`` (None when station.yaml names no central store)."""
    settings = station.project.station_settings()

    def describe() -> dict[str, Any]:
        return {"project": getattr(station.project, "name", None), "model_id": station.model_id,
                "state": station.state}

    forwarder = from_settings(settings, station.data_dir, describe=describe,
                              on_alert=lambda message, level: station._alert(message, level, key="central",
                                                                             always=True))
    return forwarder.start() if forwarder is not None else None
