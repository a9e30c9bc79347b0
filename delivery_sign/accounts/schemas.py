"""Request and response shapes of the accounts API (allow-listed fields only)."""
from marshmallow import fields, validate, validates_schema

from ..core.auth import SCOPES
from ..core.clock import is_zone
from ..core.masking import mask_phone
from ..core.vocabulary import LANGS
from ..core.schema import CodeSchema, UtcDateTime, Phone, StrictSchema, coded
from .models import ROLES

USERNAME = validate.Regexp(r"^[A-Za-z0-9_.@-]{2,64}$", error="Use 2–64 letters, digits or _ . @ -")
CODE = validate.Regexp(r"^[A-Za-z0-9_-]{1,40}$", error="Use 1–40 letters, digits, _ or -")
PASSWORD = validate.Length(min=8, max=256)


def _known_zone(value):
    if not is_zone(value):
        raise coded("one_of", f"Unknown time zone {value!r}; use an IANA name such as Asia/Shanghai.")


class TenantSettingsSchema(StrictSchema):
    """The tenant's own settings: the zone times are shown in, the language of exports."""
    slug = fields.String(dump_only=True)
    name = fields.String(validate=validate.Length(1, 200))
    timezone = fields.String(validate=[validate.Length(1, 64), _known_zone],
                             metadata={"description": "IANA time zone of exports, receipt PDFs and the "
                                                      "verification page (default Asia/Shanghai)"})
    language = fields.String(validate=validate.OneOf(LANGS),
                             metadata={"description": "language of exports when ?lang= is not given"})


class LoginSchema(StrictSchema):
    tenant = fields.String(required=True, validate=validate.Length(1, 40))
    username = fields.String(required=True, validate=validate.Length(1, 64))
    password = fields.String(required=True, validate=validate.Length(1, 256))


class WechatLoginSchema(StrictSchema):
    tenant = fields.String(required=True, validate=validate.Length(1, 40))
    code = fields.String(required=True, validate=validate.Length(1, 128))


class WechatBindSchema(LoginSchema):
    code = fields.String(required=True, validate=validate.Length(1, 128))


class MaskedPhone(fields.String):
    def _serialize(self, value, attr, obj, **kwargs):
        return mask_phone(value)


class SessionUserSchema(StrictSchema):
    username = fields.String()
    role = fields.String()
    org_unit = fields.Pluck(CodeSchema, "code", allow_none=True)
    display_name = fields.String()


class UserOutSchema(SessionUserSchema):
    phone = MaskedPhone(allow_none=True)
    active = fields.Boolean()


class LoginResultSchema(StrictSchema):
    token = fields.String()
    expires_at = UtcDateTime()
    user = fields.Nested(SessionUserSchema)


class OrgUnitInSchema(StrictSchema):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(1, 200))
    parent = fields.String(load_default=None, validate=CODE)


class OrgUnitOutSchema(StrictSchema):
    code = fields.String()
    name = fields.String()
    parent = fields.Pluck(CodeSchema, "code", allow_none=True)


class UserInSchema(StrictSchema):
    username = fields.String(required=True, validate=USERNAME)
    password = fields.String(required=True, validate=PASSWORD)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    org_unit = fields.String(load_default=None, validate=CODE)
    display_name = fields.String(load_default="", validate=validate.Length(max=100))
    phone = Phone(load_default=None)


class UserPatchSchema(StrictSchema):
    password = fields.String(validate=PASSWORD)
    role = fields.String(validate=validate.OneOf(ROLES))
    org_unit = fields.String(allow_none=True, validate=CODE)
    display_name = fields.String(validate=validate.Length(max=100))
    phone = Phone(allow_none=True)
    active = fields.Boolean()


class ApiKeyInSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(1, 100))
    scopes = fields.List(fields.String(validate=validate.OneOf(SCOPES)), load_default=None,
                         validate=validate.Length(min=1, max=len(SCOPES)),
                         metadata={"description": f"What the key may do, of: {', '.join(SCOPES)}. "
                                                  "Leave out for full access."})


class ApiKeyOutSchema(StrictSchema):
    id = fields.String(attribute="public_id")
    name = fields.String()
    scopes = fields.List(fields.String(), allow_none=True,
                         metadata={"description": "null: full access (keys made without scopes)."})
    created_at = UtcDateTime()
    revoked_at = UtcDateTime(allow_none=True)


class ApiKeyCreatedSchema(ApiKeyOutSchema):
    key = fields.String(metadata={"description": "Shown once; store it now."})


class AuditVerifySchema(StrictSchema):
    ok = fields.Boolean(required=True, metadata={"description": "The chain and every receipt check out."})
    events = fields.Integer(required=True)
    first_bad_seq = fields.Integer(allow_none=True, metadata={"description": "The first altered, inserted "
                                                                            "or removed event."})
    receipts = fields.Integer(metadata={"description": "Receipts re-hashed against their sign-off events."})
    bad_receipt_count = fields.Integer()
    bad_receipts = fields.List(fields.String(), metadata={"description": "Up to 20 receipt ids whose evidence, "
                                                                        "signer or hash no longer match."})
    anchors = fields.Integer(metadata={"description": "RFC 3161 anchors of the chain head checked."})
    first_bad_anchor_seq = fields.Integer(allow_none=True)


class AuditAnchorSchema(StrictSchema):
    seq = fields.Integer(required=True)
    hash = fields.String(required=True)
    anchored_at = UtcDateTime(required=True)
    tsa_url = fields.String(required=True)
    statement = fields.String(required=True, metadata={"description": "The exact bytes (UTF-8) whose SHA-256 "
                                                                      "the TSA timestamped."})
    token = fields.String(required=True, metadata={"description": "The RFC 3161 TimeStampToken, base64 DER."})


class AuditHeadSchema(StrictSchema):
    tenant_id = fields.Integer(required=True)
    seq = fields.Integer(required=True)
    hash = fields.String(required=True)
    alg = fields.String(required=True)
    statement = fields.String(required=True, metadata={"description": "The signed bytes (UTF-8, canonical JSON)."})
    signed_at = UtcDateTime(required=True)
    signature = fields.String(required=True, metadata={
        "description": "Detached CMS SignedData (base64 DER) over ``statement`` with the tenant certificate; "
                       "check with e.g. ``openssl cms -verify -binary -inform DER -in head.p7s -content statement.json "
                       "-CAfile tenant.pem``."})
    certificate = fields.String(required=True, metadata={"description": "The tenant certificate, PEM."})
    certificate_fingerprint = fields.String(required=True)
    anchor = fields.Nested(AuditAnchorSchema, allow_none=True, metadata={"description": "The latest anchor."})


class RetentionDaysSchema(StrictSchema):
    """Issue 19: days each part of a sign-off is kept; missing parts keep the defaults
    (raw parts 1095 days, a carrier's dispute window; the receipt 3650 days)."""

    strokes = fields.Integer(strict=True, validate=validate.Range(1, 36_500),
                             metadata={"description": "Raw signature strokes with their timing."})
    photos = fields.Integer(strict=True, validate=validate.Range(1, 36_500),
                            metadata={"description": "Photo originals (with their EXIF/GPS)."})
    location = fields.Integer(strict=True, validate=validate.Range(1, 36_500),
                              metadata={"description": "Precise coordinates of the signer and courier."})
    ip = fields.Integer(strict=True, validate=validate.Range(1, 36_500),
                        metadata={"description": "The client IP address."})
    receipt = fields.Integer(strict=True, validate=validate.Range(1, 36_500),
                             metadata={"description": "The receipt PDF and the full evidence document."})


class PolicySchema(StrictSchema):
    """SPEC §3: every field validated, every field optional (missing ones keep their value)."""

    signer = fields.String(validate=validate.OneOf(("anyone", "consignee_only")))
    otp = fields.String(validate=validate.OneOf(("none", "required")))
    handwriting = fields.String(validate=validate.OneOf(("basic", "strict", "recognized")))
    # with handwriting: recognized — strict: stays 422 until the name reads; lenient: the
    # third failed attempt on a link is accepted with the anomaly name_not_recognized
    recognition = fields.String(validate=validate.OneOf(("strict", "lenient")))
    photos_min = fields.Integer(strict=True, validate=validate.Range(0, 9))
    photos_max = fields.Integer(strict=True, validate=validate.Range(1, 9))
    location = fields.String(validate=validate.OneOf(("optional", "required")))
    geofence_m = fields.Integer(strict=True, validate=validate.Range(10, 100_000))
    link_ttl_s = fields.Integer(strict=True, validate=validate.Range(60, 7 * 24 * 3600))
    allow_partial = fields.Boolean()
    allow_refuse = fields.Boolean()
    auto_seal = fields.Boolean()
    # Doorstep (issue 12): who photographs the goods, whether the page shrinks photos
    # before upload, and whether a blurry/dark/duplicate photo blocks the sign-off.
    photos_by = fields.String(validate=validate.OneOf(("courier", "recipient", "either")),
                              metadata={"description": "Whose photos photos_min counts (default courier)."})
    photo_upload = fields.String(validate=validate.OneOf(("resized", "original")),
                                 metadata={"description": "resized: long edge ≤ 1920 px JPEG made on the phone."})
    photo_quality = fields.String(validate=validate.OneOf(("warn", "block")),
                                  metadata={"description": "block: a flagged photo fails submit with 422."})
    # Issue 14: the assisted sign-off on the courier's phone, and drops without an answer.
    assisted = fields.String(validate=validate.OneOf(("forbidden", "otp_required")))
    drop_without_consent = fields.String(validate=validate.OneOf(("refuse", "record")))
    sign_later_ttl_s = fields.Integer(strict=True, validate=validate.Range(60, 7 * 24 * 3600), metadata={
        "description": "A sign link sent by SMS (POST /sign-links/<token>/send) lives this long from the "
                       "sending, never less than it had (default 86400)."})
    # Privacy (issue 19): whether a submit without ``consents`` is refused, and retention.
    consents = fields.String(validate=validate.OneOf(("optional", "required")), metadata={
        "description": "required: a submit without consents is 422 handwriting_consent_required; optional "
                       "(default, for clients older than issue 19): it is accepted and the evidence says none "
                       "were recorded."})
    retention_days = fields.Nested(RetentionDaysSchema)

    @validates_schema
    def _photo_bounds(self, data, **kwargs):
        if "photos_min" in data and "photos_max" in data and data["photos_min"] > data["photos_max"]:
            raise coded("range", "photos_min must not exceed photos_max.")


class DocTypeInSchema(StrictSchema):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(1, 200))
    policy = fields.Nested(PolicySchema, load_default=dict)


class DocTypePatchSchema(StrictSchema):
    name = fields.String(validate=validate.Length(1, 200))
    policy = fields.Nested(PolicySchema)


class DocTypeOutSchema(StrictSchema):
    code = fields.String()
    name = fields.String()
    policy = fields.Nested(PolicySchema)

