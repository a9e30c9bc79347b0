"""The summary report: counts by status, who signed, anomalies and time to sign-off.

Whole China days (UTC+8) of the range are read from the roll-up (models.py, rollup.py):
a month over a million waybills is a few thousand cell rows. The parts of the range
that are not whole days, and reports by courier (the roll-up keeps no courier), are
aggregated from the waybills themselves; both give the same figures for the same
waybills, including the minute buckets the medians come from.
"""
from collections import Counter
from datetime import date, timedelta

from sqlalchemy import case, func, select, union_all

from ..accounts.models import DocType, OrgUnit, User
from ..core.auth import Principal
from ..core.clock import utcnow
from ..extensions import db
from ..waybills.models import STATUSES, Waybill
from ..waybills.services import scoped
from .models import ReportChange, ReportCount, ReportMinutes
from .rollup import bucketed_minutes, china_day, china_day_start, day_of

GROUPS = ("day", "org_unit", "courier", "doc_type", "relation")
BASES = ("created", "signed")
DEFAULT_RANGE = timedelta(days=30)


def summary(principal: Principal, group_by: str, start=None, end=None, basis: str = "created") -> dict:
    """``basis="created"`` counts the waybills created in the range (their fate so far);
    ``"signed"`` counts the sign-offs made in the range, by the day they were signed."""
    end = end or utcnow()
    start = start or end - DEFAULT_RANGE
    groups = {}
    edges = [(start, end)]
    if group_by != "courier":
        first, last = china_day(start), china_day(end)      # whole days: [first, last)
        if china_day_start(first) < start:
            first += timedelta(days=1)
        if first < last:
            _add_rollup(groups, principal, group_by, basis, first, last)
            edges = [(start, china_day_start(first)), (china_day_start(last), end)]
    for edge_start, edge_end in edges:
        if edge_start < edge_end:
            _add_waybills(groups, principal, group_by, basis, edge_start, edge_end)

    rows = []
    for key, group in groups.items():
        if not group["total"]:
            continue
        rows.append({
            "key": key,
            "total": group["total"],
            "by_status": {s: group[s] for s in STATUSES},
            "signed_by_consignee": group["self"],
            "signed_by_others": group["others"],
            "with_anomalies": group["anomalous"],
            "median_minutes_to_signoff": _median(group["minutes"]),
        })
    rows.sort(key=lambda r: (r["key"] is None, str(r["key"])))
    return {"group_by": group_by, "basis": basis, "from": start, "to": end, "rows": rows}


_FIGURES = ("total", *STATUSES, "self", "others", "anomalous")


def _figures(n, status, relation, anomalous):
    """Aggregates of the summary over rows that each stand for ``n`` waybills."""
    return [
        func.sum(n),
        *(func.sum(case((status == s, n), else_=0)) for s in STATUSES),
        func.sum(case((relation == "self", n), else_=0)),
        func.sum(case((relation.isnot(None) & (relation != "self"), n), else_=0)),
        func.sum(anomalous),
    ]


def _group(groups, key):
    if isinstance(key, date):   # a roll-up day; the same day from waybills is 'YYYY-MM-DD' text
        key = key.isoformat()
    return groups.setdefault(key, {**dict.fromkeys(_FIGURES, 0), "minutes": Counter()})


def _add(groups, counts, minutes):
    for key, *figures in counts:
        group = _group(groups, key)
        for name, value in zip(_FIGURES, figures):
            group[name] += int(value or 0)
    for key, bucket, n in minutes:
        _group(groups, key)["minutes"][bucket] += int(n)


def _add_rollup(groups, principal, group_by, basis, first, last):
    """Whole days [first, last): the roll-up plus the changes not folded into it yet."""

    def cells(model, *columns):
        day = model.signed_day if basis == "signed" else model.created_day
        query = select(day.label("day"), model.org_unit_id, model.doc_type_id, model.signer_relation,
                       *columns).where(model.tenant_id == principal.tenant_id, day >= first, day < last)
        if principal.org_unit_ids is not None:
            query = query.where(model.org_unit_id.in_(principal.org_unit_ids))
        return query

    def grouped(source, *columns):
        key = {"day": source.c.day, "org_unit": OrgUnit.code, "doc_type": DocType.code,
               "relation": source.c.signer_relation}[group_by]
        query = select(key, *columns).select_from(source)
        if group_by == "org_unit":
            query = query.outerjoin(OrgUnit, OrgUnit.id == source.c.org_unit_id)
        elif group_by == "doc_type":
            query = query.join(DocType, DocType.id == source.c.doc_type_id)
        return query.group_by(key)

    counted = union_all(
        cells(ReportCount, ReportCount.status, ReportCount.n, ReportCount.anomalous),
        cells(ReportChange, ReportChange.status, ReportChange.n, ReportChange.anomalous)).subquery()
    timed = union_all(
        cells(ReportMinutes, ReportMinutes.minutes, ReportMinutes.n),
        cells(ReportChange, ReportChange.minutes, ReportChange.n).where(ReportChange.minutes.isnot(None))).subquery()
    c, t = counted.c, timed.c
    counts = db.session.execute(grouped(counted, *_figures(c.n, c.status, c.signer_relation, c.anomalous))).all()
    minutes = db.session.execute(grouped(timed, t.minutes, func.sum(t.n)).group_by(t.minutes)).all()
    _add(groups, counts, minutes)


def _add_waybills(groups, principal, group_by, basis, start, end):
    """A part of the range (or all of it, by courier) straight from the waybills."""
    when = Waybill.signed_at if basis == "signed" else Waybill.created_at
    key, join = {
        "day": (day_of(when), None),
        "org_unit": (OrgUnit.code, (OrgUnit, OrgUnit.id == Waybill.org_unit_id)),
        "courier": (User.username, (User, User.id == Waybill.courier_id)),
        "doc_type": (DocType.code, (DocType, DocType.id == Waybill.doc_type_id)),
        "relation": (Waybill.signer_relation, None),
    }[group_by]

    def query(*columns):
        q = select(key, *columns).select_from(Waybill)
        if join is not None:
            q = q.outerjoin(*join)
        return scoped(principal, q).where(when >= start, when < end).group_by(key)

    one = case((Waybill.has_anomalies, 1), else_=0)
    counts = db.session.execute(query(*_figures(1, Waybill.status, Waybill.signer_relation, one))).all()
    bucket = bucketed_minutes()
    minutes = db.session.execute(query(bucket, func.count()).where(Waybill.signed_at.isnot(None))
                                 .group_by(bucket)).all()
    _add(groups, counts, minutes)


def _median(histogram: Counter):
    """The median of a histogram of minute buckets (the lower median for even counts)."""
    total, seen = sum(histogram.values()), 0
    for minute in sorted(histogram):
        seen += histogram[minute]
        if total and seen * 2 >= total:
            return minute
    return None


def timeline(principal: Principal, number: str) -> list:
    """The audit events of a waybill, of every sign link made for it and of its receipt."""
    from ..core import audit
    from ..signing.models import SignLinkWaybill
    from ..waybills.services import get_waybill

    waybill = get_waybill(principal, number)
    link_ids = db.session.execute(
        select(SignLinkWaybill.link_id).where(SignLinkWaybill.waybill_id == waybill.id)).scalars().all()
    subjects = [f"waybill:{number}", *(f"link:{i}" for i in link_ids)]
    if waybill.receipt_public_id:
        subjects.append(f"receipt:{waybill.receipt_public_id}")
    return audit.events_of(principal.tenant_id, subjects)
