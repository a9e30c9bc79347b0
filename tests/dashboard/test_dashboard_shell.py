"""The dashboard shell without a browser: its weight, its CSP, no inline script or style."""
import re

BUDGET = 150 * 1024


def fetch(client, url):
    response = client.get(url)
    try:
        return response.data
    finally:
        response.close()                      # static files are streamed from an open file


def assets(client):
    page = client.get("/dashboard")
    html = page.get_data(as_text=True)
    urls = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    return page, html, urls


def test_dashboard_weighs_under_its_budget(client):
    page, html, urls = assets(client)
    assert page.status_code == 200
    assert any(u.endswith("dashboard/app.js") for u in urls) and any(u.endswith(".css") for u in urls)
    sizes = {url: len(fetch(client, url)) for url in urls}
    assert all(sizes.values())
    total = len(page.data) + sum(sizes.values())
    print(f"dashboard HTML+JS+CSS: {total} bytes over {len(urls) + 1} files")
    assert total <= BUDGET, sizes


def test_dashboard_has_no_inline_script_or_style(client):
    page, html, _ = assets(client)
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "style=" not in html and "<style" not in html
    assert not re.search(r"\son[a-z]+=", html)                   # no inline event handlers
    # Nothing is fetched from another origin: every asset is on /static.
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)
