"""The SMS backends. The HTTP one speaks a generic provider API: POST JSON, bearer key."""
import logging
from datetime import datetime

import requests
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ...extensions import BigId, db
from ..clock import utcnow
from ..masking import mask_phone

log = logging.getLogger(__name__)


class SmsError(Exception):
    """The message could not be handed to the provider."""


class SmsMessage(db.Model):
    """The outbox backend's table: what would have been sent (development and tests)."""

    __tablename__ = "sms_outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    phone: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsoleSms:
    def send(self, tenant_id, phone, text):
        # The log filter masks the number; the text is for a developer at the console.
        log.info("sms to %s: %s", mask_phone(phone), text)


class OutboxSms:
    def send(self, tenant_id, phone, text):
        db.session.add(SmsMessage(tenant_id=tenant_id, phone=phone, text=text))


class HttpSms:
    """``POST <url>`` ``{"phone", "text"}`` with ``Authorization: Bearer <key>``; any 2xx is sent."""

    TIMEOUT_S = 5

    def __init__(self, url, key):
        if not url:
            raise SmsError("SMS_HTTP_URL is not set")
        self.url, self.key = url, key

    def send(self, tenant_id, phone, text):
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        try:
            response = requests.post(self.url, json={"phone": phone, "text": text}, headers=headers,
                                     timeout=self.TIMEOUT_S)
        except requests.RequestException as exc:
            raise SmsError(f"SMS provider unreachable: {type(exc).__name__}") from None
        if not 200 <= response.status_code < 300:
            raise SmsError(f"SMS provider answered {response.status_code}")
