"""The summary report: counts by status, who signed, anomalies and time to sign-off.

Everything is aggregated in the database (one GROUP BY for counts, one for anomalies, one
minute-histogram for the medians), so a 30-day report over a million waybills moves a
few thousand rows, not a million. Days are China days (UTC+8, no daylight saving).
"""
from datetime import timedelta

from sqlalchemy import Integer, case, cast, func, literal_column, select

from ..accounts.models import DocType, OrgUnit, User
from ..core.auth import Principal
from ..core.clock import utcnow
from ..extensions import db
from ..waybills.models import STATUSES, Waybill, WaybillAnomaly
from ..waybills.services import scoped

GROUPS = ("day", "org_unit", "courier", "doc_type", "relation")
CHINA_OFFSET_HOURS = 8
DEFAULT_RANGE = timedelta(days=30)


def _dialect():
    return db.session.connection().dialect.name


def _day(column):
    if _dialect() == "postgresql":
        return func.to_char(column + literal_column(f"interval '{CHINA_OFFSET_HOURS} hours'"), "YYYY-MM-DD")
    return func.date(column, f"+{CHINA_OFFSET_HOURS} hours")


def _minutes(start, end):
    if _dialect() == "postgresql":
        return cast(func.floor(func.extract("epoch", end - start) / 60), Integer)
    return cast((func.julianday(end) - func.julianday(start)) * 1440, Integer)


BASES = ("created", "signed")


def _group_key(group_by, basis):
    """The key column and the joins it needs."""
    if group_by == "day":
        return _day(Waybill.signed_at if basis == "signed" else Waybill.created_at), []
    if group_by == "org_unit":
        return OrgUnit.code, [(OrgUnit, OrgUnit.id == Waybill.org_unit_id)]
    if group_by == "courier":
        return User.username, [(User, User.id == Waybill.courier_id)]
    if group_by == "doc_type":
        return DocType.code, [(DocType, DocType.id == Waybill.doc_type_id)]
    return Waybill.signer_relation, []


def _base(principal, columns, group_by, start, end, basis):
    key, joins = _group_key(group_by, basis)
    query = select(key.label("key"), *columns)
    for model, on in joins:
        query = query.outerjoin(model, on)
    query = scoped(principal, query.select_from(Waybill))
    when = Waybill.signed_at if basis == "signed" else Waybill.created_at
    return query.where(when >= start, when < end).group_by(key)


def summary(principal: Principal, group_by: str, start=None, end=None, basis: str = "created") -> dict:
    """``basis="created"`` counts the waybills created in the range (their fate so far);
    ``"signed"`` counts the sign-offs made in the range, by the day they were signed."""
    end = end or utcnow()
    start = start or end - DEFAULT_RANGE
    status_columns = [func.sum(case((Waybill.status == s, 1), else_=0)).label(s) for s in STATUSES]
    counts = db.session.execute(_base(principal, [
        func.count().label("total"), *status_columns,
        func.sum(case((Waybill.signer_relation == "self", 1), else_=0)).label("by_consignee"),
        func.sum(case((Waybill.signer_relation.isnot(None) & (Waybill.signer_relation != "self"), 1),
                      else_=0)).label("by_others"),
    ], group_by, start, end, basis)).all()

    anomalous = dict(db.session.execute(
        _base(principal, [func.count(func.distinct(Waybill.id))], group_by, start, end, basis)
        .join(WaybillAnomaly, WaybillAnomaly.waybill_id == Waybill.id)).all())

    dispatched = func.coalesce(Waybill.out_for_delivery_at, Waybill.assigned_at, Waybill.created_at)
    minutes = _minutes(dispatched, Waybill.signed_at)
    histogram = {}
    query = _base(principal, [minutes.label("minutes"), func.count()], group_by, start, end, basis)
    query = query.where(Waybill.signed_at.isnot(None)).group_by(minutes)
    for key, minute, count in db.session.execute(query):
        histogram.setdefault(key, []).append((minute, count))

    rows = []
    for row in counts:
        data = row._mapping
        rows.append({
            "key": data["key"],
            "total": data["total"],
            "by_status": {s: int(data[s] or 0) for s in STATUSES},
            "signed_by_consignee": int(data["by_consignee"] or 0),
            "signed_by_others": int(data["by_others"] or 0),
            "with_anomalies": int(anomalous.get(data["key"], 0)),
            "median_minutes_to_signoff": _median(histogram.get(data["key"], [])),
        })
    rows.sort(key=lambda r: (r["key"] is None, str(r["key"])))
    return {"group_by": group_by, "basis": basis, "from": start, "to": end, "rows": rows}


def _median(buckets):
    """The median of a histogram of whole minutes (the lower median for even counts)."""
    total = sum(count for _, count in buckets)
    if not total:
        return None
    seen = 0
    for minute, count in sorted(buckets, key=lambda b: b[0]):
        seen += count
        if seen * 2 >= total:
            return minute
    return None  # pragma: no cover


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
