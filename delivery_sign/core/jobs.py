"""Durable jobs: a table written in the same transaction as the change that causes them.

``enqueue`` only adds a row to the session, so a job exists exactly when the change that
asked for it committed (SPEC §7: a crash loses none). Workers claim due rows with one
``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)`` on PostgreSQL; on SQLite the
same statement runs inside ``BEGIN IMMEDIATE`` (extensions.py), which serialises
claimers. A claim is a lease (``claimed_until``): a worker killed mid-job stops renewing
nothing, its lease runs out and the next claim picks the job up again — so handlers are
written to be safe to run twice. Failures retry with exponential backoff; after the last
try a job is ``dead`` and stays in the table for an operator to read. Finished jobs are
history, not queue: every worker deletes done jobs after ``JOB_DONE_KEEP_DAYS`` and dead
ones after ``JOB_DEAD_KEEP_DAYS`` (``purge_finished``), in short batches, so the table
holds days of sign-offs, not all of them, and the claim's statements stay as fast as on
day one. Not monthly partitions: a dedupe key must stay unique across the whole table
while its job is live, which a partitioned table's unique keys (they carry the partition
key) cannot promise.

Lanes keep one kind of work from waiting behind another: a handler names its lane
(``default`` unless it says otherwise; webhook deliveries have their own), a job stores
it when enqueued, and every worker process runs each lane in its own threads. Inside a
lane claims are fair between tenants: a claim serves the tenants holding the fewest
running jobs of the lane first (then the one waiting longest), spreads a batch over them,
and skips a tenant already holding the lane's ``tenant_concurrency`` — so one tenant's
backlog or slow receiver cannot take every thread. On PostgreSQL two claimers racing may let a tenant exceed that
by one for a moment; the cap is there to leave room for others, not to count exactly.

``WORKER=inline`` runs the lanes' daemon threads in each web process, started on its
first request (so ``flask db …`` and gunicorn's master never run jobs);
``flask --app wsgi worker`` runs the same loops in its own process, as many as you like.
"""
import contextlib
import contextvars
import functools
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import JSON, ForeignKey, Index, Integer, String, and_, bindparam, case, func, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import BigId, db
from .bulk import delete_in_batches
from .clock import utcnow

log = logging.getLogger(__name__)

PENDING, RUNNING, DONE, DEAD = "pending", "running", "done", "dead"
DEFAULT_LANE = "default"
DEFAULT_MAX_ATTEMPTS = 5


class Job(db.Model):
    __tablename__ = "jobs"
    # ix_jobs_claim leads every claim (see _statements); ix_jobs_due the purge of history.
    __table_args__ = (Index("ix_jobs_due", "status", "run_after"),
                      Index("ix_jobs_claim", "status", "tenant_id", "lane", "run_after"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"))
    kind: Mapped[str] = mapped_column(String(40))
    # The lane of the kind's handler when the job was enqueued (``default`` for a kind no
    # handler here knows, so it runs and fails visibly); claims are by lane.
    lane: Mapped[str] = mapped_column(String(20), default=DEFAULT_LANE, server_default=DEFAULT_LANE)
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=DEFAULT_MAX_ATTEMPTS)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    last_error: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class RetryLater(Exception):
    """Raised by a handler: run again after ``delay_s``.

    ``count_attempt=False`` when the job only waits its turn (nothing failed);
    ``save=True`` commits what the handler wrote (its own attempt log) with the reschedule.
    """

    def __init__(self, delay_s: float, *, count_attempt: bool = True, reason: str = "", save: bool = False):
        super().__init__(reason or f"retry in {delay_s}s")
        self.delay_s, self.count_attempt, self.reason, self.save = delay_s, count_attempt, reason, save


@dataclass(frozen=True)
class JobContext:
    id: int
    kind: str
    payload: dict
    tenant_id: int | None
    attempts: int          # this run included
    now: datetime          # the claim time; handlers schedule relative to it


@dataclass(frozen=True)
class _Spec:
    run: object
    max_attempts: int
    backoff_s: float
    lane: str


_HANDLERS: dict[str, _Spec] = {}


@dataclass(frozen=True)
class Lane:
    """A share of each worker process: its threads, their batch, and a tenant's share of them.

    ``threads`` and ``tenant_concurrency`` name config keys (read when workers start), so
    an operator sizes a lane without core knowing the domain that registered it.
    """
    name: str
    threads: str | None = None              # config key; None: one thread
    tenant_concurrency: str | None = None   # config key; None: no cap
    batch: int = 4


_LANES: dict[str, Lane] = {DEFAULT_LANE: Lane(DEFAULT_LANE)}


def lane(name: str, *, threads: str | None = None, tenant_concurrency: str | None = None, batch: int = 4) -> Lane:
    """Declare a lane of its own for the handlers that name it."""
    _LANES[name] = Lane(name, threads, tenant_concurrency, batch)
    return _LANES[name]


def handler(kind: str, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS, backoff_s: float = 5.0,
            lane: str = DEFAULT_LANE):
    """Register ``fn(ctx: JobContext)`` for jobs of ``kind``, run in ``lane``'s threads."""

    def decorator(fn):
        _HANDLERS[kind] = _Spec(fn, max_attempts, backoff_s, lane)
        return fn

    return decorator


_PERIODIC: list["_Periodic"] = []


@dataclass
class _Periodic:
    fn: object
    every_s: float
    last: float = float("-inf")


def every(seconds: float):
    """Register ``fn()`` to run in every worker loop at most once per ``seconds`` (upkeep
    that keeps no state of its own, e.g. folding the report roll-up; the caller's
    transaction is committed after it). Each worker runs it, so it must tolerate company."""

    def decorator(fn):
        _PERIODIC.append(_Periodic(fn, seconds))
        return fn

    return decorator


def run_periodic(clock=time.monotonic) -> int:
    """Run the periodic tasks that are due in this loop (inside an app context)."""
    ran = 0
    for task in _PERIODIC:
        now = clock()
        if now - task.last < task.every_s:
            continue
        task.last = now
        try:
            task.fn()
            db.session.commit()
            ran += 1
        except Exception:  # noqa: BLE001 - upkeep failing must not stop the jobs
            log.exception("periodic task %s failed", getattr(task.fn, "__qualname__", task.fn))
            db.session.rollback()
    return ran


# The history purges (purge_finished here, webhooks' purge_history): rows per DELETE, and
# the seconds one run may spend on a table before the rest waits for the next run, a
# minute later. Rows of a week ago came at a week ago's rate, the evening peak included,
# so a run must be able to delete a minute of the peak's history: at 2,000 rows a
# DELETE, a few seconds is some 100,000 rows on PostgreSQL, with every worker taking part.
PURGE_BATCH = 2000
PURGE_BUDGET_S = 5.0
PURGE_EVERY_S = 60


@functools.cache
def _purge_statement():
    """Finished jobs of one status that ended before ``cutoff``, oldest first, a batch at a
    time. ``run_after <= finished_at`` always (a job ends after it was due), so the range
    on ``run_after`` is led by ``ix_jobs_due`` (status, run_after) and needs no index of
    its own; ``finished_at`` then decides."""
    jobs, old = Job.__table__, Job.__table__.alias("old")
    cutoff = bindparam("cutoff")
    batch = (select(old.c.id).where(old.c.status == bindparam("status"), old.c.run_after < cutoff,
                                    old.c.finished_at < cutoff)
             .order_by(old.c.run_after).limit(bindparam("batch", type_=Integer)))
    return jobs.delete().where(jobs.c.id.in_(batch.scalar_subquery()))


def purge_finished(now: datetime | None = None, *, batch: int = PURGE_BATCH, batches: int | None = None,
                   budget_s: float = PURGE_BUDGET_S) -> int:
    """Delete done jobs older than ``JOB_DONE_KEEP_DAYS`` and dead ones older than
    ``JOB_DEAD_KEEP_DAYS``, a committed batch at a time; returns how many went."""
    now = now or utcnow()
    config = current_app.config
    return sum(delete_in_batches(_purge_statement(), {"status": status, "cutoff": now - timedelta(days=days)},
                                 batch=batch, batches=batches, budget_s=budget_s)
               for status, days in ((DONE, config["JOB_DONE_KEEP_DAYS"]), (DEAD, config["JOB_DEAD_KEEP_DAYS"])))


@every(PURGE_EVERY_S)
def purge_finished_jobs() -> None:
    purge_finished()


def enqueue(kind: str, payload: dict, *, tenant_id: int | None = None, run_after: datetime | None = None,
            dedupe_key: str | None = None) -> Job:
    """Add a job to the current transaction; it exists once (and only if) that commits."""
    if dedupe_key is not None:
        existing = db.session.execute(select(Job).where(Job.dedupe_key == dedupe_key)).scalar_one_or_none()
        if existing is not None:
            return existing
    spec = _HANDLERS.get(kind)
    job = Job(kind=kind, lane=spec.lane if spec else DEFAULT_LANE, payload=payload, tenant_id=tenant_id,
              status=PENDING, attempts=0,
              max_attempts=spec.max_attempts if spec else DEFAULT_MAX_ATTEMPTS,
              run_after=run_after or utcnow(), dedupe_key=dedupe_key)
    db.session.add(job)
    return job


# The rows ``one_insert`` is collecting in this context, or None outside one.
_COLLECTING: contextvars.ContextVar[list | None] = contextvars.ContextVar("jobs_collecting", default=None)


def _row(kind: str, payload: dict, tenant_id: int | None, dedupe_key: str | None, now: datetime) -> dict:
    spec = _HANDLERS.get(kind)
    return {"kind": kind, "lane": spec.lane if spec else DEFAULT_LANE, "tenant_id": tenant_id, "payload": payload,
            "status": PENDING, "attempts": 0,
            "max_attempts": spec.max_attempts if spec else DEFAULT_MAX_ATTEMPTS, "run_after": now,
            "dedupe_key": dedupe_key, "created_at": now}


@functools.cache
def _insert_statement(dialect: str, dedupe: bool):
    """INSERT into jobs; with dedupe keys, one that skips a key already taken (what
    ``enqueue``'s probe does, in the same statement)."""
    table = Job.__table__
    if not dedupe:
        return table.insert()
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing(index_elements=[table.c.dedupe_key])


def _insert_rows(rows: list[dict]) -> None:
    if not rows:
        return
    db.session.flush()   # jobs added as entities before these go first, as enqueue's probe had it
    connection = db.session.connection()
    dedupe = any(row["dedupe_key"] is not None for row in rows)
    connection.execute(_insert_statement(connection.dialect.name, dedupe), rows)


@contextlib.contextmanager
def one_insert():
    """Jobs that ``enqueue_now`` and ``enqueue_many`` add inside the block are written in
    one INSERT as it ends (none if it raises): a sign-off's PDF job and its webhook
    deliveries' jobs are one statement (issue 16). The transaction is the caller's, as
    ever: the jobs exist once it commits."""
    rows: list[dict] = []
    token = _COLLECTING.set(rows)
    try:
        yield
    finally:
        _COLLECTING.reset(token)
    _insert_rows(rows)


def enqueue_now(kind: str, payload: dict, *, tenant_id: int | None = None, dedupe_key: str | None = None) -> None:
    """``enqueue`` for a job due now, as a row rather than an entity (nothing returned):
    no probe for the dedupe key, the INSERT skips a key already taken. Inside
    ``one_insert`` the row waits for the block's one INSERT."""
    row = _row(kind, payload, tenant_id, dedupe_key, utcnow())
    collecting = _COLLECTING.get()
    if collecting is not None:
        collecting.append(row)
    else:
        _insert_rows([row])


def enqueue_many(kind: str, payloads: list[dict], *, tenant_id: int | None = None) -> None:
    """Jobs of one kind, due now, added to the current transaction in one INSERT (no ORM
    objects, no dedupe key): for callers that write a row per job anyway (webhook
    deliveries), where the unit of work's flush cost more than the statement. Inside
    ``one_insert`` they join its INSERT."""
    now = utcnow()
    rows = [_row(kind, payload, tenant_id, None, now) for payload in payloads]
    collecting = _COLLECTING.get()
    if collecting is not None:
        collecting.extend(rows)
    else:
        _insert_rows(rows)


# --- claiming and running ----------------------------------------------------------------

def claim(worker_id: str, *, limit: int, lease_s: float, now: datetime | None = None,
          kinds: tuple | None = None, tenant_id: int | None = None, lane: str | None = None,
          tenant_concurrency: int | None = None, tenants: tuple | None = None) -> tuple[str, list]:
    """Lease up to ``limit`` due jobs (pending and due, or running with an expired lease).

    ``lane`` or ``kinds`` dedicates a worker to some job kinds (webhooks apart from PDFs);
    ``tenant_id``/``tenants`` limit it to some tenants (tests, or a tenant's own worker).
    The batch is spread over tenants, fewest running jobs first (see the module docstring);
    the rows come back interleaved by tenant, in id order within each.
    """
    now = now or utcnow()
    token = f"{worker_id}:{uuid.uuid4().hex[:8]}"
    if tenant_id is not None:
        tenants = (tenant_id,)
    statements = _statements(tuple(kinds) if kinds else None, lane, tuple(tenants) if tenants is not None else None,
                             db.engine.dialect.name == "postgresql")
    # Core statements on the session's connection (its transaction): the ORM session's
    # execute path cost as much as the statement itself here.
    connection = db.session.connection()
    # Who waits (the first due time of each tenant with due jobs in the lane), and how many
    # of the lane's threads each already holds. Pending jobs: one walk over the tenants of
    # ``ix_jobs_claim``, a probe per tenant (a backlog's size does not matter); running
    # ones, a few per thread, are read as they are.
    params = {"now": now}
    first = {tenant: due for tenant, due in connection.execute(statements.pending, params) if due is not None}
    untenanted = connection.execute(statements.pending_untenanted, params).scalar() if tenants is None else None
    if untenanted is not None:
        first[None] = untenanted
    first = {tenant: due for tenant, due in first.items() if due <= now}
    held, expired = {}, set()
    for tenant, first_expired, live in connection.execute(statements.running, params):
        held[tenant] = live
        if first_expired is not None:
            expired.add(tenant)
            first[tenant] = min(first.get(tenant, first_expired), first_expired)
    if not first:
        db.session.commit()
        return token, []
    order = sorted(first, key=lambda tenant: (held.get(tenant, 0), first[tenant]))
    held = {tenant: held.get(tenant, 0) for tenant in order}
    values = {"now": now, "token": token, "until": now + timedelta(seconds=lease_s)}
    rows = []
    while order and len(rows) < limit:
        # An even split of what is left; a tenant with fewer due jobs than its share
        # leaves the rest to the others in the next round.
        this_round = list(order)
        for index, tenant in enumerate(this_round):
            left = limit - len(rows)
            share = -(-left // (len(this_round) - index)) if left > 0 else 0
            if tenant_concurrency is not None:
                share = min(share, tenant_concurrency - held[tenant])
            got = []
            if share > 0:
                # Only a tenant with an expired lease needs the claim that takes those too.
                stmt = statements.claim[(tenant is None, tenant in expired)]
                got = connection.execute(stmt, {**values, "tenant": tenant, "limit": share}).all()
            rows += got
            held[tenant] += len(got)
            if len(got) < share or share <= 0:
                order.remove(tenant)      # nothing more due (or at its cap)
    db.session.commit()
    rank = {}
    ranked = []
    for row in sorted(rows, key=lambda r: r.id):
        rank[row.tenant_id] = rank.get(row.tenant_id, -1) + 1
        ranked.append((rank[row.tenant_id], row.id, row))
    return token, [row for _, _, row in sorted(ranked, key=lambda r: r[:2])]


@dataclass(frozen=True)
class _ClaimStatements:
    pending: object              # (tenant_id, first run_after of its pending jobs) per tenant
    pending_untenanted: object   # the same for the jobs of no tenant
    running: object              # (tenant_id, first run_after of an expired lease, live leases)
    claim: dict                  # (untenanted, with expired leases) -> the UPDATE … RETURNING


@functools.lru_cache(maxsize=64)
def _statements(kinds, lane, tenants, postgresql: bool) -> _ClaimStatements:
    """A claim's statements, built once per scope (kinds, lane, tenants) with the times,
    token and limits as parameters: building them per claim cost more than running them.

    The pending side is led by ``ix_jobs_claim`` (status, tenant_id, lane, run_after): a
    recursive walk from one tenant with pending jobs to the next (each step one index
    probe, a loose index scan neither database does by itself), then per tenant the first
    pending job of the lane, the first entry of its (status, tenant, lane) range. The walk
    does not filter by lane, so a tenant's backlog in another lane is stepped over, not
    read. Before this the claim aggregated every due row of the lane: 675 ms a claim with
    300,000 due (bench/bench_claim.py)."""
    jobs, walked, probed = Job.__table__, Job.__table__.alias("walked"), Job.__table__.alias("probed")

    def scope(table, with_lane=True, with_tenants=True):
        clauses = []
        if kinds:
            clauses.append(table.c.kind.in_(kinds))
        if lane is not None and with_lane:
            clauses.append(table.c.lane == lane)
        if tenants is not None and with_tenants:
            clauses.append(table.c.tenant_id.in_(tenants))
        return clauses

    walk = select(func.min(jobs.c.tenant_id).label("tenant_id")).where(
        jobs.c.status == PENDING, *scope(jobs, with_lane=False)).cte("tenant_walk", recursive=True)
    walk = walk.union_all(
        select(select(func.min(walked.c.tenant_id))
               .where(walked.c.status == PENDING, walked.c.tenant_id > walk.c.tenant_id,
                      *scope(walked, with_lane=False)).scalar_subquery())
        .where(walk.c.tenant_id.is_not(None)))
    first_pending = (select(func.min(probed.c.run_after))
                     .where(probed.c.status == PENDING, probed.c.tenant_id == walk.c.tenant_id, *scope(probed))
                     .scalar_subquery())
    pending = select(walk.c.tenant_id, first_pending).where(walk.c.tenant_id.is_not(None))
    # Asked for only when no tenants are named (a tenants list never takes the jobs of none).
    pending_untenanted = select(func.min(jobs.c.run_after)).where(
        jobs.c.status == PENDING, jobs.c.tenant_id.is_(None), *scope(jobs, with_tenants=False))
    now = bindparam("now")
    running = (select(jobs.c.tenant_id, func.min(case((jobs.c.claimed_until < now, jobs.c.run_after))),
                      func.count(case((jobs.c.claimed_until >= now, 1))))
               .where(jobs.c.status == RUNNING, *scope(jobs)).group_by(jobs.c.tenant_id))

    pending_due = and_(jobs.c.status == PENDING, jobs.c.run_after <= now)
    expired_due = and_(jobs.c.status == RUNNING, jobs.c.claimed_until < now)

    def claim_of(untenanted, with_expired):
        tenant_clause = jobs.c.tenant_id.is_(None) if untenanted else jobs.c.tenant_id == bindparam("tenant")
        due = or_(pending_due, expired_due) if with_expired else pending_due
        ids = (select(jobs.c.id).where(due, *scope(jobs), tenant_clause).order_by(jobs.c.run_after, jobs.c.id)
               .limit(bindparam("limit", type_=Integer)))
        if postgresql:
            ids = ids.with_for_update(skip_locked=True)
        return (update(jobs).where(jobs.c.id.in_(ids.scalar_subquery()))
                .values(status=RUNNING, claimed_by=bindparam("token"), claimed_until=bindparam("until"),
                        attempts=jobs.c.attempts + 1)
                .returning(jobs.c.id, jobs.c.kind, jobs.c.payload, jobs.c.tenant_id, jobs.c.attempts,
                           jobs.c.max_attempts))

    return _ClaimStatements(pending, pending_untenanted, running,
                            {(u, e): claim_of(u, e) for u in (False, True) for e in (False, True)})


# Only the holder of the lease may settle the job; a worker that lost it changes nothing.
# A Core UPDATE built once, the SET columns given as parameters: the ORM's bulk-update
# path and building the statement per job cost more than running it.
_FINISH = (update(Job.__table__)
           .where(Job.__table__.c.id == bindparam("job_id"), Job.__table__.c.claimed_by == bindparam("token")))


def _finish(job_id: int, token: str, **values) -> None:
    # On the session's connection, in its transaction: what the handler left in the
    # session is flushed by the commit that follows, with this.
    db.session.connection().execute(_FINISH, {"job_id": job_id, "token": token, "claimed_until": None, **values})


def _run(row, token: str, now: datetime) -> None:
    spec = _HANDLERS.get(row.kind)
    ctx = JobContext(row.id, row.kind, row.payload, row.tenant_id, row.attempts, now)
    try:
        if spec is None:
            raise LookupError(f"no handler for job kind {row.kind!r}")
        spec.run(ctx)
    except RetryLater as exc:
        if not exc.save:
            db.session.rollback()
        attempts = row.attempts if exc.count_attempt else row.attempts - 1
        _finish(row.id, token, status=PENDING, attempts=attempts, last_error=exc.reason[:2000] or None,
                run_after=max(now, utcnow()) + timedelta(seconds=exc.delay_s))
    except Exception as exc:  # noqa: BLE001 - any failure of a handler is the job's, not the worker's
        db.session.rollback()
        log.warning("job %s (%s) failed on attempt %s: %r", row.id, row.kind, row.attempts, exc)
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= row.max_attempts:
            _finish(row.id, token, status=DEAD, last_error=error, finished_at=utcnow())
        else:
            backoff = (spec.backoff_s if spec else 5.0) * 2 ** (row.attempts - 1)
            _finish(row.id, token, status=PENDING, last_error=error,
                    run_after=max(now, utcnow()) + timedelta(seconds=backoff))
    else:
        _finish(row.id, token, status=DONE, last_error=None, finished_at=utcnow())
    db.session.commit()


def run_batch(worker_id: str, *, limit: int = 10, lease_s: float = 120, now: datetime | None = None,
              kinds: tuple | None = None, tenant_id: int | None = None, lane: str | None = None,
              tenant_concurrency: int | None = None, tenants: tuple | None = None) -> int:
    """Claim one batch and run it (inside an app context); returns how many ran."""
    token, rows = claim(worker_id, limit=limit, lease_s=lease_s, now=now, kinds=kinds, tenant_id=tenant_id,
                        lane=lane, tenant_concurrency=tenant_concurrency, tenants=tenants)
    for row in rows:
        _run(row, token, now or utcnow())
    return len(rows)


def run_due(app, *, now: datetime | None = None, max_rounds: int = 1000, kinds: tuple | None = None,
            tenant_id: int | None = None) -> int:
    """Run every due job until none is left (tests, ``worker --once``); returns how many ran."""
    total = 0
    with app.app_context():
        try:
            for _ in range(max_rounds):
                ran = run_batch(worker_name(), lease_s=app.config["JOB_LEASE_S"], now=now, kinds=kinds,
                                tenant_id=tenant_id)
                total += ran
                if not ran:
                    break
        finally:
            db.session.remove()
    return total


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{threading.get_ident() % 100000}"


def work(app, stop: threading.Event, *, poll_s: float = 0.5, batch: int = 10, kinds: tuple | None = None,
         lane: str | None = None, tenant_concurrency: int | None = None, tenants: tuple | None = None) -> None:
    """The worker loop: claim, run, sleep when idle, until ``stop`` is set.

    The periodic upkeep runs in the loop that serves the default lane (or every kind).
    """
    name = worker_name()
    upkeep = kinds is None and lane in (None, DEFAULT_LANE)
    while not stop.is_set():
        ran = 0
        with app.app_context():
            try:
                ran = run_batch(name, limit=batch, lease_s=app.config["JOB_LEASE_S"], kinds=kinds, lane=lane,
                                tenant_concurrency=tenant_concurrency, tenants=tenants)
                if upkeep:
                    run_periodic()
            except OperationalError as exc:
                # The database is away or busy; try again after the poll interval.
                log.warning("job claim failed: %s", type(exc).__name__)
                db.session.rollback()
            except Exception:  # noqa: BLE001 - the loop must outlive any one bad batch
                log.exception("job batch failed")
                db.session.rollback()
            finally:
                db.session.remove()
        if not ran:
            stop.wait(poll_s)


def start_lanes(app, stop: threading.Event, *, lanes: tuple | None = None, poll_s: float = 0.5,
                tenants: tuple | None = None, name: str = "delivery_sign-jobs") -> list[threading.Thread]:
    """Start every lane's threads (or only ``lanes``); each runs ``work`` until ``stop``."""
    threads = []
    for lane_ in _LANES.values():
        if lanes is not None and lane_.name not in lanes:
            continue
        count = int(app.config.get(lane_.threads, 1)) if lane_.threads else 1
        cap = app.config.get(lane_.tenant_concurrency) if lane_.tenant_concurrency else None
        for index in range(max(count, 1)):
            thread = threading.Thread(
                target=work, args=(app, stop), name=f"{name}-{lane_.name}-{index}", daemon=True,
                kwargs={"poll_s": poll_s, "batch": lane_.batch, "lane": lane_.name,
                        "tenant_concurrency": int(cap) if cap else None, "tenants": tenants})
            thread.start()
            threads.append(thread)
    return threads


# --- the inline worker ---------------------------------------------------------------------

_inline_lock = threading.Lock()
_inline_pid = None


def start_inline_worker(app) -> list[threading.Thread] | None:
    """Start this process's job threads once (after a fork, once more in the child)."""
    global _inline_pid
    with _inline_lock:
        if _inline_pid == os.getpid():
            return None
        _inline_pid = os.getpid()
    return start_lanes(app, threading.Event())


def init_inline_worker(app) -> None:
    """``WORKER=inline``: the first request of each process starts its job threads.

    Not at import or in ``create_app`` itself: the CLI (``flask db upgrade``) and
    gunicorn's master build an app too and must not run jobs. Tests run jobs explicitly.
    """
    if app.config["WORKER"] != "inline" or app.config.get("TESTING"):
        return

    @app.before_request
    def _ensure_job_thread():
        if _inline_pid != os.getpid():
            start_inline_worker(app)
