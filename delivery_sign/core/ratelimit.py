"""Rate limits beyond login: the public recipient endpoints and the sign page.

A sign token is unguessable, but a scanner can still try. Two budgets, shared by every
recipient endpoint and the HTML page ``/s/<token>``:

- a **valid token** is limited per token, never per address: Chinese mobile carriers put
  thousands of phones behind one CGNAT address, and one courier round can be hundreds of
  sign-offs through it (issue 15.7: 240 in 20 s met 1,013 refusals when this was per address);
- an **unknown token** (404) counts against a small per-address budget, and only unknown
  tokens are ever refused by it, so a prober sharing a real recipient's address (or proxy)
  never gets the recipient refused.

"The address" is ``request.remote_addr``, which is the real client only when
``TRUSTED_PROXIES`` tells ProxyFix how many proxy hops to believe (see ``trust_proxies``).
"""
import functools
import hashlib
import math

from flask import after_this_request, g, request
from flask_limiter.util import get_remote_address
from limits import parse
from werkzeug.middleware.proxy_fix import ProxyFix

from ..extensions import limiter
from .errors import TooManyRequests

# A phone makes ~15 calls for one sign-off (view, OTP, photos, submit, polling); 120 a
# minute per token is 8 sign-offs' worth, and stops a flood aimed at one link.
TOKEN_LIMIT = "120 per minute"
_TOKEN_ITEM = parse(TOKEN_LIMIT)
# Wrong tokens an address may try per minute before its wrong tokens are refused.
TOKEN_MISS_LIMIT = "20 per minute"
TOKEN_REFUSED = "Too many requests for this link; wait a minute and try again."
MISSES_REFUSED = ("Too many sign links that do not exist were tried from this network. "
                  "Check the link and try again in a minute.")


def trust_proxies(app) -> None:
    """Believe ``TRUSTED_PROXIES`` hops of ``X-Forwarded-For``/``-Proto`` (0: none, the default).

    Set it to the number of proxies in front of gunicorn (1 for one nginx); more than that
    lets a client forge its address, fewer puts every client behind the proxy's address."""
    hops = app.config.get("TRUSTED_PROXIES") or 0
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def _token() -> str:
    return (request.view_args or {}).get("token") or ""


def _token_key() -> str:
    return hashlib.sha256(_token().encode("utf-8")).hexdigest()[:32]


def _counted(response) -> bool:
    """A call counts against its token unless the token was unknown (404) or the call refused."""
    return response.status_code not in (404, 429)


def token_limits(token_exists):
    """The decorator for views with a ``<token>`` in their URL. ``token_exists(token)`` is
    the signing domain's lookup (core does not import domains).

    Neither budget has to know before the view whether the token exists, so a real
    recipient's call makes no lookup of its own (issue 16: it was a query on every
    recipient call, 0.4 ms of CPU on SQLite and a round trip on PostgreSQL): a call is
    counted against its token after the answer, unless the answer was a 404; an address's
    misses are tested before the view, and only an address out of misses has its token
    looked up first (a known token is served anyway); a 404 counts as a miss when its
    token is indeed unknown (a known link's missing photo is no prober's miss).

    Both budgets are kept with ``refused``/``spend`` on the limiter's own storage, not as a
    flask-limiter decorator: its machinery (filtering the app's limits for the endpoint,
    then evaluating them) cost 0.15-0.2 ms a call, against 0.02 ms for the test and the
    hit themselves (issue 16). The answer carries the token budget's ``X-RateLimit-*``
    headers as flask-limiter's did."""

    def known() -> bool:
        if "sign_token_known" not in g:
            g.sign_token_known = bool(token_exists(_token()))
        return g.sign_token_known

    def decorator(view):
        @functools.wraps(view)
        def limited(*args, **kwargs):
            if not limiter.enabled:
                return view(*args, **kwargs)
            key = _token_key()
            over_budget = refused(TOKEN_LIMIT, "sign-token", key)
            if over_budget:
                raise TooManyRequests(TOKEN_REFUSED, headers={"Retry-After": str(over_budget[1]),
                                                              **_budget_headers(key)}, code="link_limit")
            out_of_misses = refused(TOKEN_MISS_LIMIT, "sign-token-miss", get_remote_address())
            if out_of_misses and not known():
                raise TooManyRequests(MISSES_REFUSED, headers={"Retry-After": str(out_of_misses[1])},
                                      code="unknown_link_limit")

            @after_this_request
            def count(response):
                if _counted(response):
                    limiter.limiter.hit(_TOKEN_ITEM, "sign-token", key)
                    response.headers.update(_budget_headers(key))
                elif response.status_code == 404 and not known():
                    spend(TOKEN_MISS_LIMIT, "sign-token-miss", get_remote_address())
                return response

            return view(*args, **kwargs)

        return limited

    return decorator


def _budget_headers(key: str) -> dict:
    stats = limiter.limiter.get_window_stats(_TOKEN_ITEM, "sign-token", key)
    return {"X-RateLimit-Limit": str(_TOKEN_ITEM.amount), "X-RateLimit-Remaining": str(stats.remaining),
            "X-RateLimit-Reset": str(int(stats.reset_time))}


def refused(limits: str, scope: str, key: str) -> tuple[int, int] | None:
    """None when another hit under ``key`` keeps within every one of ``limits``; else
    ``(i, seconds)``: the first refusing limit's position in ``limits`` and the seconds until
    it frees a hit (for ``Retry-After``, so a 60 s wait is not announced as an hour). For
    budgets keyed by what a request names (a link, a phone), not by the client address;
    kept in the limiter's storage, so Redis shares them."""
    import time

    from limits import parse_many

    for i, item in enumerate(parse_many(limits)):
        if not limiter.limiter.test(item, scope, key):
            reset = limiter.limiter.get_window_stats(item, scope, key).reset_time
            return i, max(1, int(math.ceil(reset - time.time())))
    return None


def enforce(limits: str, scope: str, key: str, refusals) -> None:
    """429 when another hit under ``key`` would exceed one of ``limits``: ``refusals[i]`` is
    the problem ``(code, detail)`` of the i-th limit, ``Retry-After`` the time until it frees."""
    limited = refused(limits, scope, key)
    if limited:
        code, detail = refusals[limited[0]]
        raise TooManyRequests(detail, headers={"Retry-After": str(limited[1])}, code=code)


def spend(limits: str, scope: str, key: str) -> None:
    """Count one hit under ``key`` (after the thing it limits has happened)."""
    from limits import parse_many

    for item in parse_many(limits):
        limiter.limiter.hit(item, scope, key)
