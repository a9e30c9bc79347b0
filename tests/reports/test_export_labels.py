"""Exports an office reads: labels in Chinese or English, names instead of codes, times in
the tenant's zone and labelled, and in XLSX a sheet of the item lines."""
import csv
import io
from datetime import datetime, timedelta

from openpyxl import load_workbook


def _csv(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    return list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def _partial(door):
    body = door.body(outcome="partial", signer={"name": door.signature["signer_name"], "relation": "family"},
                     items=[{"number": door.number, "sku": "CHR-01", "received_qty": 3, "damaged_qty": 1,
                             "note": "一把椅子腿断了"}])
    response = door.submit(body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_default_export_is_in_chinese_with_names_and_china_times(world, door):
    receipt = _partial(door)
    rows = _csv(world.get("/waybills/export"))
    assert len(rows) == 1
    row = rows[0]
    assert row["运单号"] == door.number and row["回执编号"] == receipt["receipt_id"]
    assert row["状态"] == "部分签收"
    assert row["与收货人关系"] == "家属"
    assert row["单据类型"] == "送货签收单" and row["网点"] == "浦东站"
    assert row["快递员"] == "courier1"            # no display name: the username
    anomalies = row["异常"].split("；")
    assert "非收货人本人签收" in anomalies and "部分签收（有短少或破损）" in anomalies
    assert "signer_not_consignee" not in row["异常"]
    # The signed time is China time (UTC+8) and the header says so.
    signed_header = next(h for h in row if h.startswith("签收时间"))
    assert signed_header == "签收时间 (Asia/Shanghai, UTC+08:00)"
    utc = datetime.fromisoformat(world.get(f"/waybills/{door.number}").get_json()["signed_at"].replace("Z", ""))
    assert row[signed_header] == (utc + timedelta(hours=8)).replace(microsecond=0).isoformat(sep=" ")


def test_english_export_and_courier_display_names(world, door):
    assert world.patch("/users/courier1", {"display_name": "快递员 孙"}).status_code == 200
    _partial(door)
    row = _csv(world.get("/waybills/export", query_string={"lang": "en"}))[0]
    assert row["Waybill number"] == door.number
    assert row["Status"] == "Partly signed" and row["Relation to the consignee"] == "Family"
    assert row["Courier"] == "快递员 孙" and row["Org unit"] == "浦东站"
    assert "Signed by someone other than the consignee" in row["Anomalies"].split("; ")


def test_the_tenant_sets_zone_and_language(world, door):
    _partial(door)
    assert world.get("/tenant").get_json() == {"slug": world.slug, "name": f"测试物流 {world.slug}",
                                               "timezone": "Asia/Shanghai", "language": "zh"}
    changed = world.patch("/tenant", {"timezone": "Europe/Berlin", "language": "en"})
    assert changed.status_code == 200 and changed.get_json()["timezone"] == "Europe/Berlin"
    row = _csv(world.get("/waybills/export"))[0]                     # now English by default
    header = next(h for h in row if h.startswith("Signed ("))
    assert header.startswith("Signed (Europe/Berlin, UTC+0")
    utc = datetime.fromisoformat(world.get(f"/waybills/{door.number}").get_json()["signed_at"].replace("Z", ""))
    local = datetime.fromisoformat(row[header])
    assert timedelta(hours=1) <= local - utc.replace(microsecond=0) <= timedelta(hours=2)
    assert "运单号" in _csv(world.get("/waybills/export", query_string={"lang": "zh"}))[0]


def test_tenant_settings_refuse_bad_zones_and_non_admins(world, other_world):
    for bad in ("Mars/Olympus", "../../etc/passwd", "", "x" * 65):
        response = world.patch("/tenant", {"timezone": bad})
        assert response.status_code == 422, bad
        assert response.mimetype == "application/problem+json"
    assert world.patch("/tenant", {"language": "fr"}).status_code == 422
    assert world.patch("/tenant", {"slug": "stolen"}).status_code == 422
    assert world.patch("/tenant", {"timezone": "Asia/Urumqi"}, who="disp_east").status_code == 403
    assert world.get("/tenant", who="courier1").status_code == 403
    assert world.get("/tenant", who="api").status_code == 403          # a key has no business with settings
    assert world.patch("/tenant", {"timezone": "Asia/Urumqi"}).status_code == 200
    assert other_world.get("/tenant").get_json()["timezone"] == "Asia/Shanghai"      # another tenant's own


def test_xlsx_has_an_item_sheet_with_shipped_received_damaged_and_note(world, door):
    _partial(door)
    unsigned = world.waybill()["number"]
    response = world.get("/waybills/export", query_string={"format": "xlsx"})
    book = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    assert book.sheetnames == ["运单", "货物明细"]
    items = list(book["货物明细"].iter_rows(values_only=True))
    assert items[0] == ("运单号", "商品编码", "商品", "单位", "发货数量", "实收数量", "破损数量", "备注")
    lines = {(r[0], r[1]): r for r in items[1:]}
    assert len(lines) == 4
    assert lines[(door.number, "SOFA-3")][4:] == (1, 1, 0, None)
    assert lines[(door.number, "CHR-01")][4:] == (4, 3, 1, "一把椅子腿断了")
    assert lines[(unsigned, "CHR-01")][4:7] == (4, None, None)     # not signed yet: nothing received
    english = load_workbook(io.BytesIO(world.get("/waybills/export", query_string={"format": "xlsx", "lang": "en"})
                                       .get_data()), read_only=True)
    assert english.sheetnames == ["Waybills", "Items"]


def test_codes_export_keeps_the_integrators_columns(world, door):
    _partial(door)
    row = _csv(world.get("/waybills/export", query_string={"lang": "codes"}))[0]
    assert row["status"] == "partially_signed" and row["signer_relation"] == "family"
    assert row["org_unit"] == "EAST-1" and row["signed_at"].endswith("Z")
    assert world.get("/waybills/export", query_string={"lang": "de"}).status_code == 422


def test_labels_endpoint_serves_the_one_vocabulary(client):
    zh = client.get("/api/v1/labels").get_json()
    en = client.get("/api/v1/labels?lang=en").get_json()
    assert zh["relation"]["family"] == "家属" and en["relation"]["family"] == "Family"
    assert zh["photo_kind"]["goods"] == "货物照片" and zh["status"]["partially_signed"] == "部分签收"
    assert client.get("/api/v1/labels?lang=xx").status_code == 422
    script = client.get("/labels.js")
    assert script.mimetype == "text/javascript" and "家属" in script.get_data(as_text=True)
    assert client.get("/labels.js", headers={"If-None-Match": script.headers["ETag"]}).status_code == 304
