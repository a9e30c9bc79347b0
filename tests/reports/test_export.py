"""Exports stream every matching waybill, phones masked, in CSV that Excel reads and XLSX.

These tests read the integrator's export (``lang=codes``: codes and UTC times);
test_export_labels.py reads the one an office reads (labels, the tenant's zone)."""
import csv
import io

from openpyxl import load_workbook


def _csv(response):
    assert response.status_code == 200
    data = response.get_data()
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_export_with_filters_and_receipts(world, door):
    body = door.body(signer={"name": door.signature["signer_name"], "relation": "family"})
    receipt_id = door.submit(body).get_json()["receipt_id"]
    formula = world.waybill(org_unit="WEST", consignee={"name": "=HYPERLINK(\"http://x\")", "phone": "13800138000",
                                                        "address": "x"})["number"]
    rows = _csv(world.get("/waybills/export", query_string={"format": "csv", "lang": "codes"}))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["number", "status", "doc_type"] and len(body) == 2
    by_number = {r[0]: dict(zip(header, r)) for r in body}
    signed = by_number[door.number]
    assert signed["status"] == "signed" and signed["receipt_id"] == receipt_id
    assert signed["consignee_phone"] == "138****8000" and signed["signer_relation"] == "family"
    assert signed["signer"] == door.signature["signer_name"]
    assert "signer_not_consignee" in signed["anomalies"].split()
    assert by_number[formula]["anomalies"] == by_number[formula]["signer"] == ""
    # A cell that Excel would run as a formula is defused.
    assert by_number[formula]["consignee_name"] == "'=HYPERLINK(\"http://x\")"
    only_signed = _csv(world.get("/waybills/export", query_string={"status": "signed", "lang": "codes"}))
    assert [r[0] for r in only_signed[1:]] == [door.number]
    assert "13800138000" not in world.get("/waybills/export").get_data(as_text=True)


def test_export_is_scoped_and_paged_internally(world, monkeypatch):
    from delivery_sign.reports import export

    monkeypatch.setattr(export, "BATCH", 3)
    numbers = {world.waybill(org_unit="EAST-1")["number"] for _ in range(7)}
    west = world.waybill(org_unit="WEST")["number"]
    east_rows = _csv(world.get("/waybills/export", who="disp_east"))
    assert {r[0] for r in east_rows[1:]} == numbers
    assert west in {r[0] for r in _csv(world.get("/waybills/export"))[1:]}
    assert world.get("/waybills/export", who="courier1").status_code == 403


def test_xlsx_export(world):
    number = world.waybill()["number"]
    response = world.get("/waybills/export", query_string={"format": "xlsx", "lang": "codes"})
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.get_data()), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "number" and rows[1][0] == number and rows[1][6] == "138****8000"
    assert world.get("/waybills/export", query_string={"format": "pdf"}).status_code == 422
