"""Sign later by SMS: the courier or a dispatcher sends the sign link itself ("leave it with
my neighbour, I will sign"), to the consignee's phone or a phone they name.

Budgets per link and per phone live in the rate limiter's storage (Redis when set), so
every process counts the same messages.

"I'll sign tonight" outlives the QR's ``link_ttl_s`` (15 minutes): sending moves the link's
expiry to ``sign_later_ttl_s`` from now (policy, default 24 h), never earlier than it was,
and schedules the photo sweep for the new expiry.
"""
from datetime import timedelta

from ..accounts.models import Tenant
from ..core import audit, jobs
from ..core.auth import Principal
from ..core.clock import isoformat, utcnow
from ..core.errors import Gone, Problem
from ..core.masking import mask_phone
from ..core.ratelimit import enforce, spend
from ..core.sms import SmsError, send_sms
from ..extensions import db
from ..signing import links
from ..signing.sweep import GRACE, SWEEP_LINK
from .services import phone_key

LINK_LIMITS = "1 per minute;3 per hour"
PHONE_LIMITS = "5 per hour"
RESEND_AFTER_S = 60
SIGN_LATER_TTL_S = 24 * 3600     # the policy's sign_later_ttl_s when the doc type does not set it
SIGN_LINK_TEMPLATE = "【{tenant}】您的快递（尾号{tail}）请点击 {url} 查看并签收，{until}前有效。"
CHINA = timedelta(hours=8)


def send_link(principal: Principal, token: str, phone: str | None) -> dict:
    link = links.link_for_staff(principal, token)
    state = links.state_of(link)
    if state == "signed":
        raise Gone("This delivery has already been signed for.", slug="link-used")
    if state == "expired":
        raise Gone("This sign link has expired; make a new one.", slug="link-expired")
    if link.locked_at is not None:
        raise links.Locked("Too many wrong codes; make a new sign link.")
    to = phone or link.consignee_phone
    phone_budget = f"{link.tenant_id}:{phone_key(to)}"
    enforce(LINK_LIMITS, "sign-link-sms", str(link.id),
            [("send_too_soon", "The link was sent moments ago."),
             ("send_link_limit", "The link was sent too often for this delivery in the last hour.")])
    enforce(PHONE_LIMITS, "sign-link-sms-phone", phone_budget,
            [("send_phone_limit", "Too many links to this phone in the last hour.")])
    tenant = db.session.get(Tenant, link.tenant_id)
    extended_from = link.expires_at
    ttl = link.policy.get("sign_later_ttl_s", SIGN_LATER_TTL_S)
    link.expires_at = max(link.expires_at, utcnow() + timedelta(seconds=ttl))
    if link.expires_at != extended_from:
        jobs.enqueue(SWEEP_LINK, {"link": link.id}, tenant_id=link.tenant_id, run_after=link.expires_at + GRACE,
                     dedupe_key=f"sweep-link:{link.id}:{link.expires_at.isoformat()}")
    number = link.waybills[0].number
    until = (link.expires_at + CHINA).strftime("%m-%d %H:%M")
    try:
        send_sms(link.tenant_id, to, SIGN_LINK_TEMPLATE.format(tenant=tenant.name, tail=number[-4:],
                                                               url=links.sign_url(token), until=until))
    except SmsError as exc:
        raise Problem(f"The message could not be sent: {exc}", status=503, slug="sms-unavailable",
                      title="SMS unavailable", headers={"Retry-After": "30"}) from None
    audit.record(link.tenant_id, "link.sent", principal.actor, f"link:{link.id}",
                 {"to": mask_phone(to), "whose": "consignee" if to == link.consignee_phone else "other",
                  "expires_at": isoformat(link.expires_at), "extended_from": isoformat(extended_from)})
    spend(LINK_LIMITS, "sign-link-sms", str(link.id))
    spend(PHONE_LIMITS, "sign-link-sms-phone", phone_budget)
    return {"sent_to": mask_phone(to), "expires_at": link.expires_at, "resend_after": RESEND_AFTER_S}
