"""POST /api/v1/verify and the public page /v/<receipt_id>."""
import io

from .pki import one_page_pdf


def test_genuine_receipt_verifies_as_upload_or_body(client, signed):
    receipt_id, data, _ = signed
    expected = {"pdf_signature_valid": True, "evidence_hash_matches": True, "receipt_id": receipt_id,
                "signature_intact": True, "file_matches": True}
    as_body = client.post("/api/v1/verify", data=data, content_type="application/pdf")
    assert as_body.status_code == 200
    result = as_body.get_json()
    assert {k: result[k] for k in expected} == expected
    assert result["signed_by"] and result["signing_time"].endswith("Z")
    as_file = client.post("/api/v1/verify", data={"file": (io.BytesIO(data), "r.pdf")},
                          content_type="multipart/form-data")
    assert as_file.get_json() == result


def test_one_byte_changed_fails(client, signed):
    receipt_id, data, _ = signed
    for position in (len(data) // 3, len(data) // 2, len(data) - 2000):
        tampered = bytearray(data)
        tampered[position] ^= 0x01
        result = client.post("/api/v1/verify", data=bytes(tampered), content_type="application/pdf")
        assert result.status_code == 200
        assert result.get_json()["pdf_signature_valid"] is False, position


def test_a_pdf_that_is_not_a_receipt(client):
    result = client.post("/api/v1/verify", data=one_page_pdf(), content_type="application/pdf").get_json()
    assert result == {"pdf_signature_valid": False, "evidence_hash_matches": False, "receipt_id": None,
                      "signature_intact": False, "file_matches": False, "signed_by": None, "signing_time": None}
    garbage = client.post("/api/v1/verify", data=b"hello", content_type="application/pdf")
    assert garbage.status_code == 422


def test_public_page_shows_masked_facts(client, world, signed):
    receipt_id, data, _ = signed
    evidence = world.get(f"/receipts/{receipt_id}").get_json()
    page = client.get(f"/v/{receipt_id}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    name = evidence["evidence"]["signer"]["name"]
    assert evidence["evidence"]["waybills"][0]["number"] in html
    assert evidence["evidence_hash"] in html and evidence["pdf"]["sha256"] in html
    assert name not in html and name[0] + "*" * (len(name) - 1) in html
    assert evidence["evidence"]["tenant"]["name"] in html
    assert "<script" not in html and "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert " style=" not in html and "<style" not in html
    assert "13800138000" not in html and "上海市" not in html


def test_public_page_of_an_unknown_receipt_is_404(client):
    assert client.get("/v/00000000000000000000000000000000").status_code == 404
