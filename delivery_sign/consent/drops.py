"""The consented drop: photos of the drop point, then one receipt with outcome ``dropped``.

A drop rides on a sign link of purpose ``drop`` whose token nobody is ever told: photos,
receipts, the PDF job, staff access and the orphan-photo sweep then work as they do for a
sign-off, with no second path through them. The waybill row is locked before anything is
decided, and a sign-off locks it too before it writes (signing.submit), so of a drop and
a sign-off racing on one waybill exactly one wins and the other gets 409.
"""
import hashlib
import uuid
from datetime import timedelta

from sqlalchemy import select

from ..accounts.models import Tenant
from ..core import audit
from ..core.audit import canonical_json
from ..core.auth import Principal
from ..core.clock import isoformat, utcnow
from ..core.errors import Conflict, ValidationFailed, field_error
from ..core.masking import mask_phone
from ..core.transactions import reading
from ..extensions import db
from ..receipts import evidence_doc as doc
from ..receipts.photos import create_photo, store_files, uploads_of
from ..receipts.models import Photo, Receipt
from ..receipts.services import create_receipt
from ..signing import links
from ..receipts.urls import receipt_url
from ..signing.models import SignLink
from ..waybills import transitions
from ..waybills.models import Waybill
from ..waybills.schemas import number_out
from ..waybills.services import get_waybill, record_signoff
from ..webhooks import services as webhooks
from .models import Drop
from .services import consent_for

DROP_PHOTO_KINDS = ("scene", "goods", "other")
DROP_LINK_TTL = timedelta(hours=12)     # a courier's round; the sweep removes unclaimed photos after
MAX_DROP_PHOTOS = 9
MAX_UPLOADS_PER_DROP = 27                # as for a sign link: retakes, not a flood
PLACE_LABELS = {"locker": "快递柜", "station": "驿站", "door": "门口", "guard": "门卫", "neighbour": "邻居处"}


def _open_waybill(principal: Principal, number: str, *, lock=True) -> Waybill:
    waybill = get_waybill(principal, number, for_update=lock)
    transitions.check(waybill, "dropped")
    return waybill


def _drop_link(principal: Principal, waybill: Waybill, now, *, create: bool) -> SignLink | None:
    courier_id = principal.user_id if principal.role == "courier" else waybill.courier_id
    return links.drop_link(waybill, courier_id, principal.actor, now, DROP_LINK_TTL, create=create)


def upload_photo(principal: Principal, number: str, upload, kind: str) -> Photo:
    """A photo of the drop point, with the checks every photo gets (content type by bytes,
    size and pixel limits, blur, darkness, near-duplicates of other deliveries), stored and
    filed as a sign link's are (receipts.photos)."""
    from ..evidence.photos import MAX_PHOTO_BYTES, PhotoInvalid, inspect_photo

    if kind not in DROP_PHOTO_KINDS:
        raise ValidationFailed([field_error("kind", "one_of", f"Use one of {', '.join(DROP_PHOTO_KINDS)}.")])
    with reading():
        # Authorize first (404 for a waybill out of reach, 409 for a final one), and end the
        # transaction, so SQLite's write lock is not held while a 12-MP photo is decoded.
        tenant_id = _open_waybill(principal, number, lock=False).tenant_id
    if upload is None:
        raise ValidationFailed([field_error("file", "required", "Send the photo in the multipart field 'file'.")])
    data = upload.stream.read(MAX_PHOTO_BYTES + 1)
    try:
        report = inspect_photo(data, thumbnail=True)
    except PhotoInvalid as exc:
        raise ValidationFailed([field_error("file", "photo_invalid", exc.message)]) from None
    key = store_files(tenant_id, data, report)
    waybill = _open_waybill(principal, number)
    now = utcnow()
    link = _drop_link(principal, waybill, now, create=True)
    if uploads_of(link) >= MAX_UPLOADS_PER_DROP:
        raise ValidationFailed([field_error("file", "too_many_photos", f"At most {MAX_UPLOADS_PER_DROP} uploads.")])
    return create_photo(link, report, key=key, size=len(data), kind=kind, taken_by="courier",
                        principal=principal, now=now, event=(principal.actor, f"waybill:{number}", {"for": "drop"}))


def drop(principal: Principal, number: str, body: dict, client_ip: str | None) -> dict:
    from ..geo.distance import location_findings

    waybill = _open_waybill(principal, number)
    now = utcnow()
    policy = {"drop_without_consent": "refuse", **waybill.doc_type.policy}
    place = body["place"]
    consent = consent_for(waybill, now)
    anomalies = []
    if consent is None or consent.choice != place:
        if policy["drop_without_consent"] != "record":
            detail = ("The consignee has not agreed to a drop." if consent is None else
                      f"The consignee agreed to {consent.choice}, not {place}.")
            raise Conflict(detail, slug="consent-required",
                           errors=[field_error("place", "consent_required", detail)])
        anomalies.append("dropped_without_consent")
        consent = None

    link = _drop_link(principal, waybill, now, create=False)
    photos = _photos(link, body["photo_ids"])
    consignee = None
    if waybill.consignee_lat is not None:
        consignee = {"lat": waybill.consignee_lat, "lng": waybill.consignee_lng,
                     "coord_system": waybill.consignee_coord_system}
    location = location_findings(body["location"], consignee, None, policy.get("geofence_m"))
    anomalies += location["anomalies"]
    for photo in photos:
        anomalies += photo.anomalies
    if waybill.deadline is not None and waybill.deadline < now:
        anomalies.append("late_signature")
    anomalies = list(dict.fromkeys(anomalies))

    public_id = uuid.uuid4().hex
    place_name = (body.get("place_name") or "").strip() or (consent.place if consent else None)
    evidence = _evidence(waybill, link, body, consent, photos, location, anomalies, place_name, principal,
                         client_ip, now, public_id)
    evidence_hash = hashlib.sha256(canonical_json(evidence)).hexdigest()
    recorded = audit.record_many(waybill.tenant_id, [
        ("drop.recorded", principal.actor, f"receipt:{public_id}",
         {"evidence_hash": evidence_hash, "place": place, "place_code": body.get("place_code"),
          "consent": consent.evidence() if consent else None, "anomalies": anomalies}),
        ("waybill.dropped", principal.actor, f"waybill:{number}", {"receipt": public_id}),
    ])
    response = {"receipt_id": public_id, "status": "dropped", "outcome": "dropped", "place": place,
                "consent": consent.evidence() if consent else None, "anomalies": anomalies,
                "receipt_pdf": receipt_url(public_id, "pdf")}
    link.used_at = now
    receipt = create_receipt(Receipt(
        public_id=public_id, tenant_id=waybill.tenant_id, link_id=link.id, submission_id=public_id,
        outcome="dropped", signer_name="", signer_relation="none", evidence=evidence, evidence_hash=evidence_hash,
        audit_seq=recorded[0]["seq"], anomalies=anomalies, response=response, created_at=now),
        lines=[{"waybill_item_id": item.id, "received_qty": item.qty, "damaged_qty": 0, "note": ""}
               for item in waybill.items],
        photos=photos)
    db.session.add(Drop(tenant_id=waybill.tenant_id, waybill_id=waybill.id, receipt_id=receipt.id, place=place,
                        consent=consent.kind if consent else "none", created_at=now))
    # Nobody signed: the waybill keeps no signer relation (the receipt says "none").
    record_signoff([waybill], {waybill.id: "dropped"}, public_id, None, anomalies, now)
    links.retire_links_of(waybill, principal, "waybill_dropped")
    db.session.flush()
    webhooks.emit(waybill.tenant_id, "waybill.dropped", {
        "number": waybill.number, "external_ref": waybill.external_ref, "status": "dropped", "outcome": "dropped",
        "place": place, "place_name": place_name, "place_code": body.get("place_code"),
        "consent": consent.evidence() if consent else None, "receipt_id": public_id,
        "dropped_at": isoformat(now), "anomalies": anomalies, "receipt_pdf": response["receipt_pdf"]},
        waybill_number=waybill.number)
    return response


def _photos(link, photo_ids) -> list[Photo]:
    ids = list(dict.fromkeys(photo_ids))
    found = {}
    if link is not None and ids:
        found = {p.public_id: p for p in db.session.execute(
            select(Photo).where(Photo.link_id == link.id, Photo.public_id.in_(ids))).scalars()}
    errors = [field_error(f"photo_ids.{i}", "photo_invalid", "No such photo uploaded for this drop.")
              for i, photo_id in enumerate(ids) if photo_id not in found]
    if not ids:
        errors.append(field_error("photo_ids", "photos_missing", "Photograph the drop point first."))
    elif len(ids) > MAX_DROP_PHOTOS:
        errors.append(field_error("photo_ids", "photos_invalid", f"At most {MAX_DROP_PHOTOS} photos."))
    if errors:
        raise ValidationFailed(errors, detail="The drop is not complete; fix the fields listed and try again.")
    return [found[i] for i in ids]


def _evidence(waybill, link, body, consent, photos, location, anomalies, place_name, principal, client_ip, now,
              public_id) -> dict:
    """The canonical evidence of a drop: SPEC §6's document, with ``drop`` and ``consent``
    where a sign-off has its signer and signature. No full phone number is in it."""
    tenant = db.session.get(Tenant, waybill.tenant_id)
    client = body.get("client") or {}
    return doc.as_json(doc.EvidenceDocument(
        receipt_id=public_id,
        tenant=doc.Tenant(slug=tenant.slug, name=tenant.name),
        doc_type=doc.DocType(code=waybill.doc_type.code, name=waybill.doc_type.name),
        policy=link.policy,
        submission_id=public_id,
        outcome="dropped",
        refuse_reason=None,
        waybills=[doc.Waybill(
            number=waybill.number, external_ref=waybill.external_ref,
            consignee=doc.Consignee(name=waybill.consignee_name, phone_masked=mask_phone(waybill.consignee_phone),
                                    address=waybill.consignee_address),
            items=[doc.Item(line=i.line_no, sku=i.sku, name=i.name, unit=i.unit, qty=number_out(i.qty),
                            received_qty=number_out(i.qty), damaged_qty="0", note="") for i in waybill.items],
        )],
        drop=doc.Drop(place=body["place"], place_label=PLACE_LABELS[body["place"]], place_name=place_name,
                      place_code=body.get("place_code"), by=principal.actor,
                      consent_line=drop_line(body["place"], place_name, body.get("place_code"), consent)),
        consent=doc.DropConsent(**consent.evidence()) if consent else None,
        signer=None,
        signature=None,
        photos=[doc.Photo(**p.as_evidence()) for p in photos],
        location=doc.Location(raw=body["location"], wgs84=location["signer_wgs84"],
                              distance_to_consignee_m=location["distance_to_consignee_m"],
                              distance_to_courier_m=None, courier_at_link_time=None),
        checks=doc.Checks(location={k: v for k, v in location.items() if k != "anomalies"},
                          photos={p.public_id: p.anomalies for p in photos}),
        anomalies=anomalies,
        client=doc.Client(platform=client.get("platform"), user_agent=client.get("user_agent"),
                          time=client.get("time"), ip=client_ip),
        times=doc.Times(link_created_at=None, link_opened_at=None, otp_verified_at=None,
                        submitted_at=isoformat(now)),
    ))


def drop_line(place, place_name, place_code, consent) -> str:
    """``放置于世纪大道驿站（取件码 A3-12），经收货人同意（短信确认 12-01 18:02）``"""
    where = place_name or PLACE_LABELS[place]
    if place_name and place in ("locker", "station") and PLACE_LABELS[place] not in place_name:
        where = f"{place_name}{PLACE_LABELS[place]}"
    code = f"（取件码 {place_code}）" if place_code else ""
    agreed = f"经收货人同意（{consent.label()}）" if consent else "未经收货人同意（已记录异常）"
    return f"放置于{where}{code}，{agreed}"
