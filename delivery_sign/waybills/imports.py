"""CSV and XLSX waybill imports: one row per item line, grouped by waybill number.

Files are read as streams — a 100,000-row file never sits in memory — and handed on in
chunks of waybills to ``services.create_waybills``, the same path the API uses.
``import_file`` commits each chunk (the one service that commits: a large import must hold
no long lock, and a file stopped by its budget keeps the chunks before the stop).

A file is hostile until read. Every import has a wall-clock budget (``IMPORT_TIME_BUDGET_S``)
and reads at most ``MAX_ROWS`` rows of ``MAX_COLUMNS`` cells. An XLSX is a zip of XML parts,
so before openpyxl parses anything its directory is checked (part count, inflated sizes,
compression ratios: the memory budget, since openpyxl holds the shared strings in memory),
and any part declaring a DTD is refused (entities are how XXE and "billion laughs" work;
the XML parser refuses them too, as a second wall). The sheet's declared ``<dimension>``
is ignored: openpyxl would pad every row to it (A1:XFD1048576 is 16,384 cells a row).
Each limit hit is a 422 on ``file`` with its own code, saying which limit it was.
"""
import codecs
import csv
import io
import time
import zipfile
from xml.etree.ElementTree import ParseError

from flask import current_app

from ..core.auth import Principal
from ..core.errors import ValidationFailed, field_error
from ..extensions import db
from . import services

COLUMNS = ("number", "doc_type", "org_unit", "courier", "consignee_name", "consignee_phone",
           "consignee_address", "lat", "lng", "coord_system", "sku", "item_name", "qty", "unit",
           "external_ref")
CHINESE_HEADERS = dict(zip(
    ("运单号", "单据类型", "网点", "快递员", "收货人", "收货人电话", "收货地址", "纬度", "经度", "坐标系",
     "商品编码", "商品名称", "数量", "单位", "外部单号"), COLUMNS))
REQUIRED = ("number", "consignee_name", "consignee_phone", "consignee_address", "item_name", "qty")
CHUNK_WAYBILLS = 500
MAX_ROWS = 200_000
MAX_COLUMNS = 64               # 15 known columns; the rest of a wider row is never looked at
_BUDGET_CHECK_EVERY = 256      # rows between clock reads
_ENCODING_PROBE_BYTES = 1 << 20

# XLSX zip limits. A 200,000-row sheet written by openpyxl inflates to ~110 MB at a ratio
# of ~16; Excel's (shared strings) are smaller. Ratio: Apache POI's ZipSecureFile default
# (MIN_INFLATE_RATIO 0.01), applied to parts over 1 MB. Shared strings are held in memory
# by openpyxl at about 2–3x their XML size, so they get their own, lower cap.
XLSX_MAX_PARTS = 500
XLSX_MAX_INFLATED_BYTES = 300 << 20
XLSX_MAX_SHARED_STRINGS_BYTES = 32 << 20
XLSX_MAX_RATIO = 100
_RATIO_FROM_BYTES = 1 << 20
_DTD_PROBE_BYTES = 64 << 10    # a DTD must come before the root element, i.e. near the top


def _refuse(code, message):
    return ValidationFailed([field_error("file", code, message)])


def _mb(size):
    return f"{size / (1 << 20):.0f} MB"


class _Group:
    __slots__ = ("number", "rows", "payload")

    def __init__(self, number, row_no, row):
        self.number, self.rows = number, [row_no]
        location = None
        if row.get("lat") or row.get("lng"):
            location = {"lat": _number(row.get("lat")), "lng": _number(row.get("lng")),
                        "coord_system": row.get("coord_system") or "wgs84"}
        self.payload = {
            "number": number,
            "consignee": {"name": row.get("consignee_name"), "phone": row.get("consignee_phone"),
                          "address": row.get("consignee_address"), "location": location},
            "items": [],
        }
        for key in ("doc_type", "org_unit", "courier", "external_ref"):
            if row.get(key):
                self.payload[key] = row[key]
        self.add(row_no, row, first=True)

    def add(self, row_no, row, first=False):
        if not first:
            self.rows.append(row_no)
        item = {"name": row.get("item_name"), "qty": _number(row.get("qty"))}
        if row.get("sku"):
            item["sku"] = row["sku"]
        if row.get("unit"):
            item["unit"] = row["unit"]
        self.payload["items"].append(item)

    def row_for(self, field):
        """The file row an error of ``field`` (e.g. ``items.2.qty``) came from."""
        parts = (field or "").split(".")
        if len(parts) > 1 and parts[0] == "items" and parts[1].isdigit() and int(parts[1]) < len(self.rows):
            return self.rows[int(parts[1])]
        return self.rows[0]


def _number(value):
    """Keep numbers as typed so the schema's checks apply (a blank stays missing)."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        # Excel stores phone numbers and integer quantities as floats.
        return str(int(value))
    return str(value).strip()


def _detect_encoding(stream) -> str:
    head = stream.read(3)
    stream.seek(0)
    if head == codecs.BOM_UTF8:
        return "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := stream.read(_ENCODING_PROBE_BYTES):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"
    finally:
        stream.seek(0)


def _csv_rows(stream):
    text = io.TextIOWrapper(stream, encoding=_detect_encoding(stream), newline="")
    try:
        for row in csv.reader(text):
            yield row[:MAX_COLUMNS]
    finally:
        text.detach()


def check_xlsx(stream):
    """Refuse a zip bomb or a DTD before any XML is parsed (see the module docstring)."""
    with zipfile.ZipFile(stream) as archive:
        parts = archive.infolist()
        if len(parts) > XLSX_MAX_PARTS:
            raise _refuse("xlsx_too_many_parts", f"The XLSX holds {len(parts)} parts; at most {XLSX_MAX_PARTS} are read.")
        inflated = sum(part.file_size for part in parts)
        if inflated > XLSX_MAX_INFLATED_BYTES:
            raise _refuse("xlsx_too_large", f"The XLSX inflates to {_mb(inflated)}; imports are limited to "
                                            f"{_mb(XLSX_MAX_INFLATED_BYTES)} uncompressed. Split the file.")
        for part in parts:
            if part.file_size > _RATIO_FROM_BYTES and part.file_size > XLSX_MAX_RATIO * max(part.compress_size, 1):
                raise _refuse("xlsx_compression_ratio",
                              f"The XLSX part {part.filename[:80]} inflates {part.file_size // max(part.compress_size, 1)} "
                              f"times; at most {XLSX_MAX_RATIO} times is accepted (a zip bomb).")
            if part.filename.lower().endswith("sharedstrings.xml") and part.file_size > XLSX_MAX_SHARED_STRINGS_BYTES:
                raise _refuse("xlsx_shared_strings_too_large",
                              f"The XLSX's shared strings inflate to {_mb(part.file_size)}; at most "
                              f"{_mb(XLSX_MAX_SHARED_STRINGS_BYTES)} are read (they are held in memory).")
        for part in parts:
            if part.filename.lower().endswith((".xml", ".rels")):
                with archive.open(part) as fh:
                    head = fh.read(_DTD_PROBE_BYTES).replace(b"\x00", b"").upper()   # UTF-16 too
                if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                    raise _refuse("xml_dtd", f"The XLSX part {part.filename[:80]} declares a DTD; XLSX files "
                                             "never need one and entities are refused.")
    stream.seek(0)


def _xlsx_rows(stream):
    from openpyxl import load_workbook

    check_xlsx(stream)
    workbook = load_workbook(stream, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()          # never trust <dimension>: it would pad every row to it
        for row in sheet.iter_rows(max_row=MAX_ROWS + 2, values_only=True):
            yield [_cell(v) for v in row[:MAX_COLUMNS]]
    finally:
        workbook.close()


def _header(cells):
    columns = []
    for cell in cells:
        name = (cell or "").strip().lstrip("\ufeff")
        columns.append(CHINESE_HEADERS.get(name, name.lower()))
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise ValidationFailed([field_error("file", "missing_columns",
                                            f"The header row lacks: {', '.join(missing)}.")])
    return columns


def read_groups(stream, errors: list, time_budget_s=None):
    """Yield lists of ``_Group`` (at most ``CHUNK_WAYBILLS`` each) from a CSV or XLSX stream.

    The time budget counts from the first call, so it covers the caller's work on each
    chunk too; past it the import stops with a 422 (chunks already yielded stay imported:
    running the file again is safe, they come back as ``exists``)."""
    if time_budget_s is None:
        time_budget_s = current_app.config["IMPORT_TIME_BUDGET_S"]
    deadline = time.monotonic() + time_budget_s
    head = stream.read(4)
    stream.seek(0)
    is_xlsx = head == b"PK\x03\x04"
    try:
        rows = _xlsx_rows(stream) if is_xlsx else _csv_rows(stream)
        header = None
        chunk, current, flushed = [], None, set()
        for row_no, cells in enumerate(rows, start=1):
            if row_no % _BUDGET_CHECK_EVERY == 0 and time.monotonic() > deadline:
                raise _refuse("time_budget", f"The import stopped at row {row_no}: it ran past its budget of "
                                             f"{time_budget_s:g} s. Rows before it were imported; split the "
                                             "file, or run it again to continue (imported waybills come back "
                                             "as exists).")
            if header is None:
                header = _header(cells)
                continue
            if row_no > MAX_ROWS + 1:
                errors.append({"row": row_no, "field": None, "message": f"Files are limited to {MAX_ROWS} rows."})
                break
            if not any(c.strip() for c in cells if c):
                continue
            row = {name: (cells[i].strip() if i < len(cells) and cells[i] else "") for i, name in enumerate(header)}
            number = row.get("number", "")
            if current is not None and number == current.number:
                current.add(row_no, row)
                continue
            if number in flushed:
                errors.append({"row": row_no, "field": "number",
                               "message": f"Rows of waybill {number} must be adjacent in the file."})
                continue
            if len(chunk) >= CHUNK_WAYBILLS:
                yield chunk
                chunk = []
            current = _Group(number, row_no, row)
            flushed.add(number)
            chunk.append(current)
        if header is None:
            raise ValidationFailed([field_error("file", "empty", "The file has no header row.")])
        if chunk:
            yield chunk
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, ValueError, TypeError, csv.Error, OSError,
            ParseError, SyntaxError, EOFError, RecursionError) as exc:
        # ParseError: broken XML, and what expat says of entities it refuses (billion laughs).
        raise ValidationFailed([field_error("file", "unreadable",
                                            f"The file is not a readable CSV or XLSX ({type(exc).__name__}).")]) from None


def import_file(principal: Principal, stream) -> dict:
    """Create the file's waybills chunk by chunk, committing each: ``{created, exists, errors}``
    with the errors sorted by row (a waybill's field errors point at the row that holds it)."""
    created = exists = 0
    errors = []
    for groups in read_groups(stream, errors):
        results = services.create_waybills(principal, [g.payload for g in groups])
        for group, result in zip(groups, results):
            if result["status"] == "created":
                created += 1
            elif result["status"] == "exists":
                exists += 1
            else:
                errors.extend({"row": group.row_for(e["field"]), "field": e["field"], "message": e["message"]}
                              for e in result["errors"])
        db.session.commit()
        db.session.expunge_all()
    errors.sort(key=lambda e: e["row"])
    return {"created": created, "exists": exists, "errors": errors}
