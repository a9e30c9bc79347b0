"""The consent answer's IP follows the rule of every other IP (issue 19): the audit chain,
which is kept for good, holds it masked; the answer's row holds it whole until the doc
type's ``retention_days.ip`` have passed or the consignee is erased, then masked."""
import json
from datetime import timedelta

from sqlalchemy import select

from delivery_sign.consent.models import ConsentRequest
from delivery_sign.core.audit import AuditEvent
from delivery_sign.core.clock import utcnow
from delivery_sign.extensions import db


def _purge(runner, days):
    as_of = (utcnow() + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S")
    result = runner.invoke(args=["retention-purge", "--as-of", as_of])
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def _answer_ip(app, world, number):
    with app.app_context():
        row = db.session.execute(select(ConsentRequest).join(ConsentRequest.waybill).where(
            ConsentRequest.tenant_id == world.tenant_id, ConsentRequest.answered_at.isnot(None))
            .where(ConsentRequest.waybill.has(number=number))).scalar_one()
        return row.answer_client["ip"]


def _answered(parcel):
    token = parcel.asked()
    assert parcel.answer(token, choice="station").status_code == 200


def test_the_chain_holds_the_answer_ip_masked(app, world, parcel):
    _answered(parcel)
    assert _answer_ip(app, world, parcel.number) == "127.0.0.1"   # the row: whole, for its days
    with app.app_context():
        event = db.session.execute(select(AuditEvent).filter_by(
            tenant_id=world.tenant_id, event_type="consent.answered")).scalar_one()
        assert event.data["client"]["ip"] == "127.0.0.*"
        assert "127.0.0.1" not in json.dumps(event.data)


def test_the_purge_masks_the_answer_ip_on_the_ip_day(app, world, runner, parcel, make_parcel):
    _answered(parcel)
    disputed = make_parcel()
    _answered(disputed)
    assert disputed.drop(place="station").status_code == 201
    assert world.post(f"/waybills/{disputed.number}/reconcile", {"decision": "disputed", "note": "没收到"},
                      who="disp_east").status_code == 200

    _purge(runner, 1094)
    assert _answer_ip(app, world, parcel.number) == "127.0.0.1"
    report = _purge(runner, 1096)
    assert report["consent_answers"] >= 1       # other tests' tenants may have answers due too
    assert _answer_ip(app, world, parcel.number) == "127.0.0.*"
    assert _answer_ip(app, world, disputed.number) == "127.0.0.1"   # held by the dispute, like its receipts
    world.post(f"/waybills/{disputed.number}/reconcile", {"decision": "accepted"}, who="disp_east")
    _purge(runner, 1096)
    assert _answer_ip(app, world, disputed.number) == "127.0.0.*"    # released, then purged
    _purge(runner, 2000)                                             # a later run leaves it as it is
    assert _answer_ip(app, world, parcel.number) == "127.0.0.*"
    assert world.get("/audit/verify").get_json()["ok"] is True

    # The page and the consent shown to the courier keep what they showed.
    shown = world.get(f"/waybills/{parcel.number}/consent", who="courier1").get_json()["consent"]
    assert shown["choice"] == "station" and "ip" not in shown["client"]


def test_the_doc_types_ip_days_decide(app, world, runner, parcel):
    assert world.patch("/doc-types/default", {"policy": {"retention_days": {"ip": 30}}}).status_code == 200
    _answered(parcel)
    _purge(runner, 29)
    assert _answer_ip(app, world, parcel.number) == "127.0.0.1"
    _purge(runner, 31)
    assert _answer_ip(app, world, parcel.number) == "127.0.0.*"


def test_erasure_masks_the_answer_ip(app, world, parcel):
    _answered(parcel)
    assert parcel.drop(place="station").status_code == 201      # a final waybill can be erased
    result = world.post("/privacy/subjects/erase", {"phone": "13800138000"})
    assert result.status_code == 200 and {"waybill": parcel.number} in result.get_json()["erased"]
    assert _answer_ip(app, world, parcel.number) == "127.0.0.*"
    assert world.get("/audit/verify").get_json()["ok"] is True
