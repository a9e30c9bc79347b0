"""Hand-built XLSX files, hostile ones included: a workbook is a zip of a few XML parts, so
each attack is written out part by part, the way an attacker would (no spreadsheet library
would write them)."""
import io
import zipfile

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '{shared}</Types>')
SHARED_TYPE = ('<Override PartName="/xl/sharedStrings.xml" '
               'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>')
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>')
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="waybills" sheetId="1" r:id="rId1"/></sheets></workbook>')
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/>{shared}</Relationships>')
SHARED_REL = ('<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
              'relationships/sharedStrings" Target="sharedStrings.xml"/>')
SHEET = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{prolog}'
         '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
         '{dimension}<sheetData>{rows}</sheetData></worksheet>')

HEADER = ["number", "consignee_name", "consignee_phone", "consignee_address", "item_name", "qty"]


def _column(index):
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def row_xml(row_no, cells):
    out = []
    for i, value in enumerate(cells):
        ref = f"{_column(i)}{row_no}"
        if isinstance(value, (int, float)):
            out.append(f'<c r="{ref}"><v>{value}</v></c>')
        else:
            out.append(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>')
    return f'<row r="{row_no}">{"".join(out)}</row>'


def data_rows(count, start=1, prefix="XL"):
    return [[f"{prefix}{start + i:08d}", "李娜", "13800138000", "上海市浦东新区世纪大道100号", "沙发", 1]
            for i in range(count)]


def workbook(rows=None, *, rows_xml=None, dimension="", prolog="", shared_strings=None,
             sheet_xml=None, extra_members=()):
    """An XLSX as bytes: ``rows`` (lists of cells, header first) or raw ``rows_xml``;
    ``shared_strings`` is the raw xl/sharedStrings.xml; ``extra_members`` (name, bytes)."""
    if rows_xml is None:
        rows_xml = "".join(row_xml(i, cells) for i, cells in enumerate(rows or [HEADER], start=1))
    sheet = sheet_xml if sheet_xml is not None else SHEET.format(prolog=prolog, dimension=dimension, rows=rows_xml)
    shared = shared_strings is not None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES.format(shared=SHARED_TYPE if shared else ""))
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.format(shared=SHARED_REL if shared else ""))
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        if isinstance(shared_strings, str):
            archive.writestr("xl/sharedStrings.xml", shared_strings)
        elif shared:
            with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
                for chunk in shared_strings:
                    part.write(chunk.encode())
        for name, data in extra_members:
            archive.writestr(name, data)
    return buffer.getvalue()


def dimension_bomb():
    """About 1.6 KB: one header and one waybill, declaring the whole sheet A1:XFD1048576."""
    return workbook([HEADER] + data_rows(1), dimension='<dimension ref="A1:XFD1048576"/>')


def shared_strings_bomb(strings=100_000, length=1_000):
    """About 100 KB that inflate to 100 MB of shared strings, which a reader holds in memory."""
    def parts():
        yield ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
               f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{strings}" '
               f'uniqueCount="{strings}">')
        block = f"<si><t>{'x' * length}</t></si>" * 100
        for _ in range(strings // 100):
            yield block
        yield "</sst>"

    return workbook([HEADER] + data_rows(1), shared_strings=parts())


def xxe(target="file:///etc/passwd"):
    prolog = f'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "{target}">]>'
    rows = row_xml(1, HEADER) + row_xml(2, ["XXE00000001", "&xxe;", "13800138000", "地址", "沙发", 1])
    return workbook(rows_xml=rows, prolog=prolog)


def billion_laughs():
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 10))
    prolog = f"<!DOCTYPE worksheet [{entities}]>"
    rows = row_xml(1, HEADER) + row_xml(2, ["LOL00000001", "&lol9;", "13800138000", "地址", "沙发", 1])
    return workbook(rows_xml=rows, prolog=prolog)


def broken_xml():
    return workbook(sheet_xml='<?xml version="1.0"?><worksheet><sheetData><row r="1"><c r="A1"')


def row_gap_bomb():
    """A header, then one row numbered 1,048,576: every row between is an empty row to read."""
    return workbook(rows_xml=row_xml(1, HEADER) + row_xml(1_048_576, data_rows(1)[0]))


def wide_row_bomb(columns=16_384):
    """A header with a single row 16,384 cells wide."""
    return workbook(rows_xml=row_xml(1, HEADER + ["x"] * (columns - len(HEADER))))
