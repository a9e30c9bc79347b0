"""The app as an operator and a client meet it: factory, ops endpoints, errors, docs."""
import json

from delivery_sign import create_app


def test_factory_builds_independent_apps(app, database_url, tmp_path):
    from tests.conftest import test_config

    other = create_app(test_config(database_url, tmp_path))
    assert other is not app
    assert other.config["TESTING"] is True
    assert other.config["PUBLIC_BASE_URL"] == "http://testserver"


def test_config_reads_every_spec_variable(tmp_path):
    from delivery_sign.config import load_config

    env = {"DATABASE_URL": "postgresql+psycopg://u@h/db", "STORAGE_URL": "s3://bucket/prefix",
           "SECRET_KEY": "k", "PUBLIC_BASE_URL": "https://sign.example.com/", "REDIS_URL": "redis://r:6379/0",
           "WORKER": "off", "SMS_BACKEND": "http", "WECHAT_APPID": "wxapp", "WECHAT_SECRET": "s",
           "WECHAT_API_BASE": "http://127.0.0.1:9/", "TSA_URL": "http://tsa", "WEBHOOK_BACKOFF_BASE_S": "7",
           "DEMO_TENANT": "0", "AUTO_MIGRATE": "0"}
    cfg = load_config(str(tmp_path), env)
    assert cfg["SQLALCHEMY_DATABASE_URI"] == env["DATABASE_URL"]
    assert cfg["STORAGE_URL"] == "s3://bucket/prefix"
    assert cfg["PUBLIC_BASE_URL"] == "https://sign.example.com"
    assert cfg["RATELIMIT_STORAGE_URI"] == "redis://r:6379/0"
    assert cfg["WORKER"] == "off" and cfg["SMS_BACKEND"] == "http"
    assert cfg["WECHAT_API_BASE"] == "http://127.0.0.1:9"
    assert cfg["WEBHOOK_BACKOFF_BASE_S"] == 7
    assert cfg["DEMO_TENANT"] is False and cfg["AUTO_MIGRATE"] is False


def test_secret_key_generated_once_into_instance(tmp_path):
    from delivery_sign.config import load_config

    first = load_config(str(tmp_path), {})["SECRET_KEY"]
    second = load_config(str(tmp_path), {})["SECRET_KEY"]
    assert first == second and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_defaults_are_the_embedded_ones(tmp_path):
    from delivery_sign.config import load_config

    cfg = load_config(str(tmp_path), {})
    assert cfg["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'delivery_sign.db'}"
    assert cfg["STORAGE_URL"] == f"file://{tmp_path / 'media'}"
    assert cfg["WORKER"] == "inline" and cfg["SMS_BACKEND"] == "console"
    assert cfg["RATELIMIT_STORAGE_URI"] == "local-memory://"


def test_links_follow_the_bind_address_unless_public_base_url_is_set(tmp_path):
    from delivery_sign.config import load_config
    from delivery_sign.demo import start_banner

    def base(**env):
        return load_config(str(tmp_path), env)["PUBLIC_BASE_URL"]

    assert base(BIND="127.0.0.1:9000") == "http://127.0.0.1:9000"
    assert base(BIND="0.0.0.0:8443") == "http://127.0.0.1:8443"     # every interface: no one address to name
    assert base(BIND="[::1]:8001") == "http://[::1]:8001"
    assert base(BIND="unix:/run/ds.sock") == "http://127.0.0.1:8000"
    assert base(BIND="0.0.0.0:8443", PUBLIC_BASE_URL="https://192.168.1.20:8443") == "https://192.168.1.20:8443"
    assert "set PUBLIC_BASE_URL" in start_banner(base(BIND="127.0.0.1:9000"))
    banner = start_banner("https://192.168.1.20:8443")
    assert "https://192.168.1.20:8443/courier" in banner and "PUBLIC_BASE_URL" not in banner


def test_health_ready_and_metrics(client, app, monkeypatch):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["database"] == "ok"
    client.get("/api/v1/waybills")
    monkeypatch.setitem(app.config, "METRICS_KEY", "scrape-key")
    metrics = client.get("/metrics", headers={"Authorization": "Bearer scrape-key"})
    assert metrics.status_code == 200
    text = metrics.get_data(as_text=True)
    assert "delivery_sign_http_requests_total" in text
    assert 'endpoint="waybills.list_waybills"' in text
    assert "delivery_sign_http_request_seconds_bucket" in text


def _problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["type"].startswith("https://") and body["title"]
    return body


def test_unknown_api_path_is_problem_json(client):
    _problem(client.get("/api/v1/nope"), 404)


def test_wrong_method_is_405_with_allow(client, world):
    response = client.delete("/api/v1/waybills", headers=world.auth())
    _problem(response, 405)
    assert "GET" in response.headers["Allow"]


def test_malformed_json_is_400(client, world):
    response = client.post("/api/v1/waybills", data="{not json", content_type="application/json",
                           headers=world.auth())
    _problem(response, 400)


def test_wrong_content_type_is_415(client, world):
    response = client.post("/api/v1/waybills", data="number=1", content_type="application/x-www-form-urlencoded",
                           headers=world.auth())
    body = _problem(response, 415)
    assert "application/json" in body["detail"]


def test_oversized_body_is_413(client, world, app):
    big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.put("/api/v1/waybills/SF0001/document", data=big, content_type="application/pdf",
                          headers=world.auth())
    _problem(response, 413)


def test_validation_errors_list_field_code_message(world):
    response = world.post("/waybills", {"number": "x", "consignee": {"phone": "123"}, "items": []})
    body = _problem(response, 422)
    by_field = {e["field"]: e for e in body["errors"]}
    assert by_field["number"]["code"] == "format"
    assert by_field["consignee.phone"]["code"] == "phone_invalid"
    assert by_field["consignee.name"]["code"] == "required"
    assert by_field["items"]["code"] == "length"
    assert all(e["message"] for e in body["errors"])


def test_missing_credentials_is_401_problem(client):
    response = client.get("/api/v1/waybills")
    _problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_html_pages_get_an_html_error_page(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "404" in response.get_data(as_text=True)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_openapi_document_and_offline_docs(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/auth/login", "/waybills", "/waybills/batch", "/waybills/import", "/audit/verify",
                 "/waybills/{number}/document", "/doc-types/{code}", "/users/{username}"):
        assert "/api/v1" + path in spec["paths"], path
    docs = client.get("/api/docs")
    html = docs.get_data(as_text=True)
    assert docs.status_code == 200 and "POST /api/v1/waybills/batch" in html
    # Nothing on the page comes from another origin.
    assert "http://" not in html.replace("http://testserver", "") and "https://" not in html


def test_request_id_is_echoed_and_logged(client, caplog):
    response = client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert response.headers["X-Request-ID"] == "abc123"
    assert client.get("/healthz").headers["X-Request-ID"]


def test_log_lines_mask_phone_numbers(app):
    import io
    import logging

    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_delivery_sign", False))
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        logging.getLogger("delivery_sign.test").warning("calling consignee %s now", "13800138000")
    finally:
        handler.setStream(previous)
    line = buffer.getvalue().strip().splitlines()[-1]
    assert "13800138000" not in line and "138****8000" in line
    assert json.loads(line)["level"] == "WARNING"


# --- issue 15.15: /metrics is not public; the instance folder and database are private -----

def test_metrics_are_not_public(client, app, monkeypatch):
    assert client.get("/metrics").status_code == 404          # neither a key nor a bind: off
    monkeypatch.setitem(app.config, "METRICS_KEY", "scrape-key")
    refused = client.get("/metrics")
    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-key"}).status_code == 200


def test_metrics_on_their_own_listener(client, app, monkeypatch):
    import socket

    # Two real listening sockets, as gunicorn binds BIND and METRICS_BIND; gunicorn hands
    # the app the accepted connection's socket, whose local address names the listener.
    public, private = socket.socket(), socket.socket()
    try:
        for sock in (public, private):
            sock.bind(("127.0.0.1", 0))
            sock.listen()
        monkeypatch.setitem(app.config, "METRICS_BIND", f"127.0.0.1:{private.getsockname()[1]}")
        assert client.get("/metrics", environ_base={"gunicorn.socket": private}).status_code == 200
        assert client.get("/metrics", environ_base={"gunicorn.socket": public}).status_code == 404
        # A forged Host naming the metrics port changes nothing.
        forged = client.get("/metrics", environ_base={"gunicorn.socket": public},
                            headers={"Host": app.config["METRICS_BIND"]})
        assert forged.status_code == 404
    finally:
        public.close()
        private.close()


def test_gunicorn_adds_the_metrics_bind(monkeypatch):
    import importlib.util
    import os

    monkeypatch.setenv("METRICS_BIND", "127.0.0.1:9100")
    path = os.path.join(os.path.dirname(__file__), "..", "..", "gunicorn.conf.py")
    spec = importlib.util.spec_from_file_location("gunicorn_conf_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.bind[-1] == "127.0.0.1:9100" and len(module.bind) == 2


def test_instance_folder_and_sqlite_database_are_private(database_url, tmp_path, monkeypatch):
    import os
    import stat

    from tests.conftest import test_config

    instance = tmp_path / "fresh-instance"
    monkeypatch.setenv("INSTANCE_PATH", str(instance))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = {**test_config(database_url, tmp_path), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'ds.db'}"}
    config.pop("SECRET_KEY")
    other = create_app(config)
    try:
        assert stat.S_IMODE(os.stat(instance).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(instance / "ds.db").st_mode) == 0o600
        assert stat.S_IMODE(os.stat(instance / "secret_key").st_mode) == 0o600
        # An existing world-readable database from an older release is tightened.
        os.chmod(instance / "ds.db", 0o644)
        create_app(config)
        assert stat.S_IMODE(os.stat(instance / "ds.db").st_mode) == 0o600
    finally:
        from delivery_sign.extensions import db

        with other.app_context():
            db.engine.dispose()


def test_config_reads_the_hardening_variables(tmp_path):
    from delivery_sign.config import load_config

    env = {"SECRET_KEY": "k", "TRUSTED_PROXIES": "2", "AUDIT_KEY": "audit", "METRICS_KEY": "m",
           "METRICS_BIND": "127.0.0.1:9100"}
    cfg = load_config(str(tmp_path), env)
    assert (cfg["TRUSTED_PROXIES"], cfg["AUDIT_KEY"], cfg["METRICS_KEY"], cfg["METRICS_BIND"]) == \
        (2, "audit", "m", "127.0.0.1:9100")
    defaults = load_config(str(tmp_path), {"SECRET_KEY": "k"})
    assert (defaults["TRUSTED_PROXIES"], defaults["AUDIT_KEY"], defaults["METRICS_KEY"]) == (0, None, None)


def test_openapi_documents_the_audit_and_scope_additions(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"/api/v1/audit/head", "/api/v1/audit/anchors", "/api/v1/audit/verify"} <= set(spec["paths"])
    schemas = spec["components"]["schemas"]
    assert "scopes" in schemas["ApiKeyIn"]["properties"] and "scopes" in schemas["ApiKeyOut"]["properties"]
    assert "bad_receipts" in schemas["AuditVerify"]["properties"]
