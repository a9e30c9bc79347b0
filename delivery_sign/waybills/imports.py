"""CSV and XLSX waybill imports: one row per item line, grouped by waybill number.

Files are read as streams — a 100,000-row file never sits in memory — and handed on in
chunks of waybills to ``services.create_waybills``, the same path the API uses.
"""
import codecs
import csv
import io
import zipfile

from ..core.errors import ValidationFailed, field_error

COLUMNS = ("number", "doc_type", "org_unit", "courier", "consignee_name", "consignee_phone",
           "consignee_address", "lat", "lng", "coord_system", "sku", "item_name", "qty", "unit",
           "external_ref")
CHINESE_HEADERS = dict(zip(
    ("运单号", "单据类型", "网点", "快递员", "收货人", "收货人电话", "收货地址", "纬度", "经度", "坐标系",
     "商品编码", "商品名称", "数量", "单位", "外部单号"), COLUMNS))
REQUIRED = ("number", "consignee_name", "consignee_phone", "consignee_address", "item_name", "qty")
CHUNK_WAYBILLS = 500
MAX_ROWS = 200_000
_ENCODING_PROBE_BYTES = 1 << 20


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
        yield from csv.reader(text)
    finally:
        text.detach()


def _xlsx_rows(stream):
    from openpyxl import load_workbook

    workbook = load_workbook(stream, read_only=True, data_only=True)
    try:
        for row in workbook.worksheets[0].iter_rows(values_only=True):
            yield [_cell(v) for v in row]
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


def read_groups(stream, errors: list):
    """Yield lists of ``_Group`` (at most ``CHUNK_WAYBILLS`` each) from a CSV or XLSX stream."""
    head = stream.read(4)
    stream.seek(0)
    is_xlsx = head == b"PK\x03\x04"
    try:
        rows = _xlsx_rows(stream) if is_xlsx else _csv_rows(stream)
        header = None
        chunk, current, flushed = [], None, set()
        for row_no, cells in enumerate(rows, start=1):
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
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, csv.Error, OSError) as exc:
        raise ValidationFailed([field_error("file", "unreadable",
                                            f"The file is not a readable CSV or XLSX ({type(exc).__name__}).")]) from None
