"""The outbound HTTP client of webhook deliveries: one vetted address, one deadline, a few KB.

Built on libcurl (pycurl) because it does what requests/urllib3 cannot without threads
of our own:

- a total wall-clock deadline for the whole attempt (``CURLOPT_TIMEOUT_MS``: DNS,
  connect, TLS, sending and the answer). urllib3's read timeout is per ``recv``, so a
  receiver dripping one byte every few seconds held a job thread for minutes;
- a connection to the address we vetted (``CURLOPT_RESOLVE``): the host is resolved
  here once, every answer is checked, and curl connects to the first one, so a name that
  answers a public address to the check and 127.0.0.1 to the connect (DNS rebinding)
  cannot reach inside. Every socket curl opens is checked again against that address
  (``OPENSOCKETFUNCTION``);
- a body callback that stops reading after ``MAX_ANSWER_BYTES``: the status code decides
  the outcome, a 400 MB answer is never read.

Hand-written is only the address policy (``address_allowed``): which networks are
private and which IPv6 forms embed another address (IPv4-compatible and -mapped,
SIIT, NAT64, 6to4, Teredo, site-local), since ``ipaddress.is_global`` lets some of them
through.
"""
import functools
import ipaddress
import socket
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import pycurl

MAX_ANSWER_BYTES = 4096
USER_AGENT = "delivery_sign-webhooks/2"

# IPv6 forms that carry (or route to) another address: refused whatever they embed.
_EMBEDDING_V6 = tuple(ipaddress.ip_network(net) for net in (
    "::/96",             # IPv4-compatible, [::127.0.0.1]
    "::ffff:0:0/96",     # IPv4-mapped, [::ffff:127.0.0.1]
    "::ffff:0:0:0/96",   # SIIT IPv4-translated, [::ffff:0:7f00:1]
    "64:ff9b::/96",      # NAT64 well-known prefix
    "64:ff9b:1::/48",    # NAT64 local-use prefix
    "2002::/16",         # 6to4
    "2001::/32",         # Teredo
    "fec0::/10",         # site-local (deprecated, still routed inside some networks)
))


class UrlNotAllowed(ValueError):
    pass


def address_allowed(address: str) -> bool:
    """A public unicast address, and no IPv6 form that embeds another address."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.version == 6 and any(ip in net for net in _EMBEDDING_V6):
        return False
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    address: str | None    # the vetted address curl connects to (None: resolve as usual)


def parse(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlNotAllowed("Only http:// and https:// URLs with a host are allowed.")
    if parts.username or parts.password:
        raise UrlNotAllowed("Credentials in the URL are not allowed; verify the webhook-signature header instead.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UrlNotAllowed("The port is not a number between 0 and 65535.") from None
    return parts.scheme, parts.hostname, port


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise UrlNotAllowed("The host name does not resolve.") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def vet(url: str, *, allow_private_hosts: bool) -> Target:
    """Resolve the URL's host once and check every answer; the first is where we connect."""
    scheme, host, port = parse(url)
    try:
        addresses = resolve(host, port)
    except UrlNotAllowed:
        if allow_private_hosts:
            return Target(scheme, host, port, None)
        raise
    if not allow_private_hosts and not all(address_allowed(a) for a in addresses):
        raise UrlNotAllowed("The host resolves to a private, loopback, reserved or embedded address.")
    return Target(scheme, host, port, addresses[0].split("%")[0])


@functools.lru_cache(maxsize=1024)
def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%")[0])
        return True
    except ValueError:
        return False


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    error: str | None


_local = threading.local()


def _curl() -> pycurl.Curl:
    # One handle per worker thread: curl keeps its connections alive between deliveries.
    handle = getattr(_local, "curl", None)
    if handle is None:
        handle = _local.curl = pycurl.Curl()
    handle.reset()
    return handle


def post(url: str, body: bytes, headers: dict, *, deadline_s: float, allow_private_hosts: bool) -> Answer:
    """One POST; success is any 2xx. Never longer than ``deadline_s``, never more than a few KB read."""
    try:
        target = vet(url, allow_private_hosts=allow_private_hosts)
    except UrlNotAllowed as exc:
        return Answer(None, str(exc))
    curl = _curl()
    received = bytearray()
    state = {"truncated": False, "refused_peer": None}
    sockets = []

    def on_body(chunk: bytes):
        room = MAX_ANSWER_BYTES - len(received)
        received.extend(chunk[:max(room, 0)])
        if len(chunk) > room:
            state["truncated"] = True
            return 0          # stop reading: curl aborts the transfer (the status is already known)
        return None

    def open_socket(purpose, address):
        peer = address.addr[0]
        if (target.address is not None and peer.split("%")[0] != target.address) or (
                not allow_private_hosts and not address_allowed(peer)):
            state["refused_peer"] = peer
            return pycurl.SOCKET_BAD
        opened = socket.socket(address.family, address.socktype, address.protocol)
        sockets.append(opened)   # pycurl keeps a dup() of it; ours is closed after the transfer
        return opened

    if target.address is not None and not _is_literal(target.host):
        literal = f"[{target.address}]" if ":" in target.address else target.address
        curl.setopt(pycurl.RESOLVE, [f"-{target.host}:{target.port}", f"{target.host}:{target.port}:{literal}"])
    curl.setopt(pycurl.URL, url)
    curl.setopt(pycurl.POST, 1)
    curl.setopt(pycurl.POSTFIELDS, body)
    curl.setopt(pycurl.HTTPHEADER, [f"{k}: {v}" for k, v in headers.items()] + ["Expect:"])
    curl.setopt(pycurl.USERAGENT, USER_AGENT)
    curl.setopt(pycurl.TIMEOUT_MS, max(1, int(deadline_s * 1000)))
    curl.setopt(pycurl.CONNECTTIMEOUT_MS, max(1, int(deadline_s * 1000)))
    curl.setopt(pycurl.NOSIGNAL, 1)                 # timeouts without SIGALRM: we run in threads
    curl.setopt(pycurl.FOLLOWLOCATION, 0)
    curl.setopt(pycurl.PROXY, "")                   # no proxy from the environment in between
    curl.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
    curl.setopt(pycurl.CAINFO, certifi.where())
    curl.setopt(pycurl.WRITEFUNCTION, on_body)
    curl.setopt(pycurl.OPENSOCKETFUNCTION, open_socket)
    try:
        curl.perform()
    except pycurl.error as exc:
        for opened in sockets:
            opened.close()
        code = exc.args[0]
        if code == pycurl.E_WRITE_ERROR and state["truncated"]:
            pass   # we stopped reading a long answer; its status line stands
        elif state["refused_peer"] is not None:
            return Answer(None, "The connection went to an address that was not vetted.")
        elif code == pycurl.E_OPERATION_TIMEDOUT:
            return Answer(None, "timeout")
        else:
            return Answer(None, f"curl error {code}: {exc.args[1] if len(exc.args) > 1 else ''}"[:500])
    for opened in sockets:
        opened.close()
    status = curl.getinfo(pycurl.RESPONSE_CODE) or None
    if status is None:
        return Answer(None, "no answer")
    if 200 <= status < 300:
        return Answer(status, None)
    return Answer(status, f"HTTP {status}")
