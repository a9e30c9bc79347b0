"""Waybill handlers: parse → authorize → call a service → dump."""
from flask import request

from ..core.auth import current, require
from ..core.content import accepts
from ..core.errors import ValidationFailed, field_error
from . import imports, services
from .blueprint import blp
from .schemas import (AssignSchema, BatchInSchema, BatchResultSchema, BulkReconcileResultSchema,
                      BulkReconcileSchema, CancelSchema, ImportResultSchema, ReconcileSchema,
                      RevealQuerySchema, WaybillInSchema, WaybillOutSchema, WaybillPageSchema, WaybillQuerySchema)

STAFF_OR_SYSTEM = ("admin", "dispatcher", "system")


@blp.route("/waybills", methods=["POST"])
@require(*STAFF_OR_SYSTEM)
@blp.arguments(WaybillInSchema, as_kwargs=False)
@blp.response(201, WaybillOutSchema)
@blp.alt_response(200, schema=WaybillOutSchema, description="The same waybill was sent before")
def create_waybill(_body):
    """Create a waybill; the same number with the same body again answers 200 with the stored one."""
    waybill, created = services.create_waybill(current(), request.get_json())
    return waybill, 201 if created else 200


@blp.route("/waybills/batch", methods=["POST"])
@require(*STAFF_OR_SYSTEM)
@blp.arguments(BatchInSchema)
@blp.response(200, BatchResultSchema)
def create_batch(body):
    """Create up to 1000 waybills; each gets its own result and one bad one sinks nothing."""
    results = services.create_waybills(current(), body["waybills"])
    return {"results": [_batch_result(r) for r in results]}


def _batch_result(result):
    out = {"number": result["number"], "status": result["status"]}
    if result.get("errors"):
        out["errors"] = result["errors"]
    return out


@blp.route("/waybills/import", methods=["POST"])
@accepts("multipart/form-data")
@require(*STAFF_OR_SYSTEM)
@blp.response(200, ImportResultSchema)
def import_waybills():
    """Import a CSV (UTF-8 or GB18030) or XLSX file, one row per item line.

    Waybills are committed in chunks of 500, so a large import holds no long lock; running
    the same file again is safe: imported waybills come back as ``exists``.
    """
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed([field_error("file", "required", "Send the file in the multipart field 'file'.")])
    return imports.import_file(current(), upload.stream)


@blp.route("/waybills", methods=["GET"])
@blp.etag
@require("admin", "dispatcher", "courier", "system")
@blp.arguments(WaybillQuerySchema, location="query")
@blp.response(200, WaybillPageSchema)
def list_waybills(filters):
    """Waybills the caller can see, newest first, filtered; keyset-paged with ``cursor``.
    With ``If-None-Match`` of the last ETag: 304 while the page is unchanged (for polling)."""
    return services.list_waybills(current(), filters)


@blp.route("/waybills/reconcile", methods=["POST"])
@require("admin", "dispatcher")
@blp.arguments(BulkReconcileSchema)
@blp.response(200, BulkReconcileResultSchema)
def reconcile_many(body):
    """Reconcile many signed-off waybills at once; one result per number."""
    return {"results": services.reconcile_many(current(), body["numbers"], body["decision"], body["note"])}


@blp.route("/waybills/<number>/reconcile", methods=["POST"])
@require("admin", "dispatcher")
@blp.arguments(ReconcileSchema)
@blp.response(200, WaybillOutSchema)
def reconcile(body, number):
    """Accept a sign-off, or dispute it with a note; audited."""
    return services.reconcile(current(), number, body["decision"], body["note"])


@blp.route("/waybills/<number>", methods=["GET"])
@require("admin", "dispatcher", "courier", "system")
@blp.arguments(RevealQuerySchema, location="query")
@blp.response(200, WaybillOutSchema)
def get_waybill(args, number):
    """One waybill; ``?reveal=phone`` (admin, dispatcher) shows the full phone and is audited."""
    principal = current()
    waybill = services.get_waybill(principal, number)
    if args["reveal"] == "phone":
        services.reveal_phone(principal, waybill)
    return waybill


@blp.route("/waybills/<number>/assign", methods=["POST"])
@require("admin", "dispatcher", "system")
@blp.arguments(AssignSchema)
@blp.response(200, WaybillOutSchema)
def assign(body, number):
    return services.assign(current(), number, body["courier"])


@blp.route("/waybills/<number>/cancel", methods=["POST"])
@require("admin", "dispatcher", "system")
@blp.arguments(CancelSchema)
@blp.response(200, WaybillOutSchema)
def cancel(body, number):
    """Cancel a waybill that has not been signed off."""
    return services.cancel(current(), number, body["reason"])


@blp.route("/waybills/<number>/document", methods=["PUT"])
@accepts("application/pdf")
@require("admin", "dispatcher", "system")
@blp.response(200, WaybillOutSchema)
def put_document(number):
    """Upload the original delivery note (``application/pdf``, ≤ 20 MB); the receipt is appended to it."""
    return services.attach_document(current(), number, request.get_data(cache=False))
