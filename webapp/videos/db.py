"""Database connections in long-running worker code (the task, the heartbeat thread, the failure
paths): a connection the server dropped (restart, failover, ``pg_terminate_backend``) is replaced
instead of failing the job with it."""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError, connection

log = logging.getLogger(__name__)

CONNECTION_ERRORS = (OperationalError, InterfaceError)


def with_fresh_connection(fn, attempts: int = 3):
    """``fn()``; when the connection turns out to be dead, close it and call ``fn()`` again on a
    new one. Inside a transaction nothing can be retried, so the error propagates there."""
    for attempt in range(attempts):
        try:
            return fn()
        except CONNECTION_ERRORS as exc:
            if connection.in_atomic_block or attempt == attempts - 1:
                raise
            log.warning("database connection lost (%s); reconnecting", exc)
            connection.close()
    raise AssertionError("unreachable")


def refresh_connection() -> None:
    """Drop this thread's connection when it is broken or past CONN_MAX_AGE (Django does this
    between requests; a worker calls it between tasks and before writing a failure). Inside a
    transaction it does nothing: closing there would lose the transaction."""
    if connection.in_atomic_block:
        return
    try:
        connection.close_if_unusable_or_obsolete()
    except CONNECTION_ERRORS:
        connection.close()
