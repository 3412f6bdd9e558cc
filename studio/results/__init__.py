"""The station's result log (SQLite, WAL) and its part images."""
from studio.results.log import ResultLog  # noqa: F401
from studio.results.reader import ResultReader  # noqa: F401
from studio.results.schema import FILE_NAME, SCHEMA_VERSION  # noqa: F401
from studio.results.policy import LogPolicy  # noqa: F401
