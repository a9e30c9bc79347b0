"""Secrets the server must use again later (signing keys, webhook secrets), encrypted at rest.

AES-256-GCM under a key derived from ``SECRET_KEY`` with HKDF, one derived key per
purpose: a database dump alone gives neither the tenant's private key nor a webhook
secret. The purpose is also bound as associated data, so a ciphertext moved to another
column does not decrypt.
"""
import functools
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_VERSION = b"\x01"


@functools.lru_cache(maxsize=32)
def _key(secret_key: str, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"delivery_sign.crypto.v1",
                info=purpose.encode()).derive(secret_key.encode())


def encrypt(plaintext: bytes, purpose: str, secret_key: str | None = None) -> bytes:
    key = _key(secret_key or current_app.config["SECRET_KEY"], purpose)
    nonce = os.urandom(12)
    return _VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, purpose.encode())


def decrypt(blob: bytes, purpose: str, secret_key: str | None = None) -> bytes:
    if blob[:1] != _VERSION:
        raise ValueError("unknown ciphertext version")
    key = _key(secret_key or current_app.config["SECRET_KEY"], purpose)
    return AESGCM(key).decrypt(blob[1:13], blob[13:], purpose.encode())


def derived_key(purpose: str, secret_key: str | None = None) -> bytes:
    """A 32-byte key for ``purpose`` alone (e.g. the HMAC of signed links)."""
    return _key(secret_key or current_app.config["SECRET_KEY"], purpose)
