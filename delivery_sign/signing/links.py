"""Sign links as the courier makes them: one QR for one or several waybills of one consignee."""
import functools
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, func, select

from ..core import audit
from ..core.auth import Principal, hash_secret
from ..core.clock import utcnow
from ..core.errors import Conflict, Forbidden, Gone, NotFound, Problem, ValidationFailed, field_error
from ..core.ratelimit import token_limits
from ..core.transactions import reading
from ..extensions import db
from ..receipts.models import Photo
from ..waybills.models import Waybill
from ..waybills import transitions
from ..waybills.services import mark_out_for_delivery, scoped, waybill_cancelled
from .models import SignLink, SignLinkWaybill
from .sweep import schedule_sweep

# 24 random bytes: 192 bits (SPEC asks ≥ 128), 32 URL-safe characters — a QR that
# still scans from a cracked phone screen.
TOKEN_BYTES = 24
# Read off the waybills' state machine (waybills/transitions.py), not restated here.
LINKABLE = transitions.sources_of("out_for_delivery")
# A link is worth acting on only while every one of its waybills can still be signed off.
DELIVERABLE = transitions.sources_of("signed")


class Locked(Problem):
    status, slug, title = 423, "link-locked", "Sign link locked"


def sign_url(token: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}/s/{token}"


def create_link(principal: Principal, numbers: list[str], courier_location: dict | None,
                assisted: bool = False) -> tuple[SignLink, str]:
    if principal.role not in ("courier", "dispatcher", "admin"):
        raise Forbidden("Sign links are made by couriers and dispatchers.")
    numbers = list(dict.fromkeys(numbers))
    waybills = db.session.execute(
        scoped(principal).where(Waybill.number.in_(numbers)).with_for_update(of=Waybill)
    ).unique().scalars().all()
    found = {w.number for w in waybills}
    missing = [n for n in numbers if n not in found]
    if missing:
        raise NotFound(f"No waybill {missing[0]!r}.")
    errors = []
    for i, waybill in enumerate(sorted(waybills, key=lambda w: numbers.index(w.number))):
        transitions.check(waybill, "out_for_delivery")
        if principal.role == "courier" and waybill.courier_id != principal.user_id:
            raise NotFound(f"No waybill {waybill.number!r}.")
    if len({w.consignee_phone for w in waybills}) > 1:
        errors.append(field_error("waybills", "consignee_mismatch",
                                  "Waybills in one link must share the consignee phone."))
    if len({w.org_unit_id for w in waybills}) > 1:
        # One link, one unit: its page and status must not show one unit's waybill to another's staff.
        errors.append(field_error("waybills", "org_unit_mismatch",
                                  "Waybills in one link must belong to the same org unit."))
    if len({w.doc_type_id for w in waybills}) > 1:
        errors.append(field_error("waybills", "doc_type_mismatch",
                                  "Waybills in one link must share the document type."))
    if errors:
        raise ValidationFailed(errors)

    doc_type = waybills[0].doc_type
    policy = dict(doc_type.policy)
    if assisted:
        # Issue 14: the receiver signs on the courier's phone, so a code to a phone proves them.
        if policy.get("assisted", "otp_required") == "forbidden":
            raise Conflict("This document type does not allow an assisted sign-off on the courier's device.",
                           slug="assisted-forbidden",
                           errors=[field_error("assisted", "assisted_forbidden", "Assisted sign-off is forbidden.")])
        policy["otp"] = "required"
    now = utcnow()
    _revoke_open_links([w.id for w in waybills], now)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    courier_id = principal.user_id if principal.role == "courier" else waybills[0].courier_id
    link = SignLink(
        tenant_id=principal.tenant_id, token_hash=hash_secret(token), doc_type_id=doc_type.id,
        policy=policy, assisted=assisted, consignee_phone=waybills[0].consignee_phone, courier_id=courier_id,
        created_by=principal.actor, courier_location=courier_location, created_at=now,
        expires_at=now + timedelta(seconds=doc_type.policy["link_ttl_s"]),
    )
    db.session.add(link)
    db.session.flush()
    db.session.add_all([SignLinkWaybill(link_id=link.id, waybill_id=w.id) for w in waybills])
    events = [("link.created", principal.actor, f"link:{link.id}",
               {"waybills": [w.number for w in waybills], "expires_at": link.expires_at.isoformat() + "Z",
                "courier_location": courier_location is not None, "assisted": assisted})]
    for waybill in waybills:
        if mark_out_for_delivery(waybill, now):
            events.append(("waybill.out_for_delivery", principal.actor, f"waybill:{waybill.number}",
                           {"link": link.id}))
    audit.record_many(principal.tenant_id, events)
    schedule_sweep(link)
    db.session.flush()
    return link, token


def drop_link(waybill: Waybill, courier_id: int | None, actor: str, now, ttl: timedelta, *,
              create: bool) -> SignLink | None:
    """The live link of purpose ``drop`` for a waybill's consented drop (consent.drops): its
    photos, receipt, PDF job and sweep then work as a sign link's. Its token is never told to
    anyone. Made on the first photo (``create``), with its sweep scheduled like any link's."""
    link = db.session.execute(
        select(SignLink).join(SignLinkWaybill, SignLinkWaybill.link_id == SignLink.id)
        .where(SignLinkWaybill.waybill_id == waybill.id, SignLink.purpose == "drop", SignLink.used_at.is_(None),
               SignLink.expires_at > now).order_by(SignLink.id.desc()).limit(1)).scalar_one_or_none()
    if link is not None or not create:
        return link
    link = SignLink(
        tenant_id=waybill.tenant_id, token_hash=hash_secret(secrets.token_urlsafe(TOKEN_BYTES)),
        doc_type_id=waybill.doc_type_id, policy=dict(waybill.doc_type.policy), consignee_phone=waybill.consignee_phone,
        courier_id=courier_id, created_by=actor, created_at=now, expires_at=now + ttl, purpose="drop")
    db.session.add(link)
    db.session.flush()
    db.session.add(SignLinkWaybill(link_id=link.id, waybill_id=waybill.id))
    schedule_sweep(link)   # photos of a drop never made are removed like a sign link's
    return link


def _revoke_open_links(waybill_ids, now, *, skip_locked=False):
    """A new QR for a waybill retires the older ones, so one delivery has one live link.

    With `skip_locked`, a link that a sign-off holds locked is passed over: that sign-off
    locks the link and then the waybill, while the caller (a drop, a cancel) holds the
    waybill, so waiting here would deadlock. The sign-off then finds the waybill final and
    answers 410, and the link it held is dead anyway."""
    query = (
        select(SignLink).join(SignLinkWaybill, SignLinkWaybill.link_id == SignLink.id)
        .where(SignLinkWaybill.waybill_id.in_(waybill_ids), SignLink.purpose == "sign", SignLink.used_at.is_(None),
               SignLink.revoked_at.is_(None), SignLink.expires_at > now))
    if skip_locked:
        query = query.with_for_update(of=SignLink, skip_locked=True)
    open_links = db.session.execute(query).scalars().unique().all()
    for link in open_links:
        link.revoked_at = now
    return open_links


def waybill_ids_of_link(link_id: int):
    """The ids of the waybills a link is for, as a subquery (its primary key's prefix).
    Registered with receipts by ``create_app``: a receipt covers its link's waybills."""
    return select(SignLinkWaybill.waybill_id).where(SignLinkWaybill.link_id == link_id)


def retire_links_of(waybill: Waybill, principal: Principal, reason: str) -> list[SignLink]:
    """Retire the live sign links of a waybill that can no longer be signed for (cancelled,
    dropped), in the caller's transaction: they stop being pending on the courier's screen."""
    retired = _revoke_open_links([waybill.id], utcnow(), skip_locked=True)
    if retired:
        audit.record_many(principal.tenant_id, [
            ("link.revoked", principal.actor, f"link:{link.id}", {"reason": reason, "waybill": waybill.number})
            for link in retired])
    return retired


@waybill_cancelled.connect
def _retire_links_of_cancelled(waybill, principal):
    """Cancel retires the waybill's live links, in the cancelling transaction."""
    retire_links_of(waybill, principal, "waybill_cancelled")


def token_exists(token: str) -> bool:
    """Whether a token names a link in any state (a used link is not a prober's miss).
    A read of its own, so a writing request does not take SQLite's write lock early."""
    if not token or len(token) > 100:
        return False
    with reading():
        return db.session.execute(
            select(SignLink.id).where(SignLink.token_hash == hash_secret(token))).first() is not None


# Rate limits of every route with a sign token in its URL (core/ratelimit.py says why).
recipient_limits = token_limits(token_exists)


@functools.lru_cache(maxsize=8)
def _link_query(for_update: bool, options: tuple):
    # Built once per shape, the token hash a parameter: building the statement and its
    # cache key on every call cost more than SQLite running it (issue 16).
    # Drop records (consent.drops) are links too, but never a recipient's or a QR's.
    query = select(SignLink).where(SignLink.token_hash == bindparam("token_hash"), SignLink.purpose == "sign")
    if for_update:
        query = query.with_for_update()
    return query.options(*options)


def find_link(token: str, *, for_update=False, options=()) -> SignLink:
    """The link of a token, or 404 — the same answer whatever tenant might own it."""
    if not token or len(token) > 100:
        raise NotFound("No such sign link.")
    link = db.session.execute(_link_query(for_update, tuple(options)),
                              {"token_hash": hash_secret(token)}).unique().scalar_one_or_none()
    if link is None:
        raise NotFound("No such sign link.")
    return link


def state_of(link: SignLink, now=None) -> str:
    now = now or utcnow()
    if link.used_at is not None:
        return "signed"
    if link.revoked_at is not None or link.expires_at <= now:
        return "expired"
    return "opened" if link.opened_at is not None else "pending"


_STATUSES = (select(Waybill.status).join(SignLinkWaybill, SignLinkWaybill.waybill_id == Waybill.id)
             .where(SignLinkWaybill.link_id == bindparam("link_id")))


def undeliverable(link: SignLink) -> str | None:
    """``cancelled`` or ``completed`` when a waybill of the link can no longer be delivered,
    whatever the link itself says (a link left open by an older release, a change behind the
    API); ``None`` while all can."""
    if "waybills" in link.__dict__:
        statuses = {w.status for w in link.waybills}
    else:
        # The statuses alone: a photo upload needs no waybill with its items, anomalies,
        # doc type, unit and courier (the relationship loads all of them).
        statuses = set(db.session.execute(_STATUSES, {"link_id": link.id}).scalars())
    return undeliverable_of(statuses)


def undeliverable_of(statuses) -> str | None:
    """``undeliverable``'s answer for a link whose waybills have these ``statuses``."""
    if "cancelled" in statuses:
        return "cancelled"
    return "completed" if set(statuses) - set(DELIVERABLE) else None


def closed_because(link: SignLink) -> str | None:
    """For the courier's screen: ``cancelled``, ``dropped`` or ``completed`` when a waybill of
    the link can no longer be delivered through it, ``None`` while all can."""
    reason = undeliverable(link)
    if reason == "completed" and any(w.status == "dropped" for w in link.waybills):
        return "dropped"
    return reason


def recipient_state(link: SignLink) -> str:
    """The link as its recipient meets it, decided in this order: ``used`` (signed), then
    ``cancelled`` or ``completed`` (a waybill that can no longer be delivered: cancelling is
    what retired the link, so it is said before ``expired``), then ``expired``, ``locked``;
    else ``usable``. The API's 410/423 and the page's explanation both read it."""
    state = state_of(link)
    if state == "signed":
        return "used"
    reason = undeliverable(link)
    if reason:
        return reason
    if state == "expired":
        return "expired"
    return "locked" if link.locked_at is not None else "usable"


_REFUSALS = {
    "used": (Gone, "link-used", "This delivery has already been signed for."),
    "cancelled": (Gone, "waybill-cancelled", "This delivery was cancelled, so there is nothing to sign. "
                                             "If you expected it, contact the sender or the courier."),
    "completed": (Gone, "waybill-completed", "This delivery has already been completed; there is nothing more "
                                             "to sign."),
    "expired": (Gone, "link-expired", "This sign link has expired; ask the courier for a new QR code."),
    "locked": (Locked, None, "Too many wrong codes; ask the courier for a new QR code."),
}


def refuse(state: str) -> None:
    """Raise the API's answer for a ``recipient_state`` other than ``usable``."""
    if state != "usable":
        problem, slug, detail = _REFUSALS[state]
        raise problem(detail, slug=slug)


def check_deliverable(link: SignLink) -> None:
    """410 for a link whose delivery was cancelled or already completed."""
    reason = undeliverable(link)
    if reason:
        refuse(reason)


# A link's state as columns (issue 16): the recipient's reads that only need to know the
# link may be acted on (the view, an upload before its decode) hydrate no entity.
_ROW_LINKS = SignLink.__table__
_LINK_ROW = (select(_ROW_LINKS.c.id, _ROW_LINKS.c.tenant_id, _ROW_LINKS.c.expires_at, _ROW_LINKS.c.opened_at,
                    _ROW_LINKS.c.used_at, _ROW_LINKS.c.revoked_at, _ROW_LINKS.c.locked_at)
             .where(_ROW_LINKS.c.token_hash == bindparam("token_hash"), _ROW_LINKS.c.purpose == "sign"))


def row_state(link, statuses: set) -> str:
    """``recipient_state`` of a link read as a row (``state_of``'s columns and
    ``locked_at``), given its waybills' statuses: the same decisions in the same order."""
    state = state_of(link)
    if state == "signed":
        return "used"
    reason = undeliverable_of(statuses)
    if reason:
        return reason
    if state == "expired":
        return "expired"
    return "locked" if link.locked_at is not None else "usable"


def link_row(statement, token: str, params: dict | None = None):
    """``find_link``'s 404 for a link read as columns: ``statement`` selects them by the
    bound ``token_hash`` (and ``params``, its other values); the row, never an entity in
    the session."""
    if not token or len(token) > 100:
        raise NotFound("No such sign link.")
    link = db.session.execute(statement, {**(params or {}), "token_hash": hash_secret(token)}).first()
    if link is None:
        raise NotFound("No such sign link.")
    return link


def _waybill_flags():
    """Two columns for a link row: whether a waybill of the link is cancelled, and whether
    one is in any other state it cannot be signed from (``undeliverable``'s two answers),
    so the link and its waybills' states are one statement (issue 16)."""
    w, slw = Waybill.__table__, SignLinkWaybill.__table__

    def any_waybill(condition):
        return (select(w.c.id).join(slw, slw.c.waybill_id == w.c.id)
                .where(slw.c.link_id == _ROW_LINKS.c.id, w.c.tenant_id == _ROW_LINKS.c.tenant_id, condition)
                .exists())

    return (any_waybill(w.c.status == "cancelled").label("any_cancelled"),
            any_waybill(w.c.status.not_in(list(DELIVERABLE))).label("any_final"))


_LINK_STATE = select(*_LINK_ROW.selected_columns, *_waybill_flags()).where(
    _ROW_LINKS.c.token_hash == bindparam("token_hash"), _ROW_LINKS.c.purpose == "sign")
# The same under the link's row lock (PostgreSQL: FOR UPDATE OF sign_links; SQLite's
# write transaction is the lock), with what an upload needs: the policy and how many
# photos the link already has, withdrawn ones included (``receipts.photos.uploads_of``).
_PHOTOS_OF_LINK = Photo.__table__
_LOCKED_FOR_UPLOAD = (
    select(*_LINK_STATE.selected_columns, _ROW_LINKS.c.policy,
           select(func.count(_PHOTOS_OF_LINK.c.id))
           .where(_PHOTOS_OF_LINK.c.link_id == _ROW_LINKS.c.id).scalar_subquery().label("uploads"))
    .where(_ROW_LINKS.c.token_hash == bindparam("token_hash"), _ROW_LINKS.c.purpose == "sign")
    .with_for_update(of=_ROW_LINKS))


def flags_state(link) -> str:
    """``row_state`` of a row read with ``_waybill_flags``' columns."""
    return row_state(link, ({"cancelled"} if link.any_cancelled else set())
                     | ({"no longer deliverable"} if link.any_final else set()))


def usable_link_row(token: str, *, for_upload=False):
    """``usable_link``'s answers (404, 410, 423) for a link read as columns, in one
    statement: the row (``id``, ``tenant_id`` and the state columns), never an entity in
    the session. ``for_upload``: under the link's row lock, with ``policy`` and
    ``uploads`` (the photos it has) too."""
    link = link_row(_LOCKED_FOR_UPLOAD if for_upload else _LINK_STATE, token)
    refuse(flags_state(link))
    return link


def usable_link(token: str, *, for_update=False, options=()) -> SignLink:
    """A link the recipient may act on: 410 once used, expired or no longer deliverable,
    423 when locked."""
    link = find_link(token, for_update=for_update, options=options)
    refuse(recipient_state(link))
    return link


def link_for_staff(principal: Principal, token: str) -> SignLink:
    link = find_link(token)
    if link.tenant_id != principal.tenant_id:
        raise NotFound("No such sign link.")
    # The same reach as waybills.services.scoped: a courier their own links, others their units.
    if principal.role == "courier":
        if link.courier_id != principal.user_id:
            raise NotFound("No such sign link.")
    elif principal.org_unit_ids is not None and not any(w.org_unit_id in principal.org_unit_ids
                                                        for w in link.waybills):
        raise NotFound("No such sign link.")
    return link
