"""Issue 15.7: recipient limits per token for valid tokens, per address for unknown ones,
and the client address taken from a trusted proxy's X-Forwarded-For."""
import pytest

from delivery_sign import create_app
from delivery_sign.core.ratelimit import TOKEN_LIMIT, TOKEN_MISS_LIMIT
from delivery_sign.extensions import db

MISSES = int(TOKEN_MISS_LIMIT.split()[0])
PER_TOKEN = int(TOKEN_LIMIT.split()[0])
CGNAT = {"REMOTE_ADDR": "100.64.0.1"}


def test_many_sign_offs_behind_one_cgnat_address_meet_no_refusals(make_door):
    # 16 recipients behind one carrier address, each making the calls a real sign-off makes
    # (the page, the view polled, a photo, the submit): 176 calls in well under a minute,
    # 128 of them on one endpoint, more than the per-address budget of 120 a minute had.
    doors = [make_door() for _ in range(16)]
    refused, calls = 0, 0
    for door in doors:
        door.client.environ_base.update(CGNAT)
        for _ in range(8):
            refused += door.view().status_code == 429
            calls += 1
        refused += door.client.get(f"/s/{door.token}").status_code == 429
        photo = door.upload()
        refused += photo.status_code == 429
        submitted = door.submit(door.body(photo_ids=[photo.get_json()["photo_id"]]))
        assert submitted.status_code == 201, submitted.get_json()
        calls += 3
    assert calls == 176 and refused == 0


def test_one_link_is_limited_on_its_own(door, make_door):
    for _ in range(PER_TOKEN):
        assert door.view().status_code == 200
    flooded = door.view()
    assert flooded.status_code == 429 and flooded.mimetype == "application/problem+json"
    # Another recipient behind the same address is not affected.
    assert make_door().view().status_code == 200


def test_a_link_out_of_calls_is_told_why_and_when(door):
    first = door.view()
    assert first.headers["X-RateLimit-Limit"] == str(PER_TOKEN)
    assert first.headers["X-RateLimit-Remaining"] == str(PER_TOKEN - 1)
    for _ in range(PER_TOKEN - 1):
        last = door.view()
    assert last.headers["X-RateLimit-Remaining"] == "0"
    refused = door.view()
    assert refused.status_code == 429 and refused.get_json()["code"] == "link_limit"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert int(refused.headers["X-RateLimit-Reset"]) >= int(first.headers["X-RateLimit-Reset"])


def test_wrong_tokens_refuse_only_wrong_tokens(door, client):
    for i in range(MISSES):
        assert client.get(f"/api/v1/sign/probe{i:04d}").status_code == 404
    assert client.get("/api/v1/sign/probe-more").status_code == 429
    # The same address with a real token (a neighbour behind the same NAT) is served.
    assert door.view().status_code == 200
    assert client.get(f"/s/{door.token}").status_code == 200


def test_sign_page_has_the_miss_budget_too(client):
    for i in range(MISSES):
        assert client.get(f"/s/probe{i:04d}").status_code == 404
    refused = client.get("/s/probe-more")
    assert refused.status_code == 429
    # The budget is one for the page and the API.
    assert client.get("/api/v1/sign/probe-api").status_code == 429


@pytest.fixture
def proxied_app(database_url, tmp_path):
    from tests.conftest import test_config

    app = create_app({**test_config(database_url, tmp_path), "TRUSTED_PROXIES": 1})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_behind_a_trusted_proxy_a_probers_misses_are_its_own(proxied_app, door):
    client = proxied_app.test_client()
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    prober = {**proxy, "HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    stranger = {**proxy, "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    for i in range(MISSES):
        assert client.get(f"/api/v1/sign/probe{i:04d}", environ_base=prober).status_code == 404
    assert client.get("/api/v1/sign/probe-more", environ_base=prober).status_code == 429
    # Someone else behind the same proxy who mistypes a link still gets the plain 404.
    assert client.get("/api/v1/sign/typo", environ_base=stranger).status_code == 404
    # And the real recipient is served, page and API.
    assert client.get(f"/s/{door.token}", environ_base=stranger).status_code == 200
    assert client.get(f"/api/v1/sign/{door.token}", environ_base=stranger).status_code == 200


def test_without_trusted_proxies_the_header_is_not_believed(client):
    # TRUSTED_PROXIES=0 (the default): a client cannot dodge its budget by forging the header.
    for i in range(MISSES):
        forged = {"HTTP_X_FORWARDED_FOR": f"192.0.2.{i}"}
        assert client.get(f"/api/v1/sign/probe{i:04d}", environ_base=forged).status_code == 404
    assert client.get("/api/v1/sign/probe-more", environ_base={"HTTP_X_FORWARDED_FOR": "192.0.2.99"}).status_code == 429


def test_an_address_out_of_misses_is_told_why_and_when(client):
    for i in range(MISSES):
        assert client.get(f"/api/v1/sign/probe{i:04d}").status_code == 404
    refused = client.get("/api/v1/sign/probe-more")
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    assert refused.get_json()["code"] == "unknown_link_limit"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
