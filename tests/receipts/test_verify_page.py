"""The verification page answers an uploaded PDF in words, on the page itself."""
import io
import re

from .pki import one_page_pdf


def _upload(client, receipt_id, data, name="r.pdf"):
    return client.post(f"/v/{receipt_id}", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def _verdict(response):
    html = response.get_data(as_text=True)
    found = re.search(r'data-testid="verify-verdict" data-ok="(\w+)">\s*<h2[^>]*>([^<]+)</h2>\s*<ul>(.*?)</ul>', html, re.S)
    assert found, html
    return found.group(1) == "true", found.group(2), re.findall(r"<li>([^<]+)</li>", found.group(3))


def test_genuine_pdf_is_valid_signed_by_the_tenant_at_a_local_time(client, world, signed):
    receipt_id, data, _ = signed
    response = _upload(client, receipt_id, data)
    assert response.status_code == 200 and response.mimetype == "text/html"
    ok, title, lines = _verdict(response)
    assert ok and title.startswith("✔ 验证通过")
    signer = next(line for line in lines if line.startswith("签名人"))
    assert "某某物流有限公司" in signer or world.slug in signer
    assert any(line.startswith("签名时间") and "Asia/Shanghai, UTC+08:00" in line for line in lines)
    assert "{" not in response.get_data(as_text=True).split('data-testid="verify-verdict"')[1].split("</section>")[0]


def test_changed_pdf_says_what_does_not_match(client, signed):
    receipt_id, data, _ = signed
    tampered = bytearray(data)
    tampered[len(data) // 2] ^= 0x01
    ok, title, lines = _verdict(_upload(client, receipt_id, bytes(tampered)))
    assert not ok and title == "✘ 验证未通过"
    assert any("数字签名无效" in line for line in lines)
    appended = data + b"\n% appended after signing\n"
    ok, _, lines = _verdict(_upload(client, receipt_id, appended))
    assert not ok and any("不是同一份" in line or "数字签名无效" in line for line in lines)


def test_other_pdfs_and_other_receipts_are_named_as_such(client, world, signed, make_door):
    from .conftest import drain

    receipt_id, data, _ = signed
    ok, title, _ = _verdict(_upload(client, receipt_id, one_page_pdf()))
    assert not ok and title == "✘ 这不是本平台签发的回执"
    other_id = make_door().submit().get_json()["receipt_id"]
    drain(world)
    ok, title, lines = _verdict(_upload(client, other_id, data))
    assert not ok and title == "✘ 这份 PDF 是另一张回执" and receipt_id in lines[0]


def test_bad_uploads_are_explained_on_the_page(client, signed):
    receipt_id, _, _ = signed
    empty = client.post(f"/v/{receipt_id}", data={}, content_type="multipart/form-data")
    assert empty.status_code == 422 and "请选择要验证的回执 PDF 文件" in empty.get_data(as_text=True)
    text = _upload(client, receipt_id, b"hello, not a pdf", name="x.pdf")
    assert text.status_code == 422 and "不是 PDF" in text.get_data(as_text=True)
    assert _upload(client, "0" * 32, b"%PDF-1.4").status_code == 404


def test_page_shows_the_signed_time_in_the_tenants_zone(client, world, signed):
    receipt_id, _, _ = signed
    assert world.patch("/tenant", {"timezone": "Asia/Kolkata"}).status_code == 200
    html = client.get(f"/v/{receipt_id}").get_data(as_text=True)
    assert "Asia/Kolkata, UTC+05:30" in html and "(UTC)" not in html
    assert 'class="hash"' in html
