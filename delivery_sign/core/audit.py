"""The per-tenant audit chain (SPEC §6, issue 15.6).

Each event stores ``seq``, ``prev_hash`` and ``hash = HMAC-SHA256(key, prev_hash ‖ canonical
JSON)``, marked ``alg = "hmac-sha256-v1"``. The key is not in the database (``AUDIT_KEY``, else
derived from ``SECRET_KEY`` under a label of its own), so someone who can edit rows cannot
recompute the chain after an edit, as they could with the plain SHA-256 of earlier releases.

Events written before keying (``alg`` NULL, plain SHA-256) keep their hashes: receipts and
copies handed out may quote them, and re-keying them would also launder any edit made
before the upgrade. They verify as SHA-256 only up to the head's ``legacy_until`` seq, and
only while the head's ``legacy_mac`` (an HMAC over that seq, written by the migration) is
intact: nobody without the key can widen the legacy window to downgrade newer events.

Appends take a row lock on the tenant's ``audit_heads`` row (``FOR UPDATE`` on PostgreSQL;
SQLite writers are already serialised by ``BEGIN IMMEDIATE``), so ``seq`` has no gaps
even with many writers, and the event commits or rolls back with the change it records.
The hashes are computed in Python from the head as read under that lock; the head then
advances only if it is still the head that was read, and on PostgreSQL the advance and
the events' INSERT are one statement (``record_many``). A write the event records can go
in that statement too (``record_with``): on PostgreSQL it rides as a data-modifying CTE, so
a link's opening or a photo's row and its event are one round trip (issue 16 item 4).
"""
import functools
import hashlib
import hmac
import json
from datetime import datetime

import orjson
from flask import current_app
from sqlalchemy import (JSON, BigInteger, ForeignKey, LargeBinary, String, UniqueConstraint, bindparam, cast, insert,
                        select, union_all, update)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import BigId, db
from .bulk import insert_rows
from .clock import isoformat, utcnow

GENESIS_HASH = "0" * 64
ALG = "hmac-sha256-v1"
# The derivation label: the same SECRET_KEY keys sessions and OTPs, never with this label.
KEY_LABEL = b"delivery_sign audit chain key v1"


class AuditHead(db.Model):
    """The last link of a tenant's chain; the lock that orders appends."""

    __tablename__ = "audit_heads"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
    # Events 1..legacy_until predate keying and verify as plain SHA-256 (see the module doc).
    legacy_until: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    legacy_mac: Mapped[str | None] = mapped_column(String(64))


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("tenant_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    event_type: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str] = mapped_column(String(120), index=True)
    data: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    alg: Mapped[str | None] = mapped_column(String(20))   # NULL: plain SHA-256, before keying


class AuditAnchor(db.Model):
    """A tenant's chain head as an RFC 3161 timestamp authority saw it (``anchors.py``)."""

    __tablename__ = "audit_anchors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    anchored_at: Mapped[datetime] = mapped_column(default=utcnow)
    tsa_url: Mapped[str] = mapped_column(String(500))
    # The DER TimeStampToken over SHA-256 of the head statement (see head_statement).
    token: Mapped[bytes] = mapped_column(LargeBinary)


def canonical_json(value) -> bytes:
    """The byte form every hash in this product is taken over: ``json.dumps`` with sorted
    keys, no spaces and UTF-8 text, as since the first release (receipts and audit events
    handed out quote hashes over it, so not one byte of it may change).

    Written by orjson where orjson writes exactly those bytes (a 16 KB evidence document:
    0.08 ms against 0.43, issue 16), by ``json.dumps`` itself otherwise. The two differ
    only for floats between 1e-9 and 1e-4 in size: ``json.dumps`` writes ``1e-05`` …
    ``9e-09``, orjson ``0.00001`` and ``1e-7`` (tests/core/test_canonical_json.py compares
    them over generated values). So when orjson's text holds a number with a negative
    exponent or below 1e-4 (``_FLOAT_MARKS``), or orjson refuses the value (integers beyond
    64 bits, keys that are not strings, dates, dataclasses, strings with lone surrogates),
    ``json.dumps`` writes it as before, and raises as before for what it cannot write
    (orjson alone would write a UUID or an Enum; no caller passes one). NaN and infinities
    cannot reach a hash: the request parser and the evidence builders refuse them, and a
    JSON column would store them as null."""
    try:
        text = orjson.dumps(value, option=_CANONICAL)
    except TypeError:   # orjson.JSONEncodeError
        text = None
    if text is None or _floats_differ(text):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return text


_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
# What a number that json.dumps may write otherwise holds in orjson's text: a negative
# exponent or four zeros after "0.". Found with bytes.find, not a regular expression: a
# pattern that starts at a digit is tried at every digit of the strokes (0.22 ms an evidence
# document). A mark may also be inside a string ("one-off", "ratio 0.00001"): _floats_differ
# looks back to where the token starts; number tokens start orjson's compact text or follow
# ":", "," or "[".
_FLOAT_MARKS = (b"e-", b"0.0000")
_NUMBER_BYTES = frozenset(b"0123456789.-+e")
_VALUE_START = frozenset(b":,[")


def _floats_differ(text: bytes) -> bool:
    for mark in _FLOAT_MARKS:
        at = text.find(mark)
        while at != -1:
            start = at
            while start and text[start - 1] in _NUMBER_BYTES:
                start -= 1
            if start == 0 or text[start - 1] in _VALUE_START:
                return True
            at = text.find(mark, at + 1)
    return False


def _event_body(row) -> dict:
    """The hashed part of an event; ``row`` is an ``AuditEvent`` or a dict of its columns."""
    get = row.get if isinstance(row, dict) else lambda key: getattr(row, key)
    return {
        "seq": get("seq"),
        "tenant_id": get("tenant_id"),
        "type": get("event_type"),
        "actor": get("actor"),
        "subject": get("subject"),
        "data": get("data"),
        "created_at": isoformat(get("created_at")),
    }


def audit_key() -> bytes:
    """``AUDIT_KEY`` if set, else derived from ``SECRET_KEY``; either way never stored in the database."""
    config = current_app.config
    if config.get("AUDIT_KEY"):
        return config["AUDIT_KEY"].encode("utf-8")
    return _derived_key(config["SECRET_KEY"])


@functools.lru_cache(maxsize=8)
def _derived_key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode("utf-8"), KEY_LABEL, hashlib.sha256).digest()


def chain_hash(prev_hash: str, body: dict, key: bytes | None = None, alg: str | None = ALG) -> str:
    message = prev_hash.encode("ascii") + canonical_json(body)
    if alg is None:
        return hashlib.sha256(message).hexdigest()
    if alg != ALG:
        raise ValueError(f"unknown audit hash algorithm {alg!r}")
    return hmac.new(key if key is not None else audit_key(), message, hashlib.sha256).hexdigest()


def legacy_mac(key: bytes, tenant_id: int, legacy_until: int) -> str:
    """Binds a tenant's pre-keying window to the key (the migration writes it)."""
    return hmac.new(key, f"legacy:{tenant_id}:{legacy_until}".encode("ascii"), hashlib.sha256).hexdigest()


# Built once, values as parameters (issue 16: building a statement cost more than running it),
# and run as Core statements on the session's connection (in its transaction): the ORM
# session's execute path cost more than the statements themselves.
_heads, _events = AuditHead.__table__, AuditEvent.__table__
_HEAD = select(_heads.c.seq, _heads.c.hash).where(_heads.c.tenant_id == bindparam("tenant_id")).with_for_update()
_NEW_HEAD = insert(_heads).values(tenant_id=bindparam("head_tenant_id"), seq=0, hash=GENESIS_HASH, legacy_until=0)
# The advance is guarded by the head it was computed from: under the lock it always
# matches, and if it ever did not, the append fails instead of forking the chain.
_ADVANCE = (update(_heads)
            .where(_heads.c.tenant_id == bindparam("head_tenant_id"), _heads.c.seq == bindparam("old_seq"),
                   _heads.c.hash == bindparam("old_hash"))
            .values(seq=bindparam("new_seq"), hash=bindparam("new_hash")))
_INSERT_EVENTS = insert(_events)
_EVENT_COLUMNS = ("seq", "event_type", "actor", "subject", "data", "created_at", "prev_hash", "hash", "alg")
# What a caller's statement riding in the append (record_with) must not name its values:
# the advance's parameters, and the head's columns, which SQLAlchemy would add to its SET.
_RESERVED_PARAMS = frozenset({"head_tenant_id", "old_seq", "old_hash", "new_seq", "new_hash", *_heads.c.keys()})
# PostgreSQL: up to this many events go in the one statement that also advances the head;
# a larger batch (waybill imports) goes by COPY after an UPDATE of the head.
CTE_MAX_EVENTS = 32


@functools.lru_cache(maxsize=4 * CTE_MAX_EVENTS)
def _append_statement(count: int, along=None):
    """PostgreSQL: advance the head and insert ``count`` events in one statement.

    ``WITH advanced AS (UPDATE audit_heads … WHERE <the head read under the lock>
    RETURNING tenant_id) INSERT INTO audit_events … SELECT … FROM advanced``: the events
    are inserted only if the head advanced, and both happen in one round trip. Event ``i``'s
    values are the parameters ``<column>_<i>``.

    ``along``: a caller's INSERT or UPDATE (``record_with``), added as the CTE ``along``;
    PostgreSQL runs a data-modifying CTE whether or not it is read. If it has a RETURNING,
    each event row returns its first returned value."""
    advanced = _ADVANCE.returning(_heads.c.tenant_id).cte("advanced")
    rows = [select(advanced.c.tenant_id, *[cast(bindparam(f"{name}_{i}", type_=_events.c[name].type),
                                               _events.c[name].type).label(name) for name in _EVENT_COLUMNS])
            for i in range(count)]
    body = rows[0] if count == 1 else union_all(*rows)
    statement = insert(_events).from_select(["tenant_id", *_EVENT_COLUMNS], body).add_cte(advanced)
    if along is not None:
        along_cte = along.cte("along")
        statement = statement.add_cte(along_cte)
        if along.exported_columns:
            statement = statement.returning(select(list(along_cte.c)[0]).limit(1).scalar_subquery())
    return statement.execution_options(preserve_rowcount=True)


def _lock_head(connection, tenant_id: int) -> tuple[int, str]:
    """The tenant's head ``(seq, hash)``, locked until the transaction ends.

    ``FOR UPDATE`` on PostgreSQL; on SQLite the transaction already holds the write lock
    (``BEGIN IMMEDIATE``). A tenant's first event makes its head row."""
    row = connection.execute(_HEAD, {"tenant_id": tenant_id}).first()
    if row is None:
        connection.execute(_NEW_HEAD, {"head_tenant_id": tenant_id})
        return 0, GENESIS_HASH
    return row[0], row[1]


def record(tenant_id: int, event_type: str, actor: str, subject: str, data: dict | None = None) -> dict:
    """Append one event to the tenant's chain in the current transaction; returns its columns."""
    return record_many(tenant_id, [(event_type, actor, subject, data or {})])[0]


def record_many(tenant_id: int, events) -> list[dict]:
    """Append ``(event_type, actor, subject, data)`` tuples in order, under one head lock.

    Statements per append: the head read under its lock, then on PostgreSQL one statement
    that advances the head and inserts the events (``_append_statement``), on SQLite an
    UPDATE of the head and one INSERT of the events. The chain's hashes are computed here,
    from the head as read under the lock, so seq stays gap-free with any number of writers.
    """
    return _append(tenant_id, events, None, None)[1]


def record_with(statement, params: dict, tenant_id: int, events) -> tuple[object, list[dict]]:
    """Run a caller's INSERT or UPDATE (a statement built once, values in ``params``) and
    append ``events`` that record it: on PostgreSQL the two are one statement, on SQLite
    the caller's runs first. Returns the first value the caller's statement returns (None
    without a RETURNING) and the events' rows, as ``record_many``.

    ``params`` must not use the append's own names (``head_tenant_id``, ``old_seq``,
    ``old_hash``, ``new_seq``, ``new_hash``, ``<column>_<i>``) nor the names of the head's
    columns: SQLAlchemy would add those to the head's UPDATE. A ``ValueError`` says so, on
    either database, before anything is sent."""
    clash = sorted(name for name in params if _reserved(name))
    if clash:
        raise ValueError(f"parameters named as the audit append's own: {clash}")
    return _append(tenant_id, events, statement, params)


def _reserved(name: str) -> bool:
    """Whether the append binds a parameter of this name (``_RESERVED_PARAMS``, ``<column>_<i>``)."""
    column, _, number = name.rpartition("_")
    return name in _RESERVED_PARAMS or (column in _EVENT_COLUMNS and number.isdigit())


def _append(tenant_id: int, events, along, along_params) -> tuple[object, list[dict]]:
    session = db.session()
    # What the request added so far is written before the head is locked, not while it is
    # held (the lock is held until the commit).
    session.flush()
    connection = session.connection()
    events = list(events)
    postgres = connection.dialect.name == "postgresql"
    one_statement = postgres and 0 < len(events) <= CTE_MAX_EVENTS
    returned = None
    if along is not None and not one_statement:
        result = connection.execute(along, along_params)
        returned = result.scalar() if result.returns_rows else None
    seq, prev_hash = old_seq, old_hash = _lock_head(connection, tenant_id)
    now, key = utcnow(), audit_key()
    rows = []
    for event_type, actor, subject, data in events:
        seq += 1
        row = {"tenant_id": tenant_id, "seq": seq, "event_type": event_type, "actor": actor,
               "subject": subject, "data": data or {}, "created_at": now, "prev_hash": prev_hash, "alg": ALG}
        row["hash"] = prev_hash = chain_hash(row["prev_hash"], _event_body(row), key)
        rows.append(row)
    if not rows:
        return returned, rows
    advance = {"head_tenant_id": tenant_id, "old_seq": old_seq, "old_hash": old_hash, "new_seq": seq,
               "new_hash": prev_hash}
    if one_statement:
        params = advance
        for i, row in enumerate(rows):
            for name in _EVENT_COLUMNS:
                params[f"{name}_{i}"] = row[name]
        if along is not None:
            params.update(along_params)
        result = connection.execute(_append_statement(len(rows), along), params)
        moved = result.rowcount != len(rows)
        if along is not None and along.exported_columns and not moved:
            returned = result.first()[0]
    else:
        moved = connection.execute(_ADVANCE, advance).rowcount != 1
        if not moved and postgres:
            insert_rows(AuditEvent, rows)
        elif not moved:
            connection.execute(_INSERT_EVENTS, rows if len(rows) > 1 else rows[0])
    if moved:
        raise RuntimeError(f"the audit head of tenant {tenant_id} moved while it was locked")
    # A head already in the session (a verify, a test) follows, as the ORM would keep it.
    held = session.identity_map.get(session.identity_key(AuditHead, tenant_id))
    if held is not None:
        set_committed_value(held, "seq", seq)
        set_committed_value(held, "hash", prev_hash)
    return returned, rows


def verify_chain(tenant_id: int) -> dict:
    """Recompute the chain; report the first event that was altered, inserted or removed."""
    head = db.session.get(AuditHead, tenant_id)
    query = (
        select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
        .order_by(AuditEvent.seq).execution_options(yield_per=2000)
    )
    result = db.session.execute(query).scalars()
    try:
        return _walk(result, head, audit_key())
    finally:
        result.close()


def _legacy_until(head: AuditHead | None, key: bytes) -> int:
    """The last seq that may be plain SHA-256: 0 unless the head's window is intact."""
    if head is None or not head.legacy_until or head.legacy_mac is None:
        return 0
    if not hmac.compare_digest(head.legacy_mac, legacy_mac(key, head.tenant_id, head.legacy_until)):
        return 0
    return head.legacy_until


def _walk(events, head: AuditHead | None, key: bytes) -> dict:
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    legacy_until = _legacy_until(head, key)
    for event in events:
        count += 1
        if event.seq != expected_seq or event.prev_hash != prev_hash:
            return {"ok": False, "events": count, "first_bad_seq": min(expected_seq, event.seq)}
        # A plain SHA-256 event past the legacy window is a downgrade: refused, not recomputed.
        if (event.alg is None and event.seq > legacy_until) or event.alg not in (None, ALG) \
                or not hmac.compare_digest(chain_hash(prev_hash, _event_body(event), key, event.alg), event.hash):
            return {"ok": False, "events": count, "first_bad_seq": event.seq}
        prev_hash, expected_seq = event.hash, expected_seq + 1
    head_seq = head.seq if head else 0
    if head_seq != expected_seq - 1 or (head and head.hash != prev_hash):
        # Events were removed from the end of the chain.
        return {"ok": False, "events": count, "first_bad_seq": expected_seq}
    return {"ok": True, "events": count, "first_bad_seq": None}


def events_of(tenant_id: int, subjects: list[str], limit: int = 200) -> list[AuditEvent]:
    """The events of some subjects (``waybill:SF1``, ``receipt:…``, ``link:7``), oldest first."""
    return db.session.execute(
        select(AuditEvent).where(AuditEvent.tenant_id == tenant_id, AuditEvent.subject.in_(subjects))
        .order_by(AuditEvent.seq).limit(limit)
    ).scalars().all()
