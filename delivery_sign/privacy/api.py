"""Privacy handlers: the tenant's notice, and a person's requests by phone number.

Lookups, exports and erasures answer the person, not the dispatcher's work, so they are
the admin's (or an API key's with the ``privacy:*`` scopes); each is an audit event.
"""
from flask import Response

from ..accounts.models import Tenant
from ..core.auth import current, require
from ..extensions import db
from . import services
from .blueprint import blp
from .schemas import (EraseInSchema, EraseOutSchema, ExportInSchema, ExportSchema, NoticeInSchema, NoticeOutSchema,
                      NoticesOutSchema, PhoneQuerySchema, SubjectSchema)


def _notice_out(row) -> dict:
    return {"version": row.version, "text": row.text, "created_at": row.created_at, "created_by": row.created_by}


@blp.route("/privacy/notice", methods=["GET"])
@require("admin", "system")
@blp.response(200, NoticesOutSchema)
def get_notice():
    """The notice recipients are shown now, and every earlier version."""
    principal = current()
    notice = services.current_notice(principal.tenant_id)
    history = services.notice_history(principal.tenant_id)
    current_out = _notice_out(history[0]) if history else {"version": 0, "text": notice.text,
                                                           "created_at": None, "created_by": None}
    return {"current": current_out, "history": [_notice_out(row) for row in history]}


@blp.route("/privacy/notice", methods=["POST"])
@require("admin", "system")
@blp.arguments(NoticeInSchema)
@blp.response(201, NoticeOutSchema)
def publish_notice(body):
    """Publish a new version of the notice; sign-offs keep citing the version they saw."""
    return _notice_out(services.publish_notice(current(), body["text"]))


@blp.route("/privacy/subjects", methods=["GET"])
@require("admin", "system")
@blp.arguments(PhoneQuerySchema, location="query")
@blp.response(200, SubjectSchema)
def find_subject(args):
    """What is held under a phone number: waybills (as consignee) and receipts, with the
    state of each receipt's raw parts and any hold."""
    return services.subject_summary(current(), args["phone"])


@blp.route("/privacy/subjects/export", methods=["POST"])
@require("admin", "system")
@blp.arguments(ExportInSchema)
@blp.response(200, ExportSchema, description="format json; format pdf answers application/pdf")
def export_subject(body):
    """Everything held under a phone number, as JSON or a readable PDF (IPs masked)."""
    principal = current()
    export = services.subject_export(principal, body["phone"])
    if body["format"] == "pdf":
        from .export_pdf import render_export

        tenant = db.session.get(Tenant, principal.tenant_id)
        return Response(render_export(export, tenant.name), mimetype="application/pdf",
                        headers={"Content-Disposition": 'attachment; filename="personal-data.pdf"'})
    return export


@blp.route("/privacy/subjects/erase", methods=["POST"])
@require("admin", "system")
@blp.arguments(EraseInSchema)
@blp.response(200, EraseOutSchema)
def erase_subject(body):
    """Erase or anonymise what no hold keeps (a dispute, a delivery under way); the signed
    receipt PDF stays as the proof of delivery until the receipt's retention ends."""
    return services.subject_erase(current(), body["phone"])
