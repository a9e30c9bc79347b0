"""Photo's one owner: the rows of uploaded photos, their hash chunks and their files are
made and removed here, and nowhere else.

A photo is taken for a link: a recipient's or a courier's on a sign link (signing.recipient),
a courier's of a drop point on a drop's link (consent.drops). The caller checks who may
upload, decodes the bytes (evidence.photos.inspect_photo) and holds the link's row lock;
``store_files`` and ``create_photo`` do the rest the same way for all of them. The orphan
sweep (signing.sweep) picks the photos no receipt claimed and hands them to ``delete_photos``.
"""
import functools
import json
import uuid

from sqlalchemy import (BigInteger, bindparam, cast, column, delete, func, insert, literal_column, select, text,
                        union_all)
from sqlalchemy.dialects.postgresql import BIT

from ..core import audit
from ..core.clock import utcnow
from ..core.storage import get_storage
from ..extensions import db
from .models import Photo, PhotoHashChunk
from .services import derivative_key


def store_files(tenant_id: int, data: bytes, report) -> str:
    """Write the original (and the thumbnail the one decode made, if it did) under their
    SHA-256; return the original's storage key. Called before the write transaction, so
    SQLite's one write lock is never held while a 12-MP photo goes to disk."""
    key = f"photos/{tenant_id}/{report.sha256}"
    storage = get_storage()
    if not storage.exists(key):
        # Content-addressed; an upload that never reaches a receipt is removed by the sweep.
        storage.put(key, data, report.mime)
    if report.thumbnail is not None:
        thumb_key = derivative_key(tenant_id, report.sha256, "thumb")
        if not storage.exists(thumb_key):
            storage.put(thumb_key, report.thumbnail, "image/jpeg")
    return key


def uploads_of(link) -> int:
    """How many photos were uploaded for the link, withdrawn ones included."""
    return db.session.execute(select(func.count(Photo.id)).where(Photo.link_id == link.id)).scalar_one()


def create_photo(link, report, *, key: str, size: int, kind: str, taken_by: str, event: tuple[str, str, dict],
                 principal=None, client_exif: dict | None = None, now=None) -> Photo:
    """The photo's row and its hash chunks, with the near-duplicate check against the
    tenant's other sign-offs (``duplicate_photo``), and its ``photo.uploaded`` audit event.
    ``principal``: the courier or staff member who took it, None for the recipient.
    ``link``: the entity or a row with its ``id`` and ``tenant_id``. ``event``: the event's
    actor, subject and data beyond the photo's own id, SHA-256, kind and size.

    Written as Core statements, not through the unit of work (issue 16): on PostgreSQL the
    photo, its four chunk rows and the event are one statement (``audit.record_with``), on
    SQLite three (the photo, then the chunks as one multi-row INSERT, then the event). The
    returned ``Photo`` carries the row's values and its id but is not in the session."""
    anomalies = list(report.anomalies)
    duplicate_of = near_photo(link, report.phash)
    if duplicate_of is not None:
        anomalies.append("duplicate_photo")
    phash = signed64(report.phash)
    values = {
        "public_id": uuid.uuid4().hex, "tenant_id": link.tenant_id, "link_id": link.id, "kind": kind,
        "sha256": report.sha256, "storage_key": key, "mime": report.mime, "size": size, "width": report.width,
        "height": report.height, "exif": report.exif, "checks": dict(report.checks, duplicate_of=duplicate_of),
        "anomalies": anomalies, "phash": phash, "taken_by": taken_by, "taken_by_user": username_of(principal),
        "client_exif": client_exif, "created_at": now or utcnow(),
    }
    actor, subject, data = event
    uploaded = [("photo.uploaded", actor, subject,
                 {"photo_id": values["public_id"], "sha256": report.sha256, "kind": kind, "size": size, **data})]
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        photo_id, _ = audit.record_with(_insert_photo_and_chunks_pg(), {f"photo_{k}": v for k, v in values.items()},
                                        link.tenant_id, uploaded)
    else:
        from ..evidence.photo_hash import stored_chunks

        photo_id = connection.execute(_INSERT_PHOTO, values).scalar_one()
        chunks = {"tenant_id": link.tenant_id, "photo_id": photo_id, "phash": phash, "created_at": values["created_at"]}
        chunks.update({f"chunk_{no}": chunk for no, chunk in enumerate(stored_chunks(report.phash))})
        connection.execute(_insert_chunks(), chunks)
        audit.record_many(link.tenant_id, uploaded)
    return Photo(id=photo_id, receipt_id=None, removed_at=None, original_purged_at=None, **values)


_PHOTOS, _CHUNKS = Photo.__table__, PhotoHashChunk.__table__
_PHOTO_COLUMNS = ("public_id", "tenant_id", "link_id", "kind", "sha256", "storage_key", "mime", "size", "width",
                  "height", "exif", "checks", "anomalies", "phash", "taken_by", "taken_by_user", "client_exif",
                  "created_at")


def _insert_photo(prefix: str = ""):
    """The photo's INSERT, its values bound as ``<prefix><column>``."""
    return insert(_PHOTOS).values({c: bindparam(f"{prefix}{c}", type_=_PHOTOS.c[c].type) for c in _PHOTO_COLUMNS})


# Built once, values bound per call: building and keying a statement cost more than running it.
_INSERT_PHOTO = _insert_photo().returning(_PHOTOS.c.id)


@functools.cache
def _insert_chunks():
    """The photo's ``CHUNK_COUNT`` chunk rows in one INSERT (SQLite): ``INSERT … SELECT ?,
    ?, … UNION ALL SELECT …``. Not a multi-row ``VALUES``: SQLAlchemy has no cache key for
    that and compiled it again on every upload (0.24 ms; this one runs in 0.03)."""
    from ..evidence.photo_hash import CHUNK_COUNT

    names = ("tenant_id", "chunk", "photo_id", "phash", "created_at")
    rows = [select(*(bindparam(f"chunk_{no}" if name == "chunk" else name, type_=_CHUNKS.c[name].type)
                     for name in names)) for no in range(CHUNK_COUNT)]
    return insert(_CHUNKS).from_select(names, union_all(*rows))


@functools.cache
def _insert_photo_and_chunks_pg():
    """PostgreSQL: ``WITH new AS (INSERT INTO photos … RETURNING …) INSERT INTO
    photo_hash_chunks SELECT …``, the chunk keys (``stored_chunks``: chunk number in the
    high bits, the hash's 16 bits of that chunk in the low ones) computed by the server
    from the stored hash, so the statement is the same for every photo. The values are
    ``photo_<column>``: the statement goes inside the audit append (``audit.record_with``),
    whose head UPDATE would take a parameter named ``tenant_id`` as a column to set."""
    from ..evidence.photo_hash import CHUNK_BITS, CHUNK_COUNT

    new = (_insert_photo("photo_").returning(_PHOTOS.c.id, _PHOTOS.c.tenant_id, _PHOTOS.c.phash, _PHOTOS.c.created_at)
           .cte("new_photo"))
    no = func.generate_series(0, CHUNK_COUNT - 1).table_valued("value").render_derived(name="chunk_no")
    chunk = literal_column(f"(chunk_no.value::bigint << {CHUNK_BITS}) | ((new_photo.phash >> ({CHUNK_BITS} * "
                           f"chunk_no.value)) & {(1 << CHUNK_BITS) - 1})", BigInteger)
    return (insert(_CHUNKS)
            .from_select(["tenant_id", "chunk", "photo_id", "phash", "created_at"],
                         select(new.c.tenant_id, chunk, new.c.id, new.c.phash, new.c.created_at)
                         .select_from(new).join(no, text("true")))
            .returning(_CHUNKS.c.photo_id))


def signed64(h: int) -> int:
    """The 64-bit hash as the signed integer a BIGINT column holds."""
    return h - (1 << 64) if h >= 1 << 63 else h


def username_of(principal) -> str | None:
    """Who took a photo, as the username was then (no foreign key, like the audit chain)."""
    if principal is None:
        return None
    from ..accounts.models import User

    user = db.session.get(User, principal.user_id) if principal.user_id else None
    return user.username if user is not None else principal.actor


def near_photo(link, phash):
    """The public id of a photo of another sign-off within the duplicate distance, if any
    (the nearest; of equally near ones the first stored)."""
    from ..evidence.photo_hash import DUPLICATE_MAX_DISTANCE, hamming, probe_chunks

    # Led by the (tenant_id, chunk) index: the chunk rows the probe keys hit (1,108 at
    # distance 12, see chunk_radii), each with its photo's whole hash, so the distance is
    # measured there and only a real match reads its photo by primary key.
    if db.session.connection().dialect.name == "postgresql":
        found = db.session.execute(_probe_pg(), {"probe_hash": signed64(phash), "tenant_id": link.tenant_id,
                                                 "link_id": link.id}).first()
        return found.public_id if found is not None else None
    hits = db.session.connection().execute(_PROBE_SQLITE, {"tenant_id": link.tenant_id,
                                                          "keys": json.dumps(probe_chunks(phash))}).all()
    near = {photo_id: distance for photo_id, stored in hits
            if (distance := hamming(phash, stored & ((1 << 64) - 1))) <= DUPLICATE_MAX_DISTANCE}
    if not near:
        return None
    photos = db.session.execute(
        select(Photo.id, Photo.public_id)
        .where(Photo.id.in_(near), Photo.tenant_id == link.tenant_id, Photo.link_id != link.id,
               Photo.receipt_id.isnot(None))
    ).all()
    return min(((near[photo_id], photo_id, public_id) for photo_id, public_id in photos), default=(None,) * 3)[2]


# SQLite: the chunk rows of the 1,108 probe keys, sent as one JSON array (json_each), the
# statement built once with its values bound per upload.
_PROBE_SQLITE = (select(PhotoHashChunk.photo_id, PhotoHashChunk.phash)
                 .where(PhotoHashChunk.tenant_id == bindparam("tenant_id"),
                        PhotoHashChunk.chunk.in_(select(column("value")).select_from(
                            func.json_each(bindparam("keys"))).scalar_subquery())))


@functools.cache
def _probe_pg():
    """The probe as one prepared statement of three bound values (the hash, the tenant, the
    link), read from the one partition of ``photo_hash_chunks`` the tenant's rows are in
    (core/partitions.py: by tenant, so every photo of the tenant, however old, is one
    index away). The keys: ``photo_hash_chunks.chunk = ANY(keys)`` made by the server from the one
    bound hash and the flip masks written into the statement, not 1,108 numbers to encode
    and send per upload; ``ARRAY(SELECT …)`` keeps it an index condition, probed key by key,
    whatever the size of the tenant's range. The distance: ``bit_count`` of the XOR as
    ``bit(64)`` (PostgreSQL 14+), on the index's included ``phash``."""
    from ..evidence.photo_hash import CHUNK_BITS, DUPLICATE_MAX_DISTANCE, probe_masks

    nos, masks = probe_masks()
    probe_hash = bindparam("probe_hash", type_=BigInteger)
    keys = text(
        f"photo_hash_chunks.chunk = ANY(ARRAY(SELECT (k.no::bigint << {CHUNK_BITS}) "
        f"| (((:probe_hash >> ({CHUNK_BITS} * k.no)) & {(1 << CHUNK_BITS) - 1}) # k.mask) "
        f"FROM unnest('{{{','.join(map(str, nos.tolist()))}}}'::int[], "
        f"'{{{','.join(map(str, masks.tolist()))}}}'::bigint[]) AS k(no, mask)))"
    ).bindparams(probe_hash)
    distance = func.bit_count(cast(PhotoHashChunk.phash.op("#")(probe_hash), BIT(64)))
    return (
        select(Photo.public_id)
        .select_from(PhotoHashChunk).join(Photo, Photo.id == PhotoHashChunk.photo_id)
        .where(PhotoHashChunk.tenant_id == bindparam("tenant_id"), keys, distance <= DUPLICATE_MAX_DISTANCE,
               Photo.link_id != bindparam("link_id"), Photo.receipt_id.isnot(None))
        .order_by(distance, Photo.id)
        .limit(1)
    )


def delete_photos(photos: list[Photo]) -> list[str]:
    """Delete the rows (flushed, not committed); return the storage keys nothing else uses,
    for ``delete_files`` once the deletion has committed."""
    if not photos:
        return []
    ids = [p.id for p in photos]
    keys = {p.storage_key: derivative_key(p.tenant_id, p.sha256, "thumb") for p in photos}
    delete_chunks(photos)
    db.session.execute(delete(Photo).where(Photo.id.in_(ids)))
    db.session.flush()
    # A file is content-addressed: a photo with the same key has the same SHA-256, so the
    # sha256 index finds the others (nothing indexes storage_key: a read of every photo).
    still_used = set(db.session.execute(select(Photo.storage_key).where(
        Photo.sha256.in_(sorted({p.sha256 for p in photos})), Photo.storage_key.in_(keys))).scalars())
    # The thumbnail made at upload goes with its original.
    return sorted(k for key, thumb in keys.items() if key not in still_used for k in (key, thumb))


def delete_chunks(photos) -> None:
    """The photos' hash chunk rows, found by their keys on the lookup index (tenant, chunk
    key) as the probe finds them: nothing indexes ``photo_id``, which on a large table
    would be a read of all of it (models.PhotoHashChunk). One statement per tenant."""
    from ..evidence.photo_hash import stored_chunks

    by_tenant = {}
    for photo in photos:
        ids, chunks = by_tenant.setdefault(photo.tenant_id, (set(), set()))
        ids.add(photo.id)
        chunks.update(stored_chunks(photo.phash & ((1 << 64) - 1)))
    for tenant_id, (ids, chunks) in by_tenant.items():
        db.session.execute(delete(PhotoHashChunk).where(
            PhotoHashChunk.tenant_id == tenant_id, PhotoHashChunk.chunk.in_(sorted(chunks)),
            PhotoHashChunk.photo_id.in_(sorted(ids))))


def delete_files(keys: list[str]) -> None:
    storage = get_storage()
    for key in keys:
        storage.delete(key)
