"""Mini-program sign-in against a fake WeChat server on loopback."""
import pytest

from delivery_sign.extensions import db
from tests.factories import PASSWORD
from tests.fakes import FakeWechat


@pytest.fixture
def fake_wechat(app):
    fake = FakeWechat()
    saved = {k: app.config[k] for k in ("WECHAT_APPID", "WECHAT_SECRET", "WECHAT_API_BASE")}
    app.config.update(WECHAT_APPID="wx-test-app", WECHAT_SECRET="wx-secret", WECHAT_API_BASE=fake.url)
    yield fake
    app.config.update(saved)
    fake.close()


def _wechat(client, world, code):
    return client.post("/api/v1/auth/wechat", json={"tenant": world.slug, "code": code})


def test_unbound_then_bind_then_login(client, world, fake_wechat):
    fake_wechat.openids.update({"code-1": "openid-courier", "code-2": "openid-courier"})
    unbound = _wechat(client, world, "code-1")
    assert unbound.status_code == 403 and unbound.get_json()["type"].endswith("binding-required")
    bound = client.post("/api/v1/auth/wechat/bind", json={"tenant": world.slug, "code": "code-1",
                                                          "username": "courier1", "password": PASSWORD})
    assert bound.status_code == 200 and bound.get_json()["user"]["username"] == "courier1"
    login = _wechat(client, world, "code-2")
    assert login.status_code == 200 and login.get_json()["token"].startswith("dst_")
    # session_key never leaves the server.
    assert "SECRET-SESSION-KEY" not in login.get_data(as_text=True) + bound.get_data(as_text=True)
    sent = fake_wechat.requests[0]["query"]
    assert sent["appid"] == "wx-test-app" and sent["grant_type"] == "authorization_code"


def test_bind_needs_the_password(client, world, fake_wechat):
    fake_wechat.openids["code-1"] = "openid-x"
    wrong = client.post("/api/v1/auth/wechat/bind", json={"tenant": world.slug, "code": "code-1",
                                                         "username": "courier1", "password": "wrong password"})
    assert wrong.status_code == 401
    assert _wechat(client, world, "code-1").status_code == 403


def test_wechat_error_codes(client, world, fake_wechat):
    assert _wechat(client, world, "never-issued").status_code == 400          # 40029
    fake_wechat.errors["busy"] = [45011]
    limited = _wechat(client, world, "busy")
    assert limited.status_code == 503 and limited.headers["Retry-After"]
    fake_wechat.errors["flaky"] = [-1]                                          # retried once
    fake_wechat.openids["flaky"] = "openid-flaky"
    assert _wechat(client, world, "flaky").status_code == 403                   # reached WeChat, unbound
    assert [r["query"]["js_code"] for r in fake_wechat.requests].count("flaky") == 2


def test_wechat_unreachable_is_503(client, world, app):
    app.config.update(WECHAT_APPID="a", WECHAT_SECRET="b", WECHAT_API_BASE="http://127.0.0.1:9")
    try:
        assert _wechat(client, world, "x").status_code == 503
    finally:
        app.config.update(WECHAT_APPID=None, WECHAT_SECRET=None)


def test_access_token_is_cached_and_wxacode_served(world, door, fake_wechat):
    first = world.get(f"/sign-links/{door.token}/wxacode.png", who="courier1")
    assert first.status_code == 200 and first.data == FakeWechat.PNG
    second = world.get(f"/sign-links/{door.token}/wxacode.png", who="courier1")
    assert second.status_code == 200
    assert fake_wechat.tokens_issued == 1
    scene = [r for r in fake_wechat.requests if r["path"] == "/wxa/getwxacodeunlimit"][0]
    import json
    assert json.loads(scene["body"])["scene"] == door.token and len(door.token) <= 32


def test_wxacode_without_wechat_config(world, door):
    assert world.get(f"/sign-links/{door.token}/wxacode.png", who="courier1").status_code == 409


def test_signed_on_courier_device(world, make_door, fake_wechat, client):
    fake_wechat.openids.update({"bind": "openid-courier1", "at-door": "openid-courier1", "other": "openid-guest"})
    client.post("/api/v1/auth/wechat/bind", json={"tenant": world.slug, "code": "bind", "username": "courier1",
                                                   "password": PASSWORD})
    door = make_door()
    suspicious = door.submit(door.body(wechat_code="at-door"))
    assert "signed_on_courier_device" in suspicious.get_json()["anomalies"]
    evidence = world.get(f"/receipts/{suspicious.get_json()['receipt_id']}").get_json()["evidence"]
    assert evidence["signer"]["wechat_openid"] == "openid-courier1"
    honest = make_door()
    assert "signed_on_courier_device" not in honest.submit(honest.body(wechat_code="other")).get_json()["anomalies"]


def test_verification_file_is_served_at_the_root(database_url, tmp_path):
    from delivery_sign import create_app
    from tests.conftest import test_config

    app = create_app({**test_config(database_url, tmp_path), "WECHAT_VERIFY_FILE_NAME": "Ab12Cd.txt",
                      "WECHAT_VERIFY_FILE_CONTENT": "0123456789abcdef"})
    response = app.test_client().get("/Ab12Cd.txt")
    with app.app_context():
        db.engine.dispose()
    assert response.status_code == 200 and response.data == b"0123456789abcdef"
    assert response.mimetype == "text/plain"
