"""The consignee's consent page in a phone browser: one tap answers; expired links say so
and still let the consignee revoke a standing consent."""
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from delivery_sign.consent.models import ConsentRequest
from delivery_sign.extensions import db

from ..conftest import outbox

pytestmark = pytest.mark.browser


def _link(world, site):
    sms = outbox(world)[0]
    url = next(word for word in sms["text"].split() if "/c/" in word)
    url = url[url.index("http"):]
    assert url.startswith(site + "/c/")
    return url


def test_one_tap_answers_and_standing_is_kept(world, parcel, phone, site):
    assert parcel.ask(options=["station", "guard", "reschedule"], places={"station": "世纪大道菜鸟驿站"},
                      note="下午三点前可取").status_code == 201
    page = phone.page
    response = page.goto(_link(world, site))
    assert response.status == 200
    expect(page.get_by_test_id("option-station")).to_contain_text("世纪大道菜鸟驿站")
    expect(page.locator("#parcel-meta")).to_contain_text("138****8000")
    expect(page.locator("#parcel-note")).to_have_text("下午三点前可取")
    assert "13800138000" not in page.content()
    page.get_by_test_id("standing").check()
    page.get_by_test_id("option-guard").click()                       # the one tap
    expect(page.get_by_test_id("answered-choice")).to_contain_text("放门卫")
    expect(page.get_by_test_id("answered-choice")).to_contain_text("以后都这样放")
    expect(page.get_by_test_id("standing-card")).to_be_visible()
    phone.screenshot("consent-answered")
    shown = world.get(f"/waybills/{parcel.number}/consent", who="courier1").get_json()
    assert shown["consent"]["choice"] == "guard"
    # The page said which client answered: the H5 page, with the browser's user agent.
    assert shown["consent"]["client"] == {"platform": "h5", "user_agent": page.evaluate("navigator.userAgent")}
    # Reloaded, the page shows the answer instead of asking again.
    page.reload()
    expect(page.get_by_test_id("consent-answered")).to_be_visible()
    expect(page.get_by_test_id("option-guard")).to_have_count(0)


def test_reschedule_asks_for_a_day(world, parcel, phone, site):
    parcel.ask(options=["guard", "reschedule"])
    page = phone.page
    page.goto(_link(world, site))
    page.get_by_test_id("option-reschedule").click()
    page.get_by_test_id("reschedule-send").click()
    expect(page.get_by_test_id("answered-choice")).to_contain_text("改天再送")
    shown = world.get(f"/waybills/{parcel.number}/consent", who="courier1").get_json()
    assert shown["consent"] is None and shown["latest_request"]["answer"]["choice"] == "reschedule"


def test_expired_link_is_a_plain_page_that_still_revokes(app, world, parcel, make_parcel, phone, site):
    token = parcel.asked(options=["guard"])
    assert parcel.answer(token, choice="guard", standing=True).status_code == 200
    # A later question about another parcel, never answered, expires.
    later = make_parcel()
    later.asked(options=["guard", "locker"])
    url = _link(world, site)
    with app.app_context():
        request = db.session.execute(select(ConsentRequest).where(
            ConsentRequest.tenant_id == world.tenant_id).order_by(ConsentRequest.id.desc())).scalars().first()
        request.expires_at = request.created_at - timedelta(seconds=1)
        db.session.commit()
    page = phone.page
    response = page.goto(url)
    assert response.status == 410
    expect(page.get_by_test_id("consent-state")).to_contain_text("链接已过期")
    expect(page.locator("#standing-list")).to_contain_text("放门卫")
    page.get_by_test_id("revoke").click()
    expect(page.get_by_test_id("revoked")).to_be_visible()
    assert make_parcel().drop(place="guard").status_code == 409
    # And in English.
    page.get_by_test_id("lang-switch").click()
    expect(page.get_by_test_id("consent-state")).to_contain_text("Link expired")


def test_unknown_link_is_404_page(phone, site):
    response = phone.page.goto(site + "/c/not-a-token")
    assert response.status == 404
    expect(phone.page.get_by_test_id("consent-state")).to_contain_text("链接无效")
