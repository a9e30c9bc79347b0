"""The sign-off: checks, evidence, and exactly one receipt per link.

Order matters. The strokes are measured and WeChat is asked for the openid first, in a
read-only transaction, so no lock is held meanwhile. Then the link row is locked
(``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises writers), so of
many concurrent submits one wins and the rest see the link used: a replay of the same
``submission_id`` gets the stored answer (200), any other 409. Hard checks run before
anything is written, so a 422 leaves the link usable and the database unchanged.
"""
import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import bindparam, or_, select, update

from ..accounts.models import DocType, Tenant, User
from ..core import audit, jobs, wechat
from ..core.audit import canonical_json
from ..core.clock import isoformat, utcnow
from ..core.errors import Conflict, Gone, ValidationFailed, field_error
from ..core.masking import mask_phone, phone_key
from ..extensions import db
from ..receipts import evidence_doc as doc
from ..receipts.models import Photo, Receipt, new_receipt_code
from ..receipts.services import create_receipt, link_paths
from ..receipts.urls import receipt_url, verify_url
from ..waybills.models import Waybill, WaybillAnomaly, WaybillItem
from ..waybills.services import record_signoff
from ..waybills.schemas import number_out
from ..webhooks import services as webhooks
from ..core.transactions import reading
from . import recognition
from .links import Locked, link_row, refuse, state_of, undeliverable_of
from .models import SignLink, SignLinkWaybill

log = logging.getLogger(__name__)

WAYBILL_STATUS = {"signed": "signed", "partial": "partially_signed", "refused": "refused"}


@dataclass(frozen=True)
class MeasuredStrokes:
    """The strokes parsed and judged before the link is locked; ``recognition.settle``
    adds the handwriting reading's errors, anomalies and evidence."""

    errors: list
    signature: object = None          # evidence.strokes.Signature; None when unparseable
    verdict: object = None            # evidence.strokes.Verdict
    fingerprint: bytes | None = None
    band_keys: list | None = None
    reading: object = None            # evidence.handwriting.NameReading, when the policy reads names
    name_anomalies: list = field(default_factory=list)
    handwriting: dict | None = None   # checks.handwriting of the evidence


@dataclass(frozen=True)
class ConsentStep:
    """The consent step (issue 19): the evidence's record and the errors for ``_check``."""

    record: doc.SignOffConsents
    errors: list


@dataclass
class Line:
    """One item line of the link's waybills with what the recipient reports of it."""

    waybill: "LockedWaybill"
    item: object                      # a row of _WAYBILL_ITEMS
    received: Decimal
    damaged: Decimal = Decimal(0)
    note: str = ""

    @property
    def complete(self) -> bool:
        return self.received == self.item.qty and self.damaged == 0


@dataclass(frozen=True)
class Checked:
    """What passed the hard checks: the receipt's photos and lines, consents and strokes."""

    photos: list                      # rows of photos (_PHOTO_COLUMNS), not entities
    lines: list[Line]
    consents: doc.SignOffConsents
    strokes: MeasuredStrokes


@dataclass(frozen=True)
class Findings:
    """The soft findings: anomaly codes, where it happened, a replayed signature, the openid."""

    codes: list[str]
    location: dict                    # geo.distance.location_findings
    replay_of: str | None
    openid: str | None


def submit(token: str, body: dict, client_ip: str | None) -> tuple[dict, int]:
    with reading():
        found_link = link_row(_FOUND_LINK, token)   # 404 as find_link's
        policy = dict(found_link.policy)
        body = _default_signer_name(body, policy, found_link.consignee_name)
        body, consent = _consents(body, policy, found_link.tenant_id)
    strokes = _measure_strokes(body, policy)
    openid = _recipient_openid(body.get("wechat_code"))

    code = new_receipt_code()   # the receipt's, if one is written; the locked read asks whether it is free
    link = LockedLink(**link_row(_LOCK_LINK, token, {"code": code})._mapping, receipt_code=code)   # 404 as find_link's
    # A statement of its own, after the lock: on PostgreSQL a read in the locking statement
    # would use that statement's snapshot, taken before it waited for the lock, and miss
    # the receipt of the sign-off it waited for.
    previous = db.session.connection().execute(_PREVIOUS, {"link_id": link.id}).first()
    if previous is not None:
        if previous.submission_id == body["submission_id"]:
            return previous.response, 200
        raise Conflict("This delivery has already been signed for.", slug="link-used")
    # Re-checked under the locks: a cancel or a drop that committed while the strokes were
    # measured wins (and says so before "expired": cancelling is what retired the link).
    waybills = _lock_waybills(link)
    _check_deliverable(waybills)
    if state_of(link) == "expired":
        raise Gone("This sign link has expired; ask the courier for a new QR code.", slug="link-expired")
    if link.locked_at is not None:
        raise Locked("Too many wrong codes; ask the courier for a new QR code.")

    attempts = link.name_attempts
    strokes = recognition.settle(link, body, strokes)
    if link.name_attempts != attempts:   # a failed reading counted: kept even by a 422
        db.session.connection().execute(_COUNT_ATTEMPT, {"link_id": link.id, "attempts": link.name_attempts})
    checked = _check(link, waybills, body, strokes, consent)
    now = utcnow()
    anomalies = _anomalies(link, waybills, body, checked, now, openid)
    receipt = _write(link, waybills, body, checked, anomalies, now, client_ip)
    return receipt.response, 201


def _default_signer_name(body, policy, consignee_name) -> dict:
    """The consignee signing for themself needs no typed name where the policy's checks do
    not use it (issue 12): the waybill's consignee name stands in, and the evidence says so."""
    from .recipient import name_needed_for_self

    signer = body["signer"]
    if signer["relation"] == "self" and not signer["name"].strip() and not name_needed_for_self(policy):
        return {**body, "signer": {**signer, "name": consignee_name, "name_from": "consignee"}}
    return {**body, "signer": {**signer, "name_from": "typed"}}
_LINKS, _WAYBILLS, _LINK_WAYBILLS = SignLink.__table__, Waybill.__table__, SignLinkWaybill.__table__
# What the checks before the lock read of the link: its tenant, its policy and the consignee's
# name on its first waybill, as one Core read built once (issue 16). The link itself is read
# under the lock after the strokes are measured.
_FOUND_LINK = (
    select(_LINKS.c.id, _LINKS.c.tenant_id, _LINKS.c.policy,
           select(_WAYBILLS.c.consignee_name)
           .join(_LINK_WAYBILLS, _LINK_WAYBILLS.c.waybill_id == _WAYBILLS.c.id)
           .where(_LINK_WAYBILLS.c.link_id == _LINKS.c.id, _WAYBILLS.c.tenant_id == _LINKS.c.tenant_id)
           .order_by(_WAYBILLS.c.id).limit(1).scalar_subquery().label("consignee_name"))
    .where(_LINKS.c.token_hash == bindparam("token_hash"), _LINKS.c.purpose == "sign"))



# Built once (issue 16), run on the session's connection: rows, not entities.
_RECEIPTS, _TENANTS = Receipt.__table__, Tenant.__table__
_PREVIOUS = (select(_RECEIPTS.c.submission_id, _RECEIPTS.c.response)
             .where(_RECEIPTS.c.link_id == bindparam("link_id")))
_CODE_TAKEN = select(_RECEIPTS.c.id).where(_RECEIPTS.c.tenant_id == bindparam("tenant_id"),
                                           _RECEIPTS.c.receipt_code == bindparam("code"))
_USE_LINK = update(_LINKS).where(_LINKS.c.id == bindparam("link_id")).values(used_at=bindparam("now"))
_COUNT_ATTEMPT = (update(_LINKS).where(_LINKS.c.id == bindparam("link_id"))
                  .values(name_attempts=bindparam("attempts")))
_USERS = User.__table__


@dataclass(slots=True)
class LockedLink:
    """The sign link as the sign-off reads it under its lock (``FOR UPDATE``): the columns
    it uses, its courier's WeChat openid, its tenant's slug and name (the evidence's) and
    whether the receipt code drawn for it is taken, one prebuilt Core read (issue 16: the
    entity's load was the costliest read of the submit). ``recognition.settle`` counts
    a failed reading in ``name_attempts``; the submit writes it back."""

    id: int
    tenant_id: int
    policy: dict
    courier_location: dict | None
    created_at: object
    expires_at: object
    opened_at: object
    used_at: object
    revoked_at: object
    otp_verified_at: object
    locked_at: object
    assisted: bool
    otp_verified_whose: str | None
    otp_verified_to: str | None
    name_attempts: int | None
    courier_openid: str | None
    tenant_slug: str
    tenant_name: str
    receipt_code_taken: bool   # whether another receipt of the tenant has ``receipt_code``
    receipt_code: str


_LOCK_LINK = (
    select(*(_LINKS.c[name] for name in (
        "id", "tenant_id", "policy", "courier_location", "created_at", "expires_at", "opened_at", "used_at",
        "revoked_at", "otp_verified_at", "locked_at", "assisted", "otp_verified_whose", "otp_verified_to",
        "name_attempts")),
           select(_USERS.c.wechat_openid).where(_USERS.c.id == _LINKS.c.courier_id)
           .scalar_subquery().label("courier_openid"),
           _TENANTS.c.slug.label("tenant_slug"), _TENANTS.c.name.label("tenant_name"),
           select(_RECEIPTS.c.id).where(_RECEIPTS.c.tenant_id == _LINKS.c.tenant_id,
                                        _RECEIPTS.c.receipt_code == bindparam("code"))
           .exists().label("receipt_code_taken"))
    .join(_TENANTS, _TENANTS.c.id == _LINKS.c.tenant_id)
    .where(_LINKS.c.token_hash == bindparam("token_hash"), _LINKS.c.purpose == "sign")
    .with_for_update(of=_LINKS))


@dataclass(slots=True)
class LockedWaybill:
    """A waybill of the link as the sign-off reads it under its lock: the columns it uses,
    its doc type's code and name, its items and its anomalies as rows (``code``). What
    ``waybills.services.record_signoff`` sets is set here too; no entity, no session."""

    id: int
    tenant_id: int
    number: str
    status: str
    consignee_name: str
    consignee_phone: str
    consignee_address: str
    consignee_lat: float | None
    consignee_lng: float | None
    consignee_coord_system: str | None
    deadline: object
    external_ref: str | None
    doc_type_code: str
    doc_type_name: str
    items: list = field(default_factory=list)        # rows: id, line_no, sku, name, qty, unit
    anomalies: list = field(default_factory=list)    # rows: code
    updated_at: object = None
    signed_at: object = None
    receipt_public_id: str | None = None
    signer_relation: str | None = None
    has_anomalies: bool = False


# Built once (issue 16): the sign-off reads a waybill's columns, doc type, items and
# anomalies as rows, three statements with no entity loaded or flushed.
_DOC_TYPES, _ITEMS, _ANOMALIES = DocType.__table__, WaybillItem.__table__, WaybillAnomaly.__table__
_LOCKED_COLUMNS = ("id", "tenant_id", "number", "status", "consignee_name", "consignee_phone", "consignee_address",
                   "consignee_lat", "consignee_lng", "consignee_coord_system", "deadline", "external_ref")
_LOCK_WAYBILLS = (
    select(*(_WAYBILLS.c[name] for name in _LOCKED_COLUMNS),
           _DOC_TYPES.c.code.label("doc_type_code"), _DOC_TYPES.c.name.label("doc_type_name"))
    .join(_LINK_WAYBILLS, _LINK_WAYBILLS.c.waybill_id == _WAYBILLS.c.id)
    .join(_DOC_TYPES, _DOC_TYPES.c.id == _WAYBILLS.c.doc_type_id)
    .where(_LINK_WAYBILLS.c.link_id == bindparam("link_id")).order_by(_WAYBILLS.c.id)
    .with_for_update(of=_WAYBILLS))
_WAYBILL_ITEMS = (select(_ITEMS.c.waybill_id, _ITEMS.c.id, _ITEMS.c.line_no, _ITEMS.c.sku, _ITEMS.c.name,
                         _ITEMS.c.qty, _ITEMS.c.unit)
                  .where(_ITEMS.c.waybill_id.in_(bindparam("waybill_ids", expanding=True)))
                  .order_by(_ITEMS.c.waybill_id, _ITEMS.c.line_no))
_WAYBILL_ANOMALIES = (select(_ANOMALIES.c.waybill_id, _ANOMALIES.c.code)
                      .where(_ANOMALIES.c.waybill_id.in_(bindparam("waybill_ids", expanding=True)))
                      .order_by(_ANOMALIES.c.id))


def _lock_waybills(link) -> list[LockedWaybill]:
    """Lock the link's waybills (fresh from the database): a consented drop (consent.drops)
    locks the same rows, so a drop and a sign-off never both win."""
    connection = db.session.connection()
    waybills = [LockedWaybill(**row._mapping) for row in connection.execute(_LOCK_WAYBILLS, {"link_id": link.id})]
    if waybills:
        by_id = {w.id: w for w in waybills}
        ids = list(by_id)
        for row in connection.execute(_WAYBILL_ITEMS, {"waybill_ids": ids}):
            by_id[row.waybill_id].items.append(row)
        for row in connection.execute(_WAYBILL_ANOMALIES, {"waybill_ids": ids}):
            by_id[row.waybill_id].anomalies.append(row)
    return waybills


def _check_deliverable(waybills) -> None:
    """``links.check_deliverable`` for the waybills just locked: 410 when one was
    cancelled, or has been completed (signed, dropped) since the link was made."""
    reason = undeliverable_of({w.status for w in waybills})
    if reason:
        refuse(reason)


# --- hard checks (422) ------------------------------------------------------------------

def _measure_strokes(body, policy) -> MeasuredStrokes:
    """Parse and judge the strokes, and fingerprint them for the replay lookup."""
    from ..evidence.replay import band_keys, fingerprint
    from ..evidence.strokes import SignatureInputError, check_signature, parse_signature

    try:
        signature = parse_signature(body["signature"])
    except SignatureInputError as exc:
        return MeasuredStrokes(errors=[field_error("signature", exc.code, exc.message)])
    verdict = check_signature(signature, signer_name=body["signer"]["name"].strip(),
                              handwriting=policy["handwriting"])
    fp = fingerprint(signature)
    return MeasuredStrokes(
        errors=[field_error("signature", code, message) for code, message in verdict.errors],
        signature=signature, verdict=verdict, fingerprint=fp, band_keys=band_keys(fp),
        reading=recognition.read(signature, body, policy) if not verdict.errors else None)


def _consents(body, policy, tenant_id) -> tuple[dict, ConsentStep]:
    """The consent step (issue 19): a location given without consent is dropped before any
    check sees it; the record for the evidence and the consent errors for ``_check``."""
    from ..privacy.services import notice_exists

    given = body.get("consents")
    if given is None:
        errors = []
        if policy.get("consents") == "required":
            errors.append(field_error("consents", "handwriting_consent_required",
                                      "Agree to the collection of your handwriting to sign electronically."))
        return body, ConsentStep(doc.SignOffConsents(recorded=False), errors)
    dropped, errors = False, []
    if not notice_exists(tenant_id, given["notice_version"]):
        errors.append(field_error("consents.notice_version", "notice_version_unknown",
                                  "No such version of the privacy notice; reload the page."))
    if not given["handwriting"]:
        errors.append(field_error("consents.handwriting", "handwriting_consent_required",
                                  "Without consent to collect your handwriting there is no electronic signature: "
                                  "the courier can record that you declined to sign electronically."))
    if not given["location"] and body["location"] is not None:
        body = {**body, "location": None}
        dropped = True
    return body, ConsentStep(doc.SignOffConsents(recorded=True, **given, location_dropped=dropped), errors)


def _check(link, waybills, body, strokes: MeasuredStrokes, consent: ConsentStep) -> Checked:
    policy, errors = link.policy, list(consent.errors)
    signer, outcome = body["signer"], body["outcome"]
    if not signer["name"].strip():
        errors.append(field_error("signer.name", "signer_name_required", "Enter the name of the person signing."))
    if not signer["relation"]:
        errors.append(field_error("signer.relation", "relation_required", "Say who is signing (self, family, …)."))
    elif policy["signer"] == "consignee_only" and signer["relation"] != "self":
        errors.append(field_error("signer.relation", "consignee_only", "Only the consignee may sign for this delivery."))
    if policy["otp"] == "required" and link.otp_verified_at is None:
        errors.append(field_error("otp", "otp_required", "Verify the code sent to the consignee's phone first."))
    if policy["location"] == "required" and body["location"] is None:
        errors.append(field_error("location", "location_required", "Share your location to sign for this delivery."))
    if outcome == "partial" and not policy["allow_partial"]:
        errors.append(field_error("outcome", "partial_not_allowed", "Partial receipt is not allowed for this delivery."))
    if outcome == "refused":
        if not policy["allow_refuse"]:
            errors.append(field_error("outcome", "refuse_not_allowed", "Refusal is not allowed for this delivery."))
        if not body["refuse_reason"].strip():
            errors.append(field_error("refuse_reason", "refuse_reason_required", "Say why the goods are refused."))

    photos = _photos(link, body["photo_ids"], errors)
    _photo_policy(link, photos, errors)
    lines = _lines(waybills, outcome, body["items"], errors)
    errors.extend(strokes.errors)
    if errors:
        raise ValidationFailed(errors, detail="The sign-off is not complete; fix the fields listed and submit again.")
    return Checked(photos=photos, lines=lines, consents=consent.record, strokes=strokes)


def _photos(link, photo_ids, errors) -> list:
    """The photos the receipt gets: the ones the recipient lists, then every courier photo
    of the link that was not withdrawn (the recipient's phone does not know those)."""
    ids = list(dict.fromkeys(photo_ids))
    listed_ids = set(ids)
    # One read for both (issue 16): the listed ones and the courier's, in id order; rows
    # with the entity's attribute names (Photo.as_evidence reads them), built once.
    photos = db.session.connection().execute(_PHOTOS_LISTED if ids else _PHOTOS_COURIER,
                                             {"link_id": link.id, "ids": ids}).all()
    found = {p.public_id: p for p in photos if p.public_id in listed_ids}
    for i, photo_id in enumerate(ids):
        if photo_id not in found:
            errors.append(field_error(f"photo_ids.{i}", "photo_invalid", "No such photo uploaded for this delivery."))
    listed = [found[i] for i in ids if i in found]
    return listed + [p for p in photos if p.taken_by == "courier" and p.public_id not in found]


_PHOTO_TABLE = Photo.__table__
_PHOTO_COLUMNS = [_PHOTO_TABLE.c[name] for name in (
    "id", "public_id", "kind", "sha256", "mime", "size", "width", "height", "exif", "checks", "anomalies",
    "taken_by", "taken_by_user", "created_at", "client_exif")]
_PHOTOS_COURIER = (select(*_PHOTO_COLUMNS)
                   .where(_PHOTO_TABLE.c.link_id == bindparam("link_id"), _PHOTO_TABLE.c.removed_at.is_(None),
                          _PHOTO_TABLE.c.taken_by == "courier")
                   .order_by(_PHOTO_TABLE.c.id))
_PHOTOS_LISTED = (select(*_PHOTO_COLUMNS)
                  .where(_PHOTO_TABLE.c.link_id == bindparam("link_id"), _PHOTO_TABLE.c.removed_at.is_(None),
                         or_(_PHOTO_TABLE.c.public_id.in_(bindparam("ids", expanding=True)),
                             _PHOTO_TABLE.c.taken_by == "courier"))
                  .order_by(_PHOTO_TABLE.c.id))


def _photo_policy(link, photos, errors) -> None:
    """``photos_min`` counts the photos of the party ``photos_by`` names; ``photos_max`` all
    of them; under ``photo_quality: block`` a blurry, dark or duplicate photo fails."""
    from .recipient import RETAKE_ANOMALIES, policy_of

    policy = policy_of(link)
    by, least = policy["photos_by"], policy["photos_min"]
    counted = [p for p in photos if by == "either" or p.taken_by == by]
    if len(counted) < least:
        missing = least - len(counted)
        message = {
            "courier": f"The courier has not photographed the goods yet ({missing} more photo(s) needed from the "
                       "courier's app); ask the courier to take them, then submit again.",
            "recipient": f"Take at least {least} photo(s) ({missing} more).",
            "either": f"At least {least} photo(s) of the goods are needed ({missing} more), by you or the courier.",
        }[by]
        errors.append(field_error("photo_ids", "photos_missing", message))
    elif len(photos) > policy["photos_max"]:
        errors.append(field_error("photo_ids", "photos_invalid", f"At most {policy['photos_max']} photos."))
    if policy["photo_quality"] == "block":
        for photo in photos:
            flagged = [code for code in photo.anomalies if code in RETAKE_ANOMALIES]
            if flagged:
                who = "the courier must take it again" if photo.taken_by == "courier" else "take it again"
                errors.append(field_error(f"photos.{photo.public_id}", "photo_flagged",
                                          f"A photo is {', '.join(c.replace('_photo', '') for c in flagged)}; {who}."))


def _lines(waybills, outcome, reported, errors) -> list[Line]:
    """Received and damaged quantities for every item line of the link's waybills."""
    lines, by_ref = [], {}
    for waybill in waybills:
        for item in waybill.items:
            line = Line(waybill, item, received=item.qty if outcome != "refused" else Decimal(0))
            lines.append(line)
            by_ref[(waybill.number, item.line_no)] = line
            by_ref.setdefault((waybill.number, item.sku), line)
    if outcome == "refused":
        return lines
    for i, entry in enumerate(reported):
        key = (entry["number"], entry["line"]) if entry["line"] is not None else (entry["number"], entry["sku"])
        line = by_ref.get(key)
        if line is None:
            errors.append(field_error(f"items.{i}", "items_invalid", "No such item on this delivery's waybills."))
            continue
        shipped = line.item.qty
        received = entry["received_qty"] if entry["received_qty"] is not None else shipped
        damaged = entry["damaged_qty"] or Decimal(0)
        if received > shipped:
            errors.append(field_error(f"items.{i}.received_qty", "items_invalid",
                                      f"More than the {number_out(shipped)} shipped."))
        elif damaged > received:
            errors.append(field_error(f"items.{i}.damaged_qty", "items_invalid", "More damaged than received."))
        line.received, line.damaged, line.note = received, damaged, entry["note"]
    complete = all(line.complete for line in lines)
    if outcome == "signed" and not complete:
        errors.append(field_error("items", "items_invalid", "Items are short or damaged: submit as partial."))
    if outcome == "partial" and complete:
        errors.append(field_error("items", "items_invalid", "Nothing is short or damaged: submit as signed."))
    return lines


# --- soft findings (anomalies) -----------------------------------------------------------

def _anomalies(link, waybills, body, checked: Checked, now, openid) -> Findings:
    from ..geo.distance import location_findings
    from ..receipts.fingerprints import find_replay

    strokes = checked.strokes
    found = list(strokes.verdict.anomalies) + list(strokes.name_anomalies)
    # old and new fingerprint versions while the re-index runs (receipts/fingerprints.py)
    replay_of = find_replay(link.tenant_id, strokes.signature, strokes.fingerprint, strokes.band_keys)
    if replay_of:
        found.append("replayed_signature")
    waybill = waybills[0]
    consignee = None
    if waybill.consignee_lat is not None:
        consignee = {"lat": waybill.consignee_lat, "lng": waybill.consignee_lng,
                     "coord_system": waybill.consignee_coord_system}
    location = location_findings(body["location"], consignee, link.courier_location, link.policy["geofence_m"])
    found.extend(location["anomalies"])
    for photo in checked.photos:
        found.extend(photo.anomalies)
    if body["signer"]["relation"] != "self":
        found.append("signer_not_consignee")
    if body["outcome"] == "partial":
        found.append("partial_delivery")
    if body["outcome"] == "refused":
        found.append("refused")
    if any(w.deadline is not None and w.deadline < now for w in waybills):
        found.append("late_signature")
    # A declared assisted sign-off, proven by a code to a phone, is the honest way to sign on
    # the courier's device; an undeclared one still is a finding.
    assisted_verified = link.assisted and link.otp_verified_at is not None
    if openid and link.courier_openid == openid and not assisted_verified:
        found.append("signed_on_courier_device")
    return Findings(codes=list(dict.fromkeys(found)), location=location, replay_of=replay_of, openid=openid)


def _recipient_openid(code):
    if not code or not wechat.configured():
        return None
    try:
        return wechat.code2session(code).openid
    except wechat.WechatError as exc:
        # The sign-off stands without it; the evidence just lacks the openid.
        log.warning("code2session failed: %s", exc.errcode)
        return None


# --- writing --------------------------------------------------------------------------

def _write(link, waybills, body, checked: Checked, found: Findings, now, client_ip) -> Receipt:
    public_id = uuid.uuid4().hex
    evidence = _evidence(link, waybills, body, checked, found, now, public_id, client_ip)
    evidence_hash = hashlib.sha256(canonical_json(evidence)).hexdigest()
    status = WAYBILL_STATUS[body["outcome"]]
    statuses = {}
    for waybill in waybills:
        # Under a partial sign-off a waybill whose own lines all came complete is signed.
        complete = all(line.complete for line in checked.lines if line.waybill is waybill)
        statuses[waybill.id] = "signed" if body["outcome"] == "partial" and complete else status
    record_signoff(waybills, statuses, public_id, body["signer"]["relation"], found.codes, now)
    events = [("signoff.submitted", "recipient", f"receipt:{public_id}",
               {"evidence_hash": evidence_hash, "outcome": body["outcome"],
                "waybills": [w.number for w in waybills], "anomalies": found.codes})]
    events += [(f"waybill.{statuses[w.id]}", "recipient", f"waybill:{w.number}", {"receipt": public_id})
               for w in waybills]
    # one INSERT for all of them; on PostgreSQL with the link's use in the same statement
    _, recorded = audit.record_with(_USE_LINK, {"link_id": link.id, "now": now}, link.tenant_id, events)
    link.used_at = now
    response = {
        "receipt_id": public_id, "status": status,
        "checks": evidence["checks"], "anomalies": found.codes,
        "receipt_pdf": receipt_url(public_id, "pdf"),
        "receipt_code": evidence["receipt_code"], "verify_url": verify_url(public_id),
    }
    with jobs.one_insert():   # the PDF job and the webhook deliveries' jobs: one INSERT
        receipt = _receipt(link, body, checked, found, now, public_id, evidence, evidence_hash, recorded, response)
        # signed afresh at each delivery attempt (webhooks/tasks.py); the photos just claimed
        links = link_paths(receipt, checked.photos)
        for waybill in waybills:
            webhooks.emit(link.tenant_id, f"waybill.{waybill.status}", {
                "number": waybill.number, "external_ref": waybill.external_ref, "status": waybill.status,
                "outcome": body["outcome"], "receipt_id": public_id, "signed_at": isoformat(now),
                "anomalies": found.codes, "receipt_pdf": response["receipt_pdf"], "links": links},
                waybill_number=waybill.number)
    return receipt


def _receipt(link, body, checked: Checked, found: Findings, now, public_id, evidence, evidence_hash, recorded,
             response) -> Receipt:
    return create_receipt(Receipt(
        public_id=public_id, tenant_id=link.tenant_id, link_id=link.id, submission_id=body["submission_id"],
        outcome=body["outcome"], signer_name=body["signer"]["name"].strip(), signer_relation=body["signer"]["relation"],
        evidence=evidence, evidence_hash=evidence_hash, audit_seq=recorded[0]["seq"], anomalies=found.codes,
        response=response, created_at=now, receipt_code=evidence["receipt_code"],
        signer_phone_key=phone_key(body["signer"]["phone"]),
    ), lines=[{"waybill_item_id": line.item.id, "received_qty": line.received, "damaged_qty": line.damaged,
               "note": line.note} for line in checked.lines],
        photos=checked.photos, fingerprint=checked.strokes.fingerprint, band_keys=checked.strokes.band_keys)


def _receipt_code(link: LockedLink) -> str:
    """A fresh code for the tenant: the one drawn before the link's read if that read found
    it free (the unique (tenant, code) index backs these look-ups), else another."""
    if not link.receipt_code_taken:
        return link.receipt_code
    connection = db.session.connection()
    while True:
        code = new_receipt_code()
        if connection.execute(_CODE_TAKEN, {"tenant_id": link.tenant_id, "code": code}).first() is None:
            return code


def _evidence(link, waybills, body, checked: Checked, found: Findings, now, public_id, client_ip) -> dict:
    """The canonical evidence document (SPEC §6, receipts/evidence_doc.py), as stored and
    hashed. No full phone number is ever in it."""
    strokes, signer, sent = checked.strokes, body["signer"], body["signature"]
    first_times = [float(s[0, 2]) for s in strokes.signature.strokes if len(s)]
    location, client = found.location, body["client"]
    return doc.as_json(doc.EvidenceDocument(
        receipt_id=public_id,
        receipt_code=_receipt_code(link),
        tenant=doc.Tenant(slug=link.tenant_slug, name=link.tenant_name),
        doc_type=doc.DocType(code=waybills[0].doc_type_code, name=waybills[0].doc_type_name),
        policy=link.policy,
        submission_id=body["submission_id"],
        outcome=body["outcome"],
        refuse_reason=body["refuse_reason"] or None,
        waybills=[doc.Waybill(
            number=w.number,
            external_ref=w.external_ref,
            consignee=doc.Consignee(name=w.consignee_name, phone_masked=mask_phone(w.consignee_phone),
                                    address=w.consignee_address),
            items=[doc.Item(line=line.item.line_no, sku=line.item.sku, name=line.item.name, unit=line.item.unit,
                            qty=number_out(line.item.qty), received_qty=number_out(line.received),
                            damaged_qty=number_out(line.damaged), note=line.note)
                   for line in checked.lines if line.waybill is w],
        ) for w in waybills],
        signer=doc.Signer(name=signer["name"].strip(), relation=signer["relation"],
                          phone_masked=mask_phone(signer["phone"]), wechat_openid=found.openid,
                          name_from=signer["name_from"]),
        # the strokes as parsed (SignatureSchema's documented_strokes): stored as they came
        signature=doc.Signature(strokes=doc.Parsed(sent["strokes"]), canvas=sent["canvas"],
                                metrics=strokes.verdict.metrics,
                                boxes=sent.get("boxes") or doc.ABSENT),
        photos=[doc.Photo(**Photo.as_evidence(p)) for p in checked.photos],
        location=doc.Location(raw=body["location"], wgs84=location["signer_wgs84"],
                              distance_to_consignee_m=location["distance_to_consignee_m"],
                              distance_to_courier_m=location["distance_to_courier_m"],
                              courier_at_link_time=link.courier_location),
        checks=doc.Checks(signature=strokes.verdict.metrics, replay_of=found.replay_of,
                          otp_verified=link.otp_verified_at is not None,
                          location={k: v for k, v in location.items() if k != "anomalies"},
                          photos={p.public_id: p.anomalies for p in checked.photos},
                          handwriting=strokes.handwriting or doc.ABSENT),
        anomalies=found.codes,
        consents=checked.consents,
        client=doc.Client(platform=client.get("platform"), user_agent=client.get("user_agent"),
                          time=client.get("time"), ip=client_ip,
                          first_stroke_time_ms=min(first_times) if first_times else None),
        times=doc.Times(link_created_at=isoformat(link.created_at), link_opened_at=isoformat(link.opened_at),
                        otp_verified_at=isoformat(link.otp_verified_at), submitted_at=isoformat(now)),
        # Declared on the courier's device: whose phone proved the receiver (issue 14).
        assisted=(doc.Assisted(declared=True, otp_to=link.otp_verified_whose, otp_phone_masked=link.otp_verified_to)
                  if link.assisted else doc.ABSENT),
    ))
