"""Connecting to the central store: the URL, a connection with the schema brought up to date.

The URL is a libpq connection URI (``postgresql://user@host:5432/plant``).
Keep passwords out of station.yaml: libpq reads them from ``~/.pgpass`` or
``PGPASSWORD`` (and a ``service=`` from ``pg_service.conf``); ``safe_url`` is the
URL as it may be shown or logged (any password replaced by ``***``).
"""
from __future__ import annotations

import re
from typing import Any

from studio.core.errors import StudioError
from studio.project.station_settings import central_url_problem

CONNECT_TIMEOUT_S = 5


def check_url(url: Any) -> str | None:
    """What is wrong with ``url`` as the central store's address, in words; None when it is fine."""
    return central_url_problem(url)


def safe_url(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    url = re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", str(url))
    return re.sub(r"(password=)[^&\s]*", r"\1***", url)


def connect(url: str, *, migrate: bool = True, timeout_s: float = CONNECT_TIMEOUT_S) -> Any:
    """A psycopg connection to the central store (not autocommit), its schema migrated.

    Raises StudioError for a bad URL, ``psycopg.OperationalError`` when the
    server cannot be reached (the forwarder retries those).
    """
    import psycopg

    wrong = check_url(url)
    if wrong:
        raise StudioError(f"the central store's address {wrong}", field="central",
                          hint="set central: postgresql://USER@HOST:PORT/DATABASE in station.yaml")
    try:
        conn = psycopg.connect(url.strip(), connect_timeout=max(1, int(timeout_s)),
                               application_name="inspection-studio")
    except psycopg.ProgrammingError as e:       # an unparseable URI
        raise StudioError(f"the central store's address cannot be read: {e}", field="central",
                          hint="write it as postgresql://USER@HOST:PORT/DATABASE") from None
    if migrate:
        from studio.central.schema import migrate as run_migrations

        try:
            run_migrations(conn, f" at {safe_url(url)}")
        except BaseException:
            conn.close()
            raise
    return conn
