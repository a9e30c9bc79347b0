"""The recipient's side: view the delivery, prove the phone, upload photos.

No account: the sign link's token is the credential. The sign-off itself is in ``submit``.
The courier's photos at the door (issue 12) go through the same ``upload_photo``, with the
courier's principal instead of the token alone.
"""
import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, func, select, update

from ..accounts.models import DocType, Tenant
from ..core import audit
from ..core.clock import utcnow
from ..core.errors import Conflict, Problem, TooManyRequests, ValidationFailed, field_error
from ..core.masking import mask_name, mask_phone
from ..core.sms import OTP_TEMPLATE, SmsError, send_sms
from ..core.transactions import reading
from ..extensions import db
from ..privacy.services import current_notice_columns, notice_of, sign_view_privacy
from ..receipts.photos import create_photo, store_files
from ..receipts.models import Photo
from ..waybills.models import Waybill, WaybillItem
from ..waybills.schemas import number_out
from .links import link_for_staff, link_row, refuse, row_state, usable_link, usable_link_row
from .models import OtpCode, SignLink, SignLinkWaybill

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


_COURIER_PHOTO_COUNT = select(func.count(Photo.id)).where(
    Photo.link_id == bindparam("link_id"), Photo.taken_by == "courier", Photo.removed_at.is_(None))


def courier_photo_count(link) -> int:
    return db.session.execute(_COURIER_PHOTO_COUNT, {"link_id": link.id}).scalar_one()


def photo_policy(link) -> dict:
    """The photo rules of a link and how many courier photos it has (the courier's screen)."""
    policy = policy_of(link)
    return {key: policy[key] for key in ("photos_by", "photos_min", "photos_max", "photo_upload", "photo_quality")} | {
        "courier_photos": courier_photo_count(link)}


def signature_limits() -> dict:
    from ..evidence import strokes

    return {"min_points": strokes.MIN_POINTS, "dot_max_px": strokes.DOT_MAX_EXTENT_PX,
            "line_max_thickness": strokes.LINE_MAX_THICKNESS_RATIO, "small_box_fraction": strokes.SMALL_BOX_FRACTION,
            "small_ink_fraction": strokes.SMALL_INK_FRACTION, "min_ms_per_character": strokes.MIN_MS_PER_CHARACTER,
            "min_total_ms": strokes.MIN_TOTAL_MS, "max_points": strokes.MAX_POINTS}


# The recipient's view as two Core reads (issue 16): the link with its tenant's name, the
# courier's photo count and the tenant's current notice (privacy.services), and the link's
# waybills with their doc type and items (one row per item). Table columns, not entities:
# nothing is hydrated into the session, and the statements are built once with their
# parameters bound per call. The refusals are ``links.recipient_state``'s, in its order
# (``links.row_state``).
_LINKS, _WAYBILLS, _ITEMS = SignLink.__table__, Waybill.__table__, WaybillItem.__table__
_PHOTOS = Photo.__table__
_VIEW_LINK = (
    select(_LINKS.c.id, _LINKS.c.tenant_id, _LINKS.c.policy, _LINKS.c.expires_at, _LINKS.c.opened_at,
           _LINKS.c.used_at, _LINKS.c.revoked_at, _LINKS.c.locked_at, _LINKS.c.otp_verified_at,
           _LINKS.c.assisted, Tenant.__table__.c.name.label("tenant_name"),
           select(func.count(_PHOTOS.c.id)).where(
               _PHOTOS.c.tenant_id == _LINKS.c.tenant_id, _PHOTOS.c.link_id == _LINKS.c.id,
               _PHOTOS.c.taken_by == "courier", _PHOTOS.c.removed_at.is_(None))
           .scalar_subquery().label("courier_photos"),
           *current_notice_columns(_LINKS.c.tenant_id))
    .join(Tenant.__table__, Tenant.__table__.c.id == _LINKS.c.tenant_id)
    .where(_LINKS.c.token_hash == bindparam("token_hash"), _LINKS.c.purpose == "sign"))
_VIEW_WAYBILLS = (
    select(_WAYBILLS.c.id, _WAYBILLS.c.number, _WAYBILLS.c.status, _WAYBILLS.c.consignee_name,
           _WAYBILLS.c.consignee_phone, _WAYBILLS.c.consignee_address,
           DocType.__table__.c.name.label("doc_type_name"), _ITEMS.c.line_no, _ITEMS.c.sku,
           _ITEMS.c.name.label("item_name"), _ITEMS.c.qty, _ITEMS.c.unit)
    .join(SignLinkWaybill.__table__, SignLinkWaybill.__table__.c.waybill_id == _WAYBILLS.c.id)
    .join(DocType.__table__, DocType.__table__.c.id == _WAYBILLS.c.doc_type_id)
    .outerjoin(_ITEMS, _ITEMS.c.waybill_id == _WAYBILLS.c.id)
    .where(SignLinkWaybill.__table__.c.link_id == bindparam("link_id"),
           _WAYBILLS.c.tenant_id == bindparam("tenant_id"))
    .order_by(_WAYBILLS.c.id, _ITEMS.c.line_no))
_MARK_OPENED = (update(_LINKS).where(_LINKS.c.id == bindparam("link_id"), _LINKS.c.opened_at.is_(None))
                .values(opened_at=bindparam("now")))


def view(token: str) -> dict:
    link = link_row(_VIEW_LINK, token)
    waybills = {}
    for row in db.session.execute(_VIEW_WAYBILLS, {"link_id": link.id, "tenant_id": link.tenant_id}):
        waybill = waybills.get(row.id)
        if waybill is None:
            waybill = waybills[row.id] = {"row": row, "items": []}
        if row.line_no is not None:
            waybill["items"].append({"line": row.line_no, "sku": row.sku, "name": row.item_name,
                                     "qty": number_out(row.qty), "unit": row.unit})
    refuse(row_state(link, {w["row"].status for w in waybills.values()}))
    if link.opened_at is None:
        # the link's opening and its event: one statement on PostgreSQL
        audit.record_with(_MARK_OPENED, {"link_id": link.id, "now": utcnow()}, link.tenant_id,
                          [("link.opened", "recipient", f"link:{link.id}", {})])
    policy = policy_of(link)
    first = next(iter(waybills.values()))["row"]
    return {
        "waybills": [{
            "number": w["row"].number,
            "items": w["items"],
            "consignee": {"name_masked": mask_name(w["row"].consignee_name),
                          "phone_masked": mask_phone(w["row"].consignee_phone),
                          "address": w["row"].consignee_address},
        } for w in waybills.values()],
        "policy": policy,
        "expires_at": link.expires_at,
        "tenant": {"name": link.tenant_name},
        "doc_type": {"name": first.doc_type_name},
        "otp_verified": link.otp_verified_at is not None,
        "courier_photos": link.courier_photos,
        "name_needed_for_self": name_needed_for_self(policy),
        "signature_limits": signature_limits(),
        "assisted": link.assisted,
        "privacy": sign_view_privacy(link.tenant_id, policy, tenant_name=link.tenant_name, notice=notice_of(link)),
    }


def _otp_hash(link_id: int, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{link_id}:{code}".encode(), hashlib.sha256).hexdigest()


# Issue 14: a phone the receiver names on an assisted link gets at most this many codes
# an hour, whatever link asks, so the page cannot be used to flood someone's phone.
OTP_PER_PHONE = "5 per hour"


def send_otp(token: str, phone: str | None = None) -> dict:
    from ..core.ratelimit import enforce, spend

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
                              headers={"Retry-After": str(max(wait, 1))}, code="otp_too_soon")
    sent_last_hour = db.session.execute(
        select(func.count(OtpCode.id)).where(OtpCode.link_id == link.id,
                                             OtpCode.created_at > now - timedelta(hours=1))).scalar_one()
    if sent_last_hour >= OTP_PER_HOUR:
        raise TooManyRequests("Too many codes for this delivery in the last hour.", headers={"Retry-After": "3600"},
                              code="otp_link_limit")
    enforce(OTP_PER_PHONE, "otp-phone", phone_budget,
            [("otp_phone_limit", "Too many codes to this phone in the last hour.")])
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


def upload_photo(token: str, upload, kind: str, *, principal=None,
                 client_exif: dict | None = None) -> tuple[Photo, dict]:
    """Store one photo for a usable link: the recipient's (token only) or, with
    ``principal``, the courier's or a dispatcher's in reach (taken_by ``courier``).
    Returns the photo and the link's policy (``photo_out`` says with it whether a retake
    blocks the submit)."""
    from ..evidence.photos import MAX_PHOTO_BYTES, PhotoInvalid, inspect_photo

    with reading():
        if principal is not None:
            link_for_staff(principal, token)   # 404 outside the caller's reach, before anything else
        tenant_id = usable_link_row(token).tenant_id   # one statement; the link is read again under the lock
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
    key = store_files(tenant_id, data, report)

    # The link under its row lock, its waybills' states, its policy and its upload count:
    # one statement of columns, no entity (issue 16).
    link = usable_link_row(token, for_upload=True)
    if link.uploads >= MAX_UPLOADS_PER_LINK:
        raise ValidationFailed([field_error("file", "too_many_photos",
                                            f"At most {MAX_UPLOADS_PER_LINK} uploads per sign link.")])
    taken_by = "recipient" if principal is None else "courier"
    photo = create_photo(link, report, key=key, size=len(data), kind=kind, taken_by=taken_by,
                         principal=principal, client_exif=client_exif,
                         event=("recipient" if principal is None else principal.actor, f"link:{link.id}",
                                {"taken_by": taken_by}))
    return photo, policy_of(link)


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


def photo_out(photo: Photo, policy: dict | None = None) -> dict:
    """The upload's answer; ``policy``: the link's (``policy_of``), read again when not given."""
    from .models import SignLink

    if policy is None:
        policy = policy_of(db.session.get(SignLink, photo.link_id))
    retake = any(code in RETAKE_ANOMALIES for code in photo.anomalies)
    return {"photo_id": photo.public_id, "width": photo.width, "height": photo.height, "sha256": photo.sha256,
            "checks": dict(photo.checks, anomalies=photo.anomalies), "taken_by": photo.taken_by,
            "taken_at": photo.created_at, "retake": retake,
            "blocks_submit": retake and policy.get("photo_quality") == "block"}
