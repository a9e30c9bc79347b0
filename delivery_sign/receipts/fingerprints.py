"""Signature fingerprints in the database: the replay lookup, and the re-index to the
current fingerprint version (issue 21).

`find_replay` is the submit's lookup: the tenant's rows that share a band key with the
new signature, confirmed with `is_replay`. While rows of a legacy fingerprint version
(evidence/replay.py, `LEGACY_VERSIONS`) exist, the signature's legacy fingerprint and its
keys are probed too, in the same query, so a receipt not yet re-indexed is still found.
Whether legacy rows exist is read at most once a minute per process while some are left,
every ten minutes once none are.

`REINDEX` recomputes the fingerprint and band keys of receipts with legacy rows from the
strokes stored in their evidence, `REINDEX_BATCH` receipts per job in (tenant, receipt)
order on the version index, each batch one transaction (old rows out, new rows in: a
receipt is never without its rows), and then enqueues the next batch (the job payload is
the cursor). A receipt whose strokes are gone (purged, unparseable) keeps its legacy
rows: they are all that is left to match against, so the lookup keeps probing legacy
keys while any such row exists (one more hash and 16 more keys per submit). The chain is
started by migration b21r0000009d (its first job), so a deployment needs no step of its
own; `ensure_reindex` starts it again if legacy rows appear later (old code still
writing in a rolling deploy): its dedupe key, the version and the starting receipt,
keeps a chain from starting twice. (Not from the submit: two sign-offs enqueueing the
same key at once would collide on the unique dedupe key.)
"""
import logging
import time

from sqlalchemy import bindparam, delete, select, tuple_

from ..core import jobs
from ..core.bulk import insert_rows
from ..core.errors import Gone, NotFound
from ..core.partitions import newest_written, written_by_newest
from ..evidence.replay import (FINGERPRINT_VERSION, LEGACY_VERSIONS, band_keys, fingerprint, is_replay,
                               legacy_fingerprint)
from ..evidence.strokes import SignatureInputError
from ..extensions import db
from .models import Receipt, SignatureFingerprint

log = logging.getLogger(__name__)

REINDEX = "fingerprints.reindex"
REINDEX_BATCH = 200            # receipts per job: ~16 rows each, well under a second


def legacy_rows_exist(tenant_id: int | None = None) -> bool:
    """Any fingerprint rows of a legacy version (of one tenant, or of any)."""
    query = select(SignatureFingerprint.id).where(SignatureFingerprint.version.in_(LEGACY_VERSIONS))
    if tenant_id is not None:
        query = query.where(SignatureFingerprint.tenant_id == tenant_id)
    return db.session.execute(query.limit(1)).first() is not None


# Per database (engine URL): (legacy rows may exist, when that was read). Read again
# after LEGACY_RECHECK_S while some are left, after NO_LEGACY_RECHECK_S once none are
# (current code writes none; old code in a rolling deploy might): the steady state costs
# a submit one index probe per process every ten minutes.
LEGACY_RECHECK_S = 60.0
NO_LEGACY_RECHECK_S = 600.0
_legacy_state: dict[str, tuple[bool, float]] = {}


def _legacy_possible() -> bool:
    key = str(db.engine.url)
    known, now = _legacy_state.get(key), time.monotonic()
    if known is not None and now - known[1] < (LEGACY_RECHECK_S if known[0] else NO_LEGACY_RECHECK_S):
        return known[0]
    exists = legacy_rows_exist()
    _legacy_state[key] = (exists, now)
    return exists


def find_replay(tenant_id: int, signature, fp: bytes, keys: list[int]) -> str | None:
    """Public id of the tenant's earliest receipt whose signature this one replays."""
    probes = {fp[0]: fp} if fp else {}
    lookup = list(keys)
    # one query either way: while legacy rows may exist the old keys join the IN list
    if keys and _legacy_possible():
        legacy = legacy_fingerprint(signature)
        probes[legacy[0]] = legacy
        lookup += band_keys(legacy)
    if not lookup:
        return None
    connection = db.session.connection()
    candidates = connection.execute(_CANDIDATES, {"tenant_id": tenant_id, "keys": lookup,
                                                  "newest": newest_written()}).all()
    for receipt_id, stored in sorted(candidates):
        probe = probes.get(stored[0]) if stored else None
        if probe is not None and is_replay(probe, stored):
            return connection.execute(_PUBLIC_ID, {"receipt_id": receipt_id}).scalar_one()
    return None


# Built once, run on the session's connection (issue 16: building the statement and its
# cache key on every submit cost more than SQLite running it). No ORDER BY in SQL: the
# planner would walk the version index for the order (a scan); the candidates are few,
# sorted above. Bound by ``partitions.newest_written``: on PostgreSQL the months made ahead
# are then left out of the plan rather than probed key by key.
_FINGERPRINTS, _RECEIPTS = SignatureFingerprint.__table__, Receipt.__table__
_CANDIDATES = (select(_FINGERPRINTS.c.receipt_id, _FINGERPRINTS.c.fingerprint)
               .where(_FINGERPRINTS.c.tenant_id == bindparam("tenant_id"),
                      _FINGERPRINTS.c.band_key.in_(bindparam("keys", expanding=True)),
                      written_by_newest(_FINGERPRINTS.c.created_at))
               .distinct())
_PUBLIC_ID = select(_RECEIPTS.c.public_id).where(_RECEIPTS.c.id == bindparam("receipt_id"))


def file_fingerprint(tenant_id: int, receipt_id: int, fp: bytes, keys: list[int] | None = None) -> None:
    """File `fp` under each of its band keys (none for a signature without ink): one INSERT
    (COPY on PostgreSQL) for all of them. The version is written, not left to the column's
    default, since COPY runs no Python-side default."""
    insert_rows(SignatureFingerprint, [
        {"tenant_id": tenant_id, "band_key": key, "receipt_id": receipt_id, "fingerprint": fp, "version": fp[0]}
        for key in (band_keys(fp) if keys is None else keys)])


def reindex_batch(after: tuple[int, int], limit: int | None = None) -> tuple[tuple[int, int] | None, int, int]:
    """Re-index the next `limit` receipts with legacy rows after (tenant id, receipt id)
    `after`, in the current transaction. Returns (the last (tenant, receipt) seen, or None
    when there are no more; receipts re-indexed; receipts kept as they were because their
    strokes are gone)."""
    from .services import signature_of

    limit = limit or REINDEX_BATCH
    position = tuple_(SignatureFingerprint.tenant_id, SignatureFingerprint.receipt_id)
    found = db.session.execute(
        select(SignatureFingerprint.tenant_id, SignatureFingerprint.receipt_id)
        .where(SignatureFingerprint.version.in_(LEGACY_VERSIONS), position > tuple_(*after))
        .group_by(SignatureFingerprint.tenant_id, SignatureFingerprint.receipt_id)
        .order_by(SignatureFingerprint.tenant_id, SignatureFingerprint.receipt_id).limit(limit)
    ).all()
    if not found:
        return None, 0, 0
    done = kept = 0
    ids = [receipt_id for _, receipt_id in found]
    for receipt in db.session.execute(select(Receipt).where(Receipt.id.in_(ids))).scalars():
        try:
            signature = signature_of(receipt)
        except (KeyError, TypeError, SignatureInputError, Gone, NotFound):   # purged, or a drop
            kept += 1
            continue
        db.session.execute(delete(SignatureFingerprint).where(SignatureFingerprint.receipt_id == receipt.id))
        file_fingerprint(receipt.tenant_id, receipt.id, fingerprint(signature))
        done += 1
    db.session.flush()
    return tuple(found[-1]), done, kept


@jobs.handler(REINDEX, max_attempts=10, backoff_s=30)
def run_reindex(ctx) -> None:
    payload = ctx.payload or {}
    after = (int(payload.get("tenant", 0)), int(payload.get("after", 0)))
    last, done, kept = reindex_batch(after)
    if last is None:
        log.info("fingerprint re-index to version %s finished", FINGERPRINT_VERSION)
        return
    log.info("fingerprint re-index: %s receipts after %s re-indexed, %s without strokes kept", done, after, kept)
    jobs.enqueue(REINDEX, {"tenant": last[0], "after": last[1]}, dedupe_key=_dedupe_key(last))


def _dedupe_key(after: tuple[int, int]) -> str:
    return f"fingerprints-reindex:v{FINGERPRINT_VERSION}:{after[0]}:{after[1]}"


def ensure_reindex() -> bool:
    """Start the re-index chain at the first receipt with legacy rows; True if there is
    one. The dedupe key is that starting point, so a chain starts once: receipts whose
    strokes are gone stay first and their chain is not started again."""
    first = db.session.execute(
        select(SignatureFingerprint.tenant_id, SignatureFingerprint.receipt_id)
        .where(SignatureFingerprint.version.in_(LEGACY_VERSIONS))
        .order_by(SignatureFingerprint.tenant_id, SignatureFingerprint.receipt_id).limit(1)
    ).first()
    if first is None:
        return False
    _legacy_state[str(db.engine.url)] = (True, time.monotonic())   # this process probes them
    start = (first[0], first[1] - 1)
    jobs.enqueue(REINDEX, {"tenant": start[0], "after": start[1]}, dedupe_key=_dedupe_key(start))
    return True

