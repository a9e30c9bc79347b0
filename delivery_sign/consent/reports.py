"""Consent figures for dispatchers: drops by place and by the consent they relied on,
assisted sign-offs, and the waybills still waiting for the consignee's answer. Reads
only; every query goes through ``waybills.services.scoped``, the one reach filter."""
from datetime import timedelta

from sqlalchemy import func, select

from ..core.auth import Principal
from ..core.clock import utcnow
from ..extensions import db
from ..signing.models import SignLink, SignLinkWaybill
from ..waybills.models import FINAL_STATUSES, Waybill
from ..waybills.services import scoped
from .models import ConsentRequest, Drop

DEFAULT_DAYS = 30
MAX_WAITING = 200


def summary(principal: Principal, start, end) -> dict:
    end = end or utcnow()
    start = start or end - timedelta(days=DEFAULT_DAYS)
    drops = db.session.execute(
        scoped(principal, select(Drop.place, Drop.consent, func.count(Drop.id)))
        .join(Waybill, Waybill.id == Drop.waybill_id)
        .where(Drop.tenant_id == principal.tenant_id, Drop.created_at >= start, Drop.created_at < end)
        .group_by(Drop.place, Drop.consent).order_by(Drop.place, Drop.consent)).all()
    assisted = db.session.execute(
        scoped(principal, select(func.count(func.distinct(SignLink.id))))
        .join(SignLinkWaybill, SignLinkWaybill.link_id == SignLink.id)
        .join(Waybill, Waybill.id == SignLinkWaybill.waybill_id)
        .where(SignLink.tenant_id == principal.tenant_id, SignLink.assisted.is_(True),
               SignLink.used_at >= start, SignLink.used_at < end)).scalar_one()
    now = utcnow()
    waiting = db.session.execute(
        scoped(principal, select(Waybill.number, ConsentRequest.created_at, ConsentRequest.expires_at))
        .join(ConsentRequest, ConsentRequest.waybill_id == Waybill.id)
        .where(ConsentRequest.tenant_id == principal.tenant_id, ConsentRequest.answered_at.is_(None),
               ConsentRequest.expires_at > now, Waybill.status.not_in(FINAL_STATUSES))
        .order_by(ConsentRequest.created_at).limit(MAX_WAITING)).all()
    return {
        "from_": start, "to": end,
        "drops": [{"place": place, "consent": consent, "n": n} for place, consent, n in drops],
        "assisted_sign_offs": assisted,
        "waiting_for_answer": [{"number": number, "asked_at": asked, "expires_at": expires}
                               for number, asked, expires in waiting],
    }
