"""Reading receipts and their evidence files, for staff of the tenant and API keys."""
import functools

from flask import current_app
from sqlalchemy import bindparam, inspect, select, update
from sqlalchemy.orm.attributes import set_committed_value

from ..core.auth import Principal
from ..core.errors import Gone, NotFound
from ..core.storage import get_storage
from ..extensions import db
from ..waybills.models import Waybill
from ..waybills.services import scoped
from .models import Photo, Receipt, ReceiptLine
from .urls import receipt_path, receipt_url

PHOTO_VARIANTS = ("original", "display", "thumb")


_RECEIPTS = Receipt.__table__
_PHOTOS = Photo.__table__
_INSERT_RECEIPT = _RECEIPTS.insert().returning(_RECEIPTS.c.id)
_CLAIM_PHOTOS = (update(_PHOTOS).where(_PHOTOS.c.tenant_id == bindparam("photo_tenant"),
                                        _PHOTOS.c.id.in_(bindparam("photo_ids", expanding=True)))
                 .values(receipt_id=bindparam("claimed_by")))


@functools.lru_cache(maxsize=8)
def _insert_receipt_claiming_pg(columns: tuple[str, ...]):
    """PostgreSQL: the receipt and its photos' claim in one statement, ``WITH new_receipt
    AS (INSERT INTO receipts … RETURNING id), claimed AS (UPDATE photos SET receipt_id =
    (SELECT id FROM new_receipt) WHERE id IN …) SELECT id FROM new_receipt``; ``columns``:
    the receipt's columns that have values (a transient ``Receipt``'s set attributes), as
    parameters ``receipt_<column>``. Not named as the columns: SQLAlchemy would add a
    parameter named as a photos column (``tenant_id``, ``created_at``) to the claim's SET."""
    new = (_RECEIPTS.insert().values({name: bindparam(f"receipt_{name}", type_=_RECEIPTS.c[name].type)
                                      for name in columns})
           .returning(_RECEIPTS.c.id).cte("new_receipt"))
    claimed = (update(_PHOTOS).where(_PHOTOS.c.tenant_id == bindparam("receipt_tenant_id"),
                                     _PHOTOS.c.id.in_(bindparam("photo_ids", expanding=True)))
               .values(receipt_id=select(new.c.id).scalar_subquery()).cte("claimed"))
    return select(new.c.id).add_cte(claimed)


def create_receipt(receipt: Receipt, lines: list[dict], photos: list, fingerprint: bytes | None = None,
                   band_keys: list[int] | None = None) -> Receipt:
    """Write a new receipt with its lines (``waybill_item_id``, ``received_qty``,
    ``damaged_qty``, ``note``), claim its photos (entities or rows with ``id``; only the
    receipt's tenant's are claimed), file its signature fingerprint and enqueue its PDF,
    in the caller's transaction: the PDF job exists exactly when the receipt does. One
    statement per table; on PostgreSQL the receipt and the photos' claim are one statement.

    ``receipt`` is a new, transient ``Receipt`` holding the values: it is written as a row
    (Core statements built once; issue 16: its unit-of-work flush cost more than the
    INSERT), given its ``id`` and returned; it does not join the session. The PDF job is
    ``jobs.enqueue_now``'s, so inside ``jobs.one_insert`` it joins that INSERT."""
    from ..core import jobs
    from ..core.bulk import insert_rows
    from .fingerprints import file_fingerprint
    from .tasks import RENDER_PDF

    db.session.flush()   # what the caller changed first, as the ORM flush had it
    connection = db.session.connection()
    values = {column.key: receipt.__dict__[column.key] for column in _RECEIPTS.columns
              if column.key in receipt.__dict__}
    photo_ids = [p.id for p in photos]
    if photos and connection.dialect.name == "postgresql":
        receipt.id = connection.execute(_insert_receipt_claiming_pg(tuple(values)),
                                        {f"receipt_{k}": v for k, v in values.items()} | {"photo_ids": photo_ids}
                                        ).scalar_one()
    else:
        receipt.id = connection.execute(_INSERT_RECEIPT, values).scalar_one()
        if photos:
            connection.execute(_CLAIM_PHOTOS, {"photo_tenant": receipt.tenant_id, "photo_ids": photo_ids,
                                               "claimed_by": receipt.id})
    insert_rows(ReceiptLine, [dict(line, receipt_id=receipt.id) for line in lines])
    for photo in photos:   # entities in hand say so, as the ORM's bulk UPDATE kept them
        state = inspect(photo, raiseerr=False)
        if state is not None and state.persistent and photo.tenant_id == receipt.tenant_id:
            set_committed_value(photo, "receipt_id", receipt.id)
    if fingerprint:
        file_fingerprint(receipt.tenant_id, receipt.id, fingerprint, band_keys)
    jobs.enqueue_now(RENDER_PDF, {"receipt": receipt.id}, tenant_id=receipt.tenant_id,
                     dedupe_key=f"receipt-pdf:{receipt.id}")
    return receipt


def init_link_waybills(app, query) -> None:
    """``query``: callable(link id) -> a select of the ids of the waybills the link is for.
    Which waybills a receipt covers is its link's to say, and the link table is signing's
    (signing uses receipts, never the other way): ``create_app`` registers signing's query."""
    app.extensions["link_waybill_ids"] = query


def link_waybill_ids(link_id: int):
    """The ids of the waybills of a receipt's link, as a subquery (see ``init_link_waybills``)."""
    return current_app.extensions["link_waybill_ids"](link_id)


def receipt_of_link(link) -> Receipt | None:
    return db.session.execute(select(Receipt).where(Receipt.link_id == link.id)).scalar_one_or_none()


def get_receipt(principal: Principal, public_id: str) -> Receipt:
    """A receipt the caller may see: same tenant and at least one of its waybills in reach."""
    receipt = db.session.execute(
        select(Receipt).where(Receipt.public_id == public_id, Receipt.tenant_id == principal.tenant_id)
    ).scalar_one_or_none()
    if receipt is None:
        raise NotFound(f"No receipt {public_id!r}.")
    visible = db.session.execute(
        scoped(principal, select(Waybill.id)).where(Waybill.id.in_(link_waybill_ids(receipt.link_id))).limit(1)
    ).first()
    if visible is None:
        raise NotFound(f"No receipt {public_id!r}.")
    return receipt


def linked_receipt(public_id: str) -> Receipt:
    """The receipt a signed link names: the link's HMAC (core.signed_urls) binds it to this
    receipt, so no principal is needed; a receipt gone since is a 404."""
    receipt = db.session.execute(select(Receipt).where(Receipt.public_id == public_id)).scalar_one_or_none()
    if receipt is None:
        raise NotFound(f"No receipt {public_id!r}.")
    return receipt


def link_paths(receipt: Receipt, photos: list[Photo] | None = None) -> dict:
    """The paths of a receipt's files, to be signed (core.signed_urls.sign_links) into links
    that work without a bearer: the PDF, the signature image and each photo's thumbnail.
    ``photos``: the receipt's photos when the caller has just claimed them (``create_receipt``),
    so they are not read back."""
    path = functools.partial(receipt_path, receipt.public_id)
    if photos is not None:
        photos = [(p.public_id, p.kind) for p in sorted(photos, key=lambda p: p.id)]
    else:
        photos = db.session.execute(select(Photo.public_id, Photo.kind).where(Photo.receipt_id == receipt.id)
                                    .order_by(Photo.id)).all()
    return {"pdf": path("pdf"), "signature_png": path("signature.png"), "signature_svg": path("signature.svg"),
            "photos": [{"photo_id": pid, "kind": kind, "thumb": path("photos", pid) + "?variant=thumb",
                        "display": path("photos", pid) + "?variant=display"} for pid, kind in photos]}


def courier_copy(evidence: dict) -> dict:
    """The evidence as a courier's app may hold it (issue 19.5): no photo GPS, no IP."""
    import copy

    evidence = copy.deepcopy(evidence)
    for photo in evidence.get("photos") or []:
        if isinstance(photo.get("exif"), dict):
            photo["exif"] = {**photo["exif"], "gps": None}
        if isinstance(photo.get("declared_by_client"), dict):
            photo["declared_by_client"] = {**photo["declared_by_client"], "gps": None}
    if isinstance(evidence.get("client"), dict):
        evidence["client"]["ip"] = None
    evidence["redacted_for"] = "courier"
    return evidence


def evidence_view(receipt: Receipt, base_url: str, role: str | None = None) -> dict:
    return {
        "receipt_id": receipt.public_id,
        "evidence": courier_copy(receipt.evidence) if role == "courier" else receipt.evidence,
        "evidence_hash": receipt.evidence_hash,
        "audit_seq": receipt.audit_seq,
        "created_at": receipt.created_at,
        "pdf": {"ready": receipt.pdf_key is not None, "url": receipt_url(receipt.public_id, "pdf", base_url=base_url),
                "sha256": receipt.pdf_sha256},
    }


def signature_of(receipt: Receipt):
    from ..evidence.strokes import parse_signature

    if receipt.outcome == "dropped":
        raise NotFound("This receipt is a consented drop; nobody signed.")
    signature = receipt.evidence.get("signature") or {}   # none at all once the receipt expired
    if signature.get("strokes") is None:
        raise Gone("The raw strokes of this receipt were purged at the end of their retention; the evidence "
                   "keeps their SHA-256 and the receipt PDF keeps the signature image.", slug="evidence-purged")
    return parse_signature({"strokes": signature["strokes"], "canvas": signature["canvas"]})


def photo_bytes(receipt: Receipt, photo_public_id: str, variant: str) -> tuple[bytes, str]:
    """A receipt's photo: the original bytes, or a derivative made on first view and kept."""
    photo = db.session.execute(
        select(Photo).where(Photo.public_id == photo_public_id, Photo.receipt_id == receipt.id)
    ).scalar_one_or_none()
    if photo is None:
        raise NotFound(f"No photo {photo_public_id!r} on this receipt.")
    if receipt.expired_at is not None:
        raise Gone("This receipt's retention has ended: its photos were deleted; the evidence keeps their SHA-256.",
                   slug="evidence-purged")
    if variant == "original" and photo.original_purged_at is not None:
        raise Gone("This photo's original was purged at the end of its retention; variant=display and "
                   "variant=thumb (no EXIF) remain, and the evidence keeps the original's SHA-256.",
                   slug="evidence-purged")
    return stored_photo(photo.tenant_id, photo.sha256, photo.storage_key, photo.mime, variant)


def derivative_key(tenant_id: int, sha256: str, variant: str) -> str:
    """Where a photo's ``display`` or ``thumb`` copy is kept: content-addressed like the
    original, so photos with the same bytes share their copies."""
    return f"derivatives/{tenant_id}/{sha256}-{variant}.jpg"


def stored_photo(tenant_id: int, sha256: str, storage_key: str, mime: str, variant: str) -> tuple[bytes, str]:
    """The storage half of ``photo_bytes``: no database, so the PDF job calls it with no
    transaction open. The thumbnail is stored at upload (signing/recipient.py), so the PDF
    only reads bytes; a display copy, and the thumbnail of a photo uploaded before that,
    are made here on first use (decoding the original) and kept."""
    from ..evidence.photos import make_derivative

    storage = get_storage()
    if variant == "original":
        return storage.get(storage_key), mime
    key = derivative_key(tenant_id, sha256, variant)
    if storage.exists(key):
        return storage.get(key), "image/jpeg"
    data = make_derivative(storage.get(storage_key), variant)
    storage.put(key, data, "image/jpeg")
    return data, "image/jpeg"
