"""The central store: a plant's stations in one PostgreSQL database, fed from each station's own log.

The station never depends on it: the local result log stays the source of
truth and the buffer, and a background ``Forwarder`` copies rows, alerts,
shadow rows and audit entries from it, in order and idempotently, resuming
where the central side really is after the database or the network was away.
``studio.central.fleet`` reads the fleet back (``studio fleet``, the Fleet page).
"""
from studio.central.store import check_url, connect, safe_url

__all__ = ["check_url", "connect", "safe_url"]
