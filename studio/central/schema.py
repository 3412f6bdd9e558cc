"""The central store's tables in PostgreSQL, and their numbered migrations (applied on connect).

One database holds every station of a plant. Its version is the highest
``version`` in ``schema_migrations``; each step is one function registered
with ``@step(N)`` (the database at version N-1 -> N, in the style of
``studio.core.migrations``), run in its own transaction under an advisory lock,
so two stations connecting at once never run a step twice. A database newer
than this studio is refused with a clear error, never half-understood.

Tables (version 1):

- ``stations``: one row per station: its project, live model, state, when it
  was last heard of, and how far its forwarder is behind (rows, seconds).
- ``results``: every part a station logged, shadow rows included (``shadow``
  true: a shadow model's verdict, never sent to the PLC). Unique on the
  station, its result log's identity (``log_uid``: the log file's meta key, kept
  for the life of the log) and the part's identity (``part``, ``shadow``), so a
  resend never duplicates: part numbers are never reused within one log (see
  ``studio.results.log``), and shadow rows share their part's number.
  ``image_path`` is relative to the station's data directory: images stay on
  the station; ``shared_image`` is the copy in the plant's shared folder
  (``reject_images_to``), for rejects only.
- ``alerts``: every alert a station raised; unique on (station, time, kind, the
  message's MD5).
- ``audit``: the station's audit entries (``audit.jsonl`` in its data
  directory), unique on (station, entry hash): the chain's hashes name each entry.
- ``forward_marks``: per station and source (``results``, ``alerts``, ``audit``)
  the high-water mark of what arrived, written in the same transaction as the
  rows it covers: a forwarder resumes from where the central side really is.

TimescaleDB: see docs/ARCHITECTURE.md "Central store and fleet" for turning
``results`` into a hypertable on ``t_decided``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from studio.core.errors import StudioError

Step = Callable[[Any], None]
STEPS: dict[int, tuple[str, Step]] = {}
LOCK_KEY = 0x5354554449        # pg_advisory_xact_lock key of the migrations ("STUDI")


def step(version: int, name: str) -> Callable[[Step], Step]:
    """Register ``fn(cursor)`` as the step that brings the database to ``version``."""
    def register(fn: Step) -> Step:
        STEPS[int(version)] = (name, fn)
        return fn
    return register


@step(1, "stations, results, alerts, audit, forward marks")
def _v1(cur: Any) -> None:
    cur.execute("""
    CREATE TABLE stations (
        station_id  text PRIMARY KEY,
        project     text,
        model_id    text,                   -- the live model
        state       text,                   -- running | faulted | stopped | ...
        host        text,
        data_dir    text,
        first_seen  timestamptz NOT NULL DEFAULT now(),
        last_seen   timestamptz,
        lag_rows    bigint,                 -- rows of the station's log not here yet
        lag_s       double precision,       -- age of the oldest of them (0 when none)
        forwarded   bigint NOT NULL DEFAULT 0   -- rows, alerts and audit entries it sent
    )""")
    cur.execute("""
    CREATE TABLE forward_marks (
        station_id  text NOT NULL REFERENCES stations ON DELETE CASCADE,
        source      text NOT NULL,          -- results | alerts | audit
        log_uid     text NOT NULL,          -- the local file's identity ('' for the audit trail)
        mark        bigint NOT NULL DEFAULT 0,  -- results/alerts: local row id; audit: seq
        mark_key    text,                   -- results: 'part:shadow' of the row at mark; audit: its hash
        updated_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (station_id, source, log_uid)
    )""")
    cur.execute("""
    CREATE TABLE results (
        id           bigserial PRIMARY KEY,
        station_id   text NOT NULL REFERENCES stations,
        log_uid      text NOT NULL,
        local_id     bigint NOT NULL,       -- the row's id in the station's log (its order there)
        project      text,                  -- the station's project when the row was sent
        part         bigint NOT NULL,
        part_id      text,                  -- the PLC's id of the part
        frame_id     bigint,
        verdict      text,
        verdict_code integer,
        score        double precision,
        defect_class text,
        class_id     integer,
        model_id     text,
        shadow       boolean NOT NULL DEFAULT false,
        image_path   text,                  -- on the station, relative to its data directory
        image_state  text,
        image_bytes  bigint,
        shared_image text,                  -- the reject image's copy in the shared folder
        t_trigger    timestamptz,
        t_captured   timestamptz,
        t_decided    timestamptz NOT NULL,
        t_actuated   timestamptz,
        latency_ms   double precision,
        note         text,
        received_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT results_part_identity UNIQUE (station_id, log_uid, part, shadow)
    )""")
    cur.execute("CREATE INDEX results_station_time ON results (station_id, t_decided)")
    cur.execute("CREATE INDEX results_time ON results (t_decided)")
    cur.execute("CREATE INDEX results_model_time ON results (model_id, t_decided)")
    cur.execute("""
    CREATE TABLE alerts (
        id          bigserial PRIMARY KEY,
        station_id  text NOT NULL REFERENCES stations,
        local_id    bigint,
        time        timestamptz NOT NULL,
        kind        text NOT NULL,
        level       text NOT NULL,
        message     text NOT NULL,
        message_md5 text GENERATED ALWAYS AS (md5(message)) STORED,
        figures     jsonb,
        acked_by    text,
        acked_at    timestamptz,
        received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT alerts_identity UNIQUE (station_id, time, kind, message_md5)
    )""")
    cur.execute("CREATE INDEX alerts_station_time ON alerts (station_id, time)")
    cur.execute("""
    CREATE TABLE audit (
        id          bigserial PRIMARY KEY,
        station_id  text NOT NULL REFERENCES stations,
        seq         bigint NOT NULL,
        time_utc    timestamptz,
        actor       text,
        action      text,
        what        jsonb,
        entry       jsonb NOT NULL,         -- the whole entry as written (its hash covers it)
        hash        text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT audit_identity UNIQUE (station_id, hash)
    )""")
    cur.execute("CREATE INDEX audit_station_seq ON audit (station_id, seq)")


CURRENT = max(STEPS)


def version_of(conn: Any) -> int:
    """The database's central-schema version; 0 for a database without it."""
    row = conn.execute("SELECT to_regclass('schema_migrations')").fetchone()
    if row[0] is None:
        return 0
    return int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0])


def migrate(conn: Any, where: str = "") -> list[int]:
    """Bring the database to ``CURRENT``; returns the versions applied now (none when it was there).

    ``conn`` is a psycopg connection (any transaction state is committed first).
    Idempotent and safe against a concurrent migrate from another station.
    """
    conn.commit()
    applied: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
                     "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
    while True:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            version = version_of(conn)
            if version > CURRENT:
                raise StudioError(f"the central database{where} has schema version {version}, newer than "
                                  f"this studio understands ({CURRENT})",
                                  hint="update Inspection Studio on this station, or point it at another database")
            if version == CURRENT:
                return applied
            name, fn = STEPS[version + 1]
            with conn.cursor() as cur:
                fn(cur)
                cur.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version + 1, name))
            applied.append(version + 1)
