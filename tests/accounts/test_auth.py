"""Signing in and out, tokens, API keys and the login rate limit."""
from datetime import timedelta

from delivery_sign.accounts.models import AuthToken
from delivery_sign.core.auth import hash_secret
from delivery_sign.extensions import db
from tests.factories import PASSWORD


def login(client, world, username="admin", password=PASSWORD):
    return client.post("/api/v1/auth/login",
                       json={"tenant": world.slug, "username": username, "password": password})


def test_login_returns_token_and_user(client, world):
    response = login(client, world, "disp_east")
    assert response.status_code == 200
    body = response.get_json()
    assert body["token"].startswith("dst_") and body["expires_at"].endswith("Z")
    assert body["user"] == {"username": "disp_east", "role": "dispatcher", "org_unit": "EAST",
                            "display_name": "disp_east"}
    me = client.get("/api/v1/waybills", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200


def test_token_is_stored_hashed(app, client, world):
    token = login(client, world).get_json()["token"]
    with app.app_context():
        stored = db.session.query(AuthToken).filter_by(token_hash=hash_secret(token)).one()
        assert token not in (stored.token_hash,)
        assert len(stored.token_hash) == 64


def test_wrong_password_unknown_user_and_unknown_tenant_look_alike(client, world):
    bad = [login(client, world, password="wrong password"), login(client, world, username="ghost"),
           client.post("/api/v1/auth/login", json={"tenant": "nope", "username": "admin", "password": PASSWORD})]
    assert {r.status_code for r in bad} == {401}
    assert len({r.get_json()["detail"] for r in bad}) == 1


def test_logout_revokes_the_token(client, world):
    token = login(client, world).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/waybills", headers=headers).status_code == 401


def test_expired_token_is_refused(app, client, world):
    token = login(client, world).get_json()["token"]
    with app.app_context():
        stored = db.session.query(AuthToken).filter_by(token_hash=hash_secret(token)).one()
        stored.expires_at -= timedelta(hours=13)
        db.session.commit()
    assert client.get("/api/v1/waybills", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_login_is_rate_limited_per_account(client, world):
    statuses = [login(client, world, password="wrong password").status_code for _ in range(11)]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    # The right password is refused too while the window lasts: the limit is per account.
    limited = login(client, world)
    assert limited.status_code == 429
    assert limited.mimetype == "application/problem+json"
    assert "Retry-After" in limited.headers


def test_login_is_rate_limited_per_address(client, world, other_world):
    for i in range(10):
        who = world if i % 2 else other_world
        assert login(client, who, username=f"user{i}", password="x").status_code == 401
    assert login(client, world).status_code == 429


def test_deactivated_user_cannot_sign_in_and_loses_sessions(world, client):
    headers = world.auth("courier1")
    assert world.patch("/users/courier1", {"active": False}).status_code == 200
    assert client.get("/api/v1/waybills", headers=headers).status_code == 401
    assert login(client, world, "courier1").status_code == 401


def test_password_change_ends_sessions(world, client):
    headers = world.auth("courier1")
    assert world.patch("/users/courier1", {"password": "a new long password"}).status_code == 200
    assert client.get("/api/v1/waybills", headers=headers).status_code == 401
    assert login(client, world, "courier1", "a new long password").status_code == 200


def test_api_key_shown_once_works_and_revokes(world, client):
    created = world.post("/api-keys", {"name": "ERP"})
    assert created.status_code == 201
    key = created.get_json()["key"]
    assert key.startswith("dsk_")
    listed = world.get("/api-keys").get_json()
    assert all("key" not in k for k in listed)
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/waybills", headers=headers).status_code == 200
    assert world.delete(f"/api-keys/{created.get_json()['id']}").status_code == 204
    assert client.get("/api/v1/waybills", headers=headers).status_code == 401


def test_api_key_cannot_manage_accounts(world):
    assert world.get("/users", who="api").status_code == 403
    assert world.post("/api-keys", {"name": "x"}, who="api").status_code == 403


def test_garbage_bearer_values_are_401(client):
    for value in ("Bearer", "Bearer dst_nope", "Basic abc", "Bearer dsk_x_y", "Bearer " + "a" * 5000):
        assert client.get("/api/v1/waybills", headers={"Authorization": value}).status_code == 401
