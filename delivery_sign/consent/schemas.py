"""Shapes of the consent, drop and sign-later API (SPEC §8 "Consent and drops", "Assisted and SMS links")."""
from marshmallow import fields, validate

from ..core.schema import Instant, Phone, StrictSchema, UtcDateTime
from ..signing.schemas import ClientSchema, SubmitLocationSchema
from .drops import DROP_PHOTO_KINDS, MAX_DROP_PHOTOS
from .models import DROP_PLACES, NAMED_PLACES, OPTIONS

PLACE = validate.Length(1, 100)


class ConsentRequestInSchema(StrictSchema):
    options = fields.List(fields.String(validate=validate.OneOf(OPTIONS)), required=True,
                          validate=validate.Length(1, len(OPTIONS)),
                          metadata={"description": "What the consignee may choose: " + ", ".join(OPTIONS)})
    places = fields.Dict(keys=fields.String(validate=validate.OneOf(NAMED_PLACES)),
                         values=fields.String(validate=PLACE), load_default=dict,
                         metadata={"description": "The courier's name for the locker or station offered"})
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    wechat_openid = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 64),
                                  metadata={"description": "Send as a mini-program subscription message to "
                                                           "this openid instead of an SMS"})


class ConsentRequestOutSchema(StrictSchema):
    id = fields.String(attribute="public_id")
    expires_at = UtcDateTime()
    channel = fields.String(metadata={"description": "sms | wechat"})
    sent_to = fields.String(attribute="sent_to_masked", metadata={"description": "masked phone"})


class ConsentAnswerOutSchema(StrictSchema):
    choice = fields.String()
    place = fields.String(allow_none=True)
    day = fields.Date(allow_none=True)
    standing = fields.Boolean()
    answered_at = UtcDateTime()


class StandingConsentOutSchema(StrictSchema):
    id = fields.String()
    choice = fields.String()
    place = fields.String(allow_none=True)
    created_at = UtcDateTime()
    expires_at = UtcDateTime()


class ConsentItemSchema(StrictSchema):
    name = fields.String()
    qty = fields.Float()
    unit = fields.String(allow_none=True)


class ConsentWaybillSchema(StrictSchema):
    number_masked = fields.String()
    consignee_name_masked = fields.String()
    phone_masked = fields.String()
    address = fields.String()
    items = fields.List(fields.Nested(ConsentItemSchema))


class TenantNameSchema(StrictSchema):
    name = fields.String()


class ConsentViewSchema(StrictSchema):
    state = fields.String(metadata={"description": "open | answered"})
    waybill = fields.Nested(ConsentWaybillSchema)
    options = fields.List(fields.String())
    places = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "A map: each place offered (locker, station) → the courier's name for it."})
    note = fields.String(allow_none=True)
    tenant = fields.Nested(TenantNameSchema)
    expires_at = UtcDateTime()
    answer = fields.Nested(ConsentAnswerOutSchema, allow_none=True)
    standing = fields.List(fields.Nested(StandingConsentOutSchema),
                           metadata={"description": "Standing consents for this consignee and address"})
    reschedule_max_days = fields.Integer()


class ConsentAnswerInSchema(StrictSchema):
    choice = fields.String(required=True, validate=validate.OneOf(OPTIONS))
    place = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    standing = fields.Boolean(load_default=False, metadata={"description": "以后都这样放: for this address from now on"})
    day = fields.Date(load_default=None, allow_none=True, metadata={"description": "reschedule: the day (China)"})
    client = fields.Nested(ClientSchema, load_default=dict,
                           metadata={"description": "The page that answered, as the sign submit sends it"})


class RevokedSchema(StrictSchema):
    revoked = fields.Integer()


class AnsweredOnSchema(StrictSchema):
    platform = fields.String(allow_none=True, metadata={"description": "h5 | miniprogram; null: not said"})
    user_agent = fields.String(allow_none=True)


class ConsentEvidenceSchema(StrictSchema):
    kind = fields.String(metadata={"description": "one_off | standing"})
    choice = fields.String()
    place = fields.String(allow_none=True)
    answered_at = fields.String()
    request = fields.String()
    channel = fields.String()
    sent_to = fields.String()
    audit_seq = fields.Integer(allow_none=True)
    standing_id = fields.String(allow_none=True)
    client = fields.Nested(AnsweredOnSchema, allow_none=True,
                           metadata={"description": "The consignee's page that answered (no address)"})


class LatestRequestSchema(StrictSchema):
    id = fields.String()
    state = fields.String(metadata={"description": "open | answered | expired"})
    options = fields.List(fields.String())
    created_at = UtcDateTime()
    expires_at = UtcDateTime()
    answer = fields.Nested(ConsentAnswerOutSchema, allow_none=True)


class CourierConsentSchema(StrictSchema):
    number = fields.String()
    status = fields.String()
    consent = fields.Nested(ConsentEvidenceSchema, allow_none=True)
    latest_request = fields.Nested(LatestRequestSchema, allow_none=True)


class DropInSchema(StrictSchema):
    place = fields.String(required=True, validate=validate.OneOf(DROP_PLACES))
    place_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100),
                               metadata={"description": "e.g. 世纪大道菜鸟驿站; defaults to the consented place"})
    place_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 40),
                               metadata={"description": "locker compartment or pickup code"})
    photo_ids = fields.List(fields.String(validate=validate.Length(1, 32)), required=True,
                            validate=validate.Length(max=MAX_DROP_PHOTOS * 2))
    location = fields.Nested(SubmitLocationSchema, required=True, allow_none=True)
    client = fields.Nested(ClientSchema, load_default=dict)


class DropOutSchema(StrictSchema):
    receipt_id = fields.String()
    status = fields.String()
    outcome = fields.String()
    place = fields.String()
    consent = fields.Nested(ConsentEvidenceSchema, allow_none=True)
    anomalies = fields.List(fields.String())
    receipt_pdf = fields.String()


class DropPhotoOutSchema(StrictSchema):
    photo_id = fields.String(attribute="public_id")
    kind = fields.String()
    width = fields.Integer()
    height = fields.Integer()
    sha256 = fields.String()
    anomalies = fields.List(fields.String())


class SendLinkInSchema(StrictSchema):
    phone = Phone(load_default=None, allow_none=True,
                  metadata={"description": "default: the consignee's phone"})


class SendLinkOutSchema(StrictSchema):
    sent_to = fields.String(metadata={"description": "masked phone"})
    expires_at = UtcDateTime()
    resend_after = fields.Integer()


DROP_PHOTO_FORM = {"kind": {"type": "string", "enum": list(DROP_PHOTO_KINDS)}}


class ConsentSummaryQuerySchema(StrictSchema):
    from_ = Instant(data_key="from", load_default=None, metadata={"description": "default: 30 days before to"})
    to = Instant(load_default=None, metadata={"description": "default: now"})


class DropCountSchema(StrictSchema):
    place = fields.String()
    consent = fields.String(metadata={"description": "one_off | standing | none"})
    n = fields.Integer()


class WaitingSchema(StrictSchema):
    number = fields.String()
    asked_at = UtcDateTime()
    expires_at = UtcDateTime()


class ConsentSummarySchema(StrictSchema):
    from_ = UtcDateTime(data_key="from")
    to = UtcDateTime()
    drops = fields.List(fields.Nested(DropCountSchema))
    assisted_sign_offs = fields.Integer()
    waiting_for_answer = fields.List(fields.Nested(WaitingSchema),
                                     metadata={"description": "open questions, oldest first (at most 200)"})
