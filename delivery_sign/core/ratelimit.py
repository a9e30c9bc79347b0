"""Rate limits beyond login: the public recipient endpoints, keyed by client address.

A sign token is unguessable, but a scanner can still try: unknown tokens (404) count
against a small per-address budget, and every address has an overall ceiling.
"""
from ..extensions import limiter

# A phone makes ~15 calls for one sign-off (view, OTP, photos, submit, polling); 120 a
# minute leaves room for a doorman's lodge behind one NAT address.
RECIPIENT_LIMIT = "120 per minute"
# Wrong tokens an address may try per minute before it is refused.
TOKEN_MISS_LIMIT = "20 per minute"


def _missed(response):
    return response.status_code == 404


def recipient_limits(view):
    view = limiter.limit(RECIPIENT_LIMIT, scope="sign-recipient")(view)
    return limiter.limit(TOKEN_MISS_LIMIT, scope="sign-token-miss", deduct_when=_missed)(view)


def within(limits: str, scope: str, key: str) -> bool:
    """True when another hit under ``key`` keeps within every one of ``limits`` ("1 per
    minute;5 per hour"). For budgets keyed by what a request names (a link, a phone), not
    by the client address; kept in the limiter's storage, so Redis shares them."""
    from limits import parse_many

    return all(limiter.limiter.test(item, scope, key) for item in parse_many(limits))


def spend(limits: str, scope: str, key: str) -> None:
    """Count one hit under ``key`` (after the thing it limits has happened)."""
    from limits import parse_many

    for item in parse_many(limits):
        limiter.limiter.hit(item, scope, key)
