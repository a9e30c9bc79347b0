"""Which request bodies an endpoint accepts; everything else gets 415 (checked in one place);
and where an uploaded file waits while it is parsed."""
from tempfile import SpooledTemporaryFile

from flask import Request, current_app, request

from .errors import Problem

JSON = "application/json"


def accepts(*mimetypes, form=None):
    """Mark a view as taking these request body types instead of JSON, and document them
    in the OpenAPI document (multipart: a ``file`` plus the ``form`` fields given)."""
    from flask_smorest import Blueprint

    content = {}
    for mimetype in mimetypes:
        if mimetype == "multipart/form-data":
            properties = {"file": {"type": "string", "format": "binary"}, **(form or {})}
            content[mimetype] = {"schema": {"type": "object", "properties": properties, "required": ["file"]}}
        else:
            content[mimetype] = {"schema": {"type": "string", "format": "binary"}}

    def decorator(view):
        view = Blueprint.doc(requestBody={"required": True, "content": content})(view)
        view._accepts = mimetypes
        return view

    return decorator


def check_request_content_type():
    """before_request: a body-carrying API call must send a type its endpoint accepts."""
    if request.method not in ("POST", "PUT", "PATCH") or not request.path.startswith("/api/"):
        return
    view = current_app.view_functions.get(request.endpoint)
    if view is None:
        return
    allowed = getattr(view, "_accepts", (JSON,))
    has_body = (request.content_length or 0) > 0 or request.headers.get("Transfer-Encoding")
    if not has_body and allowed == (JSON,):
        return
    if request.mimetype not in allowed:
        raise Problem(f"Send the body as {' or '.join(allowed)}.", status=415,
                      slug="unsupported-media-type", title="Unsupported media type")


def max_body(limit: int):
    """Mark a view as accepting at most ``limit`` bytes of body (413 beyond)."""

    def decorator(view):
        view._max_body = limit
        return view

    return decorator


def check_request_size():
    """before_request: per-endpoint body limits below the app-wide MAX_CONTENT_LENGTH."""
    view = current_app.view_functions.get(request.endpoint)
    limit = getattr(view, "_max_body", None)
    if limit is not None and (request.content_length or 0) > limit:
        raise Problem(f"The body is larger than {limit // 1024} KB.", status=413, slug="payload-too-large",
                      title="Payload too large")


def refuse_nul_in_url():
    """before_request: a NUL in the path or query can only be an attack (and PostgreSQL
    refuses it in text), so it is a 400 before any handler runs."""
    if "\x00" in request.path or any("\x00" in k or "\x00" in v for k, v in request.args.items(multi=True)):
        raise Problem("The URL contains a NUL character.", status=400, slug="bad-request", title="Bad request")


# A phone's camera JPEG (a 12-MP one is about 2 MB) is parsed into memory: werkzeug spools
# any file above 500 KB to a temporary file, written and read back within the request
# (issue 16: a fifth of a photo upload's time around its checks). Beyond this, to disk.
UPLOAD_IN_MEMORY_BYTES = 8 * 1024 * 1024


class UploadRequest(Request):
    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        return SpooledTemporaryFile(max_size=UPLOAD_IN_MEMORY_BYTES, mode="rb+")
