"""File storage behind one interface, chosen by ``STORAGE_URL`` (SPEC §7).

``file:///abs/path`` keeps files on a local disk; ``s3://bucket/prefix`` in any
S3-compatible store. Keys are content-addressed by the callers (``…/<sha256>``), so a
write of the same bytes twice is harmless and files never change once written.
"""
from flask import current_app

from .base import Storage, StorageError
from .local import LocalStorage

__all__ = ["Storage", "StorageError", "LocalStorage", "storage_from_url", "get_storage"]


def storage_from_url(url: str, *, endpoint_url: str | None = None) -> Storage:
    if url.startswith("file://"):
        return LocalStorage(url[len("file://"):])
    if url.startswith("s3://"):
        from .s3 import S3Storage

        bucket, _, prefix = url[len("s3://"):].partition("/")
        return S3Storage(bucket, prefix, endpoint_url=endpoint_url)
    raise ValueError(f"Unsupported STORAGE_URL scheme: {url.split(':', 1)[0]!r}")


def get_storage() -> Storage:
    """The app's storage, built once per app."""
    ext = current_app.extensions
    if "delivery_sign.storage" not in ext:
        ext["delivery_sign.storage"] = storage_from_url(
            current_app.config["STORAGE_URL"], endpoint_url=current_app.config["S3_ENDPOINT_URL"])
    return ext["delivery_sign.storage"]
