"""The dashboard keeps itself current and works on a phone: the day board picks up a new
sign-off without a reload, every view fits 390 px, names instead of codes, the evidence
items table aligned, the audit timeline in words, waybill import and assignment, password
reset, and axe-core finds nothing on any view."""
import re

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD
from tests.pages.axe import assert_accessible

from .test_dashboard import log_in, row

pytestmark = pytest.mark.browser


def test_the_day_board_shows_a_new_sign_off_without_reload(desk, world, make_door):
    page = desk.page
    early = make_door()
    early.submit()
    log_in(desk, world)
    expect(page.locator(f"[data-testid=latest-item][data-number='{early.number}']")).to_be_visible()
    expect(page.get_by_test_id("unit-row").first).to_contain_text("浦东站")          # the unit's name, not EAST-1
    page.evaluate("() => { window.__stillHere = true; }")

    door = make_door()
    assert door.submit(door.body(signer={"name": "王芳", "relation": "family"})).status_code == 201
    latest = page.locator(f"[data-testid=latest-item][data-number='{door.number}']")
    expect(latest).to_be_visible(timeout=20_000)
    expect(latest).to_contain_text("courier1")
    review = page.locator(f"[data-testid=review-item][data-number='{door.number}']")
    expect(review).to_contain_text("非收货人本人签收", timeout=20_000)
    assert page.evaluate("() => window.__stillHere === true"), "the page was reloaded"
    # Unchanged answers come back as 304: the poll sends the ETag it was given.
    statuses, consent = [], []
    page.on("response", lambda r: statuses.append(r.status) if "/api/v1/waybills?" in r.url else None)
    page.on("response", lambda r: consent.append(r.status) if "/api/v1/reports/consent" in r.url else None)
    page.wait_for_timeout(6_000)
    assert 304 in statuses
    assert 304 in consent, consent      # the waiting-for-answer card too


def _fits(page):
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_every_view_fits_a_phone_and_passes_axe(phone_desk, world, make_door):
    page = phone_desk.page
    door = make_door()
    door.submit(door.body(signer={"name": "王芳", "relation": "family"}))
    page.goto(f"/dashboard?tenant={world.slug}")
    assert _fits(page)
    assert_accessible(page, "login")
    log_in(phone_desk, world, who="admin")
    expect(page.get_by_test_id("latest-item").first).to_be_visible()
    views = [("board", "#/board", "latest-item"), ("waybills", "#/waybills", "waybill-row"),
             ("evidence", f"#/waybill/{door.number}", "evidence-items"), ("reports", "#/reports", "report-table"),
             ("admin users", "#/admin/users", "user-row"), ("admin org units", "#/admin/org-units", None),
             ("admin doc types", "#/admin/doc-types", None), ("admin api keys", "#/admin/api-keys", None),
             ("admin webhooks", "#/admin/webhooks", None), ("admin notice", "#/admin/notice", "notice-table")]
    for name, hash_, ready in views:
        page.goto(f"/dashboard{hash_}")
        if ready:
            expect(page.get_by_test_id(ready).first).to_be_visible()
        else:
            page.wait_for_load_state("networkidle")
        assert _fits(page), f"{name} scrolls sideways at 390 px"
        for button in ("logout", "lang-toggle"):
            box = page.get_by_test_id(button).bounding_box()
            assert box and box["x"] + box["width"] <= 390, (name, button)
        assert page.locator("h1:visible").count() == 1, name
        assert_accessible(page, name)
        phone_desk.screenshot(f"phone-{name.replace(' ', '-')}", full_page=True)


def test_evidence_names_items_aligned_and_timeline_in_words(desk, world, make_door):
    assert world.patch("/users/courier1", {"display_name": "快递员 孙"}).status_code == 200
    page = desk.page
    door = make_door()
    body = door.body(outcome="partial", items=[{"number": door.number, "sku": "CHR-01", "received_qty": 3,
                                                 "damaged_qty": 1, "note": "腿断了"}])
    assert door.submit(body).status_code == 201
    log_in(desk, world)
    page.goto(f"/dashboard#/waybill/{door.number}")
    expect(page.get_by_test_id("evidence-courier")).to_have_text("快递员 孙")
    expect(page.get_by_test_id("evidence-unit")).to_have_text("浦东站")
    expect(page.get_by_test_id("evidence-doc-type")).to_have_text("送货签收单")
    table = page.get_by_test_id("evidence-items")
    expect(table.get_by_test_id("item-row")).to_have_count(2)
    headers = table.locator("thead th")
    for tr in table.get_by_test_id("item-row").all():
        cells = tr.locator("td")
        assert cells.count() == headers.count()
        for i in (2, 3, 4):                                          # quantities under their headings
            head, cell = headers.nth(i).bounding_box(), cells.nth(i).bounding_box()
            assert abs((head["x"] + head["width"]) - (cell["x"] + cell["width"])) < 2
    expect(table.locator("[data-testid=item-row]").nth(1)).to_contain_text("3 把")

    event = page.locator("[data-testid=timeline-event][data-type='waybill.created']")
    expect(event.get_by_test_id("timeline-words")).to_contain_text("由 admin：状态 待派送；派给 快递员 孙")
    raw = event.get_by_test_id("timeline-raw")
    expect(raw).to_be_hidden()
    event.locator("summary").click()
    expect(raw).to_be_visible()
    expect(raw).to_contain_text('"courier": "courier1"')


def test_import_shows_row_errors_and_assignment_from_the_dashboard(desk, world, tmp_path):
    page = desk.page
    csv_text = ("运单号,收货人,收货人电话,收货地址,商品名称,数量\n"
                "DASH-IMP-1,张敏,13700001111,北京市朝阳区,打印纸,3\n"
                "DASH-IMP-2,王伟,not-a-phone,成都市,纸箱,2\n")
    path = tmp_path / "waybills.csv"
    path.write_bytes(csv_text.encode("utf-8"))
    log_in(desk, world)
    page.goto("/dashboard#/waybills")
    page.get_by_test_id("import").locator("summary").click()
    page.get_by_test_id("import-file").set_input_files(str(path))
    desk.errors.clear()
    page.get_by_test_id("import-submit").click()
    expect(page.get_by_test_id("import-summary")).to_contain_text("新建 1 单")
    error = page.locator("[data-testid=import-error][data-row='3']")
    expect(error).to_contain_text("consignee")
    expect(row(page, "DASH-IMP-1")).to_be_visible()

    page.goto("/dashboard#/waybill/DASH-IMP-1")
    page.get_by_test_id("assign-courier").select_option("courier2")
    page.get_by_test_id("assign-submit").click()
    expect(page.get_by_test_id("toast")).to_contain_text("已分配给")
    assert world.get("/waybills/DASH-IMP-1").get_json()["courier"] == "courier2"
    expect(page.locator(".badge.st-assigned").first).to_be_visible()


def test_admin_resets_a_password_shown_once(desk, world, client):
    page = desk.page
    log_in(desk, world, who="admin")
    page.goto("/dashboard#/admin/users")
    target = page.locator("[data-testid=user-row][data-username='courier2']")
    target.get_by_test_id("user-reset").click()
    expect(page.get_by_test_id("new-password")).to_have_count(0)           # the first click only arms it
    target.get_by_test_id("user-reset").click()
    shown = page.get_by_test_id("new-password").locator("code")
    expect(shown).to_have_text(re.compile(r"^\S{16}$"))
    password = shown.inner_text()
    login = client.post("/api/v1/auth/login", json={"tenant": world.slug, "username": "courier2", "password": password})
    assert login.status_code == 200
    old = client.post("/api/v1/auth/login", json={"tenant": world.slug, "username": "courier2", "password": PASSWORD})
    assert old.status_code == 401
