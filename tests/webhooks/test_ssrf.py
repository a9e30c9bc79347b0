"""SSRF: addresses that embed others are refused; a rebinding name cannot reach loopback."""
import socket

import pytest

from delivery_sign.webhooks import client
from delivery_sign.webhooks.services import UrlNotAllowed, check_url

from .test_webhooks import drain, subscribe

PUBLIC = "93.184.216.34"


@pytest.mark.parametrize("url", [
    "http://[::127.0.0.1]/x",             # IPv4-compatible
    "http://[::ffff:127.0.0.1]/x",        # IPv4-mapped
    "http://[::ffff:0:7f00:1]/x",         # SIIT IPv4-translated
    "http://[64:ff9b::7f00:1]/x",         # NAT64 of 127.0.0.1
    "http://[64:ff9b::5db8:d822]/x",      # NAT64 of a public address: still an embedding form
    "http://[2002:7f00:1::1]/x",          # 6to4 of 127.0.0.1
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x",   # Teredo
    "http://[fec0::1]/x",                 # site-local
    "http://[fe80::1%25eth0]/x",          # link-local with a zone
    "http://2130706433/x",                # 127.0.0.1 as one number
    "http://0x7f.1/x",                    # and in hex
    "http://[::]/x", "http://0.0.0.0/x", "http://100.64.0.1/x",   # unspecified, CGNAT
    "http://127.0.0.1:99999/x",           # no such port
])
def test_addresses_that_embed_or_reach_inside_are_refused(url):
    with pytest.raises(UrlNotAllowed):
        check_url(url, allow_private_hosts=False)


def test_public_v6_passes():
    assert client.address_allowed("2606:2800:220:1:248:1893:25c8:1946")
    assert not client.address_allowed("::ffff:93.184.216.34")


def test_a_name_rebinding_to_loopback_never_reaches_it(app, world, door, receiver, monkeypatch):
    """The resolver answers a public address first and 127.0.0.1 after: the delivery goes to the
    vetted public address (unreachable here) and the loopback receiver hears nothing. Before, the
    check resolved once and the HTTP client resolved again, and reached the receiver."""
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    url = f"http://rebind.example:{port}/hooks"
    real = socket.getaddrinfo
    calls = []

    def rebinding(host, *args, **kwargs):
        if host != "rebind.example":
            return real(host, *args, **kwargs)
        calls.append(host)
        address = PUBLIC if len(calls) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    hook = subscribe(world, url, ["waybill.signed"])     # TESTING allows any host; no lookup yet
    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    saved = {k: app.config[k] for k in ("TESTING", "WEBHOOK_TIMEOUT_S")}
    app.config.update(TESTING=False, WEBHOOK_TIMEOUT_S=0.5)
    try:
        door.submit()
        drain(world)
    finally:
        app.config.update(saved)   # what it was: later tests must not inherit a 0.3 s deadline
    assert receiver.received == []
    assert calls == ["rebind.example"]                # resolved once, by us
    [delivery] = world.get(f"/webhooks/{hook['id']}/deliveries").get_json()["items"]
    assert delivery["status"] == "pending" and delivery["last_error"]
    # The next attempt resolves to loopback, and is refused before any connection.
    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    app.config["TESTING"] = False
    try:
        answer = client.post(url, b"{}", {}, deadline_s=0.5, allow_private_hosts=False)
    finally:
        app.config["TESTING"] = True
    assert answer.status_code is None and "private" in answer.error
    assert receiver.received == []


def test_every_socket_curl_opens_is_checked_against_the_vetted_address(receiver, monkeypatch):
    # Were the pin ever bypassed, the connect-time check still refuses a loopback peer.
    target = client.Target("http", "127.0.0.1", int(receiver.url.rsplit(":", 1)[1].split("/")[0]), None)
    monkeypatch.setattr(client, "vet", lambda url, allow_private_hosts: target)
    answer = client.post(receiver.url, b"{}", {}, deadline_s=2, allow_private_hosts=False)
    assert answer.status_code is None and "not vetted" in answer.error
    assert receiver.received == []


def test_an_ipv6_literal_receiver_is_reached(monkeypatch):
    import http.server
    import threading

    class V6Server(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    try:
        server = V6Server(("::1", 0), Handler)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        answer = client.post(f"http://[::1]:{server.server_address[1]}/h", b"{}", {}, deadline_s=5,
                             allow_private_hosts=True)
    finally:
        server.shutdown()
        server.server_close()
    assert answer == client.Answer(204, None)
