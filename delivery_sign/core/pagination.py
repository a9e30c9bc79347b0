"""Keyset pagination: ``{"items": [...], "next_cursor": ...}`` ordered by id, newest first.

A cursor is the opaque, URL-safe form of the last id returned; page 1,000 costs what
page 1 costs because the query seeks ``id < cursor`` on an index instead of OFFSET.
"""
import base64
import binascii

from .errors import ValidationFailed, field_error

# Ids are 64-bit signed integers in both databases; a larger "id" can only be forged, and
# would overflow the driver (a 500) rather than match nothing.
_MAX_ID = 2**63 - 1


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, _, value = raw.partition(":")
        if version != "v1":
            raise ValueError
        last_id = int(value)
        if not 0 < last_id <= _MAX_ID:
            raise ValueError
        return last_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed([field_error("cursor", "invalid", "The cursor is not one this API issued.")]) from None


def keyset_page(session, query, id_column, *, limit: int, cursor: str | None):
    """Run ``query`` for one page; returns ``(rows, next_cursor)``."""
    last_id = decode_cursor(cursor)
    if last_id is not None:
        query = query.where(id_column < last_id)
    rows = session.execute(query.order_by(id_column.desc()).limit(limit + 1)).scalars().all()
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor
