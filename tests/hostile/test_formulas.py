"""CSV/XLSX formula injection (issue 15 item 13): an export never hands a spreadsheet a cell
that it would run, whatever the locale splits on and whatever blanks lead the cell."""
import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from delivery_sign.extensions import db
from delivery_sign.waybills.models import Waybill

HOSTILE = {
    "semicolon": "张三;=HYPERLINK(\"http://evil\",\"点我\")",
    "space": " =1+1",
    "tab": "\t=cmd|'/c calc'!A1",
    "ideographic_space": "\u3000+1+1",
    "control": "\x01@SUM(A1)",
    "full_width": "\uff1d1+1",
    "minus": "-2-3",
    "second_semicolon": "a;b; @x",
}
# What Excel or LibreOffice would start a formula with, after the blanks and controls they skip.
RUNS = re.compile(r"^[\s\x00-\x1f\x7f\"]*[=+\-@\uff1d\uff0b\uff0d\uff20]")


@pytest.fixture
def hostile_numbers(world):
    numbers = {}
    for key, name in HOSTILE.items():
        numbers[key] = world.waybill(consignee={"name": name, "phone": "13800138000",
                                                "address": "上海市;-1楼"})["number"]
    return numbers


def _export(world, fmt, lang="codes"):
    response = world.get("/waybills/export", query_string={"format": fmt, "lang": lang})
    assert response.status_code == 200
    return response.get_data()


def test_csv_cells_run_nowhere_even_split_at_semicolons(world, hostile_numbers):
    text = _export(world, "csv").decode("utf-8-sig")
    records = list(csv.DictReader(io.StringIO(text)))
    assert len(records) == len(HOSTILE)
    names = {r["number"]: r["consignee_name"] for r in records}
    # Read as comma-separated: every cell is text (and still says what was typed).
    for key, number in hostile_numbers.items():
        assert not RUNS.match(names[number]), (key, names[number])
        typed = re.sub(r"[\x01-\x08]", "", HOSTILE[key])      # controls are stripped when sent
        assert names[number].replace("'", "") == typed.replace("'", ""), key
    # Read as a semicolon-locale Excel does: no part of any line starts a formula.
    for line in text.splitlines()[1:]:
        for part in line.split(";"):
            assert not RUNS.match(part), part
    assert names[hostile_numbers["semicolon"]] == "张三;'=HYPERLINK(\"http://evil\",\"点我\")"
    assert names[hostile_numbers["space"]] == "' =1+1"


def test_xlsx_cells_are_text_not_formulas(world, hostile_numbers):
    book = load_workbook(io.BytesIO(_export(world, "xlsx", lang="zh")))     # both sheets, as an office reads them
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows(min_row=2) for cell in row]
    assert cells and all(cell.data_type != "f" for cell in cells)
    for cell in cells:
        if isinstance(cell.value, str):
            assert not RUNS.match(cell.value), cell.value


def test_xlsx_export_survives_control_characters_stored_before_the_text_rules(app, world):
    number = world.waybill()["number"]
    with app.app_context():
        db.session.execute(update(Waybill).where(Waybill.number == number)
                           .values(consignee_name="\x01=1+1", consignee_address="楼\x0b下"))
        db.session.commit()
    sheet = load_workbook(io.BytesIO(_export(world, "xlsx"))).active
    row = next(r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0] == number)
    assert row[5] == "'=1+1" and row[7] == "楼下"

