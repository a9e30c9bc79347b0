"""Receipts: the evidence of a sign-off (signer, strokes, photos, location) and its reads."""
