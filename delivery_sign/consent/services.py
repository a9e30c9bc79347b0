"""Consent operations: ask the consignee, record the one answer, keep and revoke standing
consent, and tell a drop whether it is consented.

A request exists exactly when its SMS was handed to the provider: the message is sent
last, inside the request's transaction, and a provider failure raises, which rolls the
request back (no half-made request, no link that leads nowhere).
"""
import hashlib
import hmac
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import or_, select

from ..accounts.models import Tenant
from ..core import audit, wechat
from ..core.auth import Principal, hash_secret
from ..core.clock import isoformat, utcnow
from ..core.errors import Conflict, Gone, NotFound, Problem, ValidationFailed, field_error
from ..core.masking import mask_address, mask_ip, mask_name, mask_phone
from ..core.ratelimit import enforce, spend, token_limits
from ..core.schema import normalise_phone
from ..core.sms import SmsError, send_sms
from ..core.transactions import reading
from ..extensions import db
from ..waybills.models import FINAL_STATUSES, Waybill
from ..waybills.services import get_waybill
from ..signing.links import TOKEN_BYTES
from .models import NAMED_PLACES, ConsentRequest, StandingConsent

# Per waybill: one question a minute, five an hour; per phone, ten an hour across waybills
# (a courier with a stack of parcels for one office asks once per parcel, not per minute).
REQUEST_LIMITS_WAYBILL = "1 per minute;5 per hour"
REQUEST_LIMITS_PHONE = "10 per hour"
RESCHEDULE_MAX_DAYS = 14
WECHAT_NOT_SUBSCRIBED = 43101     # subscribeMessage.send: "user refuse to accept the msg"
CHINA = timezone(timedelta(hours=8))

CONSENT_TEMPLATE = ("【{tenant}】您的快递（尾号{tail}）无人签收，请选择放置方式：{url} "
                    "链接{hours}小时内有效，也可在此链接取消“以后都这样放”的授权。")


def _keyed(kind: str, value: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"consent-{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def phone_key(phone: str) -> str:
    return _keyed("phone", normalise_phone(phone))


def address_key(address: str) -> str:
    # NFKC folds full-width digits and letters ("１００号" = "100号"); spaces and case never
    # make a different door.
    folded = unicodedata.normalize("NFKC", address or "").lower()
    return _keyed("address", "".join(folded.split()))


def consent_url(token: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}/c/{token}"


def china_day() -> date:
    return datetime.now(CHINA).date()


def china_clock(value: datetime) -> str:
    """``12-01 18:02`` in China time, as the PDF line quotes the answer."""
    return value.replace(tzinfo=timezone.utc).astimezone(CHINA).strftime("%m-%d %H:%M")


# --- asking ----------------------------------------------------------------------------

def create_request(principal: Principal, number: str, options: list[str], places: dict, note: str | None,
                   wechat_openid: str | None) -> tuple[ConsentRequest, str]:
    waybill = get_waybill(principal, number, for_update=True)
    if waybill.status in FINAL_STATUSES:
        raise Conflict(f"Waybill {number} is {waybill.status}; there is nothing to ask about.", slug="waybill-final")
    errors = [field_error(f"places.{kind}", "place_not_allowed", "Only locker and station take a place name.")
              for kind in places if kind not in NAMED_PLACES]
    errors += [field_error(f"places.{kind}", "option_missing", f"{kind} is not among the options.")
               for kind in places if kind in NAMED_PLACES and kind not in options]
    if errors:
        raise ValidationFailed(errors)
    phone_hash = phone_key(waybill.consignee_phone)
    enforce(REQUEST_LIMITS_WAYBILL, "consent-waybill", str(waybill.id),
            [("ask_too_soon", "The consignee was asked moments ago; wait for the answer."),
             ("ask_waybill_limit", "This waybill's consignee was asked too often in the last hour.")])
    enforce(REQUEST_LIMITS_PHONE, "consent-phone", phone_hash,
            [("ask_phone_limit", "Too many questions to this phone in the last hour.")])

    now = utcnow()
    token = secrets.token_urlsafe(TOKEN_BYTES)  # 192 bits, the sign link's size
    ttl = current_app.config["CONSENT_LINK_TTL_S"]
    channel = "wechat" if wechat_openid else "sms"
    request = ConsentRequest(
        public_id=uuid.uuid4().hex, tenant_id=principal.tenant_id, waybill_id=waybill.id,
        token_hash=hash_secret(token), options=list(dict.fromkeys(options)), places=places, note=note,
        channel=channel, sent_to_masked=mask_phone(waybill.consignee_phone), created_by=principal.actor,
        created_at=now, expires_at=now + timedelta(seconds=ttl),
    )
    db.session.add(request)
    db.session.flush()
    audit.record(principal.tenant_id, "consent.requested", principal.actor, f"waybill:{number}",
                 {"request": request.public_id, "options": request.options, "places": places, "note": note,
                  "channel": channel, "to": request.sent_to_masked, "expires_at": isoformat(request.expires_at)})
    tenant = db.session.get(Tenant, principal.tenant_id)
    if channel == "wechat":
        _send_wechat(wechat_openid, waybill, request, token)
    else:
        try:
            send_sms(principal.tenant_id, waybill.consignee_phone, CONSENT_TEMPLATE.format(
                tenant=tenant.name, tail=waybill.number[-4:], url=consent_url(token), hours=max(1, ttl // 3600)))
        except SmsError as exc:
            raise Problem(f"The message could not be sent: {exc}", status=503, slug="sms-unavailable",
                          title="SMS unavailable", headers={"Retry-After": "30"}) from None
    spend(REQUEST_LIMITS_WAYBILL, "consent-waybill", str(waybill.id))
    spend(REQUEST_LIMITS_PHONE, "consent-phone", phone_hash)
    return request, token


def _send_wechat(openid, waybill, request, token):
    """The same question as a mini-program subscription message (``subscribeMessage.send``)."""
    template = current_app.config["WECHAT_CONSENT_TEMPLATE_ID"]
    if not wechat.configured() or not template:
        raise Problem("WeChat subscription messages are not configured; leave out wechat_openid to send an SMS.",
                      status=409, slug="wechat-not-configured", title="WeChat not configured")
    try:
        wechat.send_subscribe_message(openid, template, f"pages/consent/index?token={token}", {
            "character_string1": {"value": waybill.number[-20:]},
            "thing2": {"value": "无人签收，请选择放置方式"},
            "time3": {"value": china_clock(request.expires_at)},
        })
    except wechat.WechatError as exc:
        if exc.errcode == WECHAT_NOT_SUBSCRIBED:
            raise Conflict("The consignee has not subscribed to these messages; send an SMS instead.",
                           slug="wechat-not-subscribed") from None
        raise Problem(f"WeChat did not send the message ({exc.errcode}).", status=503, slug="wechat-unavailable",
                      title="WeChat unavailable", headers={"Retry-After": "5"}) from None


# --- the consignee's answer ---------------------------------------------------------------

def find_request(token: str, *, for_update=False) -> ConsentRequest:
    if not token or len(token) > 100:
        raise NotFound("No such consent link.")
    query = select(ConsentRequest).where(ConsentRequest.token_hash == hash_secret(token))
    if for_update:
        query = query.with_for_update()
    request = db.session.execute(query).scalar_one_or_none()
    if request is None:
        raise NotFound("No such consent link.")
    return request


def token_exists(token: str) -> bool:
    """Whether a token names a consent request in any state (an answered link is not a
    prober's miss). A read of its own, so a writing request takes no write lock early."""
    if not token or len(token) > 100:
        return False
    with reading():
        return db.session.execute(select(ConsentRequest.id).where(
            ConsentRequest.token_hash == hash_secret(token))).first() is not None


# Per consent token for a real link, per address for unknown ones (core/ratelimit.py says
# why); the API and the page /c/<token> share the budgets.
recipient_limits = token_limits(token_exists)


def state_of(request: ConsentRequest, now=None) -> str:
    if request.answered_at is not None:
        return "answered"
    if request.expires_at <= (now or utcnow()):
        return "expired"
    return "open"


def _answer_out(request: ConsentRequest) -> dict | None:
    if request.answered_at is None:
        return None
    return {"choice": request.choice, "place": request.place, "day": request.day, "standing": request.standing,
            "answered_at": request.answered_at}


def active_standing(tenant_id: int, phone: str, address: str, now=None) -> list[StandingConsent]:
    now = now or utcnow()
    return list(db.session.execute(
        select(StandingConsent).where(
            StandingConsent.tenant_id == tenant_id, StandingConsent.phone_hash == phone_key(phone),
            StandingConsent.address_hash == address_key(address), StandingConsent.revoked_at.is_(None),
            StandingConsent.expires_at > now).order_by(StandingConsent.id.desc())).scalars())


def standing_of_phone(tenant_id: int, phone: str) -> list[StandingConsent]:
    """Every standing consent a phone gave this tenant, in force or not (a person's data)."""
    return list(db.session.execute(
        select(StandingConsent).where(StandingConsent.tenant_id == tenant_id,
                                      StandingConsent.phone_hash == phone_key(phone))
        .order_by(StandingConsent.id)).scalars())


def forget_standing(standing: StandingConsent, now: datetime) -> None:
    """A person's erasure: the standing consent ends now (an erasure withdraws it) and its
    address keeps only the district, like the erased waybills'."""
    standing.revoked_at = standing.revoked_at or now
    standing.address = mask_address(standing.address)


def _standing_out(standing: StandingConsent) -> dict:
    return {"id": standing.public_id, "choice": standing.choice, "place": standing.place,
            "created_at": standing.created_at, "expires_at": standing.expires_at}


def view(token: str) -> dict:
    """What the consignee's page shows. An expired link is 410; an answered one says what
    was answered. Either way the standing consents it may revoke are listed."""
    request = find_request(token)
    state = state_of(request)
    if state == "expired":
        raise Gone("This link has expired; the courier can ask again.", slug="consent-expired")
    return _view_of(request, state)


def _view_of(request: ConsentRequest, state: str) -> dict:
    waybill = request.waybill
    tenant = db.session.get(Tenant, request.tenant_id)
    return {
        "state": state,
        "waybill": {"number_masked": _mask_number(waybill.number),
                    "consignee_name_masked": mask_name(waybill.consignee_name),
                    "phone_masked": mask_phone(waybill.consignee_phone), "address": waybill.consignee_address,
                    "items": [{"name": i.name, "qty": float(i.qty), "unit": i.unit} for i in waybill.items]},
        "options": request.options, "places": request.places, "note": request.note,
        "tenant": {"name": tenant.name}, "expires_at": request.expires_at, "answer": _answer_out(request),
        "standing": [_standing_out(s) for s in active_standing(request.tenant_id, waybill.consignee_phone,
                                                                 waybill.consignee_address)],
        "reschedule_max_days": RESCHEDULE_MAX_DAYS,
    }


def _mask_number(number: str) -> str:
    # Enough for the consignee to recognise the parcel, not enough to look it up.
    return number if len(number) <= 6 else number[:2] + "*" * (len(number) - 6) + number[-4:]


MAX_USER_AGENT = 500


def answer(token: str, body: dict, client_ip: str | None, header_user_agent: str | None) -> dict:
    """Record the one answer. The page says which client it is (``client``, as the sign
    submit does); a page older than that is known by its User-Agent header only."""
    request = find_request(token, for_update=True)
    state = state_of(request)
    if state == "answered":
        raise Conflict("This question has already been answered.", slug="consent-answered")
    if state == "expired":
        raise Gone("This link has expired; the courier can ask again.", slug="consent-expired")
    waybill = db.session.execute(select(Waybill).where(Waybill.id == request.waybill_id)
                                 .with_for_update(of=Waybill)).scalar_one()
    if waybill.status in FINAL_STATUSES:
        raise Conflict(f"This parcel is already {waybill.status}; nothing to choose any more.", slug="waybill-final")
    choice, errors = body["choice"], []
    if choice not in request.options:
        errors.append(field_error("choice", "one_of", f"Choose one of {', '.join(request.options)}."))
    place = (body.get("place") or "").strip() or request.places.get(choice)
    if place and choice not in NAMED_PLACES and choice != "neighbour":
        errors.append(field_error("place", "place_not_allowed", "Only locker, station and neighbour take a place."))
    day = body.get("day")
    if choice == "reschedule":
        today = china_day()
        if day is None:
            errors.append(field_error("day", "day_required", "Choose the day to deliver."))
        elif not today <= day <= today + timedelta(days=RESCHEDULE_MAX_DAYS):
            errors.append(field_error("day", "day_out_of_range",
                                      f"Choose a day from today to {RESCHEDULE_MAX_DAYS} days ahead."))
        if body.get("standing"):
            errors.append(field_error("standing", "standing_not_allowed", "A new day is for this parcel only."))
    elif day is not None:
        errors.append(field_error("day", "day_not_allowed", "A day goes with reschedule only."))
    if errors:
        raise ValidationFailed(errors)

    now = utcnow()
    request.choice, request.place, request.day = choice, place, day
    request.standing, request.answered_at = bool(body.get("standing")), now
    sent = body.get("client") or {}
    client = {"platform": sent.get("platform"),
              "user_agent": (sent.get("user_agent") or header_user_agent or "")[:MAX_USER_AGENT] or None,
              "time": sent.get("time"), "ip": client_ip}
    request.answer_client = client
    # The chain is kept for good and cannot be rewritten: it gets the IP as the purge leaves
    # it; the whole address stays in the row for the doc type's IP days (forget_answer_ip).
    recorded = audit.record(request.tenant_id, "consent.answered", "consignee", f"waybill:{waybill.number}", {
        "request": request.public_id, "choice": choice, "place": place, "day": day.isoformat() if day else None,
        "standing": request.standing, "address": waybill.consignee_address, "sms_to": request.sent_to_masked,
        "channel": request.channel, "requested_at": isoformat(request.created_at),
        "client": {**client, "ip": mask_ip(client_ip)}})
    request.answer_audit_seq = recorded["seq"]
    if request.standing:
        _grant_standing(request, waybill, now)
    return _view_of(request, "answered")


def forget_answer_ip(request: ConsentRequest, now: datetime) -> None:
    """The answer's IP masked as a purged receipt's is (the network stays, the line goes);
    the platform and user agent stay, as they do in the receipt's evidence."""
    client = request.answer_client or {}
    request.answer_client = {**client, "ip": mask_ip(client.get("ip"))}
    request.answer_ip_purged_at = now


def answers_with_ip_due(tenant_id: int, doc_type_id: int, answered_by: datetime, after_id: int,
                        limit: int) -> list[ConsentRequest]:
    """The answers to questions about a doc type's waybills, given by ``answered_by``, whose
    IP is still whole, in id order after ``after_id``; a disputed waybill holds its answers
    as it holds its receipts. Rows another worker is purging are skipped."""
    return db.session.execute(
        select(ConsentRequest).join(Waybill, Waybill.id == ConsentRequest.waybill_id)
        .where(ConsentRequest.tenant_id == tenant_id, ConsentRequest.answer_ip_purged_at.is_(None),
               ConsentRequest.answered_at <= answered_by, ConsentRequest.id > after_id,
               Waybill.doc_type_id == doc_type_id,
               or_(Waybill.reconcile_decision.is_(None), Waybill.reconcile_decision != "disputed"))
        .order_by(ConsentRequest.id).limit(limit).with_for_update(of=ConsentRequest, skip_locked=True)
    ).scalars().all()


def forget_answer_ips_of(waybill: Waybill, now: datetime) -> None:
    """A consignee's erasure: every answer about the waybill loses its IP now."""
    for request in db.session.execute(
            select(ConsentRequest).where(ConsentRequest.tenant_id == waybill.tenant_id,
                                         ConsentRequest.waybill_id == waybill.id,
                                         ConsentRequest.answered_at.isnot(None),
                                         ConsentRequest.answer_ip_purged_at.is_(None))).scalars():
        forget_answer_ip(request, now)


def _grant_standing(request, waybill, now):
    """One standing consent in force per consignee and address: a new one replaces it."""
    for old in active_standing(request.tenant_id, waybill.consignee_phone, waybill.consignee_address, now):
        old.revoked_at = now
    standing = StandingConsent(
        public_id=uuid.uuid4().hex, tenant_id=request.tenant_id, phone_hash=phone_key(waybill.consignee_phone),
        address_hash=address_key(waybill.consignee_address), address=waybill.consignee_address,
        choice=request.choice, place=request.place, request_id=request.id, created_at=now,
        expires_at=now + timedelta(days=current_app.config["CONSENT_STANDING_DAYS"]))
    db.session.add(standing)
    db.session.flush()
    audit.record(request.tenant_id, "consent.standing_granted", "consignee", f"waybill:{waybill.number}",
                 {"standing": standing.public_id, "choice": standing.choice, "place": standing.place,
                  "expires_at": isoformat(standing.expires_at)})


def revoke_standing(token: str) -> dict:
    """Revoke every standing consent for the link's consignee and address. Works on an
    expired or answered link too: the link in any SMS is the consignee's way to say no."""
    request = find_request(token, for_update=True)
    waybill = request.waybill
    now = utcnow()
    revoked = active_standing(request.tenant_id, waybill.consignee_phone, waybill.consignee_address, now)
    for standing in revoked:
        standing.revoked_at = now
    if revoked:
        audit.record(request.tenant_id, "consent.standing_revoked", "consignee", f"waybill:{waybill.number}",
                     {"request": request.public_id, "standing": [s.public_id for s in revoked]})
    return {"revoked": len(revoked)}


# --- what a drop may rely on ----------------------------------------------------------

@dataclass(frozen=True)
class Consent:
    """A consent a drop may rely on: one answer for this waybill, or a standing one."""

    kind: str                 # one_off | standing
    choice: str
    place: str | None
    answered_at: datetime
    request_id: str           # the consent request (and so the SMS) that was answered
    channel: str
    sent_to: str              # masked
    audit_seq: int | None
    standing_id: str | None = None
    client: dict | None = None   # the page that answered: platform and user agent, never the address

    def evidence(self) -> dict:
        return {"kind": self.kind, "choice": self.choice, "place": self.place,
                "answered_at": isoformat(self.answered_at), "request": self.request_id, "channel": self.channel,
                "sent_to": self.sent_to, "audit_seq": self.audit_seq, "standing_id": self.standing_id,
                "client": self.client}

    def label(self) -> str:
        """The PDF's words for how the consignee agreed: ``短信确认 12-01 18:02``."""
        how = "微信确认" if self.channel == "wechat" else "短信确认"
        when = china_clock(self.answered_at)
        return f"长期授权，{how} {when}" if self.kind == "standing" else f"{how} {when}"


def consent_for(waybill: Waybill, now=None) -> Consent | None:
    """The latest answer for this waybill decides (a reschedule withdraws an earlier
    "locker"); without one, a standing consent for the consignee's phone and address."""
    latest = db.session.execute(
        select(ConsentRequest).where(ConsentRequest.tenant_id == waybill.tenant_id,
                                     ConsentRequest.waybill_id == waybill.id,
                                     ConsentRequest.answered_at.isnot(None))
        .order_by(ConsentRequest.answered_at.desc(), ConsentRequest.id.desc()).limit(1)).scalar_one_or_none()
    if latest is not None:
        if latest.choice == "reschedule":
            return None
        return Consent("one_off", latest.choice, latest.place, latest.answered_at, latest.public_id,
                       latest.channel, latest.sent_to_masked, latest.answer_audit_seq, client=_answered_on(latest))
    standing = active_standing(waybill.tenant_id, waybill.consignee_phone, waybill.consignee_address, now)
    if not standing:
        return None
    first = standing[0]
    origin = first.request
    return Consent("standing", first.choice, first.place, origin.answered_at, origin.public_id, origin.channel,
                   origin.sent_to_masked, origin.answer_audit_seq, standing_id=first.public_id,
                   client=_answered_on(origin))


def _answered_on(request: ConsentRequest) -> dict:
    """The answering client as the evidence shows it: the page, not its address (the IP
    stays in the request's row and its audit event)."""
    client = request.answer_client or {}
    return {"platform": client.get("platform"), "user_agent": client.get("user_agent")}


def courier_view(principal: Principal, number: str) -> dict:
    """What the courier sees before dropping: the consent in force and the open question."""
    waybill = get_waybill(principal, number)
    consent = consent_for(waybill)
    newest = db.session.execute(
        select(ConsentRequest).where(ConsentRequest.tenant_id == waybill.tenant_id,
                                     ConsentRequest.waybill_id == waybill.id)
        .order_by(ConsentRequest.id.desc()).limit(1)).scalar_one_or_none()
    latest = None
    if newest is not None:
        latest = {"id": newest.public_id, "state": state_of(newest), "options": newest.options,
                  "created_at": newest.created_at, "expires_at": newest.expires_at,
                  "answer": _answer_out(newest)}
    return {"number": waybill.number, "status": waybill.status,
            "consent": consent.evidence() if consent else None, "latest_request": latest}


def page_state(token: str) -> tuple[str, list[dict]]:
    """For the page behind the SMS: ``unknown | expired | answered | open`` and the standing
    consents the consignee may revoke there, whatever the state of the question."""
    try:
        request = find_request(token)
    except NotFound:
        return "unknown", []
    waybill = request.waybill
    return state_of(request), [_standing_out(s) for s in active_standing(
        request.tenant_id, waybill.consignee_phone, waybill.consignee_address)]
