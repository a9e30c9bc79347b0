"""The verification page /v/<receipt_id> in a phone browser: readable at 390 px, long hashes
wrapped, and an uploaded PDF answered in words on the page."""
import threading

import pytest
from playwright.sync_api import expect

from tests.receipts.conftest import drain

from .axe import assert_accessible

pytestmark = pytest.mark.browser


@pytest.fixture
def receipt_pdf(world, door, tmp_path):
    receipt_id = door.submit().get_json()["receipt_id"]
    # Signing runs asyncio.run(), which refuses the thread where Playwright's loop runs.
    worker = threading.Thread(target=drain, args=(world,))
    worker.start()
    worker.join(120)
    data = world.get(f"/receipts/{receipt_id}/pdf").data
    genuine, tampered = tmp_path / "receipt.pdf", tmp_path / "changed.pdf"
    genuine.write_bytes(data)
    changed = bytearray(data)
    changed[len(data) // 2] ^= 0x01
    tampered.write_bytes(bytes(changed))
    return receipt_id, genuine, tampered


def _fits_the_width(page):
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_verify_page_on_a_phone_answers_an_upload_in_words(phone, receipt_pdf):
    receipt_id, genuine, tampered = receipt_pdf
    page = phone.page
    page.goto(f"/v/{receipt_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("签收回执")
    assert _fits_the_width(page), "the page scrolls sideways at 390 px"
    for hash_box in page.locator("code.hash").all():                # long hashes wrap inside the card
        box = hash_box.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert_accessible(page, "verify page")

    page.get_by_test_id("verify-file").set_input_files(str(genuine))
    page.get_by_test_id("verify-submit").click()
    verdict = page.get_by_test_id("verify-verdict")
    expect(verdict).to_contain_text("验证通过")
    expect(verdict).to_contain_text("签名人（证书）")
    expect(verdict).to_contain_text("Asia/Shanghai")
    assert "pdf_signature_valid" not in page.content()
    assert _fits_the_width(page)
    assert_accessible(page, "verify page, valid upload")
    phone.screenshot("verify-valid")

    page.get_by_test_id("verify-file").set_input_files(str(tampered))
    page.get_by_test_id("verify-submit").click()
    expect(verdict).to_contain_text("验证未通过")
    expect(verdict).to_contain_text("数字签名无效")
    assert_accessible(page, "verify page, failed upload")
    assert phone.offsite_requests() == []
