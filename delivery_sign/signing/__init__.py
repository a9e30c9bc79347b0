"""The sign-off flow: QR sign links, the recipient's API, idempotent submission."""
