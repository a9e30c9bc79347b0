"""The dispatcher dashboard in desktop Chromium: sign in, the day board, filters and paging,
evidence with the signature replay, bulk reconcile, a report, an export, the XSS probe,
admin, and the zh/en switch. Every test also fails on a page error, a CSP violation or a
request off the origin (the ``desk`` fixture)."""
import csv
import io
import re
import threading
import time

import pytest
from playwright.sync_api import expect

from delivery_sign.core import jobs
from tests.factories import PASSWORD, Door, waybill_payload
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"
INK = """() => {
  const c = document.querySelector('[data-testid=evidence-signature]');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
  return n;
}"""


def log_in(desk, world, who="disp_east"):
    page = desk.page
    page.goto(f"/dashboard?tenant={world.slug}")
    assert page.get_by_test_id("login-tenant").input_value() == world.slug
    page.get_by_test_id("login-username").fill(who)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("logout")).to_be_visible()


def rows(page):
    return page.get_by_test_id("waybill-row")


def row(page, number):
    return page.locator(f"[data-testid=waybill-row][data-number='{number}']")


def fast_signature(genuine):
    """A genuine signature written in about two seconds, so the replay test stays short."""
    return next(s for s in genuine if s["id"] == "p055-1")


def run_jobs(world):
    """Render PDFs as the worker would — on another thread, because Playwright's event loop
    occupies this one and the PDF signer calls asyncio.run()."""
    thread = threading.Thread(target=jobs.run_due, args=(world.app,), kwargs={"tenant_id": world.tenant_id})
    thread.start()
    thread.join(60)


def test_sign_in_board_filters_and_paging(desk, world, make_door):
    page = desk.page
    by_family = make_door()
    by_family.submit(by_family.body(signer={"name": "王芳", "relation": "family"}))   # anomaly: signer_not_consignee
    by_self = make_door()
    by_self.submit()
    west = world.waybill(org_unit="WEST")["number"]                                    # not disp_east's subtree
    batch = [waybill_payload(org_unit="EAST-1", courier="courier2") for _ in range(55)]
    assert world.post("/waybills/batch", {"waybills": batch}).status_code == 200

    # A wrong password is refused on the page; a courier is sent to the courier app.
    page.goto(f"/dashboard?tenant={world.slug}")
    page.get_by_test_id("login-username").fill("disp_east")
    page.get_by_test_id("login-password").fill("wrong password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("error")).to_have_text("用户名或密码错误")
    desk.errors.clear()                                     # the 401 of that login was the point
    log_in(desk, world)

    # The day board: today's counts by status and the anomaly to review first.
    expect(page.get_by_test_id("count-signed").locator("strong")).to_have_text("2")
    expect(page.get_by_test_id("count-out_for_delivery").locator("strong")).to_have_text("0")
    expect(page.get_by_test_id("count-assigned").locator("strong")).to_have_text("55")
    expect(page.get_by_test_id("unit-row")).to_have_count(1)                            # EAST-1 only
    review = page.locator(f"[data-testid=review-item][data-number='{by_family.number}']")
    expect(review).to_contain_text("非收货人本人签收")
    reviewable = world.get("/waybills?anomaly=any&reconciled=false", who="disp_east").get_json()["items"]
    expect(page.get_by_test_id("review-item")).to_have_count(len(reviewable))
    expect(page.get_by_test_id("nav-admin")).to_be_hidden()                            # dispatchers have no admin
    desk.screenshot("1-board")

    # A count opens today's waybills of that status.
    page.get_by_test_id("count-signed").click()
    expect(rows(page)).to_have_count(2)
    expect(page.get_by_test_id("filter-created-from")).to_have_value(page.evaluate("() => {"
        " const d = new Date(); return d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-'"
        " + String(d.getDate()).padStart(2, '0'); }"))

    # The table pages by keyset: 50, then "more" brings the rest of the 57.
    page.goto("/dashboard#/waybills")
    expect(rows(page)).to_have_count(50)
    page.get_by_test_id("load-more").click()
    expect(rows(page)).to_have_count(57)
    expect(page.get_by_test_id("load-more")).to_be_hidden()
    assert row(page, west).count() == 0

    # Filters: status, anomaly, search, reconciled, courier.
    page.get_by_test_id("filter-status").select_option("signed")
    expect(rows(page)).to_have_count(2)
    page.get_by_test_id("filter-anomaly").select_option("signer_not_consignee")
    expect(rows(page)).to_have_count(1)
    expect(row(page, by_family.number)).to_contain_text("家属")
    page.get_by_test_id("filter-anomaly").select_option("")
    page.get_by_test_id("waybill-search").fill(by_self.number)
    expect(rows(page)).to_have_count(1)
    expect(row(page, by_self.number)).to_be_visible()
    page.get_by_test_id("waybill-search").fill("")
    page.get_by_test_id("filter-status").select_option("")
    page.get_by_test_id("filter-courier").fill("courier1")
    expect(rows(page)).to_have_count(2)
    page.get_by_test_id("filter-reconciled").select_option("true")
    expect(page.get_by_test_id("waybill-empty")).to_be_visible()
    expect(rows(page)).to_have_count(0)
    # The filters live in the URL: a reload keeps them.
    page.reload()
    expect(page.get_by_test_id("filter-courier")).to_have_value("courier1")
    expect(page.get_by_test_id("waybill-empty")).to_be_visible()


def test_evidence_view_replays_the_signature(desk, world, genuine, photo_jpeg):
    page = desk.page
    signature = fast_signature(genuine)
    door = Door(world, signature, photo_jpeg)
    photos = [door.upload().get_json()["photo_id"], door.upload(kind="scene").get_json()["photo_id"]]
    response = door.submit(door.body(photo_ids=photos, signer={"name": signature["signer_name"], "relation": "guard"},
                                     location={"lat": 31.25, "lng": 121.50, "accuracy": 20, "coord_system": "wgs84"}))
    assert response.status_code == 201, response.get_json()
    receipt = world.get(f"/receipts/{response.get_json()['receipt_id']}").get_json()
    log_in(desk, world, "admin")
    page.goto(f"/dashboard#/waybill/{door.number}")

    # Anomalies in words, the signer, the location with its distance and a map link.
    expect(page.get_by_test_id("evidence-signer")).to_have_text(signature["signer_name"])
    expect(page.get_by_test_id("evidence-relation")).to_have_text("门卫保安")
    anomalies = page.get_by_test_id("evidence-anomalies")
    expect(anomalies).to_contain_text("非收货人本人签收")
    expect(anomalies).to_contain_text("签收位置超出地理围栏")
    distance = receipt["evidence"]["location"]["distance_to_consignee_m"]
    expect(page.get_by_test_id("evidence-distance")).to_have_text(f"{distance / 1000:.2f} 公里")
    wgs = receipt["evidence"]["location"]["wgs84"]
    href = page.get_by_test_id("evidence-map-link").get_attribute("href")
    assert href.startswith(f"https://uri.amap.com/marker?position={wgs['lng']},{wgs['lat']}&coordinate=wgs84")

    # The audit timeline of this waybill and a verified chain.
    timeline = page.get_by_test_id("evidence-timeline")
    expect(timeline.locator("[data-type='signoff.submitted']")).to_have_count(1)
    expect(timeline.locator("[data-type='waybill.created']")).to_have_count(1)
    expect(page.get_by_test_id("chain-status")).to_have_attribute("data-state", "ok")

    # Photos: thumbnails load through the API; a click shows the display size.
    thumbs = page.get_by_test_id("evidence-photo")
    expect(thumbs).to_have_count(2)
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=evidence-photo] img')]"
                           ".every(i => i.complete && i.naturalWidth > 0)")
    thumbs.first.click()
    full = page.get_by_test_id("evidence-photo-full")
    page.wait_for_function("() => { const i = document.querySelector('[data-testid=evidence-photo-full]');"
                           " return i && i.complete && i.naturalWidth > 400; }")
    expect(full).to_be_visible()
    page.get_by_test_id("photo-close").click()

    # The PDF: "rendering" until the job ran, then a link (the page polls).
    pdf = page.get_by_test_id("evidence-pdf")
    expect(pdf).to_have_attribute("data-state", "rendering")
    run_jobs(world)
    expect(pdf).to_have_attribute("data-state", "ready", timeout=15_000)

    # The replay: the canvas starts empty and fills with ink over the signature's real duration.
    canvas = page.get_by_test_id("evidence-signature")
    expect(canvas).to_have_attribute("data-state", "static")
    whole = page.evaluate(INK)
    assert whole > 500
    duration = int(canvas.get_attribute("data-duration-ms"))
    assert duration == signature["strokes"][-1][-1][2] - signature["strokes"][0][0][2]
    # The ink is counted on every frame of the replay (in the page: a loaded machine can stall
    # the test process for longer than a phase of the replay, never the page's own frames).
    page.evaluate("""() => {
      window.inkSamples = [];
      const c = document.querySelector('[data-testid=evidence-signature]');
      const tick = () => {
        window.inkSamples.push((%s)());
        if (c.getAttribute('data-state') !== 'done') requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    }""" % INK)
    started = time.monotonic()
    page.get_by_test_id("evidence-replay").click()
    page.wait_for_timeout(duration * 0.35)
    desk.screenshot("2-evidence-replaying", full_page=True)
    expect(canvas).to_have_attribute("data-state", "done", timeout=duration + 5000)
    took = time.monotonic() - started
    samples = page.evaluate("() => window.inkSamples")
    growing = [n for n in samples if 0 < n < whole]
    assert len(set(growing)) >= 2                           # it filled in over several frames
    assert growing == sorted(growing)                       # and never lost ink on the way
    assert page.evaluate(INK) == whole                      # the replay ends on the whole signature
    assert duration * 0.9 <= int(canvas.get_attribute("data-replayed-ms")) <= duration + 1000
    assert took >= duration / 1000 * 0.9
    desk.screenshot("3-evidence", full_page=True)


def test_bulk_reconcile(desk, world, make_door):
    page = desk.page
    doors = [make_door() for _ in range(3)]
    for door in doors:
        assert door.submit().status_code == 201
    unsigned = world.waybill(org_unit="EAST-1")["number"]
    log_in(desk, world)
    page.goto("/dashboard#/waybills")
    expect(rows(page)).to_have_count(4)
    expect(row(page, unsigned).get_by_test_id("row-select")).to_be_disabled()     # nothing to reconcile yet
    expect(page.get_by_test_id("reconcile-accept")).to_be_disabled()

    # Two disputed: the note is required, then both are reconciled with it.
    for door in doors[:2]:
        row(page, door.number).get_by_test_id("row-select").check()
    expect(page.get_by_test_id("selected-count")).to_have_text("已选 2 单")
    page.get_by_test_id("reconcile-dispute").click()
    expect(page.get_by_test_id("reconcile-error")).to_be_visible()
    page.get_by_test_id("reconcile-note").fill("收货人称少了一把餐椅")
    page.get_by_test_id("reconcile-dispute").click()
    expect(page.get_by_test_id("toast")).to_have_text("已对账 2 单")
    expect(row(page, doors[0].number).get_by_test_id("reconciliation")).to_have_text("有争议")

    # The third accepted.
    row(page, doors[2].number).get_by_test_id("row-select").check()
    page.get_by_test_id("reconcile-accept").click()
    expect(row(page, doors[2].number).get_by_test_id("reconciliation")).to_have_text("已确认")
    desk.screenshot("4-reconciled")

    states = {d.number: world.get(f"/waybills/{d.number}").get_json()["reconciliation"] for d in doors}
    assert [states[d.number]["decision"] for d in doors] == ["disputed", "disputed", "accepted"]
    assert states[doors[0].number]["note"] == "收货人称少了一把餐椅"
    assert states[doors[0].number]["by"] == "user:disp_east" or "disp_east" in states[doors[0].number]["by"]
    assert world.get(f"/waybills/{unsigned}").get_json()["reconciliation"] is None
    listed = world.get("/waybills?reconciled=false&status=signed").get_json()["items"]
    assert listed == []


def test_report_charts_and_table(desk, world, make_door):
    page = desk.page
    for unit in ("EAST-1", "EAST-1", "WEST", "EAST", "HQ"):
        world.waybill(org_unit=unit)
    make_door().submit()                                                  # signed by the consignee
    door = make_door()
    door.submit(door.body(signer={"name": "王芳", "relation": "colleague"}))
    log_in(desk, world, "admin")
    page.get_by_test_id("nav-reports").click()
    page.get_by_test_id("report-group").select_option("org_unit")

    summary = world.get("/reports/summary?group_by=org_unit").get_json()["rows"]
    assert len(summary) == 4
    chart = page.get_by_test_id("report-chart")
    expect(chart).to_have_attribute("data-bars", str(len(summary)))
    bars = chart.locator("g.bar")
    expect(bars).to_have_count(len(summary))
    assert [(b.get_attribute("data-key"), int(b.get_attribute("data-total"))) for b in bars.all()] == \
        [(r["key"], r["total"]) for r in summary]
    expect(page.get_by_test_id("report-row")).to_have_count(len(summary))
    east1 = page.get_by_test_id("report-row").filter(has_text="浦东站")     # EAST-1, by its name
    expect(east1.locator("td").nth(1)).to_have_text("4")
    expect(page.get_by_test_id("report-table")).not_to_contain_text("EAST-1")
    expect(page.get_by_test_id("report-relation-chart").locator("g.bar")).to_have_count(2)
    expect(page.get_by_test_id("report-anomaly-chart").locator("g.bar")).to_have_count(len(summary))
    desk.screenshot("5-reports", full_page=True)

    # By signer relation: 本人 and 同事 and the unsigned.
    page.get_by_test_id("report-group").select_option("relation")
    expect(chart.locator("g.bar")).to_have_count(3)
    expect(page.get_by_test_id("report-table")).to_contain_text("本人")
    expect(page.get_by_test_id("report-table")).to_contain_text("同事")

    with page.expect_download() as info:
        page.get_by_test_id("report-export").click()
    with open(info.value.path(), encoding="utf-8-sig") as fh:
        text = fh.read()
    assert len(list(csv.reader(io.StringIO(text)))) == 1 + 3


def test_export_csv_of_the_filtered_table(desk, world, make_door):
    page = desk.page
    signed = []
    for _ in range(2):
        door = make_door(consignee={"name": "张伟, \"老张\"", "phone": "13800138000", "address": "上海市徐汇区漕溪北路1号"})
        door.submit()
        signed.append(door.number)
    world.waybill(org_unit="EAST-1")
    log_in(desk, world)
    page.goto("/dashboard#/waybills/status=signed")
    expect(rows(page)).to_have_count(2)
    with page.expect_download() as info:
        page.get_by_test_id("export-csv").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), "rb") as fh:
        data = fh.read()
    assert data.startswith(b"\xef\xbb\xbf")                              # opens in Excel as UTF-8
    records = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    # In the dashboard's language (Chinese here): labelled columns and values.
    assert sorted(r["运单号"] for r in records) == sorted(signed)
    assert {r["收货人"] for r in records} == {"张伟, \"老张\""}
    assert {r["收货人电话"] for r in records} == {"138****8000"}
    assert {r["状态"] for r in records} == {"已签收"}


def test_xss_probe_executes_nothing(desk, world, make_door):
    page = desk.page
    door = make_door(consignee={"name": XSS, "phone": "13800138000", "address": f"{XSS} 路 1 号"})
    body = door.body(signer={"name": XSS, "relation": "other"})
    body["items"] = [{"number": door.number, "sku": "SOFA-3", "received_qty": 1, "damaged_qty": 0, "note": XSS}]
    assert door.submit(body).status_code == 201, door.submit(body).get_json()
    world.post(f"/waybills/{door.number}/reconcile", {"decision": "disputed", "note": XSS})
    log_in(desk, world)

    page.goto("/dashboard#/waybills")
    expect(row(page, door.number)).to_contain_text(XSS)
    page.goto(f"/dashboard#/waybill/{door.number}")
    expect(page.get_by_test_id("evidence-signer")).to_have_text(XSS)
    expect(page.get_by_test_id("evidence-consignee")).to_have_text(XSS)
    expect(page.get_by_test_id("evidence-reconciliation")).to_contain_text(XSS)
    expect(page.get_by_text(XSS, exact=True).first).to_be_visible()
    expect(page.get_by_test_id("evidence-timeline")).to_contain_text(XSS)
    page.wait_for_timeout(300)
    assert page.locator("img[src='x']").count() == 0
    assert desk.dialogs == []
    desk.screenshot("6-xss-probe", full_page=True)


def test_admin_creates_a_user_and_edits_a_policy(desk, world):
    page = desk.page
    log_in(desk, world, "admin")
    page.get_by_test_id("nav-admin").click()
    expect(page.get_by_test_id("user-row")).to_have_count(5)
    page.get_by_test_id("new-user-username").fill("disp_new")
    page.get_by_test_id("new-user-name").fill("新调度")
    page.get_by_test_id("new-user-password").fill("long enough password")
    page.get_by_test_id("new-user-role").select_option("dispatcher")
    page.get_by_test_id("new-user-org-unit").select_option("WEST")
    page.get_by_test_id("new-user-submit").click()
    expect(page.locator("[data-testid=user-row][data-username=disp_new]")).to_be_visible()
    users = {u["username"]: u for u in world.get("/users").get_json()}
    assert users["disp_new"]["role"] == "dispatcher" and users["disp_new"]["org_unit"] == "WEST"
    login = world.client.post("/api/v1/auth/login", json={"tenant": world.slug, "username": "disp_new",
                                                           "password": "long enough password"})
    assert login.status_code == 200
    desk.screenshot("7-admin-users")

    # A taken username is refused with the API's message.
    page.get_by_test_id("new-user-username").fill("disp_new")
    page.get_by_test_id("new-user-password").fill("long enough password")
    page.get_by_test_id("new-user-submit").click()
    expect(page.get_by_test_id("admin-error")).to_be_visible()
    desk.errors.clear()                                     # that 409 was the point

    # Policy of the default doc type.
    page.get_by_test_id("admin-tab-doc-types").click()
    form = page.locator("[data-testid=doctype-form][data-code=default]")
    form.get_by_test_id("policy-otp").select_option("required")
    form.get_by_test_id("policy-geofence_m").fill("150")
    form.get_by_test_id("doctype-save").click()
    expect(page.get_by_test_id("toast")).to_contain_text("已保存")
    policy = next(t for t in world.get("/doc-types").get_json() if t["code"] == "default")["policy"]
    assert policy["otp"] == "required" and policy["geofence_m"] == 150

    # An API key is shown once.
    page.get_by_test_id("admin-tab-api-keys").click()
    page.get_by_test_id("new-key-name").fill("WMS")
    page.get_by_test_id("new-key-submit").click()
    key = page.get_by_test_id("new-key-value").inner_text()
    assert world.client.get("/api/v1/waybills", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    desk.screenshot("8-admin-keys")


def test_every_view_stays_on_the_origin(desk, world, door):
    """Walk every view and admin panel: no request leaves the origin (also checked after each
    test by the ``desk`` fixture), no page error, no CSP violation."""
    page = desk.page
    door.submit()
    receiver = Receiver()
    hook = world.post("/webhooks", {"url": receiver.url, "events": ["waybill.reconciled"]}).get_json()
    world.post(f"/waybills/{door.number}/reconcile", {"decision": "accepted"})
    run_jobs(world)
    receiver.close()
    log_in(desk, world, "admin")
    expect(page.get_by_test_id("count-signed")).to_be_visible()
    for hash_, ready in (("#/waybills", "waybill-row"), (f"#/waybill/{door.number}", "evidence-photo"),
                         ("#/reports", "report-chart"), ("#/admin/users", "user-row"), ("#/admin/org-units", "unit-row"),
                         ("#/admin/doc-types", "doctype-form"), ("#/admin/api-keys", "key-row"),
                         ("#/admin/webhooks", "hook-row")):
        page.goto(f"/dashboard{hash_}")
        expect(page.get_by_test_id(ready).first).to_be_visible()
        page.wait_for_load_state("networkidle")
    page.locator(f"[data-testid=hook-row][data-id='{hook['id']}']").get_by_test_id("hook-deliveries").click()
    expect(page.get_by_test_id("delivery-row")).to_have_count(1)
    expect(page.get_by_test_id("delivery-row")).to_contain_text("成功")
    page.get_by_test_id("redeliver").click()
    expect(page.get_by_test_id("toast")).to_have_text("已安排重新投递")
    desk.screenshot("9-admin-webhooks", full_page=True)
    assert desk.requests and desk.offsite_requests() == []


CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def no_chinese(locator):
    """The texts of every element the locator matches, none with a Chinese character."""
    texts = locator.all_inner_texts()
    assert texts and not [t for t in texts if CJK.search(t)], texts
    return texts


def test_english_switch_is_kept_and_shared_with_the_h5_pages(desk, world, make_door):
    page = desk.page
    door = make_door()
    door.submit(door.body(signer={"name": "王芳", "relation": "family"}))
    log_in(desk, world)
    toggle = page.get_by_test_id("lang-toggle")
    html = page.locator("html")
    expect(toggle).to_have_text("English")                                  # Chinese is the default
    expect(html).to_have_attribute("lang", "zh-CN")
    page.goto("/dashboard#/waybills")
    badge = row(page, door.number).locator(".badge")
    expect(badge).to_have_text("已签收")

    # The switch redraws the view and the static texts at once.
    toggle.click()
    expect(toggle).to_have_text("中文")
    expect(html).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("nav-board")).to_have_text("Today")
    expect(page.get_by_test_id("nav-waybills")).to_have_text("Waybills")
    expect(page.get_by_test_id("nav-reports")).to_have_text("Reports")
    expect(page.get_by_test_id("logout")).to_have_text("Log out")
    expect(badge).to_have_text("Signed")
    expect(row(page, door.number)).to_contain_text("Family")
    expect(row(page, door.number)).to_contain_text("Signed by someone other than the consignee")
    expect(page.get_by_test_id("who")).to_contain_text("Dispatcher")
    expect(page.get_by_test_id("selected-count")).to_have_text("Tick signed waybills to reconcile them")
    assert page.title() == "Dispatch desk · Delivery sign-off"
    no_chinese(page.get_by_test_id("waybill-table").locator("th"))
    no_chinese(page.locator(".filters .filter > span"))
    no_chinese(page.locator(".bulk button"))
    row(page, door.number).get_by_test_id("row-select").check()
    expect(page.get_by_test_id("selected-count")).to_have_text("1 selected")
    desk.screenshot("10-english-waybills")

    # Kept over a reload, and shared with the H5 pages ("ds:lang").
    page.reload()
    expect(toggle).to_have_text("中文")
    expect(badge).to_have_text("Signed")
    expect(html).to_have_attribute("lang", "en")
    assert page.evaluate("localStorage.getItem('ds:lang')") == "en"

    # The board and the evidence in English too.
    page.get_by_test_id("nav-board").click()
    expect(page.get_by_test_id("board-status").locator("h2")).to_have_text("Today's waybills: 1")
    expect(page.get_by_test_id("count-signed")).to_contain_text("Signed")
    expect(page.get_by_test_id("review-item")).to_contain_text("Signed by someone other than the consignee")
    page.goto(f"/dashboard#/waybill/{door.number}")
    expect(page.get_by_test_id("evidence-relation")).to_have_text("Family")
    expect(page.get_by_test_id("evidence-outcome")).to_have_text("Signed")
    expect(page.get_by_test_id("chain-status")).to_have_attribute("data-state", "ok")
    expect(page.get_by_test_id("chain-status")).to_contain_text("Audit chain intact")
    expect(page.get_by_test_id("evidence-timeline").locator("[data-type='signoff.submitted'] strong")).to_have_text(
        "Sign-off submitted")
    no_chinese(page.locator(".facts dt"))
    no_chinese(page.locator(".card h2"))

    # Signed out, the login form is in English; its error follows a switch back to Chinese.
    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("login-submit")).to_have_text("Sign in")
    expect(page.locator("#login h1")).to_have_text("Dispatch desk sign-in")
    assert no_chinese(page.locator("#login .field > span")) == ["Company code", "Username", "Password"]
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("error")).to_have_text("Enter company code, username and password")
    page.get_by_test_id("login-tenant").fill(world.slug)
    page.get_by_test_id("login-username").fill("disp_east")
    page.get_by_test_id("login-password").fill("wrong password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("error")).to_have_text("Wrong username or password")
    desk.errors.clear()                                     # the 401 of that login was the point
    toggle.click()
    expect(toggle).to_have_text("English")
    expect(html).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_test_id("error")).to_have_text("用户名或密码错误")
    expect(page.get_by_test_id("login-submit")).to_have_text("登录")
    assert page.evaluate("localStorage.getItem('ds:lang')") == "zh"
    assert page.title() == "调度台 · 签收管理"
    log_in(desk, world)
    expect(page.get_by_test_id("nav-waybills")).to_have_text("运单")
    expect(page.get_by_test_id("board-status").locator("h2")).to_have_text("今日运单 1")


def test_language_switch_keeps_what_is_on_screen(desk, world):
    """The courier app reads the same choice; a switch keeps the report's grouping and an API
    key that is shown only once."""
    page = desk.page
    world.waybill(org_unit="EAST-1")
    page.goto("/courier")
    page.get_by_test_id("lang-switch").click()                        # English on the courier app …
    expect(page.get_by_test_id("lang-switch")).to_have_text("中文")
    log_in(desk, world, "admin")                                       # … is English on the dashboard
    toggle = page.get_by_test_id("lang-toggle")
    expect(toggle).to_have_text("中文")
    expect(page.get_by_test_id("nav-admin")).to_have_text("Admin")

    page.get_by_test_id("nav-reports").click()
    page.get_by_test_id("report-group").select_option("org_unit")
    expect(page.get_by_test_id("report-table").locator("th").first).to_have_text("Group")
    expect(page.get_by_test_id("report-chart").locator("title").first).to_have_text("Sign-offs, By org unit")
    toggle.click()
    expect(page.get_by_test_id("report-group")).to_have_value("org_unit")
    expect(page.get_by_test_id("report-table").locator("th").first).to_have_text("分组")
    expect(page.get_by_test_id("report-chart").locator("title").first).to_have_text("签收量按网点")

    page.goto("/dashboard#/admin/api-keys")
    page.get_by_test_id("new-key-name").fill("WMS")
    page.get_by_test_id("new-key-submit").click()
    key = page.get_by_test_id("new-key-value").inner_text()
    expect(page.get_by_test_id("key-row").filter(has_text="WMS")).to_contain_text("有效")
    toggle.click()
    expect(page.get_by_test_id("admin-tab-api-keys")).to_have_text("API keys")
    expect(page.get_by_test_id("new-key-value")).to_have_text(key)
    expect(page.locator(".once strong")).to_have_text("New key “WMS”")
    expect(page.get_by_test_id("key-row").filter(has_text="WMS")).to_contain_text("Active")
