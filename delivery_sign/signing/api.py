"""Sign-link and recipient handlers: parse → authorize → call a service → dump."""
from flask import Response, current_app, request

from ..core.auth import current, require
from ..core.content import accepts, max_body
from ..core.errors import Problem, ValidationFailed
from ..extensions import writes_on_read
from . import links, qr, recipient, recognition
from .links import recipient_limits
from .blueprint import blp
from .schemas import (LinkStatusSchema, OtpSendSchema, OtpSentSchema, OtpVerifySchema, PhotoOutSchema, QrQuerySchema,
                      RecipientViewSchema, SignLinkInSchema, SignLinkOutSchema, SubmitResultSchema, SubmitSchema)
from .submit import submit as submit_signoff

MAX_SUBMIT_BYTES = 2 * 1024 * 1024   # strokes of a long name are ~200 KB; 2 MB is generous


@blp.route("/sign-links", methods=["POST"])
@require("courier", "dispatcher", "admin")
@blp.arguments(SignLinkInSchema)
@blp.response(201, SignLinkOutSchema)
def create_sign_link(body):
    """Make a QR sign link for one or several waybills of one consignee."""
    link, token = links.create_link(current(), body["waybills"], body["courier_location"], body["assisted"])
    return _link_out(link, token)


def _link_out(link, token):
    base = current_app.config["PUBLIC_BASE_URL"]
    return {"token": token, "url": links.sign_url(token), "expires_at": link.expires_at,
            "waybills": [w.number for w in link.waybills],
            "qr_png": f"{base}/api/v1/sign-links/{token}/qr.png", "qr_svg": f"{base}/api/v1/sign-links/{token}/qr.svg",
            "photos": recipient.photo_policy(link), "assisted": link.assisted}


def _qr_response(data, mimetype):
    response = Response(data, mimetype=mimetype)
    # The QR never changes for a token; the courier's phone may keep it until the link dies.
    response.headers["Cache-Control"] = "private, max-age=900, immutable"
    return response


@blp.route("/sign-links/<token>/qr.png", methods=["GET"])
@recipient_limits
@blp.arguments(QrQuerySchema, location="query")
@blp.response(200, content_type="image/png")
def sign_link_qr_png(args, token):
    """The link's QR code as PNG (``size`` in pixels, 128–1024)."""
    links.find_link(token)
    return _qr_response(qr.qr_png(links.sign_url(token), args["size"]), "image/png")


@blp.route("/sign-links/<token>/qr.svg", methods=["GET"])
@recipient_limits
@blp.response(200, content_type="image/svg+xml")
def sign_link_qr_svg(token):
    links.find_link(token)
    return _qr_response(qr.qr_svg(links.sign_url(token)), "image/svg+xml")


@blp.route("/sign-links/<token>/status", methods=["GET"])
@require("courier", "dispatcher", "admin")
@blp.response(200, LinkStatusSchema)
def sign_link_status(token):
    """``pending | opened | signed | expired`` for the courier's screen, with the signer once signed."""
    from ..receipts.services import receipt_of_link

    link = links.link_for_staff(current(), token)
    receipt = receipt_of_link(link)
    return {"state": links.state_of(link), "receipt_id": receipt.public_id if receipt else None,
            "outcome": receipt.outcome if receipt else None,
            "signer": {"name": receipt.signer_name, "relation": receipt.signer_relation} if receipt else None,
            "expires_at": link.expires_at, "photos": recipient.photo_policy(link),
            "closed": None if receipt else links.closed_because(link)}


@blp.route("/sign/<token>", methods=["GET"])
@writes_on_read
@recipient_limits
@blp.response(200, RecipientViewSchema)
def view(token):
    """What is delivered, to whom (masked), under which policy; 404 unknown, 410 expired or used."""
    return recipient.view(token)


@blp.route("/sign/<token>/otp", methods=["POST"])
@recipient_limits
@blp.arguments(OtpSendSchema)
@blp.response(200, OtpSentSchema)
def send_otp(body, token):
    """Send a 6-digit code to the consignee's phone, or on an assisted link to the phone the receiver
    gives (≤ 1 per 60 s, ≤ 5 per hour per link; ≤ 5 per hour per phone). A refused send is 429 with
    ``Retry-After`` and a problem ``code`` saying which limit: ``otp_too_soon``, ``otp_link_limit``
    or ``otp_phone_limit``."""
    return recipient.send_otp(token, body["phone"])


@blp.route("/sign/<token>/otp/verify", methods=["POST"])
@recipient_limits
@blp.arguments(OtpVerifySchema)
@blp.response(200)
def verify_otp(body, token):
    """Check the code; 5 wrong codes lock the link."""
    if not recipient.verify_otp(token, body["code"]):
        # The failure count must survive the 400.
        raise Problem("The code is wrong or has expired.", status=400, slug="otp-invalid", title="Wrong code",
                      keep_transaction=True)
    return {"verified": True}


PHOTO_FORM = {"kind": {"type": "string", "enum": list(recipient.PHOTO_KINDS)},
              "client_exif": {"type": "string", "description": (
                  "JSON: what the phone read from the original before shrinking it "
                  "(taken_at, offset, gps {lat, lng, altitude}, make, model, orientation, "
                  "original {width, height, bytes, mime}, resized). Stored as declared by the client.")}}


@blp.route("/sign/<token>/photos", methods=["POST"])
@accepts("multipart/form-data", form=PHOTO_FORM)
@recipient_limits
@blp.response(201, PhotoOutSchema)
def upload_photo(token):
    """One photo per request (multipart ``file``, form fields ``kind``, ``client_exif``), JPEG/PNG/WebP by content."""
    client_exif = recipient.parse_client_exif(request.form.get("client_exif"))
    photo, policy = recipient.upload_photo(token, request.files.get("file"), request.form.get("kind", "goods"),
                                           client_exif=client_exif)
    return recipient.photo_out(photo, policy)


@blp.route("/sign-links/<token>/photos", methods=["POST"])
@accepts("multipart/form-data", form=PHOTO_FORM)
@require("courier", "dispatcher", "admin")
@blp.response(201, PhotoOutSchema)
def upload_courier_photo(token):
    """The courier photographs the goods at the door (multipart like the recipient's; the
    courier of the link, or a dispatcher/admin in reach). ``photos_by`` says whose photos count."""
    client_exif = recipient.parse_client_exif(request.form.get("client_exif"))
    photo, policy = recipient.upload_photo(token, request.files.get("file"), request.form.get("kind", "goods"),
                                           principal=current(), client_exif=client_exif)
    return recipient.photo_out(photo, policy)


@blp.route("/sign-links/<token>/photos/<photo_id>", methods=["DELETE"])
@require("courier", "dispatcher", "admin")
@blp.response(204)
def remove_courier_photo(token, photo_id):
    """Withdraw a courier photo before the sign-off (a retake); it no longer counts."""
    recipient.remove_courier_photo(current(), token, photo_id)


# One instance for every submit: a schema class here is instantiated by webargs per request,
# and with it each nested schema, their fields deep-copied (issue 16). Loading keeps no
# state on the instance.
_SUBMIT_SCHEMA = SubmitSchema()


@blp.route("/sign/<token>/submit", methods=["POST"])
@max_body(MAX_SUBMIT_BYTES)
@recipient_limits
@blp.arguments(_SUBMIT_SCHEMA)
@blp.response(201, SubmitResultSchema)
@blp.alt_response(200, schema=SubmitResultSchema, description="The same submission_id again")
def submit(body, token):
    """Sign off: 201 with the receipt, 200 for a replayed submission_id, 409 used, 410 expired, 422 checks."""
    try:
        return submit_signoff(token, body, request.remote_addr)
    except ValidationFailed as exc:
        exc.keep_transaction = recognition.attempt_counted()   # the failed attempt must survive the 422
        raise


@blp.route("/sign-links/<token>/wxacode.png", methods=["GET"])
@require("courier", "dispatcher", "admin")
@blp.response(200, content_type="image/png")
def sign_link_wxacode(token):
    """The link as a mini-program code (``getwxacodeunlimit``; the scene is the token, ≤ 32 characters)."""
    from ..core import wechat

    links.link_for_staff(current(), token)
    if not wechat.configured():
        raise Problem("WeChat is not configured; use qr.png.", status=409, slug="wechat-not-configured",
                      title="WeChat not configured")
    try:
        image = wechat.wxacode_unlimited(token)
    except wechat.WechatError as exc:
        raise Problem(f"WeChat did not make the code ({exc.errcode}).", status=503, slug="wechat-unavailable",
                      title="WeChat unavailable", headers={"Retry-After": "5"}) from None
    return _qr_response(image, "image/png")
