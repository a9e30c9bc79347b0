"""Receipt handlers (staff of the tenant or an API key)."""
from flask import Response, current_app

from ..core.auth import current, require
from ..core.errors import Problem
from . import services
from .blueprint import blp
from .schemas import EvidenceOutSchema, PhotoQuerySchema

READERS = ("admin", "dispatcher", "courier", "system")


@blp.route("/receipts/<receipt_id>", methods=["GET"])
@require(*READERS)
@blp.response(200, EvidenceOutSchema)
def get_receipt(receipt_id):
    """The evidence of a sign-off: snapshot, signer, raw strokes, photos, location, checks, hash."""
    receipt = services.get_receipt(current(), receipt_id)
    return services.evidence_view(receipt, current_app.config["PUBLIC_BASE_URL"])


@blp.route("/receipts/<receipt_id>/signature.png", methods=["GET"])
@require(*READERS)
@blp.response(200, content_type="image/png")
def signature_png(receipt_id):
    from ..evidence.signature_render import render_png

    receipt = services.get_receipt(current(), receipt_id)
    return Response(render_png(services.signature_of(receipt)), mimetype="image/png")


@blp.route("/receipts/<receipt_id>/signature.svg", methods=["GET"])
@require(*READERS)
@blp.response(200, content_type="image/svg+xml")
def signature_svg(receipt_id):
    from ..evidence.signature_render import render_svg

    receipt = services.get_receipt(current(), receipt_id)
    return Response(render_svg(services.signature_of(receipt)), mimetype="image/svg+xml")


@blp.route("/receipts/<receipt_id>/photos/<photo_id>", methods=["GET"])
@require(*READERS)
@blp.arguments(PhotoQuerySchema, location="query")
@blp.response(200, content_type="image/jpeg")
def photo(args, receipt_id, photo_id):
    """A photo of the sign-off: ``variant=original`` (the evidence bytes), ``display`` or ``thumb``."""
    receipt = services.get_receipt(current(), receipt_id)
    data, mimetype = services.photo_bytes(receipt, photo_id, args["variant"])
    response = Response(data, mimetype=mimetype)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@blp.route("/receipts/<receipt_id>/pdf", methods=["GET"])
@require(*READERS)
@blp.response(200, content_type="application/pdf")
@blp.alt_response(202, description="The PDF is not rendered yet")
def pdf(receipt_id):
    """The signed receipt PDF; 202 with ``Retry-After`` until it is rendered."""
    from ..core.storage import get_storage

    receipt = services.get_receipt(current(), receipt_id)
    if receipt.pdf_key is None:
        response = Response(status=202, headers={"Retry-After": "2"})
        return response
    return Response(get_storage().stream(receipt.pdf_key), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="receipt-{receipt.public_id}.pdf"'})

from . import trust_api  # noqa: E402,F401  (certificate, seal and verify routes register on import)
