"""One commit per request: a successful response commits, anything else rolls back (except a
``Problem`` raised with ``keep_transaction``, whose changes commit with the error response)."""
import logging
from contextlib import contextmanager

from flask import g
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..extensions import db
from .errors import problem_response

log = logging.getLogger(__name__)


def commit_or_rollback(response):
    if response.status_code >= 400 and not g.pop("commit_on_error", False):
        db.session.rollback()
        return response
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return problem_response(409, "Conflict", "A concurrent request changed the same record; retry.")
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.error("commit failed: %s", type(exc).__name__)
        return problem_response(503, "Service unavailable", "The change could not be saved; retry shortly.",
                                headers={"Retry-After": "5"})
    return response


@contextmanager
def reading():
    """Reads inside a writing request, outside its write transaction.

    Slow work that only needs to read (decoding a photo, checking strokes, calling WeChat)
    runs between ``reading()`` and the short write transaction after it, so SQLite's single
    write lock is never held while the CPU or the network is busy.

    The reads run without a transaction (issue 16): each statement its own, on PostgreSQL
    in autocommit (no BEGIN and no ROLLBACK: two round trips fewer each time), on SQLite
    without our BEGIN (extensions._sqlite_on_begin). Under PostgreSQL's READ COMMITTED each
    statement saw a snapshot of its own anyway. A write in here is refused
    (extensions._refuse_writes_while_reading), as it would commit on its own. Called with
    a transaction already open, its reads run in that transaction, which ends on exit.
    """
    session = db.session()
    if not session.in_transaction() and session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    g.reading_only = True
    try:
        yield
    finally:
        g.reading_only = False
        db.session.rollback()
