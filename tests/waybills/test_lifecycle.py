"""Assign, cancel and attach the original document."""
import io

from pypdf import PdfWriter


def _pdf_bytes():
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_assign_then_reassign(world):
    number = world.waybill()["number"]
    assigned = world.post(f"/waybills/{number}/assign", {"courier": "courier1"}).get_json()
    assert assigned["status"] == "assigned" and assigned["courier"] == "courier1" and assigned["assigned_at"]
    again = world.post(f"/waybills/{number}/assign", {"courier": "courier2"}).get_json()
    assert again["courier"] == "courier2"
    assert world.post(f"/waybills/{number}/assign", {"courier": "disp_east"}).status_code == 422


def test_cancel_and_what_cannot_follow(world):
    number = world.waybill()["number"]
    cancelled = world.post(f"/waybills/{number}/cancel", {"reason": "客户取消"}).get_json()
    assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == "客户取消"
    assert world.post(f"/waybills/{number}/cancel", {"reason": "again"}).status_code == 409
    assert world.post(f"/waybills/{number}/assign", {"courier": "courier1"}).status_code == 409
    assert world.post(f"/waybills/{number}/cancel", {}).status_code == 422


def test_courier_cannot_assign_or_cancel(world):
    number = world.waybill(courier="courier1", org_unit="EAST-1")["number"]
    assert world.post(f"/waybills/{number}/cancel", {"reason": "x"}, who="courier1").status_code == 403


def test_unknown_waybill_is_404(world):
    assert world.post("/waybills/NOPE-1/cancel", {"reason": "x"}).status_code == 404
    assert world.get("/waybills/NOPE-1").status_code == 404


def test_document_must_be_a_real_pdf(world):
    number = world.waybill()["number"]
    pdf = _pdf_bytes()
    stored = world.put(f"/waybills/{number}/document", data=pdf, content_type="application/pdf")
    assert stored.status_code == 200
    assert stored.get_json()["document"]["size"] == len(pdf)
    fake = world.put(f"/waybills/{number}/document", data=b"%PDF-1.7\nnot really", content_type="application/pdf")
    assert fake.status_code == 422 and fake.get_json()["errors"][0]["code"] == "not_pdf"
    png = world.put(f"/waybills/{number}/document", data=b"\x89PNG\r\n\x1a\n", content_type="application/pdf")
    assert png.status_code == 422
    wrong_type = world.put(f"/waybills/{number}/document", data=pdf, content_type="image/png")
    assert wrong_type.status_code == 415
