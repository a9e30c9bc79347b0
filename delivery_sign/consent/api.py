"""Consent, drop and sign-later handlers: parse → authorize → call a service → dump."""
from flask import request

from ..core.auth import current, require
from ..core.content import accepts
from . import drops, reports, services, sign_later
from .blueprint import blp
from .schemas import (DROP_PHOTO_FORM, ConsentAnswerInSchema, ConsentRequestInSchema, ConsentRequestOutSchema,
                      ConsentSummaryQuerySchema, ConsentSummarySchema,
                      ConsentViewSchema, CourierConsentSchema, DropInSchema, DropOutSchema, DropPhotoOutSchema,
                      RevokedSchema, SendLinkInSchema, SendLinkOutSchema)


@blp.route("/waybills/<number>/consent-requests", methods=["POST"])
@require("courier", "dispatcher", "admin", "system")
@blp.arguments(ConsentRequestInSchema)
@blp.response(201, ConsentRequestOutSchema)
def create_consent_request(body, number):
    """Ask the consignee how to deliver: an SMS (or WeChat message) with a one-answer link ``/c/<token>``.

    ≤ 1 a minute and 5 an hour per waybill, 10 an hour per phone: a refused ask is 429 with
    ``Retry-After`` and ``code`` ``ask_too_soon``, ``ask_waybill_limit`` or ``ask_phone_limit``."""
    consent_request, _token = services.create_request(current(), number, body["options"], body["places"],
                                                      body["note"], body["wechat_openid"])
    return consent_request


@blp.route("/waybills/<number>/consent", methods=["GET"])
@require("courier", "dispatcher", "admin", "system")
@blp.response(200, CourierConsentSchema)
def waybill_consent(number):
    """The consent a drop may rely on now (one-off or standing) and the latest question's state."""
    return services.courier_view(current(), number)


@blp.route("/consent/<token>", methods=["GET"])
@services.recipient_limits
@blp.response(200, ConsentViewSchema)
def consent_view(token):
    """The consignee's question: the parcel (masked) and the options; 404 unknown, 410 expired."""
    return services.view(token)


@blp.route("/consent/<token>", methods=["POST"])
@services.recipient_limits
@blp.arguments(ConsentAnswerInSchema)
@blp.response(200, ConsentViewSchema)
def consent_answer(body, token):
    """Answer once: ``{choice, place?, standing?, day?, client?}``; a second answer 409, an expired link 410."""
    return services.answer(token, body, request.remote_addr, request.user_agent.string)


@blp.route("/consent/<token>/standing/revoke", methods=["POST"])
@services.recipient_limits
@blp.response(200, RevokedSchema)
def consent_revoke(token):
    """Withdraw "always put it there" for this consignee and address; any consent link of theirs works."""
    return services.revoke_standing(token)


@blp.route("/waybills/<number>/drop-photos", methods=["POST"])
@require("courier", "dispatcher", "admin")
@accepts("multipart/form-data", form=DROP_PHOTO_FORM)
@blp.response(201, DropPhotoOutSchema)
def upload_drop_photo(number):
    """A photo of the drop point (multipart ``file``, form field ``kind``), checked like every photo."""
    return drops.upload_photo(current(), number, request.files.get("file"), request.form.get("kind", "scene"))


@blp.route("/waybills/<number>/drop", methods=["POST"])
@require("courier", "dispatcher", "admin")
@blp.arguments(DropInSchema)
@blp.response(201, DropOutSchema)
def drop_waybill(body, number):
    """Leave the parcel where the consignee agreed: a receipt with outcome ``dropped``; 409 ``consent_required``."""
    return drops.drop(current(), number, body, request.remote_addr)


@blp.route("/sign-links/<token>/send", methods=["POST"])
@require("courier", "dispatcher", "admin")
@blp.arguments(SendLinkInSchema)
@blp.response(200, SendLinkOutSchema)
def send_sign_link(body, token):
    """Send the sign link by SMS to the consignee (or a phone they name): ≤ 1 a minute and 3 an hour per
    link, 5 an hour per phone; a refused send is 429 with ``Retry-After`` and ``code``
    ``send_too_soon``, ``send_link_limit`` or ``send_phone_limit``."""
    return sign_later.send_link(current(), token, body["phone"])


@blp.route("/reports/consent", methods=["GET"])
@blp.etag
@require("admin", "dispatcher", "system")
@blp.arguments(ConsentSummaryQuerySchema, location="query")
@blp.response(200, ConsentSummarySchema)
def consent_summary(args):
    """Drops by place and consent kind and assisted sign-offs in ``[from, to)``, and the
    waybills waiting for the consignee's answer now. An ``If-None-Match`` of the last ETag
    answers 304 while the figures are unchanged (the dashboard polls this way, with ``from``
    and ``to`` given: their defaults move with the clock, and so would the ETag)."""
    return reports.summary(current(), args["from_"], args["to"])
