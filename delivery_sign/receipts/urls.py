"""A receipt's URLs, built in one place: the API's ``/api/v1/receipts/<id>/…`` and the public
verification page ``/v/<id>``. Absolute URLs start with ``PUBLIC_BASE_URL`` unless a base is given."""
from flask import current_app


def receipt_path(public_id: str, *parts: str) -> str:
    """``receipt_path("R1", "pdf")`` -> ``/api/v1/receipts/R1/pdf``."""
    return "/".join(("/api/v1/receipts", public_id, *parts))


def receipt_url(public_id: str, *parts: str, base_url: str | None = None) -> str:
    return _base(base_url) + receipt_path(public_id, *parts)


def verify_url(public_id: str, base_url: str | None = None) -> str:
    return f"{_base(base_url)}/v/{public_id}"


def _base(base_url: str | None) -> str:
    return current_app.config["PUBLIC_BASE_URL"] if base_url is None else base_url
