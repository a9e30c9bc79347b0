"""Hostile import files (issue 15 item 2): each is a 422 on ``file`` naming the limit it hit,
fast, and imports nothing; honest files with the same shapes still import."""
import pytest

from delivery_sign.waybills import imports
from tests.waybills import xlsx_files as xlsx
from tests.waybills.test_import import upload


def refusal(response):
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    (error,) = response.get_json()["errors"]
    assert error["field"] == "file"
    return error


def nothing_imported(world):
    return world.get("/waybills").get_json()["items"] == []


def test_declared_dimension_is_ignored(world):
    data = xlsx.dimension_bomb()
    assert len(data) < 2048                                      # 1.6 KB claiming A1:XFD1048576
    result = upload(world, data, name="bomb.xlsx").get_json()
    # Before: every row padded to 16,384 cells and read to row 1,048,576 (166 s, then a
    # row-limit error). Now the one real row is read and nothing else.
    assert result == {"created": 1, "exists": 0, "errors": []}
    assert world.get("/waybills/XL00000001").get_json()["consignee"]["name"] == "李娜"


def test_shared_strings_bomb_is_refused_before_parsing(world):
    error = refusal(upload(world, xlsx.shared_strings_bomb(), name="strings.xlsx"))
    assert error["code"] == "xlsx_compression_ratio" and "sharedStrings.xml" in error["message"]
    assert nothing_imported(world)


def test_shared_strings_over_their_memory_cap_are_refused(world, monkeypatch):
    monkeypatch.setattr(imports, "XLSX_MAX_SHARED_STRINGS_BYTES", 64 * 1024)
    sst = ('<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           + "".join(f"<si><t>收货人{i:06d}</t></si>" for i in range(4000)) + "</sst>")
    error = refusal(upload(world, xlsx.workbook([xlsx.HEADER] + xlsx.data_rows(1), shared_strings=sst),
                           name="strings.xlsx"))
    assert error["code"] == "xlsx_shared_strings_too_large" and "held in memory" in error["message"]


def test_inflated_size_and_part_count_are_capped(world, monkeypatch):
    honest = xlsx.workbook([xlsx.HEADER] + xlsx.data_rows(50))
    monkeypatch.setattr(imports, "XLSX_MAX_INFLATED_BYTES", 4 * 1024)
    error = refusal(upload(world, honest, name="big.xlsx"))
    assert error["code"] == "xlsx_too_large" and "uncompressed" in error["message"]
    monkeypatch.undo()
    many = xlsx.workbook([xlsx.HEADER] + xlsx.data_rows(1),
                         extra_members=[(f"xl/media/p{i}.bin", b"") for i in range(imports.XLSX_MAX_PARTS)])
    assert refusal(upload(world, many, name="parts.xlsx"))["code"] == "xlsx_too_many_parts"
    assert nothing_imported(world)
    assert upload(world, honest, name="honest.xlsx").get_json()["created"] == 50


def test_xxe_is_a_422_and_reads_no_file(world):
    response = upload(world, xlsx.xxe(), name="xxe.xlsx")
    error = refusal(response)
    assert error["code"] == "xml_dtd"
    assert "root:" not in response.get_data(as_text=True)
    assert nothing_imported(world)


def test_billion_laughs_is_a_422(world):
    assert refusal(upload(world, xlsx.billion_laughs(), name="lol.xlsx"))["code"] == "xml_dtd"
    assert nothing_imported(world)


def test_a_dtd_hidden_past_the_probe_is_refused_by_the_parser(world):
    # The DTD probe reads the top of each part; padding pushes the DTD below it, and the
    # XML parser (which never expands external entities) refuses it as the second wall.
    data = xlsx.workbook(rows_xml=xlsx.row_xml(1, xlsx.HEADER) + xlsx.row_xml(2, ["PAD00000001", "&lol;", "13800138000",
                                                                                  "地址", "沙发", 1]),
                         prolog="<!--" + " " * (imports._DTD_PROBE_BYTES + 10) + '--><!DOCTYPE worksheet '
                                '[<!ENTITY lol SYSTEM "file:///etc/passwd">]>')
    error = refusal(upload(world, data, name="padded.xlsx"))
    assert error["code"] == "unreadable"
    assert nothing_imported(world)


@pytest.mark.parametrize("make", [xlsx.broken_xml, lambda: b"PK\x03\x04 not really a zip"])
def test_broken_xlsx_is_a_422(world, make):
    assert refusal(upload(world, make(), name="broken.xlsx"))["code"] == "unreadable"


def test_rows_and_columns_read_are_capped(world):
    # A row numbered 1,048,576 is past the row limit: said so, without reading a million rows.
    result = upload(world, xlsx.row_gap_bomb(), name="gap.xlsx").get_json()
    assert result["created"] == 0
    assert result["errors"] == [{"row": imports.MAX_ROWS + 2, "field": None,
                                 "message": f"Files are limited to {imports.MAX_ROWS} rows."}]
    # A 16,384-cell header still finds its columns in the first ones.
    wide = xlsx.workbook(rows_xml=xlsx.row_xml(1, xlsx.HEADER + ["x"] * 16_000)
                         + xlsx.row_xml(2, xlsx.data_rows(1, prefix="WIDE")[0] + ["y"] * 16_000))
    assert upload(world, wide, name="wide.xlsx").get_json() == {"created": 1, "exists": 0, "errors": []}


def test_csv_columns_past_the_cap_are_not_read(world):
    header = "number,consignee_name,consignee_phone,consignee_address,item_name,qty"
    row = "CSVW-0001,李娜,13800138000,上海,沙发,1"
    far = "," * imports.MAX_COLUMNS + "qty"          # a second "qty" far to the right
    data = f"{header}{far}\n{row}{',' * imports.MAX_COLUMNS}oops\n".encode()
    assert upload(world, data).get_json() == {"created": 1, "exists": 0, "errors": []}


def test_an_import_past_its_time_budget_stops_with_a_422(world, app, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_TIME_BUDGET_S", 0)
    header = "number,consignee_name,consignee_phone,consignee_address,item_name,qty\n"
    rows = "".join(f"SLOW-{i:05d},李娜,13800138000,上海,沙发,1\n" for i in range(600))
    error = refusal(upload(world, (header + rows).encode()))
    assert error["code"] == "time_budget"
    assert f"row {imports._BUDGET_CHECK_EVERY}" in error["message"] and "budget of 0 s" in error["message"]
    assert nothing_imported(world)                       # stopped before its first chunk of 500
