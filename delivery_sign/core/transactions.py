"""One commit per request: a successful response commits, anything else rolls back."""
import logging

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..extensions import db
from .errors import problem_response

log = logging.getLogger(__name__)


def commit_or_rollback(response):
    if response.status_code >= 400:
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
