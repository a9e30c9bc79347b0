"""Removing uploads that no receipt claimed, once their link can no longer be used.

Every sign link schedules its own sweep when it is made (``schedule_sweep``, same
transaction), to run a grace period after it expires; ``flask --app wsgi sweep-orphans``
sweeps everything due at once. Rows go first and commit; files go after, and only when no
other row still points at the same content-addressed file — a crash in between leaves a
harmless unreferenced file, never a row without its file.
"""
from datetime import timedelta

from sqlalchemy import select

from ..core import jobs
from ..core.clock import utcnow
from ..extensions import db
from ..receipts.models import Photo
from ..receipts.photos import delete_files, delete_photos
from .models import SignLink

SWEEP_LINK = "photos.sweep_link"
# A submit in flight when the link expires still finds its photos.
GRACE = timedelta(minutes=10)


def schedule_sweep(link: SignLink) -> None:
    jobs.enqueue(SWEEP_LINK, {"link": link.id}, tenant_id=link.tenant_id, run_after=link.expires_at + GRACE,
                 dedupe_key=f"sweep-link:{link.id}")


def _dead_links(now=None):
    cutoff = (now or utcnow()) - GRACE
    return (SignLink.expires_at < cutoff) | SignLink.used_at.isnot(None) | SignLink.revoked_at.isnot(None)


def _sweep(*where, now=None, limit=None) -> int:
    """The unclaimed photos of dead links (narrowed by ``where``): rows deleted and
    committed, then their files (receipts.photos owns both)."""
    query = (select(Photo).join(SignLink, SignLink.id == Photo.link_id)
             .where(Photo.receipt_id.is_(None), _dead_links(now), *where))
    orphans = db.session.execute(query.limit(limit) if limit else query).scalars().all()
    keys = delete_photos(orphans)
    db.session.commit()
    delete_files(keys)
    return len(orphans)


def sweep_orphan_photos(batch: int = 500) -> int:
    """One batch of unclaimed photos of dead links."""
    return _sweep(limit=batch)


@jobs.handler(SWEEP_LINK)
def sweep_link(ctx) -> None:
    _sweep(Photo.link_id == ctx.payload["link"], now=ctx.now)
