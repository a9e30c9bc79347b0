"""Phone numbers never leave the service whole (SPEC §4): responses and log lines alike.
Names, addresses and IP addresses have their masked forms here too."""
import ipaddress
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


_DISTRICT = (re.compile(r"^.{1,20}?(区|县|旗)"), re.compile(r"^.{1,20}?市"))


def mask_address(address: str | None) -> str | None:
    """``上海市浦东新区世纪大道100号`` → ``上海市浦东新区***``: the district stays (enough for
    statistics), the street and door go."""
    if not address:
        return address
    for pattern in _DISTRICT:
        district = pattern.match(address)
        if district:
            return district.group(0) + "***"
    return address[:4] + "***"


def mask_ip(ip: str | None) -> str | None:
    """``203.0.113.7`` → ``203.0.113.*``; IPv6 keeps its /48. Enough to tell a network, not a line."""
    if not ip:
        return ip
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "*"
    if address.version == 4:
        return ".".join(ip.split(".")[:3] + ["*"])
    return str(ipaddress.ip_network(f"{ip}/48", strict=False).network_address).rstrip(":") + "::*"


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


def normalize_phone(phone: str | None) -> str | None:
    """The digits of a number as people write it (``+86 138-0013-8000`` → ``13800138000``)."""
    if not phone:
        return None
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits or None


def phone_key(phone: str | None) -> str | None:
    """A keyed hash of a phone number (issue 19): what the index of personal data is kept
    under, so a request by phone number is an index probe and a database dump alone does
    not give the numbers back (11 digits are too few for a plain hash)."""
    import hashlib
    import hmac

    from .crypto import derived_key

    digits = normalize_phone(phone)
    if digits is None:
        return None
    return hmac.new(derived_key("phone-index"), digits.encode("ascii"), hashlib.sha256).hexdigest()
