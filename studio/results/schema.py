"""The result log's tables: one row per inspected part, one per alert.

A person or a plant system can read the file with any SQLite tool while the
station runs (WAL mode). ``image_path`` is relative to the folder holding the
log file, so the data directory can be moved as a whole.

Schema versions (``meta.schema_version``), each step a function in
``MIGRATIONS`` run in one transaction after a backup copy of the file:

1. ``results`` and ``meta``.
2. ``results.part_id`` (the PLC's id of the part), ``results.image_state`` and
   ``results.image_bytes`` (see IMAGE_STATES), the ``alerts`` table, and the
   ``part_reserved`` meta key (part numbers are never reused, see log.py).
3. ``results.watching`` (1: logged in shadow mode, the verdict was not given
   to the PLC) and the ``incumbent`` table: the existing inspection's verdict
   per part (people, an AOI, the PLC), for the comparison before promotion.
"""
from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

from studio.core.errors import StudioError

SCHEMA_VERSION = 3
FILE_NAME = "results.sqlite"
PART_RESERVE = 100      # meta part_reserved runs this many part numbers ahead of the last committed one

COLUMNS = ("part", "frame_id", "verdict", "verdict_code", "score", "defect_class", "class_id",
           "model_id", "image_path", "t_trigger", "t_captured", "t_decided", "t_actuated",
           "latency_ms", "shadow", "note", "part_id", "image_state", "image_bytes", "watching")
INTEGERS = {"part", "frame_id", "verdict_code", "class_id", "shadow", "image_bytes", "watching"}
REALS = {"score", "t_trigger", "t_captured", "t_decided", "t_actuated", "latency_ms"}
TEXTS = {"verdict", "defect_class", "model_id", "note", "part_id", "image_state"}
VERDICTS = ("pass", "reject", "fault")

# What became of a part's image. Only 'saved' has an image_path.
IMAGE_STATES = {
    "none": "the station had no image of this part",
    "pending": "the row is committed, the image is being written (after a crash: it never arrived)",
    "saved": "the image is at image_path",
    "skipped": "not kept: the retention policy keeps only a share of passes, or the writer was behind",
    "failed": "the image could not be written (full disk, unplugged data directory); see note",
    "pruned": "written, then deleted to keep the data directory under its quota (oldest passes first)",
    "lost": "the station stopped before the image was written, or the image went with its folder",
}

ALERT_COLUMNS = ("time", "kind", "level", "message", "figures")
ALERT_KINDS = ("camera", "plc", "log", "model", "lighting", "deadline", "station", "central",
               "reject_rate", "score_drift", "new_defect")     # the last three: studio.monitoring

_RESULTS_V1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY,
    part INTEGER,
    frame_id INTEGER,
    verdict TEXT,               -- 'pass' | 'reject' | 'fault' | 'review'
    verdict_code INTEGER,       -- as sent to the PLC: 1 pass, 2 reject, 3 fault, 4 review
    score REAL,                 -- NULL when the model gave none (a fault)
    defect_class TEXT,
    class_id INTEGER,
    model_id TEXT,
    image_path TEXT,            -- relative to the log's folder; NULL when not saved
    t_trigger REAL,             -- seconds since the epoch
    t_captured REAL,
    t_decided REAL,
    t_actuated REAL,
    latency_ms REAL,            -- trigger to PLC write
    shadow INTEGER DEFAULT 0,   -- 1: a shadow model's verdict, never sent to the PLC
    note TEXT                   -- why a part faulted, or why its image is missing
);
CREATE INDEX IF NOT EXISTS results_t_decided ON results (t_decided);
CREATE INDEX IF NOT EXISTS results_part ON results (part);
"""

_V2 = """
ALTER TABLE results ADD COLUMN part_id TEXT;            -- the PLC's id of the part, '' when none
ALTER TABLE results ADD COLUMN image_state TEXT;        -- see IMAGE_STATES; NULL in rows from v1
ALTER TABLE results ADD COLUMN image_bytes INTEGER;     -- size of the saved image file
CREATE INDEX IF NOT EXISTS results_saved_passes ON results (id)
    WHERE image_state = 'saved' AND verdict = 'pass';
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    time REAL NOT NULL,         -- seconds since the epoch
    kind TEXT NOT NULL,         -- camera | plc | log | model | lighting | deadline | station
    level TEXT NOT NULL,        -- info | warning | error
    message TEXT NOT NULL,
    figures TEXT,               -- JSON object of the figures behind the alert, or NULL
    acked_by TEXT,              -- who acknowledged it, NULL while open
    acked_at REAL
);
CREATE INDEX IF NOT EXISTS alerts_time ON alerts (time);
"""


_V3 = """
ALTER TABLE results ADD COLUMN watching INTEGER DEFAULT 0;  -- 1: shadow mode, the PLC was not given the verdict
CREATE TABLE IF NOT EXISTS incumbent (
    id INTEGER PRIMARY KEY,
    part INTEGER NOT NULL,      -- the station part number the verdict is for
    verdict TEXT NOT NULL,      -- 'pass' | 'reject': what the existing inspection decided
    source TEXT NOT NULL,       -- 'plc' | 'kiosk' | 'csv'
    who TEXT,                   -- the inspector (kiosk), the file (csv), the link (plc)
    time REAL NOT NULL,         -- seconds since the epoch, when it was recorded
    note TEXT
);
CREATE INDEX IF NOT EXISTS incumbent_part ON incumbent (part);
"""
INCUMBENT_COLUMNS = ("part", "verdict", "source", "who", "time", "note")
INCUMBENT_VERDICTS = ("pass", "reject")
INCUMBENT_SOURCES = ("plc", "kiosk", "csv")
INSERT_INCUMBENT = (f"INSERT INTO incumbent ({', '.join(INCUMBENT_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(INCUMBENT_COLUMNS))})")


def _to_v3(conn: sqlite3.Connection) -> None:
    _run_script(conn, _V3)
    conn.execute("UPDATE results SET watching = 0 WHERE watching IS NULL")


def _to_v2(conn: sqlite3.Connection) -> None:
    _run_script(conn, _V2)
    # v1 saved every image it could and said so in image_path
    conn.execute("UPDATE results SET image_state = CASE WHEN image_path IS NULL THEN 'none' "
                 "ELSE 'saved' END, part_id = '' WHERE image_state IS NULL")


# version n -> n + 1
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _to_v2, 2: _to_v3}

INSERT = f"INSERT INTO results ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
INSERT_ALERT = f"INSERT INTO alerts ({', '.join(ALERT_COLUMNS)}) VALUES (?, ?, ?, ?, ?)"


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Statement by statement, inside the caller's transaction (executescript would commit)."""
    lines = [line.split("--")[0] for line in script.splitlines()]
    for statement in "\n".join(lines).split(";"):
        if statement.strip():
            conn.execute(statement)


def version_of(conn: sqlite3.Connection) -> int | None:
    """The file's schema version; None for a new (empty) file."""
    has_meta = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
    if not has_meta:
        return None
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        return None
    if not str(row[0]).isdigit():
        raise StudioError(f"the result log has an unreadable schema version ({row[0]!r})", file=None,
                          hint="give the station another data directory; keep this file for inspection")
    return int(row[0])


def create(conn: sqlite3.Connection, path: str) -> None:
    """Create the tables, upgrade an older log (after a backup), or refuse a newer one.

    ``conn`` must be in autocommit mode (``isolation_level=None``).
    """
    version = version_of(conn)
    if version is not None and version > SCHEMA_VERSION:
        raise StudioError(f"the result log has schema version {version}, newer than this studio "
                          f"understands ({SCHEMA_VERSION})", file=path,
                          hint="run the station with a newer Inspection Studio, or give it another data directory")
    if version is None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            _run_script(conn, _RESULTS_V1 + _V2 + _V3)
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                         (str(SCHEMA_VERSION),))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return
    while version < SCHEMA_VERSION:
        backup(conn, Path(path), version)
        conn.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[version](conn)
            conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version + 1),))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        version += 1


def backup(conn: sqlite3.Connection, path: Path, version: int) -> Path:
    """A consistent copy of the log before migrating it: ``results.v<version>.bak.sqlite``."""
    target = path.with_name(f"{path.stem}.v{version}.bak{path.suffix}")
    tmp = target.with_name(target.name + ".tmp")
    dest = sqlite3.connect(str(tmp))
    try:
        conn.backup(dest)
    finally:
        dest.close()
    shutil.move(str(tmp), str(target))
    return target
