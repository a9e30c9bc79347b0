"""Shared marshmallow pieces: a strict base schema and validators that carry error codes.

Validators raise messages of the form ``"code: text"``; ``core.errors`` splits them into
``{field, code, message}`` so clients can switch on stable codes. ``StrictSchema`` also
applies the text rules (below) to every string of every request body.
"""
import math
import re

from marshmallow import RAISE, Schema, ValidationError, fields, missing, pre_load, validate
from marshmallow.utils import get_value

from .clock import isoformat, to_naive_utc


# Text rules, applied to every string of every request body in one place (``StrictSchema``):
#
# - NUL and lone surrogates (``"\ud800"``, which JSON allows) are refused: PostgreSQL cannot
#   store NUL, no encoder can write a lone surrogate, and no honest client sends either.
# - Bidi controls (LRM/RLM/ALM, embeddings, overrides, isolates) are refused, not stripped:
#   they reorder what a dispatcher sees (U+202E before "gpj.exe" shows it as "exe.jpg"),
#   and stripping them would store a text whose order differs from what the sender saw.
#   No Chinese name, address or note needs them; the 422 names the field to fix.
# - Invisible formatting characters (zero-width space/joiners, word joiner, BOM, soft
#   hyphen, invisible operators, Hangul fillers, tag characters) and control characters
#   other than tab, CR and LF are stripped: removing them changes nothing a reader sees, so
#   what is stored is what was shown, and two names that look alike are stored alike. A
#   zero-width joiner inside an emoji sequence (a family emoji in a note) and the tag
#   characters of a flag emoji (U+1F3F4 + tags) are kept: there they are visible.
# Passwords are verbatim (``StrictSchema.verbatim``): only NUL and surrogates are refused
# there, since they are compared, never displayed.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_INVISIBLE = ("\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180e"
              "\u200b-\u200d\u2060-\u2064\u3164\ufeff\uffa0\ufff9-\ufffb\U000e0000-\U000e007f")
_SUSPECT = re.compile(f"[\x00\ud800-\udfff{_BIDI}{_INVISIBLE}]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_BIDI_RE = re.compile(f"[{_BIDI}]")
_INVISIBLE_RE = re.compile(f"[{_INVISIBLE}]")
_ZWJ, _FLAG = "\u200d", "\U0001f3f4"


def _is_emoji(char: str) -> bool:
    code = ord(char)
    return code >= 0x1F000 or 0x2600 <= code <= 0x27BF or code == 0xFE0F


def _strip_invisible(text: str) -> str:
    out, in_flag = [], False
    for i, char in enumerate(text):
        if not _INVISIBLE_RE.match(char):
            in_flag = char == _FLAG
            out.append(char)
        elif char == _ZWJ and out and _is_emoji(out[-1]) and i + 1 < len(text) and _is_emoji(text[i + 1]):
            out.append(char)
        elif in_flag and "\U000e0020" <= char <= "\U000e007f":
            out.append(char)
    return "".join(out)


def clean_text(value: str, *, verbatim=False) -> str:
    """One string under the text rules above: the cleaned string, or ``ValidationError``."""
    if value.isascii() and value.isprintable():
        return value                      # the common case: two C-speed checks
    if not _SUSPECT.search(value):
        return value
    if "\x00" in value:
        raise coded("nul_character", "Text must not contain NUL characters.")
    if _SURROGATE.search(value):
        raise coded("invalid_unicode", "Text must be valid Unicode (a lone UTF-16 surrogate was sent).")
    if verbatim:
        return value
    if _BIDI_RE.search(value):
        raise coded("bidi_control", "Text must not contain right-to-left or other bidirectional controls.")
    return _strip_invisible(value)


def _clean(value, verbatim=False):
    """Walk plain JSON data (strings, dict keys and values, lists) under the text rules."""
    if isinstance(value, str):
        return clean_text(value, verbatim=verbatim)
    if isinstance(value, dict):
        return {clean_text(k) if isinstance(k, str) else k: _clean(v, verbatim) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, verbatim) for v in value]
    return value


def _is_nested(field) -> bool:
    return isinstance(field, fields.Nested) or (
        isinstance(field, fields.List) and isinstance(field.inner, fields.Nested))


class StrictSchema(Schema):
    """Unknown fields are an error, not silently dropped; every string sent follows the text
    rules above (NUL, lone surrogates and bidi controls refused, invisible characters
    stripped). Fields named in ``verbatim`` (secrets) are only checked for NUL/surrogates."""

    verbatim = frozenset({"password"})
    # Fields whose text is checked later by what loads them: a batch's items (by their own
    # schema, so one bad item is that item's error, not the whole request's), or signature
    # strokes (numbers only after ``evidence.strokes.documented_strokes``; walking 20,000
    # points here would cost tens of milliseconds a sign-off).
    checked_later = frozenset()

    class Meta:
        unknown = RAISE

    @pre_load
    def _text_rules(self, data, **kwargs):
        # Nested schemas check their own part, so each value is walked once.
        if not isinstance(data, dict):
            return _clean(data)
        cleaned, errors = {}, {}
        for key, value in data.items():
            try:
                key = clean_text(key) if isinstance(key, str) else key
            except ValidationError as exc:
                # The key itself is bad: report it on the object (it cannot name a field).
                errors.setdefault("_schema", []).extend(exc.messages)
                continue
            try:
                if key in self.checked_later or _is_nested(self.fields.get(key)):
                    cleaned[key] = value
                else:
                    cleaned[key] = _clean(value, key in self.verbatim)
            except ValidationError as exc:
                errors[key] = exc.messages
        if errors:
            raise ValidationError(errors)
        return cleaned


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


class FromColumns(fields.Nested):
    """A nested object made of the parent's own columns (a waybill's ``consignee_*``): the
    nested schema reads the parent itself, its fields naming the columns by ``attribute``.
    ``present`` names the column that says whether the object exists (null while it is null)."""

    def __init__(self, nested, *, present=None, **kwargs):
        super().__init__(nested, **kwargs)
        self.present = present

    def get_value(self, obj, attr, accessor=None, default=missing):
        if self.present is None:
            return obj
        flag = get_value(obj, self.present) if hasattr(obj, "__getitem__") else getattr(obj, self.present, missing)
        return None if flag is None or flag is missing else obj


class CodeSchema(Schema):
    """Pluck a referenced row's ``code`` (a doc type, an org unit, an anomaly)."""
    code = fields.String()


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
    code = fields.String(metadata={"description": "what tells this problem from others of its type, where a "
                                                  "client must: which budget refused a 429 (otp_too_soon, otp_link_limit, otp_phone_limit; "
                                                  "send_too_soon, send_link_limit, send_phone_limit; ask_too_soon, "
                                                  "ask_waybill_limit, ask_phone_limit; link_limit, unknown_link_limit)"})
    errors = fields.List(fields.Nested(FieldErrorSchema))
