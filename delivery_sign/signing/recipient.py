"""The recipient's side: view the delivery, prove the phone, upload photos.

No account: the sign link's token is the credential. The sign-off itself is in ``submit``.
The courier's photos at the door (issue 12) go through the same ``upload_photo``, with the
courier's principal instead of the token alone.
"""
import functools
import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy import BigInteger, bindparam, func, select, text

from ..accounts.models import Tenant
from ..core import audit
from ..core.bulk import insert_rows
from ..core.clock import utcnow
from ..core.errors import Conflict, Problem, ValidationFailed, field_error
from ..core.keysets import in_many
from ..core.masking import mask_name, mask_phone
from ..core.sms import OTP_TEMPLATE, SmsError, send_sms
from ..core.storage import get_storage
from ..core.transactions import reading
from ..extensions import db
from ..privacy.services import sign_view_privacy
from ..receipts.models import Photo, PhotoHashChunk
from ..waybills.schemas import number_out
from .links import link_for_staff, usable_link
from .models import OtpCode

OTP_TTL_S = 300            # SPEC: a code lives 5 minutes
OTP_RESEND_S = 60          # SPEC: ≤ 1 per 60 s per link
OTP_PER_HOUR = 5           # SPEC: ≤ 5 per hour per link
OTP_MAX_FAILURES = 5       # SPEC: 5 wrong codes lock the link
# Retakes are normal; 3× the most a policy can ask leaves room and stops a flood.
MAX_UPLOADS_PER_LINK = 27
PHOTO_KINDS = ("goods", "scene", "id", "other")
# Photo findings that ask for a retake on the spot (and block submit under photo_quality: block).
RETAKE_ANOMALIES = ("blurry_photo", "dark_photo", "duplicate_photo")
# Links made before issue 12 carry policies without these keys: they mean today's behaviour.
LEGACY_POLICY = {"photos_by": "recipient", "photo_upload": "original", "photo_quality": "warn"}


def policy_of(link) -> dict:
    return {**LEGACY_POLICY, **link.policy}


def name_needed_for_self(policy: dict) -> bool:
    """Whether the signer must type a name even as the consignee: only ``basic``
    handwriting leaves the name out of the stroke checks, so only then is the consignee's
    name on the waybill a safe default."""
    return policy.get("handwriting", "basic") != "basic"


def courier_photos(link) -> list[Photo]:
    return db.session.execute(
        select(Photo).where(Photo.link_id == link.id, Photo.taken_by == "courier", Photo.removed_at.is_(None))
        .order_by(Photo.id)).scalars().all()


def photo_policy(link) -> dict:
    """The photo rules of a link and how many courier photos it has (the courier's screen)."""
    policy = policy_of(link)
    return {key: policy[key] for key in ("photos_by", "photos_min", "photos_max", "photo_upload", "photo_quality")} | {
        "courier_photos": len(courier_photos(link))}


def signature_limits() -> dict:
    from ..evidence import strokes

    return {"min_points": strokes.MIN_POINTS, "dot_max_px": strokes.DOT_MAX_EXTENT_PX,
            "line_max_thickness": strokes.LINE_MAX_THICKNESS_RATIO, "small_box_fraction": strokes.SMALL_BOX_FRACTION,
            "small_ink_fraction": strokes.SMALL_INK_FRACTION, "min_ms_per_character": strokes.MIN_MS_PER_CHARACTER,
            "min_total_ms": strokes.MIN_TOTAL_MS, "max_points": strokes.MAX_POINTS}


class TooManyRequests(Problem):
    status, slug, title = 429, "too-many-requests", "Too many requests"


def view(token: str) -> dict:
    link = usable_link(token)
    if link.opened_at is None:
        link.opened_at = utcnow()
        audit.record(link.tenant_id, "link.opened", "recipient", f"link:{link.id}", {})
    tenant = db.session.get(Tenant, link.tenant_id)
    return {
        "waybills": [{
            "number": w.number,
            "items": [{"line": i.line_no, "sku": i.sku, "name": i.name, "qty": number_out(i.qty), "unit": i.unit}
                      for i in w.items],
            "consignee": {"name_masked": mask_name(w.consignee_name), "phone_masked": mask_phone(w.consignee_phone),
                          "address": w.consignee_address},
        } for w in link.waybills],
        "policy": policy_of(link),
        "expires_at": link.expires_at,
        "tenant": {"name": tenant.name},
        "doc_type": {"name": link.waybills[0].doc_type.name},
        "otp_verified": link.otp_verified_at is not None,
        "courier_photos": len(courier_photos(link)),
        "name_needed_for_self": name_needed_for_self(policy_of(link)),
        "signature_limits": signature_limits(),
        "assisted": link.assisted,
        "privacy": sign_view_privacy(link.tenant_id, policy_of(link)),
    }


def _otp_hash(link_id: int, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{link_id}:{code}".encode(), hashlib.sha256).hexdigest()


# Issue 14: a phone the receiver names on an assisted link gets at most this many codes
# an hour, whatever link asks, so the page cannot be used to flood someone's phone.
OTP_PER_PHONE = "5 per hour"


def send_otp(token: str, phone: str | None = None) -> dict:
    from ..core.ratelimit import spend, within

    link = usable_link(token, for_update=True)
    if link.policy.get("otp") != "required":
        raise Conflict("This delivery does not ask for a verification code.", slug="otp-not-required")
    if phone and not link.assisted:
        raise ValidationFailed([field_error("phone", "phone_not_allowed",
                                            "The code goes to the consignee's phone for this delivery.")])
    to = phone or link.consignee_phone
    phone_budget = hmac.new(current_app.config["SECRET_KEY"].encode(), f"otp-phone:{link.tenant_id}:{to}".encode(),
                            hashlib.sha256).hexdigest()
    now = utcnow()
    last = db.session.execute(
        select(func.max(OtpCode.created_at)).where(OtpCode.link_id == link.id)).scalar()
    if last is not None and (now - last).total_seconds() < OTP_RESEND_S:
        wait = OTP_RESEND_S - int((now - last).total_seconds())
        raise TooManyRequests(f"A code was sent moments ago; try again in {wait} s.",
                              headers={"Retry-After": str(max(wait, 1))})
    sent_last_hour = db.session.execute(
        select(func.count(OtpCode.id)).where(OtpCode.link_id == link.id,
                                             OtpCode.created_at > now - timedelta(hours=1))).scalar_one()
    if sent_last_hour >= OTP_PER_HOUR:
        raise TooManyRequests("Too many codes for this delivery in the last hour.", headers={"Retry-After": "3600"})
    if not within(OTP_PER_PHONE, "otp-phone", phone_budget):
        raise TooManyRequests("Too many codes to this phone in the last hour.", headers={"Retry-After": "3600"})
    code = f"{secrets.randbelow(10 ** 6):06d}"
    to_consignee = to == link.consignee_phone
    db.session.add(OtpCode(link_id=link.id, code_hash=_otp_hash(link.id, code), created_at=now,
                           expires_at=now + timedelta(seconds=OTP_TTL_S), sent_to=mask_phone(to),
                           to_consignee=to_consignee))
    tenant = db.session.get(Tenant, link.tenant_id)
    try:
        send_sms(link.tenant_id, to, OTP_TEMPLATE.format(tenant=tenant.name, code=code))
    except SmsError as exc:
        raise Problem(f"The code could not be sent: {exc}", status=503, slug="sms-unavailable",
                      title="SMS unavailable", headers={"Retry-After": "30"}) from None
    spend(OTP_PER_PHONE, "otp-phone", phone_budget)
    audit.record(link.tenant_id, "otp.sent", "recipient", f"link:{link.id}",
                 {"to": mask_phone(to), "whose": "consignee" if to_consignee else "receiver"})
    return {"sent_to": mask_phone(to), "expires_in": OTP_TTL_S, "resend_after": OTP_RESEND_S}


def verify_otp(token: str, code: str) -> bool:
    """True when ``code`` is the live code. A wrong code counts towards the lock; the
    caller commits that count even though it answers 400."""
    link = usable_link(token, for_update=True)
    now = utcnow()
    live = db.session.execute(
        select(OtpCode).where(OtpCode.link_id == link.id, OtpCode.used_at.is_(None), OtpCode.expires_at > now)
        .order_by(OtpCode.id.desc()).limit(1)
    ).scalar_one_or_none()
    if live is not None and hmac.compare_digest(live.code_hash, _otp_hash(link.id, code)):
        live.used_at = link.otp_verified_at = now
        link.otp_verified_to = live.sent_to
        link.otp_verified_whose = None if live.to_consignee is None else (
            "consignee" if live.to_consignee else "receiver")
        audit.record(link.tenant_id, "otp.verified", "recipient", f"link:{link.id}",
                     {"to": live.sent_to, "whose": link.otp_verified_whose})
        return True
    link.otp_failures += 1
    if link.otp_failures >= OTP_MAX_FAILURES:
        link.locked_at = now
    audit.record(link.tenant_id, "otp.failed", "recipient", f"link:{link.id}",
                 {"failures": link.otp_failures, "locked": link.locked_at is not None})
    return False


def _signed64(h: int) -> int:
    return h - (1 << 64) if h >= 1 << 63 else h


def parse_client_exif(text: str | None) -> dict | None:
    """The ``client_exif`` form field (JSON) checked against its schema, or None."""
    import json

    from marshmallow import ValidationError

    from ..core.errors import flatten_messages
    from .schemas import ClientExifSchema

    if text is None or text == "":
        return None
    if len(text) > 4096:
        raise ValidationFailed([field_error("client_exif", "length", "At most 4096 characters.")])
    try:
        data = json.loads(text)
    except ValueError:
        raise ValidationFailed([field_error("client_exif", "invalid", "Send a JSON object.")]) from None
    if not isinstance(data, dict):
        raise ValidationFailed([field_error("client_exif", "invalid", "Send a JSON object.")])
    try:
        return ClientExifSchema().load(data)
    except ValidationError as exc:
        raise ValidationFailed(flatten_messages(exc.messages, "client_exif")) from None


def upload_photo(token: str, upload, kind: str, *, principal=None, client_exif: dict | None = None) -> Photo:
    """Store one photo for a usable link: the recipient's (token only) or, with
    ``principal``, the courier's or a dispatcher's in reach (taken_by ``courier``)."""
    from ..evidence.photo_hash import stored_chunks
    from ..evidence.photos import MAX_PHOTO_BYTES, PhotoInvalid, inspect_photo
    from ..receipts.services import derivative_key

    with reading():
        if principal is not None:
            link_for_staff(principal, token)   # 404 outside the caller's reach, before anything else
        tenant_id = usable_link(token).tenant_id
    if kind not in PHOTO_KINDS:
        raise ValidationFailed([field_error("kind", "one_of", f"Use one of {', '.join(PHOTO_KINDS)}.")])
    if upload is None:
        raise ValidationFailed([field_error("file", "required", "Send the photo in the multipart field 'file'.")])
    # Decoding and storing happen before the write transaction: SQLite's one write lock is
    # never held while a 12-MP photo is being measured or written to disk. The one decode
    # also makes the thumbnail the receipt PDF shows, stored beside the original.
    data = upload.stream.read(MAX_PHOTO_BYTES + 1)
    try:
        report = inspect_photo(data, thumbnail=True)
    except PhotoInvalid as exc:
        raise ValidationFailed([field_error("file", "photo_invalid", exc.message)]) from None
    key = f"photos/{tenant_id}/{report.sha256}"
    storage = get_storage()
    if not storage.exists(key):
        # Content-addressed; an upload that never reaches a receipt is removed by the sweep.
        storage.put(key, data, report.mime)
    thumb_key = derivative_key(tenant_id, report.sha256, "thumb")
    if not storage.exists(thumb_key):
        storage.put(thumb_key, report.thumbnail, "image/jpeg")

    link = usable_link(token, for_update=True)
    uploaded = db.session.execute(select(func.count(Photo.id)).where(Photo.link_id == link.id)).scalar_one()
    if uploaded >= MAX_UPLOADS_PER_LINK:
        raise ValidationFailed([field_error("file", "too_many_photos",
                                            f"At most {MAX_UPLOADS_PER_LINK} uploads per sign link.")])
    anomalies = list(report.anomalies)
    duplicate_of = _near_photo(link, report.phash)
    if duplicate_of is not None:
        anomalies.append("duplicate_photo")
    taken_by = "recipient" if principal is None else "courier"
    photo = Photo(
        public_id=uuid.uuid4().hex, tenant_id=link.tenant_id, link_id=link.id, kind=kind, sha256=report.sha256,
        storage_key=key, mime=report.mime, size=len(data), width=report.width, height=report.height,
        exif=report.exif, checks=dict(report.checks, duplicate_of=duplicate_of), anomalies=anomalies,
        phash=_signed64(report.phash), taken_by=taken_by,
        taken_by_user=_username(principal), client_exif=client_exif,
        created_at=utcnow(),
    )
    db.session.add(photo)
    db.session.flush()
    insert_rows(PhotoHashChunk, [{"tenant_id": link.tenant_id, "chunk": chunk, "photo_id": photo.id}
                                 for chunk in stored_chunks(report.phash)])
    audit.record(link.tenant_id, "photo.uploaded", "recipient" if principal is None else principal.actor,
                 f"link:{link.id}", {"photo_id": photo.public_id, "sha256": report.sha256, "kind": kind,
                                     "size": len(data), "taken_by": taken_by})
    return photo


def _username(principal) -> str | None:
    if principal is None:
        return None
    from ..accounts.models import User

    user = db.session.get(User, principal.user_id) if principal.user_id else None
    return user.username if user is not None else principal.actor


def remove_courier_photo(principal, token: str, photo_id: str) -> None:
    """A courier's retake: the earlier photo no longer counts and never reaches the receipt."""
    from ..core.errors import NotFound

    link_for_staff(principal, token)
    link = usable_link(token, for_update=True)
    photo = db.session.execute(
        select(Photo).where(Photo.link_id == link.id, Photo.public_id == photo_id, Photo.taken_by == "courier",
                            Photo.removed_at.is_(None))).scalar_one_or_none()
    if photo is None:
        raise NotFound("No such courier photo on this sign link.")
    photo.removed_at = utcnow()
    audit.record(link.tenant_id, "photo.removed", principal.actor, f"link:{link.id}", {"photo_id": photo_id})


def photo_out(photo: Photo) -> dict:
    from .models import SignLink

    policy = policy_of(db.session.get(SignLink, photo.link_id))
    retake = any(code in RETAKE_ANOMALIES for code in photo.anomalies)
    return {"photo_id": photo.public_id, "width": photo.width, "height": photo.height, "sha256": photo.sha256,
            "checks": dict(photo.checks, anomalies=photo.anomalies), "taken_by": photo.taken_by,
            "taken_at": photo.created_at, "retake": retake,
            "blocks_submit": retake and policy.get("photo_quality") == "block"}


def _near_photo(link, phash):
    """The public id of a photo of another sign-off within the duplicate distance, if any
    (the nearest; of equally near ones the first stored)."""
    from ..evidence.photo_hash import DUPLICATE_MAX_DISTANCE, hamming, probe_chunks

    # One query, led by the (tenant_id, chunk, photo_id) index: the chunk rows the probe
    # keys hit (1,108 at distance 12, see chunk_radii), then their photos by primary key.
    if db.session.connection().dialect.name == "postgresql":
        probed = _probed_chunks_pg().bindparams(probe_hash=_signed64(phash))
    else:
        probed = in_many(db.session, PhotoHashChunk.chunk, probe_chunks(phash))
    candidates = db.session.execute(
        select(Photo.id, Photo.public_id, Photo.phash).join(PhotoHashChunk, PhotoHashChunk.photo_id == Photo.id)
        .where(PhotoHashChunk.tenant_id == link.tenant_id, probed,
               Photo.link_id != link.id, Photo.receipt_id.isnot(None))
    ).all()
    near = [(distance, photo_id, public_id) for photo_id, public_id, stored in candidates
            if (distance := hamming(phash, stored & ((1 << 64) - 1))) <= DUPLICATE_MAX_DISTANCE]
    return min(near)[2] if near else None


@functools.cache
def _probed_chunks_pg():
    """``photo_hash_chunks.chunk = ANY(keys)`` with the keys made by the server from the one
    bound hash and the flip masks written into the statement (one prepared statement): not
    1,108 numbers to encode and send per upload. ``ARRAY(SELECT …)`` keeps it an index
    condition, probed key by key, whatever the size of the tenant's range."""
    from ..evidence.photo_hash import CHUNK_BITS, probe_masks

    nos, masks = probe_masks()
    return text(
        f"photo_hash_chunks.chunk = ANY(ARRAY(SELECT (k.no::bigint << {CHUNK_BITS}) "
        f"| (((:probe_hash >> ({CHUNK_BITS} * k.no)) & {(1 << CHUNK_BITS) - 1}) # k.mask) "
        f"FROM unnest('{{{','.join(map(str, nos.tolist()))}}}'::int[], "
        f"'{{{','.join(map(str, masks.tolist()))}}}'::bigint[]) AS k(no, mask)))"
    ).bindparams(bindparam("probe_hash", type_=BigInteger))
