"""The result log's tables: one row per inspected part.

A person or a plant system can read the file with any SQLite tool while the
station runs (WAL mode). ``image_path`` is relative to the folder holding the
log file, so the data directory can be moved as a whole.
"""
from __future__ import annotations

import sqlite3

from studio.core.errors import StudioError

SCHEMA_VERSION = 1
FILE_NAME = "results.sqlite"

COLUMNS = ("part", "part_id", "frame_id", "verdict", "verdict_code", "score", "defect_class", "class_id",
           "model_id", "image_path", "t_trigger", "t_captured", "t_decided", "t_actuated",
           "latency_ms", "shadow", "note")
INTEGERS = {"part", "frame_id", "verdict_code", "class_id", "shadow"}
REALS = {"score", "t_trigger", "t_captured", "t_decided", "t_actuated", "latency_ms"}
VERDICTS = ("pass", "reject", "fault")

CREATE = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY,
    part INTEGER,
    part_id TEXT,               -- the PLC's id of the part (PLC trigger); empty when none was given
    frame_id INTEGER,
    verdict TEXT,               -- 'pass' | 'reject' | 'fault'
    verdict_code INTEGER,       -- as sent to the PLC: 1 pass, 2 reject, 3 fault
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

INSERT = f"INSERT INTO results ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"


def create(conn: sqlite3.Connection, path: str) -> None:
    """Create the tables, or check that an existing log is one this studio can write."""
    conn.executescript(CREATE)
    columns = {r[1] for r in conn.execute("PRAGMA table_info(results)")}
    if "part_id" not in columns:        # a log from before part ids: the column is added, rows keep NULL
        with conn:
            conn.execute("ALTER TABLE results ADD COLUMN part_id TEXT")
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        with conn:
            conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    elif not str(row[0]).isdigit() or int(row[0]) > SCHEMA_VERSION:
        raise StudioError(f"the result log has schema version {row[0]}, newer than this studio "
                          f"understands ({SCHEMA_VERSION})", file=path,
                          hint="run the station with a newer Inspection Studio, or give it another data directory")
