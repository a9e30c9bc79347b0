"""Drops in the reports and the export: ``dropped`` is a status of the roll-up like the others."""
import csv
import io
import re

from delivery_sign.reports import rollup
from tests.factories import Door


def test_summary_and_export_count_drops(app, world, parcel, make_parcel):
    token = parcel.asked(options=["guard"])
    parcel.answer(token, choice="guard")
    assert parcel.drop(place="guard").status_code == 201
    make_parcel()
    with app.app_context():
        rollup.fold()
    summary = world.get("/reports/summary?group_by=doc_type").get_json()
    [row] = summary["rows"]
    assert row["total"] == 2 and row["by_status"]["dropped"] == 1 and row["by_status"]["assigned"] == 1
    # A drop is nobody's signature: neither the consignee's nor someone else's.
    assert row["signed_by_consignee"] == 0 and row["signed_by_others"] == 0
    exported = world.get("/waybills/export?format=csv&status=dropped")
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 2 and parcel.number in rows[1]


def test_consent_report_counts_drops_assisted_and_waiting(app, world, make_parcel, signature, photo_jpeg):
    first = make_parcel()
    first.answer(first.asked(options=["guard"]), choice="guard", standing=True)
    assert first.drop(place="guard").status_code == 201
    second = make_parcel()
    assert second.drop(place="guard").get_json()["consent"]["kind"] == "standing"
    world.patch("/doc-types/default", {"policy": {"drop_without_consent": "record"}})
    assert make_parcel(consignee={"name": "王强", "phone": "13911112222", "address": "北京市东城区1号"}) \
        .drop(place="door").status_code == 201
    waiting = make_parcel(consignee={"name": "赵六", "phone": "13711112222", "address": "北京市西城区2号"})
    assert waiting.ask(options=["locker"]).status_code == 201
    # One assisted sign-off.
    door = Door.__new__(Door)
    door.world, door.client, door.signature, door.photo = world, world.client, signature, photo_jpeg
    door.number = world.waybill(courier="courier1", org_unit="EAST-1")["number"]
    door.token = world.post("/sign-links", {"waybills": [door.number], "assisted": True},
                            who="courier1").get_json()["token"]
    door.client.post(f"/api/v1/sign/{door.token}/otp")
    code = re.search(r"\b(\d{6})\b", world.get("/dev/sms-outbox").get_json()["items"][0]["text"]).group(1)
    assert door.client.post(f"/api/v1/sign/{door.token}/otp/verify", json={"code": code}).status_code == 200
    assert door.submit().status_code == 201

    report = world.get("/reports/consent").get_json()
    assert report["drops"] == [{"place": "door", "consent": "none", "n": 1},
                               {"place": "guard", "consent": "one_off", "n": 1},
                               {"place": "guard", "consent": "standing", "n": 1}]
    assert report["assisted_sign_offs"] == 1
    assert [w["number"] for w in report["waiting_for_answer"]] == [waiting.number]
    # Dispatchers see their subtree only; couriers not at all.
    assert world.get("/reports/consent", who="disp_west").get_json()["drops"] == []
    assert world.get("/reports/consent", who="courier1").status_code == 403
    assert world.get("/reports/consent?from=2026-13-01").status_code == 422


def test_consent_report_answers_304_while_unchanged(world, make_parcel):
    """The board polls it every 5 s: with the last ETag it is a 304 until a figure moves."""
    def get(etag=None, who="admin"):
        return world.client.get(f"/api/v1{window}", headers={**world.auth(who), "If-None-Match": etag or ""})

    window = "/reports/consent?from=2026-01-01T00:00:00Z&to=2030-01-01T00:00:00Z"
    first = get()
    etag = first.headers.get("ETag")
    assert first.status_code == 200 and etag
    again = get(etag)
    assert again.status_code == 304 and not again.data
    assert make_parcel().ask(options=["locker"]).status_code == 201     # a new question waiting
    changed = get(etag)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert len(changed.get_json()["waiting_for_answer"]) == 1
    # A dispatcher of another subtree sees other figures under another tag.
    assert get(changed.headers["ETag"], who="disp_west").status_code == 200
    spec = world.client.get("/api/v1/openapi.json").get_json()
    assert "304" in spec["paths"]["/api/v1/reports/consent"]["get"]["responses"]
