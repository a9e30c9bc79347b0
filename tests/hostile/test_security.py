"""Security review as tests: what the logs never contain, headers on pages, no stack traces,
and brute-force limits shared by every process through Redis."""
import io
import logging
import re

import pytest
import redis

from delivery_sign import create_app
from delivery_sign.extensions import db, limiter
from tests.factories import PASSWORD


@pytest.fixture
def log_lines(app):
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_delivery_sign", False))
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    level = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    yield lambda: buffer.getvalue()
    logging.getLogger().setLevel(level)
    handler.setStream(previous)


def test_logs_hold_no_secrets_and_no_phone_numbers(world, make_door, client, log_lines, app):
    app.config["SMS_BACKEND"] = "console"
    try:
        world.patch("/doc-types/default", {"policy": {"otp": "required"}})
        login = client.post("/api/v1/auth/login", json={"tenant": world.slug, "username": "admin",
                                                        "password": PASSWORD}).get_json()
        door = make_door()
        client.post(f"/api/v1/sign/{door.token}/otp")
        client.get("/api/v1/waybills", headers={"Authorization": f"Bearer {world.api_key}"})
        client.get(f"/api/v1/sign/{door.token}?token={door.token}")
        client.post("/api/v1/auth/login", json={"tenant": world.slug, "username": "admin", "password": "x" * 9})
    finally:
        app.config["SMS_BACKEND"] = "outbox"
    text = log_lines()
    assert "request" in text and "sms to 138****8000" in text
    for secret in (login["token"], world.api_key, door.token, PASSWORD, "x" * 9, "13800138000", "13900001111"):
        assert secret not in text, secret
    # A mainland mobile number as a word of its own (request ids are hex and may hold digit runs).
    assert not re.search(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])", text)


@pytest.mark.parametrize("path", ["/courier", "/dashboard", "/api/docs", "/s/unknown-token-xyz"])
def test_pages_carry_security_headers(client, path):
    response = client.get(path)
    assert response.mimetype == "text/html"
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_api_responses_are_not_cached(world):
    assert world.get("/waybills").headers["Cache-Control"] == "no-store"


def test_unexpected_errors_show_no_stack_trace(world, monkeypatch, log_lines):
    from delivery_sign.waybills import services

    def explode(*args, **kwargs):
        raise RuntimeError("secret internal detail at /srv/app.py line 42")

    monkeypatch.setattr(services, "list_waybills", explode)
    response = world.get("/waybills")
    assert response.status_code == 500 and response.mimetype == "application/problem+json"
    body = response.get_data(as_text=True)
    assert "Traceback" not in body and "secret internal detail" not in body and ".py" not in body
    assert "secret internal detail" in log_lines()   # the operator still sees it


def _redis_available():
    try:
        return redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


@pytest.mark.skipif(not _redis_available(), reason="needs Redis on 127.0.0.1:6379")
def test_login_limit_is_shared_by_processes_through_redis(database_url, tmp_path, world):
    from tests.conftest import test_config

    url = "redis://127.0.0.1:6379/3"
    redis.Redis.from_url(url).flushdb()
    config = {**test_config(database_url, tmp_path), "REDIS_URL": url, "RATELIMIT_STORAGE_URI": url}
    # Two app instances stand for two gunicorn processes; only Redis is shared between them.
    first, second = create_app(config), create_app(config)
    try:
        body = {"tenant": world.slug, "username": "admin", "password": "wrong password"}
        for i in range(10):
            app = first if i % 2 else second
            assert app.test_client().post("/api/v1/auth/login", json=body).status_code == 401
        assert first.test_client().post("/api/v1/auth/login", json=body).status_code == 429
        assert second.test_client().post("/api/v1/auth/login", json=body).status_code == 429
    finally:
        redis.Redis.from_url(url).flushdb()
        for other in (first, second):
            with other.app_context():
                db.session.remove()
                db.engine.dispose()
        # The limiter is one object bound to the last app; give it back to the suite's app.
        limiter.init_app(world.app)


def test_nul_characters_are_refused_not_stored(world, door):
    body = {"number": "NUL-0001", "consignee": {"name": "a\x00b", "phone": "13800138000", "address": "x"},
            "items": [{"name": "x", "qty": 1}]}
    response = world.post("/waybills", body)
    assert response.status_code == 422 and response.get_json()["errors"][0]["code"] == "nul_character"
    assert world.get("/waybills/NUL%000001").status_code == 400
    assert world.get("/waybills", query_string={"q": "a\x00"}).status_code == 400
    submit = door.submit(door.body(signer={"name": "李\x00娜", "relation": "self"}))
    assert submit.status_code == 422
