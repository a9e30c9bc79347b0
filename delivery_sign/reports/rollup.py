"""Keeping the report roll-up: China days, minute buckets, folding and rebuilding.

Triggers (migration a1d4c0e70008) write a ``report_changes`` row for every change of a
waybill's cell; ``fold`` moves them into ``report_counts`` and ``report_minutes``. The
worker folds every ``FOLD_EVERY_S`` seconds; reports read roll-up ∪ changes, so folding
only makes them cheaper, never more correct. ``rebuild`` recomputes everything from the
waybills (``flask --app wsgi reports-rebuild``), for an operator who doubts the roll-up.

Medians come from a histogram of minutes from dispatch to sign-off, kept in buckets so a
month of sign-offs is a few thousand rows: exact below 30 minutes, then to 5 minutes below
2 hours, 15 below 8 hours, an hour below 2 days, a day beyond. A median is its bucket's
lower bound (bucketing keeps the order, so that is the bucket of the exact median).
"""
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from sqlalchemy import Integer, case, cast, delete, func, literal_column, select, text

from ..core import jobs
from ..core.bulk import insert_rows
from ..extensions import db
from ..waybills.models import Waybill
from .models import ReportChange, ReportCount, ReportMinutes

CHINA_OFFSET = timedelta(hours=8)
FOLD_EVERY_S = 30
FOLD_CHUNK = 50_000     # change rows per transaction
# (below, step): minutes below ``below`` are rounded down to a multiple of ``step``.
BUCKETS = ((30, 1), (120, 5), (480, 15), (2880, 60), (None, 1440))
CELL = ("tenant_id", "org_unit_id", "doc_type_id", "signer_relation", "created_day", "signed_day")


def bucket(minutes: int) -> int:
    """The bucket of a number of minutes (its lower bound), as the triggers compute it."""
    for below, step in BUCKETS:
        if below is None or minutes < below:
            return minutes if step == 1 else minutes - minutes % step
    raise AssertionError("unreachable")  # pragma: no cover


def china_day_start(day: date) -> datetime:
    """The UTC instant (naive) at which a China day begins."""
    return datetime.combine(day, time()) - CHINA_OFFSET


def china_day(moment: datetime) -> date:
    return (moment + CHINA_OFFSET).date()


# --- the same figures straight from waybills (range edges, courier groups, rebuild) ----------

def _dialect():
    return db.session.connection().dialect.name


def day_of(column):
    """SQL: the China day of a UTC timestamp, as 'YYYY-MM-DD' text."""
    if _dialect() == "postgresql":
        return func.to_char(column + literal_column("interval '8 hours'"), "YYYY-MM-DD")
    return func.date(column, "+8 hours")


def bucketed_minutes():
    """SQL: the bucket of minutes from dispatch to sign-off of a waybill (NULL if unsigned)."""
    start = func.coalesce(Waybill.out_for_delivery_at, Waybill.assigned_at, Waybill.created_at)
    if _dialect() == "postgresql":
        minutes = cast(func.floor(func.extract("epoch", Waybill.signed_at - start) / 60), Integer)
    else:
        minutes = cast((func.julianday(Waybill.signed_at) - func.julianday(start)) * 1440, Integer)
    whens = [(minutes < below, minutes if step == 1 else minutes - minutes % step)
             for below, step in BUCKETS if below is not None]
    return case(*whens, else_=minutes - minutes % BUCKETS[-1][1])


# --- folding -----------------------------------------------------------------------------

def _lock():
    """One folder at a time (readers are not blocked); SQLite writers are serialised anyway."""
    if _dialect() == "postgresql":
        db.session.execute(text("LOCK TABLE report_counts, report_minutes IN SHARE ROW EXCLUSIVE MODE"))


def fold(limit: int = FOLD_CHUNK) -> int:
    """Move up to ``limit`` pending changes, oldest first, into the roll-up; returns how many.

    The caller commits. Changes are taken with ``DELETE … RETURNING``, so a change that
    commits meanwhile stays for the next fold instead of being lost or counted twice;
    the days a change touches are rewritten whole (read, merge, delete, insert).
    """
    _lock()
    columns = [getattr(ReportChange, c) for c in (*CELL, "status", "anomalous", "minutes", "n")]
    oldest = select(ReportChange.id).order_by(ReportChange.id).limit(limit).scalar_subquery()
    changes = db.session.execute(delete(ReportChange).where(ReportChange.id.in_(oldest)).returning(*columns)).all()
    if not changes:
        return 0
    counts, minutes = defaultdict(lambda: [0, 0]), defaultdict(lambda: [0])
    for *cell, status, anomalous, bucket_, n in changes:
        cell = tuple(cell)
        total = counts[(*cell, status)]
        total[0] += n
        total[1] += anomalous
        if bucket_ is not None:
            minutes[(*cell, bucket_)][0] += n
    for tenant_id in {key[0] for key in counts}:
        for model, changed in ((ReportCount, counts), (ReportMinutes, minutes)):
            _merge_days(model, {k: v for k, v in changed.items() if k[0] == tenant_id})
    return len(changes)


def fold_all() -> int:
    """Fold every pending change, committing each chunk (so SQLite writers wait one chunk at most)."""
    total = 0
    while folded := fold():
        db.session.commit()
        total += folded
    db.session.commit()
    return total


# The last part of a roll-up row's key, and its counters.
_LAST = {ReportCount: "status", ReportMinutes: "minutes"}
_COUNTERS = {ReportCount: ("n", "anomalous"), ReportMinutes: ("n",)}


def _merge_days(model, changes):
    """Rewrite the tenant's days that ``changes`` ({cell + last key: [counters]}) touch."""
    if not changes:
        return
    keys = [getattr(model, c) for c in (*CELL, _LAST[model])]
    counters = [getattr(model, c) for c in _COUNTERS[model]]
    tenant_id = next(iter(changes))[0]
    where = (model.tenant_id == tenant_id, model.created_day.in_(sorted({k[4] for k in changes})))
    cells = {tuple(row[:len(keys)]): list(row[len(keys):])
             for row in db.session.execute(select(*keys, *counters).where(*where))}
    for key, change in changes.items():
        cell = cells.setdefault(key, [0] * len(change))
        for i, value in enumerate(change):
            cell[i] += value
    db.session.execute(delete(model).where(*where))
    insert_rows(model, [{**dict(zip((*CELL, _LAST[model]), key)), **dict(zip(_COUNTERS[model], value))}
                        for key, value in cells.items() if value[0]])


def rebuild() -> None:
    """Recompute the roll-up from the waybills (the caller commits). On PostgreSQL waybill
    writes wait meanwhile, so no change is both pending and counted."""
    if _dialect() == "postgresql":
        db.session.execute(text("LOCK TABLE waybills IN SHARE MODE"))
    _lock()
    for model in (ReportChange, ReportCount, ReportMinutes):
        db.session.execute(delete(model))
    cell = [Waybill.tenant_id, Waybill.org_unit_id, Waybill.doc_type_id, Waybill.signer_relation,
            day_of(Waybill.created_at), day_of(Waybill.signed_at)]
    anomalous = func.sum(case((Waybill.has_anomalies, 1), else_=0))
    counts = select(*cell, Waybill.status, func.count(), anomalous).group_by(*cell, Waybill.status)
    minutes = bucketed_minutes()
    histogram = (select(*cell, minutes, func.count()).where(Waybill.signed_at.isnot(None))
                 .group_by(*cell, minutes))
    for model, query, names in ((ReportCount, counts, (*CELL, "status", "n", "anomalous")),
                                (ReportMinutes, histogram, (*CELL, "minutes", "n"))):
        rows = []
        for row in db.session.execute(query):
            values = dict(zip(names, row))
            for day in ("created_day", "signed_day"):
                values[day] = date.fromisoformat(values[day]) if values[day] else None
            rows.append(values)
        insert_rows(model, rows)


jobs.every(FOLD_EVERY_S)(fold_all)
