"""Request and response shapes of the accounts API (allow-listed fields only)."""
from marshmallow import fields, validate, validates_schema

from ..core.masking import mask_phone
from ..core.schema import UtcDateTime, Phone, StrictSchema, coded
from .models import ROLES

USERNAME = validate.Regexp(r"^[A-Za-z0-9_.@-]{2,64}$", error="Use 2–64 letters, digits or _ . @ -")
CODE = validate.Regexp(r"^[A-Za-z0-9_-]{1,40}$", error="Use 1–40 letters, digits, _ or -")
PASSWORD = validate.Length(min=8, max=256)


class LoginSchema(StrictSchema):
    tenant = fields.String(required=True, validate=validate.Length(1, 40))
    username = fields.String(required=True, validate=validate.Length(1, 64))
    password = fields.String(required=True, validate=validate.Length(1, 256))


class WechatLoginSchema(StrictSchema):
    tenant = fields.String(required=True, validate=validate.Length(1, 40))
    code = fields.String(required=True, validate=validate.Length(1, 128))


class WechatBindSchema(LoginSchema):
    code = fields.String(required=True, validate=validate.Length(1, 128))


class SessionUserSchema(StrictSchema):
    username = fields.String()
    role = fields.String()
    org_unit = fields.Function(lambda u: u.org_unit.code if u.org_unit else None)
    display_name = fields.String()


class UserOutSchema(SessionUserSchema):
    phone = fields.Function(lambda u: mask_phone(u.phone))
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
    parent = fields.Function(lambda u: u.parent.code if u.parent else None)


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


class ApiKeyOutSchema(StrictSchema):
    id = fields.String(attribute="public_id")
    name = fields.String()
    created_at = UtcDateTime()
    revoked_at = UtcDateTime(allow_none=True)


class ApiKeyCreatedSchema(ApiKeyOutSchema):
    key = fields.String(metadata={"description": "Shown once; store it now."})


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
    policy = fields.Dict()

