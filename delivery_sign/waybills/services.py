"""Waybill operations: bulk-aware creation, scoped queries and state changes.

Creation goes through one path (``create_waybills``) for the single endpoint, the batch
endpoint and file imports, so idempotency and validation mean the same everywhere.
"""
import hashlib
import json
from datetime import datetime
from decimal import Decimal

from blinker import Namespace
from marshmallow import ValidationError
from sqlalchemy import String, bindparam, cast, exists, literal, null, select, union_all, update
from sqlalchemy.exc import IntegrityError

from ..accounts.models import DocType, OrgUnit, User
from ..accounts.org_units import subtree_ids
from ..core import audit
from ..core.auth import Principal
from ..core.bulk import insert_rows, insert_rows_returning_ids
from ..core.clock import isoformat, utcnow
from ..core.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_error, flatten_messages
from ..core.pagination import decode_cursor, encode_cursor
from ..core.masking import mask_address, mask_name, mask_phone, phone_key
from ..extensions import db
from ..webhooks import services as webhooks
from . import transitions
from .models import FINAL_STATUSES, Waybill, WaybillAnomaly, WaybillItem
from .schemas import WaybillInSchema

waybill_in = WaybillInSchema()

# Sent inside the cancelling transaction with the waybill; the signing domain retires
# the waybill's live sign links on it (waybills must not import signing: it is the other way).
signals = Namespace()
waybill_cancelled = signals.signal("waybill-cancelled")

# IN-lists stay well below SQLite's and PostgreSQL's parameter limits.
_LOOKUP_CHUNK = 500


def _json_default(value):
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return isoformat(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def body_hash(data: dict) -> str:
    """SHA-256 of the validated body in canonical form: key order and 1 vs 1.0 do not matter."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _Refs:
    """Per-call caches of doc types, org units and couriers referenced by payloads."""

    def __init__(self, principal: Principal):
        self.principal = principal
        self.doc_types, self.units, self.couriers = {}, {}, {}

    def doc_type(self, code):
        if code not in self.doc_types:
            self.doc_types[code] = db.session.execute(
                select(DocType).where(DocType.tenant_id == self.principal.tenant_id, DocType.code == code)
            ).scalar_one_or_none()
        if self.doc_types[code] is None:
            raise _RefError("doc_type", f"No document type {code!r}.")
        return self.doc_types[code]

    def org_unit_id(self, code):
        if code is None:
            if self.principal.role != "dispatcher":
                return None
            if self.principal.home_unit_id is None:
                # A dispatcher without a unit reaches nothing, so could never see the waybill.
                raise _RefError("org_unit", "You belong to no org unit; name one you can reach.")
            return self.principal.home_unit_id
        if code not in self.units:
            self.units[code] = db.session.execute(
                select(OrgUnit).where(OrgUnit.tenant_id == self.principal.tenant_id, OrgUnit.code == code)
            ).scalar_one_or_none()
        unit = self.units[code]
        reach = self.principal.org_unit_ids
        if unit is None or (reach is not None and unit.id not in reach):
            raise _RefError("org_unit", f"No org unit {code!r}.")
        return unit.id

    def courier(self, username):
        if username is None:
            return None
        if username not in self.couriers:
            self.couriers[username] = db.session.execute(
                select(User).where(User.tenant_id == self.principal.tenant_id, User.username == username,
                                   User.role == "courier", User.active.is_(True))
            ).scalar_one_or_none()
        courier, reach = self.couriers[username], self.principal.org_unit_ids
        # A dispatcher hands work only to couriers of their own subtree.
        if courier is None or (reach is not None and courier.org_unit_id not in reach):
            raise _RefError("courier", f"No active courier {username!r} in your org units.")
        return courier


class _RefError(Exception):
    def __init__(self, field, message):
        super().__init__(message)
        self.error = field_error(field, "not_found", message)


def _number_of(raw):
    number = raw.get("number") if isinstance(raw, dict) else None
    return number if isinstance(number, str) else None


def create_waybills(principal: Principal, payloads: list) -> list[dict]:
    """Create many waybills at once; one result per payload, in order.

    A result is ``{"number", "status": "created"|"exists"|"error", "errors"?}``.
    Invalid payloads never stop the rest.
    """
    refs = _Refs(principal)
    results, pending = [], []
    for raw in payloads:
        number = _number_of(raw)
        try:
            if not isinstance(raw, dict):
                raise ValidationError({"_schema": ["invalid_type: Each waybill must be a JSON object."]})
            data = waybill_in.load(raw)
        except ValidationError as exc:
            results.append({"number": number, "status": "error", "errors": flatten_messages(exc.messages)})
            continue
        result = {"number": data["number"], "status": None, "data": data, "hash": body_hash(data)}
        results.append(result)
        pending.append(result)

    stored = _stored_hashes(principal.tenant_id, [r["number"] for r in pending])
    new_rows, seen = [], {}
    for result in pending:
        number, digest = result["number"], result["hash"]
        known = stored.get(number) or seen.get(number)
        if known is not None:
            if known == digest:
                result["status"] = "exists"
            else:
                result["status"] = "error"
                result["errors"] = [field_error("number", "conflict",
                                                f"Waybill {number} exists with a different body.")]
            continue
        try:
            new_rows.append(_row(principal, refs, result["data"], digest))
        except _RefError as exc:
            result["status"], result["errors"] = "error", [exc.error]
            continue
        result["status"] = "created"
        seen[number] = digest

    if new_rows:
        _insert(principal, new_rows)
    for result in results:
        result.pop("data", None)
        result.pop("hash", None)
    return results


def _insert(principal: Principal, rows: list[dict]) -> None:
    """Bulk INSERT … RETURNING: no unit-of-work bookkeeping for thousands of new rows."""
    items = [row.pop("items") for row in rows]
    couriers = [row.pop("courier_username") for row in rows]
    try:
        ids = insert_rows_returning_ids(Waybill, rows)
    except IntegrityError:
        # Another request created one of these numbers between our lookup and insert.
        db.session.rollback()
        raise Conflict("A waybill with one of these numbers was created concurrently; retry.") from None
    insert_rows(WaybillItem, [
        dict(item, waybill_id=waybill_id) for waybill_id, lines in zip(ids, items) for item in lines
    ])
    audit.record_many(principal.tenant_id, [
        ("waybill.created", principal.actor, f"waybill:{row['number']}", {"status": row["status"], "courier": courier})
        for row, courier in zip(rows, couriers)
    ])


def _stored_hashes(tenant_id: int, numbers: list[str]) -> dict:
    found = {}
    unique = list(dict.fromkeys(numbers))
    for start in range(0, len(unique), _LOOKUP_CHUNK):
        chunk = unique[start:start + _LOOKUP_CHUNK]
        rows = db.session.execute(
            select(Waybill.number, Waybill.body_hash)
            .where(Waybill.tenant_id == tenant_id, Waybill.number.in_(chunk))
        )
        found.update({number: digest for number, digest in rows})
    return found


def _row(principal: Principal, refs: _Refs, data: dict, digest: str) -> dict:
    """The columns of a new waybill (and its item lines under ``items``)."""
    doc_type = refs.doc_type(data["doc_type"])
    org_unit_id = refs.org_unit_id(data["org_unit"])
    courier = refs.courier(data["courier"])
    consignee = data["consignee"]
    location = consignee.get("location") or {}
    now = utcnow()
    return {
        "tenant_id": principal.tenant_id, "number": data["number"], "doc_type_id": doc_type.id,
        "org_unit_id": org_unit_id, "courier_id": courier.id if courier else None,
        "courier_username": courier.username if courier else None,
        "status": "assigned" if courier else "created",
        "consignee_name": consignee["name"], "consignee_phone": consignee["phone"],
        "consignee_phone_key": phone_key(consignee["phone"]),
        "consignee_address": consignee["address"], "consignee_lat": location.get("lat"),
        "consignee_lng": location.get("lng"), "consignee_coord_system": location.get("coord_system"),
        "deadline": data["deadline"], "external_ref": data["external_ref"], "extra": data["metadata"],
        "body_hash": digest, "created_at": now, "updated_at": now, "assigned_at": now if courier else None,
        "items": [{"line_no": i, "sku": item["sku"], "name": item["name"], "qty": item["qty"], "unit": item["unit"]}
                  for i, item in enumerate(data["items"], start=1)],
    }


def create_waybill(principal: Principal, raw: dict) -> tuple[Waybill, bool]:
    """The single-waybill form: ``(waybill, created)``; 409 on a different body, 422 on errors."""
    result = create_waybills(principal, [raw])[0]
    if result["status"] in ("created", "exists"):
        return get_waybill(principal, result["number"]), result["status"] == "created"
    if any(e["code"] == "conflict" for e in result["errors"]):
        raise Conflict(result["errors"][0]["message"])
    raise ValidationFailed(result["errors"])


# --- reading ---------------------------------------------------------------------------

def scoped(principal: Principal, query=None):
    """The one place that decides which waybills a caller can reach."""
    query = select(Waybill) if query is None else query
    query = query.where(Waybill.tenant_id == principal.tenant_id)
    if principal.role == "courier":
        query = query.where(Waybill.courier_id == principal.user_id)
    elif principal.org_unit_ids is not None:
        query = query.where(Waybill.org_unit_id.in_(principal.org_unit_ids))
    return query


def get_waybill(principal: Principal, number: str, *, for_update=False) -> Waybill:
    query = scoped(principal).where(Waybill.number == number)
    if for_update:
        query = query.with_for_update(of=Waybill)
    waybill = db.session.execute(query).unique().scalar_one_or_none()
    if waybill is None:
        raise NotFound(f"No waybill {number!r}.")
    return waybill


def _prefix_range(column, prefix):
    # Byte-ordered columns (see models): "prefix" ≤ value < "prefix" + U+10FFFF.
    return column.between(prefix, prefix + "\U0010ffff")


def filtered(principal: Principal, filters: dict, query=None):
    """``query`` (default: the caller's waybills) narrowed by the list filters of SPEC §4."""
    query = scoped(principal, query)
    tenant_id = principal.tenant_id
    if filters.get("status"):
        statuses = filters["status"].split(",")
        query = query.where(Waybill.status.in_(statuses) if len(statuses) > 1 else Waybill.status == statuses[0])
    if filters.get("courier"):
        courier_id = db.session.execute(
            select(User.id).where(User.tenant_id == tenant_id, User.username == filters["courier"])
        ).scalar_one_or_none()
        query = query.where(Waybill.courier_id == (courier_id or -1))
    if filters.get("org_unit"):
        unit = db.session.execute(
            select(OrgUnit).where(OrgUnit.tenant_id == tenant_id, OrgUnit.code == filters["org_unit"])
        ).scalar_one_or_none()
        query = query.where(Waybill.org_unit_id.in_(subtree_ids(tenant_id, unit.id) if unit else [-1]))
    if filters.get("doc_type"):
        query = query.where(Waybill.doc_type_id.in_(
            select(DocType.id).where(DocType.tenant_id == tenant_id, DocType.code == filters["doc_type"])))
    if filters.get("q"):
        q = filters["q"].strip()
        match = _prefix_range(Waybill.number, q) | _prefix_range(Waybill.consignee_name, q)
        # Issue 12: the receipt code read out at the door. Through the link's waybill rows,
        # so it is index probes (receipts' unique code, the link table's key), not a scan.
        from ..receipts.models import Receipt, normalize_receipt_code
        from ..signing.models import SignLinkWaybill
        code = normalize_receipt_code(q)
        if code is not None:
            match = match | Waybill.id.in_(
                select(SignLinkWaybill.waybill_id).join(Receipt, Receipt.link_id == SignLinkWaybill.link_id)
                .where(Receipt.tenant_id == tenant_id, Receipt.receipt_code == code))
        query = query.where(match)
    for key, column, op in (("created_from", Waybill.created_at, "ge"), ("created_to", Waybill.created_at, "lt"),
                            ("signed_from", Waybill.signed_at, "ge"), ("signed_to", Waybill.signed_at, "lt")):
        if filters.get(key) is not None:
            query = query.where(column >= filters[key] if op == "ge" else column < filters[key])
    if filters.get("anomaly") == "any":
        query = query.where(Waybill.has_anomalies)
    elif filters.get("anomaly"):
        query = query.where(exists(select(WaybillAnomaly.id).where(
            WaybillAnomaly.tenant_id == tenant_id, WaybillAnomaly.waybill_id == Waybill.id,
            WaybillAnomaly.code == filters["anomaly"])))
    if filters.get("signer_relation") == "others":
        query = query.where(Waybill.signer_relation.isnot(None), Waybill.signer_relation != "self")
    elif filters.get("signer_relation"):
        query = query.where(Waybill.signer_relation == filters["signer_relation"])
    if filters.get("reconciled") is not None:
        query = query.where(Waybill.reconciled_at.isnot(None) if filters["reconciled"]
                            else Waybill.reconciled_at.is_(None))
    return query


# What a listed waybill shows (schemas.WaybillOutSchema), read as columns: the page is
# dumped from plain mappings, not Waybill entities (see list_waybills).
_LISTED = ("id", "number", "status", "consignee_name", "consignee_phone", "consignee_address", "consignee_lat",
           "consignee_lng", "consignee_coord_system", "deadline", "external_ref", "extra", "created_at",
           "updated_at", "assigned_at", "out_for_delivery_at", "signed_at", "cancelled_at", "cancel_reason",
           "document_key", "document_sha256", "document_size", "reconcile_decision", "reconcile_note",
           "reconciled_at", "reconciled_by", "receipt_public_id", "signer_relation")


def list_waybills(principal: Principal, filters: dict):
    """One page of the caller's waybills, newest first, in two queries: the page's columns
    (with its doc type's and org unit's code and its courier's username joined in), then its
    item lines and anomaly codes together. Read as columns into plain mappings that the
    page schema dumps as it dumps entities: no entity hydration, identity map or eager
    loaders for 50–200 wide rows (the relationships' joined and selectin loads were three
    round trips and most of the page's time; bench/bench_pg_size.py)."""
    query = filtered(principal, filters, select(
        *(getattr(Waybill, name) for name in _LISTED), DocType.code.label("doc_type_code"),
        OrgUnit.code.label("org_unit_code"), User.username.label("courier_username"),
    ).select_from(Waybill).join(DocType, DocType.id == Waybill.doc_type_id)
        .outerjoin(OrgUnit, OrgUnit.id == Waybill.org_unit_id).outerjoin(User, User.id == Waybill.courier_id))
    limit, last_id = filters["limit"], decode_cursor(filters["cursor"])
    if last_id is not None:
        query = query.where(Waybill.id < last_id)
    rows = db.session.execute(query.order_by(Waybill.id.desc()).limit(limit + 1)).mappings().all()
    next_cursor = encode_cursor(rows[limit - 1]["id"]) if len(rows) > limit else None
    page = []
    for row in rows[:limit]:
        waybill = dict(row)
        waybill["doc_type"] = {"code": waybill.pop("doc_type_code")}
        org_unit, courier = waybill.pop("org_unit_code"), waybill.pop("courier_username")
        waybill["org_unit"] = None if org_unit is None else {"code": org_unit}
        waybill["courier"] = None if courier is None else {"username": courier}
        waybill["items"], waybill["anomalies"] = [], []
        page.append(waybill)
    if page:
        by_id = {waybill["id"]: waybill for waybill in page}
        ids = list(by_id)
        items = select(WaybillItem.waybill_id, literal(0).label("part"), WaybillItem.line_no.label("ord"),
                       WaybillItem.sku, WaybillItem.name, WaybillItem.qty, WaybillItem.unit
                       ).where(WaybillItem.waybill_id.in_(ids))
        anomalies = select(WaybillAnomaly.waybill_id, literal(1), WaybillAnomaly.id, cast(null(), String),
                           WaybillAnomaly.code, cast(null(), WaybillItem.qty.type), cast(null(), String)
                           ).where(WaybillAnomaly.tenant_id == principal.tenant_id,
                                   WaybillAnomaly.waybill_id.in_(ids))
        for waybill_id, part, _, sku, name, qty, unit in db.session.execute(
                union_all(items, anomalies).order_by("waybill_id", "part", "ord")):
            if part == 0:
                by_id[waybill_id]["items"].append({"sku": sku, "name": name, "qty": qty, "unit": unit})
            else:
                by_id[waybill_id]["anomalies"].append({"code": name})
    return {"items": page, "next_cursor": next_cursor}


def reveal_phone(principal: Principal, waybill: Waybill) -> None:
    if principal.role not in ("admin", "dispatcher"):
        raise Forbidden("Only admins and dispatchers may reveal a phone number.")
    waybill.reveal_phone = True
    audit.record(principal.tenant_id, "pii.revealed", principal.actor, f"waybill:{waybill.number}",
                 {"field": "consignee.phone"})


def anonymise_consignee(tenant_id: int, waybill: Waybill, actor: str) -> None:
    """A person's erasure request (issue 19): the consignee's name, phone, address and
    location are replaced by their masked forms; the waybill and its history stay."""
    waybill.consignee_name = mask_name(waybill.consignee_name)
    waybill.consignee_phone = mask_phone(waybill.consignee_phone)
    waybill.consignee_address = mask_address(waybill.consignee_address)
    waybill.consignee_phone_key = None
    waybill.consignee_lat = waybill.consignee_lng = waybill.consignee_coord_system = None
    audit.record(tenant_id, "waybill.anonymised", actor, f"waybill:{waybill.number}", {})


# --- state changes ---------------------------------------------------------------------

def assign(principal: Principal, number: str, courier_username: str) -> Waybill:
    waybill = get_waybill(principal, number, for_update=True)
    transitions.check(waybill, "assigned")
    try:
        courier = _Refs(principal).courier(courier_username)
    except _RefError as exc:
        raise ValidationFailed([exc.error]) from None
    transitions.move(waybill, "assigned")
    waybill.courier, waybill.assigned_at = courier, utcnow()
    audit.record(principal.tenant_id, "waybill.assigned", principal.actor, f"waybill:{number}",
                 {"courier": courier.username})
    return waybill


def cancel(principal: Principal, number: str, reason: str) -> Waybill:
    waybill = get_waybill(principal, number, for_update=True)
    transitions.move(waybill, "cancelled")
    waybill.cancelled_at, waybill.cancel_reason = utcnow(), reason
    audit.record(principal.tenant_id, "waybill.cancelled", principal.actor, f"waybill:{number}", {"reason": reason})
    waybill_cancelled.send(waybill, principal=principal)
    return waybill


def mark_out_for_delivery(waybill: Waybill, now: datetime) -> bool:
    """A sign link made for the waybill puts it out for delivery; False when it already was
    (a second QR for the same round). The caller holds the row lock."""
    if waybill.status == "out_for_delivery":
        return False
    transitions.move(waybill, "out_for_delivery")
    waybill.out_for_delivery_at = now
    return True


_WAYBILLS = Waybill.__table__
# Built once (issue 16): the sign-off's UPDATE of its waybills, one executemany for all.
_SIGN_OFF = (update(_WAYBILLS).where(_WAYBILLS.c.id == bindparam("waybill_id"))
             .values(status=bindparam("to_status"), updated_at=bindparam("to_updated_at"),
                     signed_at=bindparam("to_signed_at"), receipt_public_id=bindparam("to_receipt"),
                     signer_relation=bindparam("to_relation"), has_anomalies=bindparam("to_has_anomalies")))
_SIGNED_OFF_COLUMNS = {"status": "to_status", "updated_at": "to_updated_at", "signed_at": "to_signed_at",
                       "receipt_public_id": "to_receipt", "signer_relation": "to_relation",
                       "has_anomalies": "to_has_anomalies"}


def record_signoff(waybills: list[Waybill], statuses: dict, receipt_public_id: str, signer_relation: str,
                   anomalies: list[str], now: datetime) -> None:
    """The waybills' state after a sign-off or a consented drop: each its status
    (``statuses`` by waybill id, moved through waybills.transitions), the receipt, and the
    anomalies filed under each (one INSERT for all). The caller holds the row locks.

    The waybills are written by one UPDATE built once, not by the unit of work (issue 16:
    its flush cost more than the statement); the waybills in hand hold the new values
    (entities as committed, so nothing is written twice; the sign-off passes plain
    objects, signing.submit ``LockedWaybill``, with ``anomalies`` as rows of ``code``)."""
    rows, changes = [], []
    updated_at = utcnow()
    db.session.flush()   # anything else the caller changed goes first, as before
    for waybill in waybills:
        transitions.move_written(waybill, statuses[waybill.id])
        existing = {a.code for a in waybill.anomalies}
        rows += [{"tenant_id": waybill.tenant_id, "waybill_id": waybill.id, "code": code, "created_at": now}
                 for code in dict.fromkeys(anomalies) if code not in existing]
        values = {"updated_at": updated_at, "signed_at": now, "receipt_public_id": receipt_public_id,
                  "signer_relation": signer_relation, "has_anomalies": bool(existing or anomalies)}
        for key, value in values.items():
            transitions.hold(waybill, key, value)
        values["status"] = waybill.status
        changes.append({"waybill_id": waybill.id, **{_SIGNED_OFF_COLUMNS[k]: v for k, v in values.items()}})
    if changes:
        db.session.connection().execute(_SIGN_OFF, changes)
    insert_rows(WaybillAnomaly, rows)


MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


def attach_document(principal: Principal, number: str, data: bytes) -> Waybill:
    """Store the original delivery note (a real PDF, by content) for the receipt to extend."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    from ..core.storage import get_storage

    waybill = get_waybill(principal, number, for_update=True)
    if waybill.status in FINAL_STATUSES:
        raise Conflict(f"Waybill {number} is {waybill.status}; its document can no longer change.")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ValidationFailed([field_error("body", "too_large", "The PDF is larger than 20 MB.")])
    if not data.startswith(b"%PDF-"):
        raise ValidationFailed([field_error("body", "not_pdf", "The body is not a PDF document.")])
    try:
        pages = len(PdfReader(io.BytesIO(data)).pages)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
        raise ValidationFailed([field_error("body", "not_pdf", "The PDF could not be read.")]) from None
    if pages < 1:
        raise ValidationFailed([field_error("body", "not_pdf", "The PDF has no pages.")])
    digest = hashlib.sha256(data).hexdigest()
    key = f"documents/{principal.tenant_id}/{digest}.pdf"
    # Written before the commit: a failed commit leaves an unreferenced, content-addressed file.
    get_storage().put(key, data, "application/pdf")
    waybill.document_key, waybill.document_sha256, waybill.document_size = key, digest, len(data)
    audit.record(principal.tenant_id, "waybill.document_attached", principal.actor, f"waybill:{number}",
                 {"sha256": digest, "size": len(data), "pages": pages})
    return waybill


# --- reconciliation ---------------------------------------------------------------------

RECONCILABLE = ("signed", "partially_signed", "refused", "dropped")


def reconcile(principal: Principal, number: str, decision: str, note: str | None) -> Waybill:
    """The dispatcher's verdict on a signed-off waybill: accepted, or disputed with a note."""
    waybill = get_waybill(principal, number, for_update=True)
    if waybill.status not in RECONCILABLE:
        raise Conflict(f"Waybill {number} is {waybill.status}; only signed-off waybills are reconciled.")
    if decision == "disputed" and not (note or "").strip():
        raise ValidationFailed([field_error("note", "note_required", "Say what is disputed.")])
    waybill.reconcile_decision, waybill.reconcile_note = decision, note or None
    waybill.reconciled_at, waybill.reconciled_by = utcnow(), principal.actor
    audit.record(principal.tenant_id, "waybill.reconciled", principal.actor, f"waybill:{number}",
                 {"decision": decision, "note": note or None})
    webhooks.emit(principal.tenant_id, "waybill.reconciled", {
        "number": waybill.number, "status": waybill.status, "decision": decision, "note": waybill.reconcile_note,
        "reconciled_at": isoformat(waybill.reconciled_at), "receipt_id": waybill.receipt_public_id,
    }, waybill_number=number)
    return waybill


def reconcile_many(principal: Principal, numbers: list[str], decision: str, note: str | None) -> list[dict]:
    """The bulk form: one result per number; a waybill that cannot be reconciled does not stop the rest."""
    results = []
    for number in dict.fromkeys(numbers):
        try:
            with db.session.begin_nested():
                reconcile(principal, number, decision, note)
            results.append({"number": number, "status": "reconciled"})
        except (NotFound, Conflict, ValidationFailed) as exc:
            results.append({"number": number, "status": "error", "error": exc.detail})
    return results

