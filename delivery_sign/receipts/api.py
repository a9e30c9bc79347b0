"""Receipt handlers (staff of the tenant or an API key)."""
from flask import Response, current_app, g

from ..core import signed_urls
from ..core.auth import current, require
from ..core.errors import Problem
from . import services
from .blueprint import blp
from .schemas import EvidenceOutSchema, PhotoQuerySchema, ReceiptLinksSchema, SignedLinkQuerySchema

READERS = ("admin", "dispatcher", "courier", "system")


@blp.route("/receipts/<receipt_id>", methods=["GET"])
@require(*READERS)
@blp.response(200, EvidenceOutSchema)
def get_receipt(receipt_id):
    """The evidence of a sign-off: snapshot, signer, raw strokes, photos, location, checks, hash."""
    receipt = services.get_receipt(current(), receipt_id)
    return services.evidence_view(receipt, current_app.config["PUBLIC_BASE_URL"])


def _receipt(receipt_id):
    """Through a signed link the link names the receipt; else the caller's reach decides."""
    if g.get("signed_link"):
        return services.linked_receipt(receipt_id)
    return services.get_receipt(current(), receipt_id)


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
@signed_urls.signed_or(*READERS)
@blp.arguments(SignedLinkQuerySchema, location="query")
@blp.response(200, content_type="image/png")
@blp.alt_response(403, description=_BAD_LINK)
def signature_png(args, receipt_id):
    from ..evidence.signature_render import render_png

    receipt = _receipt(receipt_id)
    return Response(render_png(services.signature_of(receipt)), mimetype="image/png")


@blp.route("/receipts/<receipt_id>/signature.svg", methods=["GET"])
@signed_urls.signed_or(*READERS)
@blp.arguments(SignedLinkQuerySchema, location="query")
@blp.response(200, content_type="image/svg+xml")
@blp.alt_response(403, description=_BAD_LINK)
def signature_svg(args, receipt_id):
    from ..evidence.signature_render import render_svg

    receipt = _receipt(receipt_id)
    return Response(render_svg(services.signature_of(receipt)), mimetype="image/svg+xml")


@blp.route("/receipts/<receipt_id>/photos/<photo_id>", methods=["GET"])
@signed_urls.signed_or(*READERS)
@blp.arguments(PhotoQuerySchema, location="query")
@blp.response(200, content_type="image/jpeg")
@blp.alt_response(403, description=_BAD_LINK)
def photo(args, receipt_id, photo_id):
    """A photo of the sign-off: ``variant=original`` (the evidence bytes), ``display`` or ``thumb``."""
    receipt = _receipt(receipt_id)
    data, mimetype = services.photo_bytes(receipt, photo_id, args["variant"])
    response = Response(data, mimetype=mimetype)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@blp.route("/receipts/<receipt_id>/pdf", methods=["GET"])
@signed_urls.signed_or(*READERS)
@blp.arguments(SignedLinkQuerySchema, location="query")
@blp.response(200, content_type="application/pdf")
@blp.alt_response(202, description="The PDF is not rendered yet")
@blp.alt_response(403, description=_BAD_LINK)
def pdf(args, receipt_id):
    """The signed receipt PDF; 202 with ``Retry-After`` until it is rendered."""
    from ..core.storage import get_storage

    receipt = _receipt(receipt_id)
    if receipt.pdf_key is None:
        response = Response(status=202, headers={"Retry-After": "2"})
        return response
    return Response(get_storage().stream(receipt.pdf_key), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="receipt-{receipt.public_id}.pdf"'})

from . import trust_api  # noqa: E402,F401  (certificate, seal and verify routes register on import)
