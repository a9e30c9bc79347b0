"""The H5 pages as the server sends them: sizes, states of dead links, no inline code."""
import os
import re

import pytest

STATIC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "static")
PAGE_BUDGET = 150 * 1024   # issue #6: each page's own HTML + JS + CSS, uncompressed


def _assets(html):
    return re.findall(r'(?:src|href)="/static/([^"?]+)"', html)


@pytest.mark.parametrize("path", ["/s/TOKEN", "/courier"])
def test_each_page_with_its_scripts_and_styles_fits_the_budget(client, door, path):
    response = client.get(path.replace("TOKEN", door.token))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assets = _assets(html)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    total = len(response.get_data()) + sum(os.path.getsize(os.path.join(STATIC, a)) for a in assets)
    assert total <= PAGE_BUDGET, f"{path}: {total} bytes"


@pytest.mark.parametrize("path", ["/s/TOKEN", "/courier"])
def test_pages_carry_no_inline_script_or_style(client, door, path):
    response = client.get(path.replace("TOKEN", door.token))
    html = response.get_data(as_text=True)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None
    assert " style=" not in html and "<style" not in html
    assert response.headers["Cache-Control"] == "no-store"
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html


def test_dead_links_render_a_plain_page(client, world, door, signature):
    assert door.submit().status_code == 201
    used = client.get(f"/s/{door.token}")
    assert used.status_code == 410
    assert "已签收" in used.get_data(as_text=True)

    unknown = client.get("/s/no-such-token")
    assert unknown.status_code == 404
    assert "链接无效" in unknown.get_data(as_text=True)


def test_a_revoked_link_reads_as_expired(client, world, door):
    world.post("/sign-links", {"waybills": [door.number]}, who="courier1")   # a new QR retires the old one
    page = client.get(f"/s/{door.token}")
    assert page.status_code == 410
    assert "二维码已过期" in page.get_data(as_text=True)
