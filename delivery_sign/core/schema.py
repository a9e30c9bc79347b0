"""Shared marshmallow pieces: a strict base schema and validators that carry error codes.

Validators raise messages of the form ``"code: text"``; ``core.errors`` splits them into
``{field, code, message}`` so clients can switch on stable codes.
"""
import math
import re

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from .clock import isoformat, to_naive_utc


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _is_nested(field) -> bool:
    return isinstance(field, fields.Nested) or (
        isinstance(field, fields.List) and isinstance(field.inner, fields.Nested))


class StrictSchema(Schema):
    """Unknown fields are an error, not silently dropped; NUL characters are refused
    (PostgreSQL cannot store them in text, and no honest client sends them)."""

    class Meta:
        unknown = RAISE

    @pre_load
    def _refuse_nul(self, data, **kwargs):
        # Nested schemas check their own part, so each value is walked once.
        if isinstance(data, dict):
            for key, value in data.items():
                if _has_nul(key) or (not _is_nested(self.fields.get(key)) and _has_nul(value)):
                    raise ValidationError("nul_character: Text must not contain NUL characters.")
        elif _has_nul(data):
            raise ValidationError("nul_character: Text must not contain NUL characters.")
        return data


def coded(code: str, message: str) -> ValidationError:
    return ValidationError(f"{code}: {message}")


_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")


def normalise_phone(value: str) -> str:
    phone = re.sub(r"[\s()]", "", value or "")
    if phone.startswith("+86"):
        phone = phone[3:]
    elif phone.startswith("0086"):
        phone = phone[4:]
    return phone


class Phone(fields.String):
    """A mainland mobile (13800138000) or landline (010-12345678) number, normalised."""

    def _deserialize(self, value, attr, data, **kwargs):
        phone = normalise_phone(super()._deserialize(value, attr, data, **kwargs))
        if not (_MOBILE.match(phone) or _LANDLINE.match(phone)):
            raise coded("phone_invalid", "Not a mainland mobile or landline number.")
        return phone


class FiniteFloat(fields.Float):
    """A float that refuses NaN, infinities, booleans and numeric strings."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise coded("invalid_type", "Must be a number.")
        number = float(value)
        if not math.isfinite(number):
            raise coded("invalid_type", "Must be a finite number.")
        return number


COORD_SYSTEMS = ("wgs84", "gcj02", "bd09")


class LocationSchema(StrictSchema):
    lat = FiniteFloat(required=True, validate=validate.Range(-90, 90))
    lng = FiniteFloat(required=True, validate=validate.Range(-180, 180))
    coord_system = fields.String(load_default="wgs84", validate=validate.OneOf(COORD_SYSTEMS))


class ListQuerySchema(Schema):
    """``?limit=&cursor=`` for every list (SPEC §4)."""

    class Meta:
        unknown = RAISE

    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    cursor = fields.String(load_default=None)


class Instant(fields.AwareDateTime):
    """An ISO-8601 time with its UTC offset, loaded as naive UTC (as the database keeps times).
    Years 2000–2099 only: year 1 or 9999 is nobody's delivery, and day arithmetic on it
    (a 30-day default range, China days) would overflow."""

    def __init__(self, **kwargs):
        super().__init__(default_timezone=None, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        if not 2000 <= moment.year <= 2099:
            raise coded("out_of_range", "Must be a time between the years 2000 and 2099.")
        return to_naive_utc(moment)


class UtcDateTime(fields.DateTime):
    """Dumps naive-UTC database times as ISO-8601 with a ``Z`` (SPEC §4)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return isoformat(value)


class FieldErrorSchema(Schema):
    field = fields.String(allow_none=True)
    code = fields.String()
    message = fields.String()


class ProblemSchema(Schema):
    """RFC 9457 problem details, the body of every API error (SPEC §4)."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.List(fields.Nested(FieldErrorSchema))
