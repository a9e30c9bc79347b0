"""Issues 13, 14 and 19 on the dashboard, in Chromium through the real server: the evidence
of a drop (place, consent), of an assisted sign-off (whose phone, masked) and of a name
read box by box (each box's strokes and what was read); the reports' drops by place and
consent and the assisted count; the day board's 等待收件人答复; the privacy notice edited
into a new version. axe-core finds nothing on any of these views."""
import pytest
from playwright.sync_api import expect

from delivery_sign.evidence import zinnia
from tests.pages.axe import assert_accessible

from .scenes import assisted_sign_off, consented_drop, recognized_sign_off, waiting_for_answer
from .test_dashboard import log_in, no_chinese

pytestmark = pytest.mark.browser

# How much ink each box's own canvas holds.
BOX_INK = """() => [...document.querySelectorAll('[data-testid=hw-box] canvas')].map(c => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
  return n;
})"""


def test_evidence_of_a_drop_and_of_an_assisted_sign_off(desk, world, photo_jpeg, signature):
    page = desk.page
    parcel, dropped = consented_drop(world, photo_jpeg, place="guard", standing=True)
    consent = world.get(f"/receipts/{dropped['receipt_id']}").get_json()["evidence"]["consent"]
    door, _ = assisted_sign_off(world, signature, photo_jpeg)
    log_in(desk, world, "admin")

    page.goto(f"/dashboard#/waybill/{parcel.number}")
    drop = page.get_by_test_id("evidence-drop")
    expect(drop).to_have_attribute("data-place", "guard")
    expect(page.get_by_test_id("drop-place")).to_have_text("门卫")
    expect(page.get_by_test_id("evidence-outcome")).to_have_text("按约定放置")
    expect(page.get_by_test_id("evidence-signature")).to_have_count(0)         # nobody signed
    card = page.get_by_test_id("evidence-consent")
    expect(card).to_have_attribute("data-kind", "one_off")
    expect(page.get_by_test_id("consent-kind")).to_have_text("收件人本次同意")
    expect(page.get_by_test_id("consent-choice")).to_have_text("门卫")
    expect(page.get_by_test_id("consent-sms")).to_have_text(f"短信发至 {consent['sent_to']}（请求 {consent['request']}）")
    assert "****" in consent["sent_to"]
    at = page.evaluate("iso => { const d = new Date(iso), p = n => String(n).padStart(2, '0');"
                       " return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:"
                       "${p(d.getMinutes())}:${p(d.getSeconds())}`; }", consent["answered_at"])
    expect(page.get_by_test_id("consent-at")).to_have_text(at)
    expect(page.get_by_test_id("chain-status")).to_have_attribute("data-state", "ok")
    assert_accessible(page, "evidence of a drop")
    desk.screenshot("consent-evidence-drop", full_page=True)
    # In English, the drop and consent cards have no Chinese left (the vocabulary's words).
    page.get_by_test_id("lang-toggle").click()
    expect(page.get_by_test_id("drop-place")).to_have_text("With the doorman")
    expect(page.get_by_test_id("consent-kind")).to_have_text("Consignee agreed (this parcel)")
    no_chinese(page.get_by_test_id("evidence-drop"))
    no_chinese(page.get_by_test_id("evidence-consent"))
    page.get_by_test_id("lang-toggle").click()

    page.goto(f"/dashboard#/waybill/{door.number}")
    expect(page.get_by_test_id("assisted-declared")).to_have_text("是")
    expect(page.get_by_test_id("assisted-otp-to")).to_have_text("收货人手机")
    expect(page.get_by_test_id("assisted-phone")).to_have_text("138****8000")
    expect(page.get_by_test_id("evidence-consent")).to_have_count(0)          # signed, not dropped
    expect(page.get_by_test_id("evidence-privacy")).to_have_text("第 0 版；笔迹 是；位置 是")
    assert "13800138000" not in page.content()
    assert_accessible(page, "evidence of an assisted sign-off")


@pytest.mark.skipif(zinnia.recognizer() is None, reason=f"needs {zinnia.INSTALL_HINT}")
def test_evidence_shows_each_box_with_what_was_read(desk, world, make_door):
    page = desk.page
    door, signed, written = recognized_sign_off(world, make_door)
    reading = signed["checks"]["handwriting"]
    log_in(desk, world, "admin")
    page.goto(f"/dashboard#/waybill/{door.number}")
    card = page.get_by_test_id("evidence-handwriting")
    expect(card).to_have_attribute("data-state", "ok")
    expect(page.get_by_test_id("hw-verdict")).to_have_text("通过（第 1 次书写，严格模式）")
    boxes = page.get_by_test_id("hw-box")
    expect(boxes).to_have_count(3)
    for i, char in enumerate(reading["chars"]):
        box = boxes.nth(i)
        expect(box.locator(".hw-expected")).to_have_text(char["expected"])
        expect(box.get_by_test_id("hw-best")).to_have_text(char["best"])
        expect(box.get_by_test_id("hw-rank")).to_have_text(str(char["rank"]) if char["rank"] is not None else "—")
        expect(box.get_by_test_id("hw-score")).to_have_text(f"{char['score']:.2f}")
        expect(box.get_by_test_id("hw-verified")).to_have_text("✔ 通过")
    # Each box's canvas holds the ink of its own character, drawn from the strokes.
    ink = page.evaluate(BOX_INK)
    assert len(ink) == 3 and all(n > 200 for n in ink), ink
    source = page.get_by_test_id("hw-source")
    stored = world.get(f"/receipts/{signed['receipt_id']}").get_json()["evidence"]["signature"]
    expect(source).to_contain_text("框为签收页所画" if stored.get("boxes") else "框由笔迹估计")
    expect(source).to_contain_text("按框")
    assert_accessible(page, "evidence with handwriting")
    desk.screenshot("consent-evidence-handwriting", full_page=True)

    # 季 for 李, three times in lenient mode: accepted, and the first box says it failed.
    door, signed, _ = recognized_sign_off(world, make_door, case="lookalike_boxes", mode="lenient")
    assert "name_not_recognized" in signed["anomalies"]
    page.goto(f"/dashboard#/waybill/{door.number}")
    expect(page.get_by_test_id("evidence-handwriting")).to_have_attribute("data-state", "failed")
    expect(page.get_by_test_id("hw-verdict")).to_have_text("未通过：第 3 次书写后按宽松模式接受")
    expect(page.locator("[data-testid=hw-box][data-status=failed]")).to_have_count(1)
    first = page.get_by_test_id("hw-box").first
    expect(first).to_have_attribute("data-status", "failed")
    expect(first.get_by_test_id("hw-verified")).to_have_text("✘ 未通过")
    expect(page.get_by_test_id("evidence-anomalies")).to_contain_text("签名与姓名不符")


def test_reports_board_and_the_privacy_notice(desk, world, photo_jpeg, signature):
    page = desk.page
    consented_drop(world, photo_jpeg, place="guard")
    consented_drop(world, photo_jpeg, place="station")
    world.patch("/doc-types/default", {"policy": {"drop_without_consent": "record"}})
    from tests.consent.conftest import Parcel

    assert Parcel(world, photo_jpeg).drop(place="door").status_code == 201
    assisted_sign_off(world, signature, photo_jpeg)
    waiting = waiting_for_answer(world, photo_jpeg)
    asked = world.get("/reports/consent").get_json()["waiting_for_answer"]
    assert [w["number"] for w in asked] == [waiting.number]
    log_in(desk, world, "admin")

    # The day board lists the waybill waiting for its consignee, with sent and expiry times.
    item = page.locator(f"[data-testid=waiting-item][data-number='{waiting.number}']")
    expect(item).to_be_visible()
    expect(item).to_contain_text("发出 ")
    expect(item).to_contain_text("到期 ")
    expect(page.get_by_test_id("waiting-item")).to_have_count(1)
    expect(page.get_by_test_id("count-dropped").locator("strong")).to_have_text("3")
    assert_accessible(page, "board with waiting list")
    # Answered: it leaves the list by itself (the board polls).
    from tests.consent.conftest import last_token

    assert waiting.answer(last_token(world), choice="locker").status_code == 200
    expect(page.get_by_test_id("waiting-item")).to_have_count(0, timeout=20_000)

    # Reports: drops by place and consent kind, and the assisted count.
    page.goto("/dashboard#/reports")
    drops = page.get_by_test_id("report-drops")
    expect(drops.get_by_test_id("drop-row")).to_have_count(3)
    guard = drops.locator("[data-testid=drop-row][data-place=guard]")
    expect(guard.locator("th")).to_have_text("门卫")
    expect(guard.locator("td[data-kind=one_off]")).to_have_text("1")
    expect(guard.locator("td[data-kind=none]")).to_have_text("0")
    expect(drops.locator("[data-place=door] td[data-kind=none]")).to_have_text("1")
    expect(page.get_by_test_id("report-assisted")).to_have_attribute("data-n", "1")
    assert_accessible(page, "reports with drops")

    # The privacy notice: the default text, an edit published as version 1, then version 2.
    page.goto("/dashboard#/admin/notice")
    current = page.get_by_test_id("notice-current")
    expect(current).to_have_attribute("data-version", "0")
    text = page.get_by_test_id("notice-text")
    expect(text).not_to_have_value("")
    assert_accessible(page, "admin privacy notice")
    first = "{handler}为了证明本次送货收集您的手写签名和位置，保存{days}天。"
    text.fill(first)
    page.get_by_test_id("notice-publish").click()
    expect(current).to_have_attribute("data-version", "1")
    text.fill(first + "如有疑问请致电客服。")
    page.get_by_test_id("notice-publish").click()
    expect(current).to_have_attribute("data-version", "2")
    rows = page.get_by_test_id("notice-row")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("如有疑问请致电客服。")
    expect(page.locator("[data-testid=notice-row][data-version='1']")).to_contain_text(first)
    stored = world.get("/privacy/notice").get_json()
    assert stored["current"]["version"] == 2 and [n["version"] for n in stored["history"]] == [2, 1]
    # Too short: the API's 422 in words, no new version.
    text.fill("太短")
    page.evaluate("() => document.querySelector('[data-testid=notice-text]').removeAttribute('minlength')")
    page.get_by_test_id("notice-publish").click()
    expect(page.get_by_test_id("admin-error")).to_be_visible()
    desk.errors[:] = [e for e in desk.errors if "/privacy/notice" not in e]   # the 422 was the point
    assert world.get("/privacy/notice").get_json()["current"]["version"] == 2
