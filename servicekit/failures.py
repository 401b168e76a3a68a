"""What a failure is called in logs, dead-letter headers and spans: never the data it carried.

A database error's text holds the statement's parameters and, for PostgreSQL, a DETAIL line
quoting the offending values (a customer id, a message text); those must not leave the process.
"""

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

_MAX_CHARS = 300


def describe_failure(error: BaseException) -> str:
    """A short, data-free description of `error` for logs and DLQ headers."""
    if isinstance(error, DBAPIError):
        driver_error = type(error.orig).__name__ if error.orig is not None else "unknown"
        sqlstate = getattr(error.orig, "sqlstate", None)
        state = f", SQLSTATE {sqlstate}" if sqlstate else ""
        return f"{type(error).__name__} from the database ({driver_error}{state})"
    if isinstance(error, SQLAlchemyError):
        return f"{type(error).__name__} from the database layer"
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= _MAX_CHARS else text[: _MAX_CHARS - 1] + "…"
