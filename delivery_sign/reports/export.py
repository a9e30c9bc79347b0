"""Waybill exports that stream any number of rows with flat memory.

Rows are read in keyset batches of plain tuples (no ORM objects) with their receipt's
signer joined; the anomalies of the flagged ones are looked up per batch. Rows are
written out as they come: CSV with a UTF-8 BOM so Excel opens Chinese text correctly;
XLSX through openpyxl's write-only mode.
"""
import csv
import io
import os
import re
import tempfile

from sqlalchemy import select

from ..accounts.models import DocType, OrgUnit, User
from ..core.clock import isoformat
from ..core.masking import mask_phone
from ..extensions import db
from ..receipts.models import Receipt
from ..waybills.models import Waybill, WaybillAnomaly
from ..waybills.services import filtered

BATCH = 2000
HEADER = ["number", "status", "doc_type", "org_unit", "courier", "consignee_name", "consignee_phone",
          "consignee_address", "created_at", "out_for_delivery_at", "signed_at", "receipt_id", "signer",
          "signer_relation", "anomalies", "reconciliation", "reconcile_note", "external_ref"]


def _columns():
    return (Waybill.id, Waybill.number, Waybill.status, DocType.code, OrgUnit.code, User.username,
            Waybill.consignee_name, Waybill.consignee_phone, Waybill.consignee_address, Waybill.created_at,
            Waybill.out_for_delivery_at, Waybill.signed_at, Waybill.receipt_public_id, Receipt.signer_name,
            Waybill.signer_relation, Waybill.has_anomalies, Waybill.reconcile_decision, Waybill.reconcile_note,
            Waybill.external_ref)


def rows(principal, filters):
    """Yield export rows (lists of cells) newest first, ``BATCH`` waybills per query."""
    base = filtered(principal, filters, select(*_columns())
                    .join(DocType, DocType.id == Waybill.doc_type_id)
                    .outerjoin(OrgUnit, OrgUnit.id == Waybill.org_unit_id)
                    .outerjoin(User, User.id == Waybill.courier_id)
                    .outerjoin(Receipt, Receipt.public_id == Waybill.receipt_public_id))
    last_id = None
    while True:
        query = base if last_id is None else base.where(Waybill.id < last_id)
        batch = db.session.execute(query.order_by(Waybill.id.desc()).limit(BATCH)).all()
        if not batch:
            return
        anomalies = _anomalies([r[0] for r in batch if r.has_anomalies])
        for (wid, number, status, doc_type, unit, courier, name, phone, address, created, dispatched, signed,
             receipt_id, signer, relation, _, decision, note, external_ref) in batch:
            yield [number, status, doc_type, unit or "", courier or "", name, mask_phone(phone), address,
                   isoformat(created), isoformat(dispatched) or "", isoformat(signed) or "", receipt_id or "",
                   signer or "", relation or "", " ".join(anomalies.get(wid, [])), decision or "",
                   note or "", external_ref or ""]
        last_id = batch[-1][0]
        db.session.expunge_all()


def _anomalies(ids):
    """The anomaly codes of the waybills in ``ids`` (only those flagged ``has_anomalies``)."""
    found = {}
    if ids:
        for wid, code in db.session.execute(select(WaybillAnomaly.waybill_id, WaybillAnomaly.code)
                                            .where(WaybillAnomaly.waybill_id.in_(ids))
                                            .order_by(WaybillAnomaly.id)):
            found.setdefault(wid, []).append(code)
    return found


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


def csv_stream(principal, filters):
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    buffer.write("\ufeff")
    writer.writerow(HEADER)
    for i, row in enumerate(rows(principal, filters), start=1):
        writer.writerow([_safe(c, split_at_semicolons=True) for c in row])
        if i % 500 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def xlsx_stream(principal, filters):
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def text(cell):
        # XML cannot hold C0 controls and openpyxl raises on them mid-stream. Requests can no
        # longer store them (core.schema's text rules), but older rows may hold them.
        return ILLEGAL_CHARACTERS_RE.sub("", cell) if isinstance(cell, str) else cell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("waybills")
    sheet.append(HEADER)
    for row in rows(principal, filters):
        sheet.append([text(_safe(c)) for c in row])
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        workbook.save(path)
        with open(path, "rb") as fh:
            while chunk := fh.read(64 * 1024):
                yield chunk
    finally:
        os.unlink(path)
