"""Shapes of the sign-link and recipient API (SPEC §4 "Sign links", "Recipient")."""
from marshmallow import fields, post_load, validate

from ..accounts.schemas import PolicySchema, RetentionDaysSchema
from ..core.dump import CompiledDump
from ..core.schema import COORD_SYSTEMS, FiniteFloat, LocationSchema, Phone, StrictSchema, UtcDateTime
from ..receipts.evidence_doc import Checks, openapi_schema
from ..receipts.models import OUTCOMES, RELATIONS
from ..waybills.schemas import Quantity

MAX_LINK_WAYBILLS = 20


class CourierLocationSchema(LocationSchema):
    accuracy = FiniteFloat(load_default=None, validate=validate.Range(0, 100_000))


class SignLinkInSchema(StrictSchema):
    waybills = fields.List(fields.String(validate=validate.Length(1, 40)), required=True,
                           validate=validate.Length(1, MAX_LINK_WAYBILLS))
    courier_location = fields.Nested(CourierLocationSchema, load_default=None, allow_none=True)
    assisted = fields.Boolean(load_default=False, metadata={
        "description": "帮收件人签收: the sign page opens on the courier's device; an OTP is required"})


class PhotoPolicySchema(StrictSchema):
    """What the courier's app needs to know about photos at this door (issue 12)."""

    photos_by = fields.String(metadata={"description": "courier | recipient | either"})
    photos_min = fields.Integer()
    photos_max = fields.Integer()
    photo_upload = fields.String(metadata={"description": "resized | original"})
    photo_quality = fields.String(metadata={"description": "warn | block"})
    courier_photos = fields.Integer(metadata={"description": "Courier photos taken so far."})


class SignLinkOutSchema(StrictSchema):
    token = fields.String()
    url = fields.String()
    expires_at = UtcDateTime()
    waybills = fields.List(fields.String())
    qr_png = fields.String()
    qr_svg = fields.String()
    photos = fields.Nested(PhotoPolicySchema)
    assisted = fields.Boolean()


class SignerOutSchema(StrictSchema):
    name = fields.String()
    relation = fields.String()


class LinkStatusSchema(StrictSchema):
    state = fields.String(metadata={"description": "pending | opened | signed | expired"})
    receipt_id = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    signer = fields.Nested(SignerOutSchema, allow_none=True)
    expires_at = UtcDateTime()
    photos = fields.Nested(PhotoPolicySchema)
    closed = fields.String(allow_none=True, metadata={
        "description": "cancelled | dropped | completed: why the link (state expired) can no longer be signed; "
                       "null otherwise"})


class QrQuerySchema(StrictSchema):
    size = fields.Integer(load_default=480, validate=validate.Range(128, 1024))


class SignatureLimitsSchema(StrictSchema):
    """The server's cheap stroke thresholds, so the pad refuses a dot before submit."""

    min_points = fields.Integer()
    dot_max_px = fields.Float()
    line_max_thickness = fields.Float()
    small_box_fraction = fields.Float()
    small_ink_fraction = fields.Float()
    min_ms_per_character = fields.Float()
    min_total_ms = fields.Float()
    max_points = fields.Integer()


class RetentionOutSchema(StrictSchema):
    raw_days = fields.Integer(metadata={"description": "Longest retention of a raw part (strokes, originals, "
                                                       "coordinates, IP)."})
    receipt_days = fields.Integer()
    days = fields.Nested(RetentionDaysSchema, metadata={"description": "Days each part is kept."})


class SignPrivacySchema(StrictSchema):
    """Issue 19: the notice the recipient is shown before signing."""

    version = fields.Integer(metadata={"description": "Send it back as consents.notice_version (0: default text)."})
    text = fields.String()
    handler = fields.String(metadata={"description": "The personal information handler: the tenant."})
    retention = fields.Nested(RetentionOutSchema)
    collected = fields.List(fields.String())
    purpose = fields.String()
    consents = fields.String(metadata={"description": "optional | required (the doc type's policy)."})


class RecipientItemSchema(StrictSchema):
    line = fields.Integer()
    sku = fields.String(allow_none=True)
    name = fields.String()
    qty = Quantity()
    unit = fields.String(allow_none=True)


class RecipientConsigneeSchema(StrictSchema):
    name_masked = fields.String()
    phone_masked = fields.String()
    address = fields.String()


class RecipientWaybillSchema(StrictSchema):
    number = fields.String()
    items = fields.List(fields.Nested(RecipientItemSchema))
    consignee = fields.Nested(RecipientConsigneeSchema)


class NameSchema(StrictSchema):
    name = fields.String()


class RecipientViewSchema(CompiledDump, StrictSchema):
    waybills = fields.List(fields.Nested(RecipientWaybillSchema))
    policy = fields.Nested(PolicySchema, metadata={"description": "The doc type's policy as the link took it."})
    expires_at = UtcDateTime()
    tenant = fields.Nested(NameSchema)
    doc_type = fields.Nested(NameSchema)
    otp_verified = fields.Boolean()
    courier_photos = fields.Integer(metadata={"description": "Photos the courier has taken for this link."})
    name_needed_for_self = fields.Boolean(metadata={
        "description": "false: with relation self and no name, the server signs in the consignee's name."})
    signature_limits = fields.Nested(SignatureLimitsSchema)
    assisted = fields.Boolean()
    privacy = fields.Nested("SignPrivacySchema")


class OtpSendSchema(StrictSchema):
    phone = Phone(load_default=None, allow_none=True, metadata={
        "description": "Assisted links only: the receiver's own phone, when they are not the consignee"})


class OtpSentSchema(StrictSchema):
    sent_to = fields.String()
    expires_in = fields.Integer()
    resend_after = fields.Integer()


class OtpVerifySchema(StrictSchema):
    code = fields.String(required=True, validate=validate.Regexp(r"^\d{6}$", error="format: Six digits."))


class ClientGpsSchema(StrictSchema):
    lat = FiniteFloat(required=True, validate=validate.Range(-90, 90))
    lng = FiniteFloat(required=True, validate=validate.Range(-180, 180))
    altitude = FiniteFloat(load_default=None, allow_none=True, validate=validate.Range(-1000, 100_000))


class ClientOriginalSchema(StrictSchema):
    width = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 100_000))
    height = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 100_000))
    bytes = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(0, 1 << 31))
    mime = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))


class ClientExifSchema(StrictSchema):
    """Form field ``client_exif`` (JSON): what the phone read from the original before it
    shrank it. Stored as declared by the client; the server cannot check it."""

    taken_at = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40),
                             metadata={"description": "EXIF DateTimeOriginal as written, e.g. 2026:12:01 10:02:03"})
    offset = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=10))
    gps = fields.Nested(ClientGpsSchema, load_default=None, allow_none=True)
    make = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    model = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    orientation = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 8))
    original = fields.Nested(ClientOriginalSchema, load_default=None, allow_none=True)
    resized = fields.Boolean(load_default=False)


class PhotoChecksSchema(StrictSchema):
    """evidence.photos' measures of a photo, with what they found."""
    sharpness = fields.Float(metadata={"description": "Variance of the Laplacian at the working size."})
    brightness = fields.Float(metadata={"description": "Mean grey level, 0–255."})
    overexposed_fraction = fields.Float()
    overexposed = fields.Boolean()
    working_size = fields.List(fields.Integer(), metadata={"description": "[width, height] measured at."})
    duplicate_of = fields.String(allow_none=True, metadata={
        "description": "The photo of this link it repeats, if any."})
    anomalies = fields.List(fields.String())


class PhotoOutSchema(CompiledDump, StrictSchema):
    photo_id = fields.String()
    width = fields.Integer()
    height = fields.Integer()
    sha256 = fields.String()
    checks = fields.Nested(PhotoChecksSchema)
    taken_by = fields.String(metadata={"description": "courier | recipient"})
    taken_at = UtcDateTime(metadata={"description": "When the server received it."})
    retake = fields.Boolean(metadata={"description": "Blurry, dark or a duplicate: ask for another photo."})
    blocks_submit = fields.Boolean(metadata={"description": "photo_quality: block and this photo is flagged."})


class SignerSchema(StrictSchema):
    name = fields.String(load_default="", validate=validate.Length(max=50))
    relation = fields.String(load_default=None, validate=validate.OneOf(RELATIONS))
    phone = fields.String(load_default=None, validate=validate.Regexp(r"^\+?[0-9 -]{5,20}$"))


class CanvasSchema(StrictSchema):
    width = fields.Raw(required=True)
    height = fields.Raw(required=True)
    dpr = fields.Raw(load_default=1)


class BoxSchema(StrictSchema):
    """One character's writing box, in canvas units (issue 13)."""
    x = FiniteFloat(required=True, validate=validate.Range(-10_000, 10_000))
    y = FiniteFloat(required=True, validate=validate.Range(-10_000, 10_000))
    width = FiniteFloat(required=True, validate=validate.Range(1, 10_000))
    height = FiniteFloat(required=True, validate=validate.Range(1, 10_000))


class SignatureSchema(StrictSchema):
    # Shapes are checked by evidence.strokes.parse_signature, which says exactly where.
    strokes = fields.Raw(required=True)
    canvas = fields.Nested(CanvasSchema, required=True)
    boxes = fields.List(fields.Nested(BoxSchema), load_default=None, allow_none=True,
                        validate=validate.Length(1, 50), metadata={
                            "description": "One box per character of signer.name, in order; strokes belong to "
                                           "the box they fall in (handwriting: recognized)."})
    checked_later = frozenset({"strokes"})

    @post_load
    def _documented_keys_only(self, data, **kwargs):
        # Extra keys in strokes and points are dropped here, before anything is stored.
        from ..evidence.strokes import documented_strokes   # numpy loads with the first sign-off

        data["strokes"] = documented_strokes(data["strokes"])
        return data


class SubmitLocationSchema(StrictSchema):
    lat = FiniteFloat(required=True, validate=validate.Range(-90, 90))
    lng = FiniteFloat(required=True, validate=validate.Range(-180, 180))
    accuracy = FiniteFloat(load_default=None, allow_none=True, validate=validate.Range(0, 1_000_000))
    coord_system = fields.String(load_default="wgs84", validate=validate.OneOf(COORD_SYSTEMS))
    source = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("gps", "network", "wechat")))


class ItemResultSchema(StrictSchema):
    number = fields.String(required=True, validate=validate.Length(1, 40))
    sku = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    line = fields.Integer(load_default=None, validate=validate.Range(1, 200))
    received_qty = Quantity(load_default=None, allow_none=True, allow_zero=True)
    damaged_qty = Quantity(load_default=None, allow_none=True, allow_zero=True)
    note = fields.String(load_default="", validate=validate.Length(max=500))


class ClientSchema(StrictSchema):
    platform = fields.String(load_default=None, validate=validate.OneOf(("miniprogram", "h5")))
    user_agent = fields.String(load_default=None, validate=validate.Length(max=500))
    time = fields.String(load_default=None, validate=validate.Length(max=40))


class ConsentsSchema(StrictSchema):
    """Issue 19: what the recipient agreed to, each consent separately (PIPL art. 29)."""

    notice_version = fields.Integer(required=True, strict=True, validate=validate.Range(0, 1_000_000),
                                    metadata={"description": "privacy.version of the sign view the person saw."})
    handwriting = fields.Boolean(required=True, metadata={
        "description": "Consent to collect the handwriting with its timing; false: no electronic signature."})
    location = fields.Boolean(required=True, metadata={
        "description": "Consent to collect the location; false: a location sent anyway is dropped and noted."})


class SubmitSchema(StrictSchema):
    submission_id = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9-]{8,64}$", error="format: A client-generated id (UUID) of 8–64 letters, digits or -."))
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    signer = fields.Nested(SignerSchema, required=True)
    signature = fields.Nested(SignatureSchema, required=True)
    location = fields.Nested(SubmitLocationSchema, load_default=None, allow_none=True)
    photo_ids = fields.List(fields.String(validate=validate.Length(1, 32)), load_default=list,
                            validate=validate.Length(max=20))
    items = fields.List(fields.Nested(ItemResultSchema), load_default=list, validate=validate.Length(max=400))
    refuse_reason = fields.String(load_default="", validate=validate.Length(max=500))
    client = fields.Nested(ClientSchema, load_default=dict)
    wechat_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 128))
    consents = fields.Nested(ConsentsSchema, load_default=None, allow_none=True, metadata={
        "description": "Absent (clients before issue 19): accepted unless the policy says consents: required."})


class SubmitResultSchema(CompiledDump, StrictSchema):
    receipt_id = fields.String()
    receipt_code = fields.String(metadata={"description": "8 Crockford base32 characters, unique per tenant; "
                                                          "GET /waybills?q=<code> finds it."})
    verify_url = fields.String(metadata={"description": "The public verification page /v/<receipt_id>."})
    status = fields.String()
    checks = fields.Dict(metadata={**openapi_schema(Checks), "description": (
        "The evidence document's checks (GET /receipts/<id>: evidence.checks).")})
    anomalies = fields.List(fields.String())
    receipt_pdf = fields.String()
