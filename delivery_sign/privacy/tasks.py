"""The worker's retention purge (issue 19): every worker loop runs it at most every six
hours; ``flask --app wsgi retention-purge`` runs it at once."""
from ..core.jobs import every
from .retention import retention_purge

PURGE_EVERY_S = 6 * 3600   # data is kept for days; a few hours late is within any notice


@every(PURGE_EVERY_S)
def purge_expired() -> None:
    retention_purge()
