"""SMS behind one interface, chosen by ``SMS_BACKEND``: console (log), outbox (table), http.

Messages are templates in Chinese; the backends only carry text to a phone number.
"""
from flask import current_app
from sqlalchemy import select

from ...extensions import db
from ..clock import isoformat
from ..masking import mask_phone
from .backends import ConsoleSms, HttpSms, OutboxSms, SmsError, SmsMessage

__all__ = ["send_sms", "outbox", "SmsError", "OTP_TEMPLATE"]

OTP_TEMPLATE = "【{tenant}】您的签收验证码为 {code}，5 分钟内有效。如非本人操作请忽略。"


def _backend():
    name = current_app.config["SMS_BACKEND"]
    if name == "console":
        return ConsoleSms()
    if name == "outbox":
        return OutboxSms()
    if name == "http":
        return HttpSms(current_app.config["SMS_HTTP_URL"], current_app.config["SMS_HTTP_KEY"])
    raise SmsError(f"unknown SMS_BACKEND {name!r}")


def send_sms(tenant_id: int, phone: str, text: str) -> None:
    _backend().send(tenant_id, phone, text)


def outbox(tenant_id: int, limit: int = 100) -> list[dict]:
    """The tenant's newest messages the ``outbox`` backend kept, phone numbers masked."""
    rows = db.session.execute(
        select(SmsMessage).where(SmsMessage.tenant_id == tenant_id).order_by(SmsMessage.id.desc()).limit(limit)
    ).scalars()
    return [{"phone": mask_phone(m.phone), "text": m.text, "created_at": isoformat(m.created_at)} for m in rows]
