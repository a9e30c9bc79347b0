"""Notices, consents, requests by phone number, and the record of who looked (issue 19).

Retention and its purge are in ``retention``; this module holds the rest of the privacy
domain's operations. They ``add`` and ``flush``; the request's one commit is the caller's.
"""
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select

from ..accounts.models import Tenant
from ..core import audit
from ..core.auth import Principal
from ..core.clock import isoformat, utcnow
from ..core.errors import Forbidden
from ..extensions import db
from .models import PrivacyNotice

# The product's own wording, shown until a tenant writes its own (version 0). Placeholders:
# {handler} the tenant's name, {days} the retention of raw data in days.
DEFAULT_NOTICE = (
    "{handler}（个人信息处理者）为证明本次送货签收，将收集：您的手写签名及书写时间、现场照片、"
    "位置（经您同意）和设备信息（浏览器、IP 地址）。手写签名和行踪属于敏感个人信息，需您单独同意。"
    "原始笔迹、照片原图、精确位置和 IP 地址保存 {days} 天后删除，仅保留其哈希值和签收回执。"
    "您可向{handler}查询、复制或删除您的个人信息。"
)
RETENTION_DEFAULTS = {"strokes": 1095, "photos": 1095, "location": 1095, "ip": 1095, "receipt": 3650}
RAW_PARTS = ("strokes", "photos", "location", "ip")


def retention_of(policy: dict) -> dict:
    """A policy's retention in days per part, the defaults filling what it does not say."""
    return {**RETENTION_DEFAULTS, **(policy.get("retention_days") or {})}


@dataclass(frozen=True)
class Notice:
    version: int
    text: str
    created_at: str | None


# Built once (every recipient view reads it): the statement, not the query, was the cost.
# Table columns, not the entity: the view hydrates nothing (issue 16).
_NOTICES = PrivacyNotice.__table__
_CURRENT_NOTICE = (select(_NOTICES.c.version, _NOTICES.c.text, _NOTICES.c.created_at)
                   .where(_NOTICES.c.tenant_id == bindparam("tenant_id"))
                   .order_by(_NOTICES.c.version.desc()).limit(1))


def current_notice(tenant_id: int) -> Notice:
    row = db.session.execute(_CURRENT_NOTICE, {"tenant_id": tenant_id}).first()
    return _notice(*(row or (None, None, None)))


def current_notice_columns(tenant_id_column) -> list:
    """The tenant's current notice as columns of a caller's own read (the sign view reads it
    with its link, in one statement): ``notice_version``, ``notice_text``,
    ``notice_created_at``, each the latest version's; read them back with ``notice_of``."""
    def latest(column):
        return (select(column).where(_NOTICES.c.tenant_id == tenant_id_column)
                .order_by(_NOTICES.c.version.desc()).limit(1).scalar_subquery())

    return [latest(_NOTICES.c.version).label("notice_version"), latest(_NOTICES.c.text).label("notice_text"),
            latest(_NOTICES.c.created_at).label("notice_created_at")]


def notice_of(row) -> Notice:
    """The notice of a row read with ``current_notice_columns``."""
    return _notice(row.notice_version, row.notice_text, row.notice_created_at)


def _notice(version, text, created_at) -> Notice:
    if version is None:
        return Notice(0, DEFAULT_NOTICE, None)
    return Notice(version, text, isoformat(created_at))


def notice_history(tenant_id: int) -> list[PrivacyNotice]:
    return db.session.execute(
        select(PrivacyNotice).where(PrivacyNotice.tenant_id == tenant_id)
        .order_by(PrivacyNotice.version.desc())).scalars().all()


def publish_notice(principal: Principal, text: str) -> PrivacyNotice:
    """A new version of the tenant's notice; earlier versions stay, as sign-offs cite them."""
    if principal.role not in ("admin", "system"):
        raise Forbidden("Only an admin may change the privacy notice.")
    # The tenant's audit head lock orders concurrent publishers, so versions have no clash.
    audit.record(principal.tenant_id, "privacy.notice_published", principal.actor, f"tenant:{principal.tenant_id}", {})
    latest = db.session.execute(select(func.max(PrivacyNotice.version))
                                .where(PrivacyNotice.tenant_id == principal.tenant_id)).scalar() or 0
    notice = PrivacyNotice(tenant_id=principal.tenant_id, version=latest + 1, text=text, created_by=principal.actor,
                           created_at=utcnow())
    db.session.add(notice)
    db.session.flush()
    return notice


def sign_view_privacy(tenant_id: int, policy: dict, *, tenant_name: str | None = None,
                      notice: Notice | None = None) -> dict:
    """The ``privacy`` block of ``GET /sign/<token>``: what the recipient is told
    (``tenant_name`` and ``notice`` when the caller has already read them)."""
    handler = tenant_name if tenant_name is not None else db.session.get(Tenant, tenant_id).name
    notice = notice or current_notice(tenant_id)
    retention = retention_of(policy)
    raw_days = max(retention[p] for p in RAW_PARTS)
    return {
        "version": notice.version,
        "text": _fill(notice.text, handler, raw_days),
        "handler": handler,
        "retention": {"raw_days": raw_days, "receipt_days": retention["receipt"], "days": retention},
        "collected": ["handwriting", "photos", "location", "device"],
        "purpose": "proof_of_delivery",
        "consents": policy.get("consents", "optional"),
    }


def _fill(text: str, handler: str, days: int) -> str:
    # str.replace, not str.format: a tenant's text may contain braces of its own.
    return text.replace("{handler}", handler).replace("{days}", str(days))


def notice_exists(tenant_id: int, version: int) -> bool:
    if version == 0:
        return True
    return db.session.execute(select(PrivacyNotice.id).where(
        PrivacyNotice.tenant_id == tenant_id, PrivacyNotice.version == version)).first() is not None


# --- who looked (issue 19.4) -----------------------------------------------------------

VIEW_EVENT = "evidence.viewed"


def record_view(tenant_id: int, receipt_public_id: str, what: str, principal: Principal | None, **detail) -> None:
    """A staff member, an API key or a signed link read a receipt's personal data: an
    audit event on the receipt, so a leak can be traced to who saw what, when."""
    actor = principal.actor if principal is not None else "signed_link"
    audit.record(tenant_id, VIEW_EVENT, actor, f"receipt:{receipt_public_id}",
                 {"what": what, **{k: v for k, v in detail.items() if v is not None}})


def views_of(principal: Principal, receipt, limit: int = 500) -> list[dict]:
    """The view records of one receipt (the caller may see it) and the phone reveals of
    its waybills, newest first."""
    from ..core.audit import AuditEvent

    subjects = [f"receipt:{receipt.public_id}"] + [f"waybill:{w['number']}"
                                                   for w in receipt.evidence.get("waybills") or []]
    rows = db.session.execute(
        select(AuditEvent).where(AuditEvent.tenant_id == principal.tenant_id, AuditEvent.subject.in_(subjects),
                                 AuditEvent.event_type.in_((VIEW_EVENT, "pii.revealed")))
        .order_by(AuditEvent.seq.desc()).limit(limit)).scalars().all()
    return [{"seq": e.seq, "actor": e.actor, "what": e.data.get("what") or "phone",
             "photo_id": e.data.get("photo_id"),
             "variant": e.data.get("variant"), "at": e.created_at} for e in rows]


# --- requests by phone number (issue 19.3) --------------------------------------------

@dataclass
class SubjectData:
    """What the tenant holds under one phone number: its waybills (as consignee) and the
    receipts of those waybills or signed by someone who typed that number."""

    phone_masked: str
    waybills: list
    receipts: list


def _admin(principal: Principal) -> None:
    if principal.role not in ("admin", "system"):
        raise Forbidden("Only an admin (or an API key) may answer requests about a person's data.")


def find_subject(principal: Principal, phone: str) -> SubjectData:
    """Index probes on the keyed phone hash of waybills and receipts; no scan."""
    from ..core.masking import mask_phone, normalize_phone, phone_key
    from ..receipts.models import Receipt
    from ..waybills.models import Waybill

    _admin(principal)
    key = phone_key(phone)
    waybills = db.session.execute(
        select(Waybill).where(Waybill.tenant_id == principal.tenant_id, Waybill.consignee_phone_key == key)
        .order_by(Waybill.id)).scalars().all()
    receipt_ids = [w.receipt_public_id for w in waybills if w.receipt_public_id]
    receipts = db.session.execute(
        select(Receipt).where(Receipt.tenant_id == principal.tenant_id,
                              (Receipt.signer_phone_key == key) | Receipt.public_id.in_(receipt_ids))
        .order_by(Receipt.id)).scalars().all()
    return SubjectData(mask_phone(normalize_phone(phone)), waybills, receipts)


def _receipt_parts(receipt) -> dict:
    from .retention import purged_parts

    done = purged_parts(receipt.evidence)
    return {part: ("purged" if part in done else "kept") for part in RAW_PARTS}


def _held_waybill(waybill) -> str | None:
    """Why a waybill's data cannot be erased now, if it cannot."""
    from ..waybills.models import FINAL_STATUSES

    if waybill.reconcile_decision == "disputed":
        return "disputed"
    if waybill.status not in FINAL_STATUSES:
        return "in_delivery"   # the courier still needs the phone and address to deliver
    return None


def subject_summary(principal: Principal, phone: str) -> dict:
    from ..core.masking import mask_name

    found = find_subject(principal, phone)
    audit.record(principal.tenant_id, "privacy.subject_looked_up", principal.actor, "privacy:subject",
                 {"phone": found.phone_masked, "waybills": len(found.waybills), "receipts": len(found.receipts)})
    return {
        "phone_masked": found.phone_masked,
        "waybills": [{"number": w.number, "status": w.status, "consignee_name_masked": mask_name(w.consignee_name),
                      "created_at": w.created_at, "receipt_id": w.receipt_public_id, "hold": _held_waybill(w)}
                     for w in found.waybills],
        "receipts": [{"receipt_id": r.public_id, "created_at": r.created_at, "outcome": r.outcome,
                      "role": "signer" if r.signer_phone_key and r.signer_phone_key == _key(phone) else "consignee",
                      "parts": _receipt_parts(r)} for r in found.receipts],
    }


def _key(phone):
    from ..core.masking import phone_key

    return phone_key(phone)


def subject_export(principal: Principal, phone: str) -> dict:
    """Everything held, readable by the person (PIPL art. 45): full waybill data, each
    receipt's evidence with IP addresses masked, and the retention of each part."""
    from ..core.masking import mask_ip

    from ..consent.services import standing_of_phone

    found = find_subject(principal, phone)
    audit.record(principal.tenant_id, "privacy.subject_exported", principal.actor, "privacy:subject",
                 {"phone": found.phone_masked, "waybills": len(found.waybills), "receipts": len(found.receipts)})
    receipts = []
    for receipt in found.receipts:
        evidence = dict(receipt.evidence)
        client = dict(evidence.get("client") or {})
        client["ip"] = mask_ip(client.get("ip"))
        evidence["client"] = client
        receipts.append({"receipt_id": receipt.public_id, "created_at": receipt.created_at,
                         "evidence_hash": receipt.evidence_hash, "parts": _receipt_parts(receipt),
                         "retention_days": retention_of(evidence.get("policy") or {}), "evidence": evidence})
    return {
        "phone_masked": found.phone_masked,
        "exported_at": utcnow(),
        "waybills": [{"number": w.number, "status": w.status, "created_at": w.created_at,
                      "consignee": {"name": w.consignee_name, "phone": w.consignee_phone,
                                    "address": w.consignee_address},
                      "items": [{"sku": i.sku, "name": i.name, "qty": float(i.qty), "unit": i.unit} for i in w.items],
                      "receipt_id": w.receipt_public_id, "hold": _held_waybill(w)} for w in found.waybills],
        "receipts": receipts,
        "standing_consents": [{"id": c.public_id, "address": c.address, "choice": c.choice, "place": c.place,
                               "created_at": c.created_at, "expires_at": c.expires_at, "revoked_at": c.revoked_at}
                              for c in standing_of_phone(principal.tenant_id, phone)],
    }


def subject_erase(principal: Principal, phone: str) -> dict:
    """Erase or anonymise what no hold keeps (PIPL art. 47): each waybill's consignee is
    masked and its receipts lose their raw parts and the names in their evidence; the
    person's standing consents end and keep only the district of their address. The signed
    receipt PDF stays, as the proof of delivery, until the receipt's retention ends."""
    from ..consent.services import forget_answer_ips_of, forget_standing, standing_of_phone
    from ..core.masking import mask_phone
    from ..signing.models import SignLink, SignLinkWaybill
    from ..waybills.services import anonymise_consignee
    from .retention import held, purge_receipt

    found = find_subject(principal, phone)
    erased, kept = [], []
    for waybill in found.waybills:
        reason = _held_waybill(waybill)
        if reason:
            kept.append({"waybill": waybill.number, "reason": reason})
            continue
        anonymise_consignee(principal.tenant_id, waybill, principal.actor)
        forget_answer_ips_of(waybill, utcnow())
        for link in db.session.execute(select(SignLink).join(SignLinkWaybill, SignLinkWaybill.link_id == SignLink.id)
                                       .where(SignLinkWaybill.waybill_id == waybill.id)).scalars():
            link.consignee_phone = mask_phone(link.consignee_phone)
        erased.append({"waybill": waybill.number})
    # A standing consent is the person's own instruction, not delivery data: no hold keeps it.
    for standing in standing_of_phone(principal.tenant_id, phone):
        forget_standing(standing, utcnow())
        erased.append({"standing_consent": standing.public_id})
    erased_numbers = {e["waybill"] for e in erased if "waybill" in e}
    for receipt in found.receipts:
        numbers = {w["number"] for w in receipt.evidence.get("waybills") or []}
        if held(receipt):
            kept.append({"receipt": receipt.public_id, "reason": "disputed"})
            continue
        if not (numbers & erased_numbers) and receipt.signer_phone_key != _key(phone):
            continue   # a receipt of a waybill that is held
        purge_receipt(receipt, list(RAW_PARTS), principal.actor, "erasure", rewrite=_anonymised)
        receipt.signer_name = (receipt.evidence.get("signer") or {"name": ""})["name"]   # a drop has none
        receipt.signer_phone_key = None
        erased.append({"receipt": receipt.public_id})
    audit.record(principal.tenant_id, "privacy.subject_erased", principal.actor, "privacy:subject",
                 {"phone": found.phone_masked, "erased": erased, "kept": kept})
    return {"phone_masked": found.phone_masked, "erased": erased, "kept": kept}


def _anonymised(evidence: dict) -> None:
    """Names and addresses in the evidence masked (``purge_receipt`` re-hashes it and records
    the new hash, so ``/audit/verify`` still holds)."""
    from ..core.masking import mask_address, mask_name

    for waybill in evidence.get("waybills") or []:
        consignee = waybill.get("consignee") or {}
        consignee["name"] = mask_name(consignee.get("name"))
        consignee["address"] = mask_address(consignee.get("address"))
    if evidence.get("signer"):        # a consented drop has no signer
        evidence["signer"]["name"] = mask_name(evidence["signer"]["name"])
    evidence["retention"]["anonymised"] = True
