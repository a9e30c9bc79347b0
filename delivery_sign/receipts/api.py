"""Receipt handlers (staff of the tenant or an API key)."""
from flask import Response, current_app, g

from ..core import signed_urls
from ..core.auth import current, require
from ..core.errors import Gone
from ..extensions import writes_on_read
from ..privacy.schemas import ViewRecordSchema
from ..privacy.services import record_view, views_of
from . import services
from .blueprint import blp
from .schemas import EvidenceOutSchema, PhotoQuerySchema, ReceiptLinksSchema, SignedLinkQuerySchema

READERS = ("admin", "dispatcher", "courier", "system")


@blp.route("/receipts/<receipt_id>", methods=["GET"])
@writes_on_read   # the view is an audit event (issue 19.4)
@require(*READERS)
@blp.response(200, EvidenceOutSchema)
def get_receipt(receipt_id):
    """The evidence of a sign-off: snapshot, signer, raw strokes, photos, location, checks, hash."""
    principal = current()
    receipt = services.get_receipt(principal, receipt_id)
    record_view(receipt.tenant_id, receipt.public_id, "evidence", principal)   # raw strokes are in it
    return services.evidence_view(receipt, current_app.config["PUBLIC_BASE_URL"], principal.role)


@blp.route("/receipts/<receipt_id>/views", methods=["GET"])
@require("admin", "dispatcher", "system")
@blp.response(200, ViewRecordSchema(many=True))
def receipt_views(receipt_id):
    """查看记录: who viewed this receipt's evidence, strokes, photos or PDF, or revealed a phone, newest first."""
    principal = current()
    receipt = services.get_receipt(principal, receipt_id)
    return views_of(principal, receipt)


def _receipt(receipt_id):
    """Through a signed link the link names the receipt; else the caller's reach decides."""
    if g.get("signed_link"):
        return services.linked_receipt(receipt_id)
    return services.get_receipt(current(), receipt_id)


def _viewer():
    return None if g.get("signed_link") else current()


_BAD_LINK = "A signed link that was changed or has expired (the answer says nothing more)"


@blp.route("/receipts/<receipt_id>/links", methods=["GET"])
@require(*READERS)
@blp.response(200, ReceiptLinksSchema)
def receipt_links(receipt_id):
    """Fresh signed links to the PDF, signature image and photos, fetchable without a bearer
    for SIGNED_URL_TTL_S (e.g. to hand to a shipper's system or open on a phone)."""
    receipt = services.get_receipt(current(), receipt_id)
    return {"receipt_id": receipt.public_id, "expires_at": signed_urls.expiry(),
            **signed_urls.sign_links(services.link_paths(receipt))}


@blp.route("/receipts/<receipt_id>/signature.png", methods=["GET"])
@writes_on_read   # the view is an audit event (issue 19.4)
@signed_urls.signed_or(*READERS)
@blp.arguments(SignedLinkQuerySchema, location="query")
@blp.response(200, content_type="image/png")
@blp.alt_response(403, description=_BAD_LINK)
@blp.alt_response(410, description="The raw strokes were purged by retention")
def signature_png(args, receipt_id):
    from ..evidence.signature_render import render_png

    receipt = _receipt(receipt_id)
    signature = services.signature_of(receipt)
    record_view(receipt.tenant_id, receipt.public_id, "signature.png", _viewer())
    return Response(render_png(signature), mimetype="image/png")


@blp.route("/receipts/<receipt_id>/signature.svg", methods=["GET"])
@writes_on_read   # the view is an audit event (issue 19.4)
@signed_urls.signed_or(*READERS)
@blp.arguments(SignedLinkQuerySchema, location="query")
@blp.response(200, content_type="image/svg+xml")
@blp.alt_response(403, description=_BAD_LINK)
@blp.alt_response(410, description="The raw strokes were purged by retention")
def signature_svg(args, receipt_id):
    from ..evidence.signature_render import render_svg

    receipt = _receipt(receipt_id)
    signature = services.signature_of(receipt)
    record_view(receipt.tenant_id, receipt.public_id, "signature.svg", _viewer())
    return Response(render_svg(signature), mimetype="image/svg+xml")


@blp.route("/receipts/<receipt_id>/photos/<photo_id>", methods=["GET"])
@writes_on_read   # the view is an audit event (issue 19.4)
@signed_urls.signed_or(*READERS)
@blp.arguments(PhotoQuerySchema, location="query")
@blp.response(200, content_type="image/jpeg")
@blp.alt_response(403, description=_BAD_LINK)
@blp.alt_response(410, description="The original was purged by retention (display and thumb remain)")
def photo(args, receipt_id, photo_id):
    """A photo of the sign-off: ``variant=original`` (the evidence bytes), ``display`` or ``thumb``.
    A courier always gets the display copy instead of the original (no EXIF, so no GPS);
    an original purged by retention answers 410."""
    receipt = _receipt(receipt_id)
    viewer = _viewer()
    variant = args["variant"]
    if variant == "original" and viewer is not None and viewer.role == "courier":
        variant = "display"
    data, mimetype = services.photo_bytes(receipt, photo_id, variant)
    record_view(receipt.tenant_id, receipt.public_id, "photo", viewer, photo_id=photo_id, variant=variant)
    response = Response(data, mimetype=mimetype)
    response.headers["X-Photo-Variant"] = variant
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@blp.route("/receipts/<receipt_id>/pdf", methods=["GET"])
@writes_on_read   # the view is an audit event (issue 19.4)
@signed_urls.signed_or(*READERS)
@blp.arguments(SignedLinkQuerySchema, location="query")
@blp.response(200, content_type="application/pdf")
@blp.alt_response(202, description="The PDF is not rendered yet")
@blp.alt_response(403, description=_BAD_LINK)
@blp.alt_response(410, description="The receipt's retention has ended")
def pdf(args, receipt_id):
    """The signed receipt PDF; 202 with ``Retry-After`` until it is rendered."""
    from ..core.storage import get_storage

    receipt = _receipt(receipt_id)
    if receipt.expired_at is not None:
        raise Gone("This receipt's retention has ended and its PDF was deleted; a copy handed out earlier still "
                   "verifies with POST /verify.", slug="evidence-purged")
    if receipt.pdf_key is None:
        response = Response(status=202, headers={"Retry-After": "2"})
        return response
    record_view(receipt.tenant_id, receipt.public_id, "pdf", _viewer())
    return Response(get_storage().stream(receipt.pdf_key), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="receipt-{receipt.public_id}.pdf"'})

from . import trust_api  # noqa: E402,F401  (certificate, seal and verify routes register on import)
