"""Issue 14 in the exports, through HTTP: the outcome, a drop's place and consent (kind and
when it was answered), an assisted sign-off and whose phone its code went to (masked), as
columns added after the ones before, in codes, Chinese and English."""
import csv
import io
from datetime import datetime, timedelta

from openpyxl import load_workbook

from delivery_sign.consent.models import DROP_PLACES, OPTIONS
from delivery_sign.core import vocabulary
from delivery_sign.reports.export import HEADER
from tests.dashboard.scenes import assisted_sign_off, consented_drop

ADDED = ["outcome", "drop_place", "consent_kind", "consent_answered_at", "assisted", "assisted_otp_to",
         "assisted_otp_phone"]


def _rows(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    return list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def _by_number(rows, key):
    return {r[key]: r for r in rows}


def test_codes_export_has_drop_consent_and_assisted_columns_after_the_old_ones(world, photo_jpeg, signature):
    parcel, dropped = consented_drop(world, photo_jpeg, place="guard", standing=True)
    door, _ = assisted_sign_off(world, signature, photo_jpeg)
    plain = world.waybill()["number"]
    response = world.get("/waybills/export", query_string={"lang": "codes"})
    header = next(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert header[:18] == HEADER[:18] and header[18:] == ADDED            # additive, at the end
    rows = _by_number(_rows(response), "number")
    drop = rows[parcel.number]
    assert drop["status"] == "dropped" and drop["outcome"] == "dropped"
    assert drop["drop_place"] == "guard" and drop["consent_kind"] == "one_off"
    answered = world.get(f"/receipts/{dropped['receipt_id']}").get_json()["evidence"]["consent"]["answered_at"]
    assert drop["consent_answered_at"] == answered and answered.endswith("Z")
    assert drop["assisted"] == "false" and drop["assisted_otp_phone"] == ""
    helped = rows[door.number]
    assert helped["outcome"] == "signed" and helped["assisted"] == "true"
    assert helped["assisted_otp_to"] == "consignee" and helped["assisted_otp_phone"] == "138****8000"
    assert helped["drop_place"] == helped["consent_kind"] == helped["consent_answered_at"] == ""
    assert all(rows[plain][c] == "" for c in ADDED)                        # not signed: nothing to say
    assert "13800138000" not in response.get_data(as_text=True)


def test_worded_export_says_it_in_chinese_and_english_with_local_times(world, photo_jpeg, signature):
    parcel, dropped = consented_drop(world, photo_jpeg, place="station")
    door, _ = assisted_sign_off(world, signature, photo_jpeg)
    rows = _by_number(_rows(world.get("/waybills/export")), "运单号")
    drop = rows[parcel.number]
    assert drop["签收结果"] == "按约定放置" and drop["放置位置"] == "驿站" and drop["放置依据"] == "收件人本次同意"
    answered = world.get(f"/receipts/{dropped['receipt_id']}").get_json()["evidence"]["consent"]["answered_at"]
    header = next(h for h in drop if h.startswith("收件人同意时间"))
    assert header == "收件人同意时间 (Asia/Shanghai, UTC+08:00)"
    utc = datetime.fromisoformat(answered.replace("Z", ""))
    assert drop[header] == (utc + timedelta(hours=8)).replace(microsecond=0).isoformat(sep=" ")
    helped = rows[door.number]
    assert helped["协助签收"] == "是" and helped["验证码发送给"] == "收货人手机" and helped["验证码手机"] == "138****8000"
    english = _by_number(_rows(world.get("/waybills/export", query_string={"lang": "en"})), "Waybill number")
    assert english[parcel.number]["Drop place"] == "Parcel station"
    assert english[parcel.number]["Consent for the drop"] == "Consignee agreed (this parcel)"
    assert english[door.number]["Assisted sign-off"] == "Yes"
    assert english[door.number]["Code sent to"] == "Consignee's phone"


def test_drop_without_consent_and_the_xlsx_sheet(world, photo_jpeg):
    from tests.consent.conftest import Parcel

    world.patch("/doc-types/default", {"policy": {"drop_without_consent": "record"}})
    parcel = Parcel(world, photo_jpeg)
    assert parcel.drop(place="door").status_code == 201
    book = load_workbook(io.BytesIO(world.get("/waybills/export", query_string={"format": "xlsx"}).get_data()),
                         read_only=True)
    sheet = list(book["运单"].iter_rows(values_only=True))
    row = dict(zip(sheet[0], sheet[1]))
    assert row["运单号"] == parcel.number and row["放置位置"] == "门口" and row["放置依据"] == "未经同意"
    assert "未经同意放置" in row["异常"]
    assert not row["收件人同意时间 (Asia/Shanghai, UTC+08:00)"] and not row["协助签收"]


def test_every_place_and_consent_code_has_words(client):
    for lang in vocabulary.LANGS:
        places = vocabulary.labels_of("drop_place", lang)
        assert [c for c in set(DROP_PLACES) | set(OPTIONS) if not places.get(c)] == []
        assert set(vocabulary.labels_of("consent_kind", lang)) == {"one_off", "standing", "none"}
    en = client.get("/api/v1/labels?lang=en").get_json()
    assert en["drop_place"]["guard"] == "With the doorman" and en["otp_to"]["receiver"] == "Receiver's phone"
    assert set(en) == {"lang", *vocabulary.GROUPS}                 # the API serves every group
