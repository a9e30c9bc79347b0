"""Removing uploads that no receipt claimed, once their link can no longer be used.

Every sign link schedules its own sweep when it is made (``schedule_sweep``, same
transaction), to run a grace period after it expires; ``flask --app wsgi sweep-orphans``
sweeps everything due at once. Rows go first and commit; files go after, and only when no
other row still points at the same content-addressed file — a crash in between leaves a
harmless unreferenced file, never a row without its file.
"""
from datetime import timedelta

from sqlalchemy import delete, select

from ..core import jobs
from ..core.clock import utcnow
from ..core.storage import get_storage
from ..extensions import db
from ..receipts.models import Photo, PhotoHashChunk
from ..receipts.services import derivative_key
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


def _remove(orphans: list[Photo]) -> list[str]:
    """Delete the rows (flushed, not committed); return storage keys nothing else uses."""
    if not orphans:
        return []
    ids = [p.id for p in orphans]
    keys = {p.storage_key: derivative_key(p.tenant_id, p.sha256, "thumb") for p in orphans}
    db.session.execute(delete(PhotoHashChunk).where(PhotoHashChunk.photo_id.in_(ids)))
    db.session.execute(delete(Photo).where(Photo.id.in_(ids)))
    db.session.flush()
    still_used = set(db.session.execute(select(Photo.storage_key).where(Photo.storage_key.in_(keys))).scalars())
    # The thumbnail made at upload goes with its original.
    return sorted(k for key, thumb in keys.items() if key not in still_used for k in (key, thumb))


def _delete_files(keys: list[str]) -> None:
    storage = get_storage()
    for key in keys:
        storage.delete(key)


def sweep_orphan_photos(batch: int = 500) -> int:
    """One batch of unclaimed photos of dead links: rows deleted and committed, then files."""
    orphans = db.session.execute(
        select(Photo).join(SignLink, SignLink.id == Photo.link_id)
        .where(Photo.receipt_id.is_(None), _dead_links()).limit(batch)
    ).scalars().all()
    keys = _remove(orphans)
    db.session.commit()
    _delete_files(keys)
    return len(orphans)


@jobs.handler(SWEEP_LINK)
def sweep_link(ctx) -> None:
    orphans = db.session.execute(
        select(Photo).join(SignLink, SignLink.id == Photo.link_id)
        .where(Photo.link_id == ctx.payload["link"], Photo.receipt_id.is_(None), _dead_links(ctx.now))
    ).scalars().all()
    keys = _remove(orphans)
    db.session.commit()
    _delete_files(keys)


