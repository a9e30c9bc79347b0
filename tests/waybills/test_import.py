"""CSV and XLSX imports: encodings, Chinese headers, grouping and row-level errors."""
import io

from openpyxl import Workbook

HEADER = "number,consignee_name,consignee_phone,consignee_address,sku,item_name,qty,unit,lat,lng,coord_system\n"
ROWS = ("IMP-0001,李娜,13800138000,上海市浦东新区,SOFA-3,沙发,1,件,31.23,121.47,gcj02\n"
        "IMP-0001,李娜,13800138000,上海市浦东新区,CHR-01,餐椅,4,把,31.23,121.47,gcj02\n"
        "IMP-0002,王伟,13912345678,成都市,,纸箱,2,,,,\n")


def upload(world, data: bytes, name="waybills.csv", who="admin"):
    return world.post("/waybills/import", who=who, data={"file": (io.BytesIO(data), name)},
                      content_type="multipart/form-data", json=None)


def test_utf8_csv_groups_rows_by_number(world):
    result = upload(world, (HEADER + ROWS).encode("utf-8")).get_json()
    assert result == {"created": 2, "exists": 0, "errors": []}
    first = world.get("/waybills/IMP-0001").get_json()
    assert [i["name"] for i in first["items"]] == ["沙发", "餐椅"]
    assert first["consignee"]["location"]["coord_system"] == "gcj02"


def test_bom_and_gb18030_and_chinese_headers(world):
    assert upload(world, (HEADER + ROWS).encode("utf-8-sig")).get_json()["created"] == 2
    chinese = "运单号,收货人,收货人电话,收货地址,商品名称,数量\nGBK-0001,张敏,13700001111,北京市朝阳区,打印纸,3\n"
    result = upload(world, chinese.encode("gb18030")).get_json()
    assert result == {"created": 1, "exists": 0, "errors": []}
    assert world.get("/waybills/GBK-0001").get_json()["consignee"]["name"] == "张敏"


def test_rerun_reports_exists(world):
    upload(world, (HEADER + ROWS).encode())
    assert upload(world, (HEADER + ROWS).encode()).get_json() == {"created": 0, "exists": 2, "errors": []}


def test_invalid_waybill_rejected_whole_rest_imported(world):
    rows = (HEADER + ROWS +
            "BAD-0003,赵六,13800138000,深圳,,好的,1,,,,\n"
            "BAD-0003,赵六,13800138000,深圳,,坏的,-1,,,,\n"
            "BAD-0004,钱七,12345,深圳,,东西,1,,,,\n")
    result = upload(world, rows.encode()).get_json()
    assert result["created"] == 2
    assert [(e["row"], e["field"]) for e in result["errors"]] == [(6, "items.1.qty"), (7, "consignee.phone")]
    assert world.get("/waybills/BAD-0003").status_code == 404


def test_xlsx_import(world):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["运单号", "收货人", "收货人电话", "收货地址", "商品名称", "数量", "单位"])
    sheet.append(["XLS-0001", "刘洋", 15000002222, "上海", "水", 3, "桶"])
    sheet.append(["XLS-0001", "刘洋", 15000002222, "上海", "杯子", 2.5, "箱"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = upload(world, buffer.getvalue(), "waybills.xlsx").get_json()
    assert result == {"created": 1, "exists": 0, "errors": []}
    items = world.get("/waybills/XLS-0001").get_json()["items"]
    assert [(i["name"], i["qty"]) for i in items] == [("水", 3), ("杯子", 2.5)]


def test_bad_files(world):
    missing = upload(world, b"number,qty\nA-0001,1\n")
    assert missing.status_code == 422 and missing.get_json()["errors"][0]["code"] == "missing_columns"
    assert upload(world, b"").status_code == 422
    fake_xlsx = upload(world, b"PK\x03\x04garbage", "x.xlsx")
    assert fake_xlsx.status_code == 422 and fake_xlsx.get_json()["errors"][0]["code"] == "unreadable"
    no_file = world.post("/waybills/import", data={"other": "x"}, content_type="multipart/form-data")
    assert no_file.status_code == 422
    as_json = world.post("/waybills/import", {"file": "x"})
    assert as_json.status_code == 415


def test_split_rows_of_one_waybill_are_reported(world):
    rows = HEADER + ROWS + "IMP-0001,李娜,13800138000,上海市浦东新区,X,再来一件,1,件,,,\n"
    result = upload(world, rows.encode()).get_json()
    assert result["created"] == 2
    assert result["errors"] == [{"row": 5, "field": "number",
                                 "message": "Rows of waybill IMP-0001 must be adjacent in the file."}]
