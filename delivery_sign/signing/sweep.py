"""Removing uploads that no receipt claimed once their link can no longer be used."""
from datetime import timedelta

from sqlalchemy import delete, func, select

from ..core.clock import utcnow
from ..core.storage import get_storage
from ..extensions import db
from ..receipts.models import Photo, PhotoHashChunk
from .models import SignLink

# A submit in flight when the link expires still finds its photos.
GRACE = timedelta(minutes=10)


def sweep_orphan_photos(batch: int = 500) -> int:
    """Delete unclaimed photos of dead links, and their files when nothing else uses them."""
    cutoff = utcnow() - GRACE
    orphans = db.session.execute(
        select(Photo).join(SignLink, SignLink.id == Photo.link_id)
        .where(Photo.receipt_id.is_(None), (SignLink.expires_at < cutoff) | SignLink.used_at.isnot(None)
               | SignLink.revoked_at.isnot(None))
        .limit(batch)
    ).scalars().all()
    if not orphans:
        return 0
    ids = [p.id for p in orphans]
    db.session.execute(delete(PhotoHashChunk).where(PhotoHashChunk.photo_id.in_(ids)))
    db.session.execute(delete(Photo).where(Photo.id.in_(ids)))
    db.session.flush()
    storage = get_storage()
    for photo in orphans:
        still_used = db.session.execute(
            select(func.count(Photo.id)).where(Photo.storage_key == photo.storage_key)).scalar_one()
        if not still_used:
            storage.delete(photo.storage_key)
    return len(orphans)
