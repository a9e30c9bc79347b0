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
    """A read-only transaction inside a writing request, ended on exit.

    Slow work that only needs to read (decoding a photo, checking strokes, calling WeChat)
    runs between ``reading()`` and the short write transaction after it, so SQLite's single
    write lock is never held while the CPU or the network is busy.
    """
    g.reading_only = True
    try:
        yield
    finally:
        db.session.rollback()
        g.reading_only = False
