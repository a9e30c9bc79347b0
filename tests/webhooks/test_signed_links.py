"""Signed links: webhook payloads and GET /receipts/<id>/links fetch without a bearer; a changed
or expired link is a 403 that says nothing."""
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

from delivery_sign.core import signed_urls

from .test_webhooks import drain, subscribe


def _local(url):
    """The path and query of a link, for the test client (PUBLIC_BASE_URL stripped)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _get(client, url):
    return client.get(_local(url))      # no Authorization header


def test_webhook_payload_links_fetch_without_a_bearer(app, world, door, receiver, fast_webhooks):
    subscribe(world, receiver.url, ["waybill.signed", "receipt.pdf_ready"])
    door.submit()
    drain(world)
    signed, ready = sorted(receiver.accepted, key=lambda e: e["type"] != "waybill.signed")
    links = signed["data"]["links"]
    assert links["expires_at"].endswith("Z") and links["pdf"].startswith(app.config["PUBLIC_BASE_URL"])
    client = app.test_client()
    png = _get(client, links["signature_png"])
    assert png.status_code == 200 and png.mimetype == "image/png" and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert _get(client, links["signature_svg"]).mimetype == "image/svg+xml"
    [photo] = links["photos"]
    thumb = _get(client, photo["thumb"])
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg" and photo["kind"] == "goods"
    pdf = _get(client, ready["data"]["links"]["pdf"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data[:5] == b"%PDF-"
    # The bearer-only URL of the same PDF still wants a bearer.
    assert client.get(urlsplit(ready["data"]["receipt_pdf"]).path).status_code == 401


def test_staff_mint_fresh_links(app, world, door):
    receipt_id = door.submit().get_json()["receipt_id"]
    minted = world.get(f"/receipts/{receipt_id}/links")
    assert minted.status_code == 200
    links = minted.get_json()
    assert links["receipt_id"] == receipt_id and links["expires_at"].endswith("Z")
    expires = int(dict(parse_qsl(urlsplit(links["pdf"]).query))["expires"])
    assert 0 < expires - time.time() <= app.config["SIGNED_URL_TTL_S"]
    client = app.test_client()
    assert _get(client, links["pdf"]).status_code == 202          # not rendered yet: the same answer as with a bearer
    assert _get(client, links["photos"][0]["display"]).mimetype == "image/jpeg"
    assert client.get(f"/api/v1/receipts/{receipt_id}/links").status_code == 401
    assert world.get(f"/receipts/{receipt_id}/links", who="disp_west").status_code == 404   # out of reach
    assert world.get("/receipts/r_nope/links").status_code == 404


def _assert_refused(response, receipt_id):
    assert response.status_code == 403, response.data
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.get_data(as_text=True)
    assert signed_urls.INVALID in body and receipt_id not in body


def test_a_changed_or_expired_link_is_403_and_says_nothing(app, world, other_world, door, signature, photo_jpeg):
    from tests.factories import Door

    receipt_id = door.submit().get_json()["receipt_id"]
    other_id = Door(other_world, signature, photo_jpeg).submit().get_json()["receipt_id"]
    links = world.get(f"/receipts/{receipt_id}/links").get_json()
    client = app.test_client()
    thumb = urlsplit(links["photos"][0]["thumb"])
    params = dict(parse_qsl(thumb.query))

    def fetch(path, **changes):
        return client.get(f"{path}?{urlencode({**params, **changes})}")

    assert fetch(thumb.path).status_code == 200
    sig = params["signature"]
    _assert_refused(fetch(thumb.path, signature=sig[:-1] + ("A" if sig[-1] != "A" else "B")), receipt_id)
    _assert_refused(fetch(thumb.path, variant="original"), receipt_id)            # a thumbnail is not the original
    _assert_refused(fetch(thumb.path, expires=str(int(params["expires"]) + 3600)), receipt_id)   # a longer life
    _assert_refused(fetch(thumb.path, extra="1"), receipt_id)
    _assert_refused(fetch(thumb.path.replace(receipt_id, other_id)), other_id)      # another tenant's receipt
    _assert_refused(client.get(f"{thumb.path}?variant=thumb&expires={params['expires']}"), receipt_id)
    _assert_refused(client.get(f"{thumb.path}?{thumb.query}&signature={sig}"), receipt_id)   # the key twice
    pdf_path = f"/api/v1/receipts/{receipt_id}/pdf"
    _assert_refused(client.get(f"{pdf_path}?expires=abc&signature=x"), receipt_id)
    # Expired: a link of ours whose 30 minutes are over.
    with app.test_request_context():
        expired = signed_urls.sign(pdf_path, now=time.time() - app.config["SIGNED_URL_TTL_S"] - 5)
    _assert_refused(_get(client, expired), receipt_id)
    # And a signed link does not open the evidence JSON, which never takes one.
    assert client.get(f"/api/v1/receipts/{receipt_id}?{urlsplit(links['pdf']).query}").status_code == 401


def test_bearer_requests_are_as_before(world, door):
    receipt_id = door.submit().get_json()["receipt_id"]
    assert world.get(f"/receipts/{receipt_id}/signature.png?cache=1").status_code == 200   # a stray query is ignored
    assert world.get(f"/receipts/{receipt_id}/pdf").status_code == 202
    photo_id = world.get(f"/receipts/{receipt_id}").get_json()["evidence"]["photos"][0]["photo_id"]
    assert world.get(f"/receipts/{receipt_id}/photos/{photo_id}?variant=thumb").status_code == 200
    assert world.get(f"/receipts/{receipt_id}/photos/{photo_id}?variant=huge").status_code == 422


def test_the_query_join_is_what_urlencode_makes():
    """signed_urls joins a plain query itself (urlencode quotes character by character);
    every query, plain or not, comes out as urlencode writes it."""
    cases = [[("variant", "thumb"), ("expires", "1767225600"), ("signature", "Ab-_9zZ")],
             [("a", "b c"), ("k", "ä")], [("x", "1%2F2")], [("q", "a+b"), ("r", "a/b")], [("e", "")], [],
             [("t", "~.-_")], [("n", "a=b&c")]]
    for pairs in cases:
        assert signed_urls._query(pairs) == urlencode(pairs), pairs


def test_one_tree_of_links_has_one_expiry(app):
    with app.test_request_context():
        links = signed_urls.sign_links({"pdf": "/api/v1/receipts/r_1/pdf",
                                        "photos": [f"/api/v1/receipts/r_1/photos/p{i}?variant=thumb"
                                                   for i in range(20)]})
    expiries = {dict(parse_qsl(urlsplit(url).query))["expires"] for url in [links["pdf"], *links["photos"]]}
    assert len(expiries) == 1
