"""First run: the start page at /, the start banner, and the commands that (re)set passwords."""
import re

from delivery_sign.demo import start_banner
from tests.factories import PASSWORD


def test_root_is_a_start_page_linking_courier_app_dashboard_docs_and_demo_sign_in(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    links = re.findall(r'href="([^"]+)"', html)
    for path in ("/courier", "/dashboard", "/api/docs", "/dashboard?tenant=demo"):
        assert path in links, (path, links)
    assert "demo-credentials" in html
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None and " style=" not in html
    for path in ("/courier", "/dashboard", "/api/docs"):
        assert client.get(path).status_code == 200


def test_start_banner_names_every_entry_point():
    banner = start_banner("https://192.168.1.20:8443")
    for url in ("https://192.168.1.20:8443/", "https://192.168.1.20:8443/courier",
                "https://192.168.1.20:8443/dashboard", "https://192.168.1.20:8443/api/docs"):
        assert url in banner
    assert "demo-credentials" in banner


def _login(client, tenant, username, password):
    return client.post("/api/v1/auth/login", json={"tenant": tenant, "username": username, "password": password})


def test_demo_credentials_resets_and_prints_passwords_that_work(app, runner, client):
    from delivery_sign.accounts.tenants import tenant_by_slug
    from delivery_sign.demo import seed_demo
    from delivery_sign.extensions import db

    with app.app_context():
        if tenant_by_slug("demo") is None:
            seed_demo()
            db.session.commit()
    first = runner.invoke(args=["demo-credentials"])
    assert first.exit_code == 0, first.output
    passwords = dict(re.findall(r"^\s+(\w+)\s+/ (\S+)$", first.output, re.M))
    assert set(passwords) == {"admin", "dispatcher", "courier"}
    for username, password in passwords.items():
        assert _login(client, "demo", username, password).status_code == 200
    second = runner.invoke(args=["demo-credentials"])
    again = dict(re.findall(r"^\s+(\w+)\s+/ (\S+)$", second.output, re.M))
    assert again["admin"] != passwords["admin"]
    assert _login(client, "demo", "admin", passwords["admin"]).status_code == 401
    assert _login(client, "demo", "admin", again["admin"]).status_code == 200


def test_set_password_changes_it_and_ends_sessions(runner, client, world):
    assert world.get("/users", who="disp_east").status_code == 200
    result = runner.invoke(args=["set-password", world.slug, "disp_east"], input="a new secret 1\na new secret 1\n")
    assert result.exit_code == 0, result.output
    assert "a new secret 1" not in result.output
    assert _login(client, world.slug, "disp_east", "a new secret 1").status_code == 200
    assert _login(client, world.slug, "disp_east", PASSWORD).status_code == 401
    assert world.get("/users", who="disp_east").status_code == 401      # the old session ended


def test_set_password_refuses_unknown_accounts_and_short_passwords(runner, world):
    assert "no tenant" in runner.invoke(args=["set-password", "nobody-here", "admin", "--password", "x" * 12]).output
    assert "no user" in runner.invoke(args=["set-password", world.slug, "ghost", "--password", "x" * 12]).output
    short = runner.invoke(args=["set-password", world.slug, "admin", "--password", "short"])
    assert short.exit_code != 0 and "8" in short.output
