"""The report roll-up against figures computed in Python from the waybills themselves,
before folding, after folding, after more changes, and after a rebuild."""
import math
import random
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from delivery_sign.core import jobs
from delivery_sign.core.clock import isoformat, utcnow
from delivery_sign.extensions import db
from delivery_sign.reports import rollup
from delivery_sign.reports.models import ReportChange, ReportCount
from delivery_sign.waybills.models import Waybill

from ..factories import waybill_payload

KEYS = {
    "day": None,   # by the basis' timestamp, below
    "org_unit": lambda w: w.org_unit.code if w.org_unit else None,
    "courier": lambda w: w.courier.username if w.courier else None,
    "doc_type": lambda w: w.doc_type.code,
    "relation": lambda w: w.signer_relation,
}


@pytest.fixture
def spread_world(world, make_door):
    """60 waybills over ten China days in three units, a spread of fates; two real sign-offs."""
    rng = random.Random(11)
    placements = [("EAST-1", "courier1"), ("EAST-1", "courier2"), ("WEST", None), ("EAST", None)]
    batch = []
    for i in range(60):
        unit, courier = placements[i % 4]
        batch.append(waybill_payload(org_unit=unit, **({"courier": courier} if courier else {})))
    assert world.post("/waybills/batch", {"waybills": batch}).status_code == 200
    for door_relation in ("self", "guard"):
        door = make_door()
        assert door.submit(door.body(signer={"name": door.signature["signer_name"],
                                             "relation": door_relation})).status_code == 201
    now = utcnow()
    with world.app.app_context():
        ids = db.session.execute(select(Waybill.id).where(Waybill.tenant_id == world.tenant_id,
                                                          Waybill.receipt_public_id.is_(None))).scalars().all()
        for wid in ids:
            created = now - timedelta(days=rng.uniform(0.2, 10), seconds=rng.random())
            fate = rng.choice(["created", "assigned", "signed", "signed", "partially_signed", "refused", "cancelled"])
            values = {"created_at": created, "assigned_at": created + timedelta(minutes=rng.randint(0, 50))}
            if fate in ("signed", "partially_signed", "refused"):
                minutes = rng.choice([3, 29, 31, 95, 200, 700, 1500, 4000]) + rng.random() * 0.9
                values.update(signed_at=values["assigned_at"] + timedelta(minutes=minutes), status=fate,
                              signer_relation=rng.choice(["self", "family", "guard"]),
                              has_anomalies=rng.random() < 0.3)
            else:
                values["status"] = fate
            db.session.execute(update(Waybill).where(Waybill.id == wid).values(**values))
        db.session.commit()
    return world


def _expected(world, group_by, basis, start, end):
    with world.app.app_context():
        waybills = db.session.execute(select(Waybill).where(Waybill.tenant_id == world.tenant_id)).unique().scalars()
        groups = defaultdict(lambda: {"total": 0, "by_status": Counter(), "self": 0, "others": 0,
                                      "anomalous": 0, "minutes": []})
        for w in waybills:
            when = w.signed_at if basis == "signed" else w.created_at
            if when is None or not start <= when < end:
                continue
            key = (when + timedelta(hours=8)).date().isoformat() if group_by == "day" else KEYS[group_by](w)
            group = groups[key]
            group["total"] += 1
            group["by_status"][w.status] += 1
            group["self"] += w.signer_relation == "self"
            group["others"] += w.signer_relation not in (None, "self")
            group["anomalous"] += w.has_anomalies
            if w.signed_at:
                dispatched = w.out_for_delivery_at or w.assigned_at or w.created_at
                group["minutes"].append(math.floor((w.signed_at - dispatched).total_seconds() / 60))
        return groups


def _assert_report(world, group_by, basis, start, end):
    query = {"group_by": group_by, "basis": basis, "from": isoformat(start), "to": isoformat(end)}
    response = world.get("/reports/summary", query_string=query)
    assert response.status_code == 200, response.get_json()
    got = {row["key"]: row for row in response.get_json()["rows"]}
    expected = _expected(world, group_by, basis, start, end)
    assert set(got) == set(expected), (group_by, basis)
    for key, want in expected.items():
        row = got[key]
        assert row["total"] == want["total"]
        assert {k: v for k, v in row["by_status"].items() if v} == dict(want["by_status"])
        assert (row["signed_by_consignee"], row["signed_by_others"]) == (want["self"], want["others"])
        assert row["with_anomalies"] == want["anomalous"]
        minutes = sorted(want["minutes"])
        lower_median = minutes[(len(minutes) - 1) // 2] if minutes else None
        assert row["median_minutes_to_signoff"] == (rollup.bucket(lower_median) if minutes else None), key


def _ranges():
    now = utcnow()
    today = rollup.china_day(now)
    midnight = rollup.china_day_start(today)
    return [
        (now - timedelta(days=30), now),                                          # the default
        (rollup.china_day_start(today - timedelta(days=6)), midnight),             # whole days only
        (midnight - timedelta(days=4, hours=5, minutes=7), now - timedelta(hours=1)),  # ragged edges
        (midnight - timedelta(hours=20), midnight - timedelta(hours=3)),           # inside one day
    ]


def _assert_all(world):
    for start, end in _ranges():
        for group_by in KEYS:
            for basis in ("created", "signed"):
                _assert_report(world, group_by, basis, start, end)


def test_reports_agree_with_the_waybills_before_and_after_folding(app, spread_world):
    _assert_all(spread_world)                          # everything still in report_changes
    with app.app_context():
        assert rollup.fold() > 0
        db.session.commit()
        assert db.session.execute(select(func.count(ReportChange.id))).scalar_one() == 0
    _assert_all(spread_world)                          # everything in the roll-up

    # More changes on top of a folded roll-up: reassign, cancel, create, sign.
    numbers = [w["number"] for w in spread_world.get("/waybills", query_string={"status": "assigned"}
                                                     ).get_json()["items"][:3]]
    assert numbers
    assert spread_world.post(f"/waybills/{numbers[0]}/cancel", {"reason": "客户取消"}).status_code == 200
    for number in numbers[1:]:
        assert spread_world.post(f"/waybills/{number}/assign", {"courier": "courier2"}
                                 ).status_code == 200
    spread_world.waybill(org_unit="WEST")
    _assert_all(spread_world)                          # roll-up + pending changes

    with app.app_context():
        rollup.rebuild()
        db.session.commit()
    _assert_all(spread_world)


def test_fold_merges_into_existing_cells_and_drops_empty_ones(app, world):
    created = world.waybill(org_unit="WEST")
    with app.app_context():
        rollup.fold()
        db.session.commit()
    world.post(f"/waybills/{created['number']}/cancel", {"reason": "地址错误"})
    with app.app_context():
        rollup.fold()
        db.session.commit()
        cells = db.session.execute(select(ReportCount.status, ReportCount.n)
                                   .where(ReportCount.tenant_id == world.tenant_id)).all()
    assert cells == [("cancelled", 1)]      # the "created" cell went to zero and is gone


def test_bulk_statements_are_seen_by_the_triggers(app, world):
    for _ in range(3):
        world.waybill(org_unit="WEST")
    with app.app_context():
        db.session.execute(update(Waybill).where(Waybill.tenant_id == world.tenant_id)
                           .values(status="cancelled", cancelled_at=utcnow()))
        db.session.commit()
    report = world.get("/reports/summary", query_string={"group_by": "org_unit"}).get_json()
    assert [(r["key"], r["total"], r["by_status"]["cancelled"]) for r in report["rows"]] == [("WEST", 3, 3)]


def test_minute_buckets():
    assert [rollup.bucket(m) for m in (0, 29, 30, 34, 119, 120, 134, 479, 480, 539, 2879, 2880, 5000)] == \
           [0, 29, 30, 30, 115, 120, 120, 465, 480, 480, 2820, 2880, 4320]


def test_the_worker_loop_folds_now_and_then(app, world, monkeypatch):
    world.waybill(org_unit="WEST")
    ticks = iter([1000.0, 1001.0, 1100.0])
    # Only the fold's own task: other upkeep (e.g. the daily audit anchor) has its own tests.
    monkeypatch.setattr(jobs, "_PERIODIC", [t for t in jobs._PERIODIC if "fold" in t.fn.__qualname__])
    with app.app_context():
        for task in jobs._PERIODIC:
            task.last = float("-inf")
        assert jobs.run_periodic(clock=lambda: next(ticks)) == 1    # due: folds
        assert db.session.execute(select(func.count(ReportChange.id))).scalar_one() == 0
        world.waybill(org_unit="WEST")
        assert jobs.run_periodic(clock=lambda: next(ticks)) == 0    # 1 s later: not yet
        assert jobs.run_periodic(clock=lambda: next(ticks)) == 1    # 100 s later: folds again
        assert db.session.execute(select(func.count(ReportChange.id))).scalar_one() == 0
        db.session.remove()


def test_reports_cli(app, runner, world):
    world.waybill(org_unit="WEST")
    assert "folded" in runner.invoke(args=["reports-fold"]).output
    assert "rebuilt" in runner.invoke(args=["reports-rebuild"]).output
    report = world.get("/reports/summary", query_string={"group_by": "org_unit"}).get_json()
    assert [(r["key"], r["total"]) for r in report["rows"]] == [("WEST", 1)]


def test_a_change_committed_during_a_fold_is_neither_lost_nor_counted_twice(app, world):
    """PostgreSQL: a writer's change rows that commit while a fold runs stay for the next one."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite serialises writers: a fold cannot overlap a write")
        world.waybill(org_unit="WEST")
        number = world.waybill(org_unit="WEST")["number"]
        with db.engine.connect() as writer:
            writer.execute(update(Waybill).where(Waybill.number == number, Waybill.tenant_id == world.tenant_id)
                           .values(status="cancelled"))          # uncommitted: its change row is invisible
            assert rollup.fold() >= 1
            db.session.commit()
            writer.commit()
        report = world.get("/reports/summary", query_string={"group_by": "org_unit"}).get_json()["rows"]
        assert [(r["key"], r["total"], r["by_status"]["cancelled"]) for r in report] == [("WEST", 2, 1)]
        rollup.fold()
        db.session.commit()
        assert db.session.execute(select(func.sum(ReportCount.n)).where(
            ReportCount.tenant_id == world.tenant_id)).scalar_one() == 2
        db.session.remove()


def test_folding_in_small_chunks_gives_the_same_roll_up(app, world):
    for unit in ("WEST", "WEST", "EAST", "EAST-1"):
        world.waybill(org_unit=unit)
    expected = world.get("/reports/summary", query_string={"group_by": "org_unit"}).get_json()["rows"]
    with app.app_context():
        pending = db.session.execute(select(func.count(ReportChange.id))).scalar_one()
        folds = 0
        while rollup.fold(limit=1):
            db.session.commit()
            folds += 1
        assert folds == pending
        db.session.remove()
    assert world.get("/reports/summary", query_string={"group_by": "org_unit"}).get_json()["rows"] == expected
