"""The summary report against counts computed independently from the waybills themselves."""
from collections import Counter, defaultdict
from datetime import timedelta

import pytest

from delivery_sign.core.clock import isoformat, utcnow
from delivery_sign.extensions import db
from delivery_sign.waybills.models import Waybill


@pytest.fixture
def signed_world(world, make_door):
    outcomes = []
    for relation, outcome in (("self", "signed"), ("guard", "signed"), ("family", "refused"), ("self", "signed")):
        door = make_door()
        body = door.body(signer={"name": door.signature["signer_name"], "relation": relation}, outcome=outcome,
                         refuse_reason="破损" if outcome == "refused" else "")
        assert door.submit(body).status_code == 201
        outcomes.append(door.number)
    world.waybill(org_unit="WEST")
    world.waybill(org_unit="EAST-1", courier="courier2")
    return world


def _independent(world, key_of):
    """Counts straight from the rows, in Python."""
    with world.app.app_context():
        rows = db.session.query(Waybill).filter_by(tenant_id=world.tenant_id).all()
        expected = defaultdict(lambda: {"total": 0, "by_status": Counter(), "self": 0, "others": 0, "anomalous": 0})
        for w in rows:
            group = expected[key_of(w)]
            group["total"] += 1
            group["by_status"][w.status] += 1
            group["self"] += w.signer_relation == "self"
            group["others"] += w.signer_relation not in (None, "self")
            group["anomalous"] += bool(w.anomalies)
        return expected


@pytest.mark.parametrize("group_by, key_of", [
    ("org_unit", lambda w: w.org_unit.code if w.org_unit else None),
    ("courier", lambda w: w.courier.username if w.courier else None),
    ("doc_type", lambda w: w.doc_type.code),
    ("relation", lambda w: w.signer_relation),
    ("day", lambda w: (w.created_at + timedelta(hours=8)).date().isoformat()),
])
def test_summary_matches_independent_counts(signed_world, group_by, key_of):
    report = signed_world.get("/reports/summary", query_string={"group_by": group_by}).get_json()
    assert report["group_by"] == group_by
    expected = _independent(signed_world, key_of)
    got = {row["key"]: row for row in report["rows"]}
    assert set(got) == set(expected)
    for key, want in expected.items():
        row = got[key]
        assert row["total"] == want["total"]
        assert {k: v for k, v in row["by_status"].items() if v} == dict(want["by_status"])
        assert row["signed_by_consignee"] == want["self"] and row["signed_by_others"] == want["others"]
        assert row["with_anomalies"] == want["anomalous"]


def test_median_minutes_and_range(signed_world):
    report = signed_world.get("/reports/summary", query_string={"group_by": "doc_type"}).get_json()
    assert report["rows"][0]["median_minutes_to_signoff"] == 0
    future = isoformat(utcnow() + timedelta(days=1))
    empty = signed_world.get("/reports/summary", query_string={"from": future}).get_json()
    assert empty["rows"] == []
    assert signed_world.get("/reports/summary", query_string={"group_by": "planet"}).status_code == 422


def test_dispatcher_report_is_scoped(signed_world):
    rows = signed_world.get("/reports/summary", query_string={"group_by": "org_unit"}, who="disp_west").get_json()
    assert [(r["key"], r["total"]) for r in rows["rows"]] == [("WEST", 1)]
    assert signed_world.get("/reports/summary", who="courier1").status_code == 403


def test_waybill_shows_its_receipt(door, world):
    receipt_id = door.submit().get_json()["receipt_id"]
    receipt = world.get(f"/waybills/{door.number}").get_json()["receipt"]
    assert receipt["id"] == receipt_id and receipt["pdf"].endswith(f"/receipts/{receipt_id}/pdf")
    assert receipt["signer_relation"] == "self"


def test_timeline_of_a_signed_waybill(door, world):
    door.view()
    receipt_id = door.submit().get_json()["receipt_id"]
    events = world.get(f"/waybills/{door.number}/timeline").get_json()
    types = [e["type"] for e in events]
    for expected in ("waybill.created", "link.created",
                     "waybill.out_for_delivery", "link.opened", "photo.uploaded", "signoff.submitted", "waybill.signed"):
        assert expected in types, (expected, types)
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert any(e["subject"] == f"receipt:{receipt_id}" for e in events)
    assert world.get(f"/waybills/{door.number}/timeline", who="disp_west").status_code == 404


def test_signed_basis_counts_sign_offs_by_signing_day(signed_world):
    report = signed_world.get("/reports/summary", query_string={"group_by": "day", "basis": "signed"}).get_json()
    assert report["basis"] == "signed"
    assert sum(r["total"] for r in report["rows"]) == 4     # the two unsigned waybills are not sign-offs


def test_filter_by_signer_relation_and_dispatcher_sees_couriers(signed_world):
    others = signed_world.get("/waybills", query_string={"signer_relation": "others"}).get_json()["items"]
    assert sorted(w["receipt"]["signer_relation"] for w in others) == ["family", "guard"]
    own = signed_world.get("/waybills", query_string={"signer_relation": "self"}).get_json()["items"]
    assert len(own) == 2
    users = {u["username"] for u in signed_world.get("/users", who="disp_east").get_json()}
    assert users == {"disp_east", "courier1", "courier2"}
    assert signed_world.get("/users", who="courier1").status_code == 403


@pytest.mark.parametrize("query, field", [
    ({"from": "0001-01-01T00:00:00Z"}, "from"),
    ({"to": "9999-12-31T23:59:59Z"}, "to"),
    ({"from": "0001-01-01T07:00:00+08:00"}, "from"),
    ({"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from"),
    ({"from": "2026-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from"),
])
def test_out_of_range_and_reversed_ranges_are_422(world, query, field):
    response = world.get("/reports/summary", query_string=query)
    assert response.status_code == 422, response.get_json()
    assert [e["field"] for e in response.get_json()["errors"]] == [field]
