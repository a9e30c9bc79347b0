"""Phone numbers never leave the service whole (SPEC §4): responses and log lines alike."""
import logging
import re

_PHONE_IN_TEXT = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def mask_phone(phone: str | None) -> str | None:
    """``13800138000`` → ``138****8000``; landlines keep their area code and last 4 digits."""
    if not phone:
        return phone
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_name(name: str | None) -> str | None:
    """``李娜`` → ``李*``; ``Zhang Wei`` → ``Z********``."""
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1)


def mask_phones_in_text(text: str) -> str:
    return _PHONE_IN_TEXT.sub(r"\1****\3", text)


class PhoneMaskingFilter(logging.Filter):
    """Rewrites every log record so a mobile number cannot reach the log stream."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_phones_in_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
