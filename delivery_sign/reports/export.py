"""Waybill exports that stream any number of rows with flat memory.

Rows are read in keyset batches of plain tuples (no ORM objects) with their doc type, org
unit, courier and receipt's signer joined; the anomalies of the flagged ones (and, for
XLSX, the item lines) are looked up per batch. Rows are written out as they come: CSV
with a UTF-8 BOM so Excel opens Chinese text correctly; XLSX through openpyxl's
write-only mode, a second sheet with one row per item line.

An office reads it as words (``lang=zh|en``, the tenant's language by default): column
names and values from core/vocabulary.py, names instead of codes, times in the tenant's
zone with the zone in the time columns' headers. ``lang=codes`` is the integrator's
export: codes, usernames and UTC ISO-8601 times under the code-named columns of before.

Issue 14 adds columns at the end (nothing before them moves): the outcome (``dropped``
among them), where a drop was left, the consent it relied on and when that was answered,
and whether the sign-off was assisted on the courier's device, with whose phone the code
went to (masked). The consent's answer time is read per batch, for the drops only.
"""
import csv
import io
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select

from ..accounts.models import DocType, OrgUnit, Tenant, User
from ..core import vocabulary
from ..consent.models import Drop
from ..core.clock import isoformat, local_texter, to_naive_utc, zone_caption
from ..core.masking import mask_phone
from ..extensions import db
from ..receipts.models import Receipt, ReceiptLine
from ..signing.models import SignLink
from ..waybills.models import Waybill, WaybillAnomaly, WaybillItem
from ..waybills.services import filtered

BATCH = 2000
CODES = "codes"
HEADER = ["number", "status", "doc_type", "org_unit", "courier", "consignee_name", "consignee_phone",
          "consignee_address", "created_at", "out_for_delivery_at", "signed_at", "receipt_id", "signer",
          "signer_relation", "anomalies", "reconciliation", "reconcile_note", "external_ref",
          "outcome", "drop_place", "consent_kind", "consent_answered_at", "assisted", "assisted_otp_to",
          "assisted_otp_phone"]
ITEM_HEADER = ["number", "item_sku", "item_name", "item_unit", "shipped", "received", "damaged", "note"]
TIME_COLUMNS = frozenset({"created_at", "out_for_delivery_at", "signed_at", "consent_answered_at"})


@dataclass(frozen=True)
class Wording:
    """How one export words its cells: the language (or ``codes``) and the tenant's zone."""

    lang: str
    zone: str

    @classmethod
    def for_tenant(cls, tenant_id: int, lang: str | None) -> "Wording":
        tenant = db.session.get(Tenant, tenant_id)
        return cls(lang or vocabulary.lang_of(tenant.language), tenant.timezone)

    @property
    def coded(self) -> bool:
        return self.lang == CODES

    def header(self, columns) -> list[str]:
        if self.coded:
            return list(columns)
        names = vocabulary.labels_of("column", self.lang)
        zone = zone_caption(self.zone)
        return [f"{names[c]} ({zone})" if c in TIME_COLUMNS else names[c] for c in columns]

    def sheet(self, name: str) -> str:
        return name if self.coded else vocabulary.label("sheet", name, self.lang)


def _columns():
    return (Waybill.id, Waybill.number, Waybill.status, DocType.code, DocType.name, OrgUnit.code, OrgUnit.name,
            User.username, User.display_name, Waybill.consignee_name, Waybill.consignee_phone,
            Waybill.consignee_address, Waybill.created_at, Waybill.out_for_delivery_at, Waybill.signed_at,
            Waybill.receipt_public_id, Receipt.signer_name, Waybill.signer_relation, Waybill.has_anomalies,
            Waybill.reconcile_decision, Waybill.reconcile_note, Waybill.external_ref,
            Receipt.outcome, Drop.place, Drop.consent, SignLink.assisted, SignLink.otp_verified_whose,
            SignLink.otp_verified_to)


def batches(principal, filters, wording: Wording):
    """Yield ``[(waybill_id, row), …]`` newest first, ``BATCH`` waybills per query."""
    base = filtered(principal, filters, select(*_columns())
                    .join(DocType, DocType.id == Waybill.doc_type_id)
                    .outerjoin(OrgUnit, OrgUnit.id == Waybill.org_unit_id)
                    .outerjoin(User, User.id == Waybill.courier_id)
                    .outerjoin(Receipt, Receipt.public_id == Waybill.receipt_public_id)
                    .outerjoin(Drop, Drop.waybill_id == Waybill.id)
                    .outerjoin(SignLink, SignLink.id == Receipt.link_id))
    row_of = _coded_row if wording.coded else _worded_row(wording)
    extra = _consent_cells(wording)
    last_id = None
    while True:
        query = base if last_id is None else base.where(Waybill.id < last_id)
        batch = db.session.execute(query.order_by(Waybill.id.desc()).limit(BATCH)).all()
        if not batch:
            return
        anomalies = _anomalies([r[0] for r in batch if r.has_anomalies])
        answered = _consents_answered([r.receipt_public_id for r in batch if r.consent not in (None, "none")])
        yield [(r[0], row_of(r, anomalies.get(r[0], ())) + extra(r, answered.get(r.receipt_public_id)))
               for r in batch]
        last_id = batch[-1][0]
        db.session.expunge_all()


def rows(principal, filters, wording: Wording | None = None):
    """Yield export rows (lists of cells) newest first."""
    wording = wording or Wording(CODES, "UTC")
    for batch in batches(principal, filters, wording):
        for _, row in batch:
            yield row


def _coded_row(r, anomalies):
    (_, number, status, doc_type, _, unit, _, courier, _, name, phone, address, created, dispatched, signed,
     receipt_id, signer, relation, _, decision, note, external_ref) = r[:22]
    return [number, status, doc_type, unit or "", courier or "", name, mask_phone(phone), address,
            isoformat(created), isoformat(dispatched) or "", isoformat(signed) or "", receipt_id or "",
            signer or "", relation or "", " ".join(anomalies), decision or "", note or "", external_ref or ""]


def _worded_row(wording: Wording):
    lang, local = wording.lang, local_texter(wording.zone)
    statuses, relations = vocabulary.labels_of("status", lang), vocabulary.labels_of("relation", lang)
    kinds, decisions = vocabulary.labels_of("anomaly", lang), vocabulary.labels_of("decision", lang)
    glue = "；" if lang == "zh" else "; "

    def row(r, anomalies):
        (_, number, status, _, doc_type, _, unit, username, display_name, name, phone, address, created,
         dispatched, signed, receipt_id, signer, relation, _, decision, note, external_ref) = r[:22]
        return [number, statuses.get(status, status), doc_type, unit or "", display_name or username or "", name,
                mask_phone(phone), address, local(created), local(dispatched), local(signed), receipt_id or "", signer or "",
                relations.get(relation, relation) if relation else "",
                glue.join(kinds.get(code, code) for code in anomalies),
                decisions.get(decision, decision) if decision else "", note or "", external_ref or ""]
    return row


def _consent_cells(wording: Wording):
    """The issue-14 cells of a row: outcome, drop place, consent kind and answer time,
    assisted, whose phone the code went to and that phone (masked)."""
    if wording.coded:
        def cells(r, answered):
            return [r.outcome or "", r.place or "", r.consent or "", isoformat(answered) or "",
                    "true" if r.assisted else ("false" if r.outcome else ""),
                    (r.otp_verified_whose or "") if r.assisted else "",
                    (mask_phone(r.otp_verified_to) or "") if r.assisted else ""]
        return cells
    lang, local = wording.lang, local_texter(wording.zone)
    outcomes, places = vocabulary.labels_of("outcome", lang), vocabulary.labels_of("drop_place", lang)
    kinds, whose = vocabulary.labels_of("consent_kind", lang), vocabulary.labels_of("otp_to", lang)
    yes = vocabulary.label("yes_no", "yes", lang)

    def cells(r, answered):
        return [outcomes.get(r.outcome, r.outcome or ""), places.get(r.place, r.place or ""),
                kinds.get(r.consent, r.consent or ""), local(answered), yes if r.assisted else "",
                whose.get(r.otp_verified_whose, r.otp_verified_whose or "") if r.assisted else "",
                (mask_phone(r.otp_verified_to) or "") if r.assisted else ""]
    return cells


def _consents_answered(receipt_ids):
    """receipt public id → when the consent a drop relied on was answered (its evidence)."""
    if not receipt_ids:
        return {}
    answered = Receipt.evidence[("consent", "answered_at")].as_string()
    found = db.session.execute(select(Receipt.public_id, answered).where(Receipt.public_id.in_(receipt_ids)))
    return {public_id: to_naive_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
            for public_id, value in found if value}


def _anomalies(ids):
    """The anomaly codes of the waybills in ``ids`` (only those flagged ``has_anomalies``)."""
    found = {}
    if ids:
        for wid, code in db.session.execute(select(WaybillAnomaly.waybill_id, WaybillAnomaly.code)
                                            .where(WaybillAnomaly.waybill_id.in_(ids))
                                            .order_by(WaybillAnomaly.id)):
            found.setdefault(wid, []).append(code)
    return found


def _item_rows(ids):
    """One row per item line of the waybills in ``ids``, in their order: what was shipped, and
    what the sign-off of the waybill's receipt says was received and damaged (blank before)."""
    found = db.session.execute(
        select(Waybill.id, Waybill.number, WaybillItem.sku, WaybillItem.name, WaybillItem.unit, WaybillItem.qty,
               ReceiptLine.received_qty, ReceiptLine.damaged_qty, ReceiptLine.note)
        .join(Waybill, Waybill.id == WaybillItem.waybill_id)
        .outerjoin(Receipt, Receipt.public_id == Waybill.receipt_public_id)
        .outerjoin(ReceiptLine, and_(ReceiptLine.receipt_id == Receipt.id,
                                     ReceiptLine.waybill_item_id == WaybillItem.id))
        .where(WaybillItem.waybill_id.in_(ids))
        .order_by(WaybillItem.waybill_id.desc(), WaybillItem.line_no)).all()   # the batch's order
    return [[number, sku or "", name, unit or "", _number(qty), _number(received), _number(damaged), note or ""]
            for _, number, sku, name, unit, qty, received, damaged, note in found]


def _number(value):
    """A quantity as a spreadsheet number (3 → 3, 2.5 → 2.5), blank when not known."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


# CSV injection: a cell that starts with = + - @ (or their full-width forms, which a
# Chinese IME types) runs as a formula in Excel and LibreOffice, even after leading blanks
# or control characters, which they skip. An apostrophe in front makes it text; tab and
# CR/LF in front are defused the same way (OWASP). In CSV, Excel set to a semicolon locale
# also splits a cell at ";", so a formula can start after any ";" in the text: there the
# apostrophe goes after the ";". (Cells are quoted as well, which keeps Excel from
# splitting; the apostrophe covers readers that split on ";" regardless.)
_FORMULA = "=+\\-@\uff1d\uff0b\uff0d\uff20"
_LEADS_TO_FORMULA = f"(?=[\\t\\r\\n]|[\\s\\x00-\\x1f\\x7f]*[{_FORMULA}])"
_FORMULA_FIRST = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
_CELL_START = re.compile(f"^{_LEADS_TO_FORMULA}")
_CSV_CELL_PART = re.compile(f"(^|;){_LEADS_TO_FORMULA}")


def _safe(cell, *, split_at_semicolons=False):
    """The cell as text a spreadsheet shows and never runs."""
    if not isinstance(cell, str) or not cell:
        return cell
    first = cell[0]
    if (first.isprintable() and not first.isspace() and first not in _FORMULA_FIRST
            and not (split_at_semicolons and ";" in cell)):
        return cell                         # nearly every cell: no regex
    return (_CSV_CELL_PART if split_at_semicolons else _CELL_START).sub(r"\1'" if split_at_semicolons else "'", cell)


def csv_stream(principal, filters, wording: Wording):
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    buffer.write("\ufeff")
    writer.writerow(wording.header(HEADER))
    for i, row in enumerate(rows(principal, filters, wording), start=1):
        writer.writerow([_safe(c, split_at_semicolons=True) for c in row])
        if i % 500 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def xlsx_stream(principal, filters, wording: Wording):
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def text(cell):
        # XML cannot hold C0 controls and openpyxl raises on them mid-stream. Requests can no
        # longer store them (core.schema's text rules), but older rows may hold them.
        return ILLEGAL_CHARACTERS_RE.sub("", cell) if isinstance(cell, str) else cell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(wording.sheet("waybills"))
    items = workbook.create_sheet(wording.sheet("items"))
    sheet.append(wording.header(HEADER))
    items.append(wording.header(ITEM_HEADER))
    for batch in batches(principal, filters, wording):
        for _, row in batch:
            sheet.append([text(_safe(c)) for c in row])
        for row in _item_rows([wid for wid, _ in batch]):
            items.append([text(_safe(c)) for c in row])
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        workbook.save(path)
        with open(path, "rb") as fh:
            while chunk := fh.read(64 * 1024):
                yield chunk
    finally:
        os.unlink(path)
