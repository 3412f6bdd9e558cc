"""The station's result log (SQLite, WAL) and its part images."""
from studio.results.alerts import acknowledge
from studio.results.log import ResultLog
from studio.results.policy import LogPolicy
from studio.results.reader import ResultReader
from studio.results.schema import FILE_NAME, SCHEMA_VERSION

__all__ = ["acknowledge", "FILE_NAME", "SCHEMA_VERSION", "LogPolicy", "ResultLog", "ResultReader"]
