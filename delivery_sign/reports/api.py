"""Report and export handlers (read-only)."""
from flask import Response, stream_with_context

from ..core.auth import current, require
from ..core.clock import utcnow
from . import export, services
from .blueprint import blp
from ..core import vocabulary
from .schemas import (AuditEventSchema, ExportQuerySchema, LabelsQuerySchema, LabelsSchema, SummaryQuerySchema,
                      SummarySchema)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@blp.route("/reports/summary", methods=["GET"])
@blp.etag
@require("admin", "dispatcher", "system")
@blp.arguments(SummaryQuerySchema, location="query")
@blp.response(200, SummarySchema)
def summary(args):
    """Counts by status, signed by the consignee vs others, anomalies and median minutes from
    dispatch to sign-off, grouped by China day (UTC+8), org unit, courier, doc type or signer
    relation. Medians are exact below 30 minutes, then rounded down to 5 minutes below 2 hours,
    15 below 8 hours, an hour below 2 days and a day beyond. An ``If-None-Match`` of the last
    ETag answers 304 while the figures are unchanged (the dashboard polls this way)."""
    result = services.summary(current(), args["group_by"], args["from_"], args["to"], args["basis"])
    return {**result, "from_": result.pop("from")}


@blp.route("/labels", methods=["GET"])
@blp.arguments(LabelsQuerySchema, location="query")
@blp.response(200, LabelsSchema)
def labels(args):
    """The vocabulary (no sign-in needed): what each status, outcome, relation, anomaly, photo
    kind and export column is called, in Chinese or English. Pages load the same as /labels.js."""
    return {"lang": args["lang"], **vocabulary.catalog(args["lang"])}


@blp.route("/waybills/<number>/timeline", methods=["GET"])
@require("admin", "dispatcher", "system")
@blp.response(200, AuditEventSchema(many=True))
def timeline(number):
    """The waybill's audit events (created, assigned, links, OTP, photos, sign-off, PDF, reconciled)."""
    return services.timeline(current(), number)


@blp.route("/waybills/export", methods=["GET"])
@require("admin", "dispatcher", "system")
@blp.arguments(ExportQuerySchema, location="query")
@blp.response(200, content_type="text/csv")
def export_waybills(args):
    """Stream every waybill matching the list filters as CSV (UTF-8 with BOM) or XLSX; phones masked.

    ``lang=zh|en`` (default: the tenant's language) words headers and values (statuses,
    relations, anomalies, doc type, org unit and courier names) and gives times in the
    tenant's time zone, named in the headers; XLSX has a second sheet, one row per item
    line (shipped, received, damaged, note). ``lang=codes``: codes and UTC times, as before.
    After the earlier columns: ``outcome, drop_place, consent_kind, consent_answered_at,
    assisted, assisted_otp_to, assisted_otp_phone`` (a drop's place and the consent it relied
    on; an assisted sign-off and whose phone its code went to, masked)."""
    principal = current()
    fmt = args.pop("format")
    wording = export.Wording.for_tenant(principal.tenant_id, args.pop("lang"))
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    if fmt == "xlsx":
        body, mimetype = export.xlsx_stream(principal, args, wording), XLSX
    else:
        body, mimetype = export.csv_stream(principal, args, wording), "text/csv; charset=utf-8"
    response = Response(stream_with_context(body), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="waybills-{stamp}.{fmt}"'
    return response
