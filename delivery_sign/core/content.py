"""Which request bodies an endpoint accepts; everything else gets 415 (checked in one place);
and how a multipart body is parsed and where an uploaded file waits meanwhile.

Multipart bodies are split by python-multipart (the parser Starlette uses) instead of
werkzeug's own: on a 1.8 MB camera JPEG werkzeug's decoder took 2.5–2.9 ms of the upload,
python-multipart 0.26 ms (issue 16). What comes out is what werkzeug gives a view —
``request.form`` strings, ``request.files`` ``FileStorage`` objects with their name,
filename, type and headers — under the same limits: ``MAX_FORM_PARTS`` parts,
``MAX_FORM_MEMORY_SIZE`` bytes per non-file field (413 past either), at most 8 headers of
4 KB a part; a body that is not well-formed multipart reads as no form at all, as in
werkzeug (the view then says which field is missing).
"""
from tempfile import SpooledTemporaryFile

from flask import Request, current_app, request
from python_multipart.multipart import MultipartParser
from werkzeug.datastructures import FileStorage, Headers
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.http import parse_options_header

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


READ_CHUNK_BYTES = 64 * 1024


class _Part:
    __slots__ = ("headers", "name", "filename", "sink", "chunks", "size")

    def __init__(self):
        self.headers, self.name, self.filename, self.sink, self.chunks, self.size = Headers(), None, None, None, [], 0


class _MultipartCollector:
    """python-multipart's callbacks, collecting the parts as werkzeug's MultiPartParser would."""

    def __init__(self, form_parser: FormDataParser, content_length: int | None):
        self.form_parser, self.content_length = form_parser, content_length
        self.fields, self.files, self.parts, self.ended = [], [], 0, False
        self.part, self.header_name, self.header_value = None, [], []

    def callbacks(self) -> dict:
        return {"on_part_begin": self.part_begin, "on_header_field": self.header_field,
                "on_header_value": self.header_value_data, "on_header_end": self.header_end,
                "on_headers_finished": self.headers_finished, "on_part_data": self.part_data,
                "on_part_end": self.part_end, "on_end": self.end}

    def part_begin(self):
        self.parts += 1
        limit = self.form_parser.max_form_parts
        if limit is not None and self.parts > limit:
            raise RequestEntityTooLarge()
        self.part = _Part()

    def header_field(self, data, start, end):
        self.header_name.append(data[start:end])

    def header_value_data(self, data, start, end):
        self.header_value.append(data[start:end])

    def header_end(self):
        # UTF-8, as werkzeug reads part headers (a phone sends 照片.jpg so); anything else is
        # a UnicodeDecodeError, a ValueError: not a form.
        self.part.headers.add(b"".join(self.header_name).decode().strip(" \t"),
                              b"".join(self.header_value).decode().strip(" \t"))
        self.header_name, self.header_value = [], []

    def headers_finished(self):
        part = self.part
        disposition, params = parse_options_header(part.headers.get("Content-Disposition"))
        if disposition != "form-data" or "name" not in params:
            raise ValueError("a multipart part without a form-data name")
        part.name, part.filename = params["name"], params.get("filename")
        if part.filename is not None:
            part.sink = self.form_parser.stream_factory(
                total_content_length=self.content_length, content_type=part.headers.get("Content-Type"),
                filename=part.filename, content_length=None)

    def part_data(self, data, start, end):
        part = self.part
        if part.sink is not None:
            part.sink.write(data[start:end])
            return
        part.size += end - start
        limit = self.form_parser.max_form_memory_size
        if limit is not None and part.size > limit:
            raise RequestEntityTooLarge()
        part.chunks.append(data[start:end])

    def part_end(self):
        part = self.part
        if part.sink is not None:
            part.sink.seek(0)
            self.files.append((part.name, FileStorage(part.sink, part.filename, part.name,
                                                      headers=part.headers)))
        else:
            _, params = parse_options_header(part.headers.get("Content-Type"))
            self.fields.append((part.name, b"".join(part.chunks).decode(params.get("charset", "utf-8"), "replace")))
        self.part = None

    def end(self):
        self.ended = True

    def close(self):
        """A body that failed half-way: the files opened for it go (nothing is kept)."""
        sinks = [f.stream for _, f in self.files] + ([self.part.sink] if self.part and self.part.sink else [])
        for sink in sinks:
            sink.close()


class UploadFormParser(FormDataParser):
    """werkzeug's form parser with python-multipart doing the multipart splitting (module doc)."""

    def _parse_multipart(self, stream, mimetype, content_length, options):
        boundary = options.get("boundary", "").encode("ascii")   # a UnicodeEncodeError is a ValueError
        if not boundary:
            raise ValueError("Missing boundary")
        collector = _MultipartCollector(self, content_length)
        parser = MultipartParser(boundary, collector.callbacks())
        try:
            while chunk := stream.read(READ_CHUNK_BYTES):
                parser.write(chunk)
            parser.finalize()
            if not collector.ended:
                raise ValueError("the multipart body ends before its last boundary")
        except BaseException:
            collector.close()
            raise
        return stream, self.cls(collector.fields), self.cls(collector.files)


class UploadRequest(Request):
    form_data_parser_class = UploadFormParser

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        return SpooledTemporaryFile(max_size=UPLOAD_IN_MEMORY_BYTES, mode="rb+")
