"""The waybill state machine: every pair of statuses walked, in the table and through the API."""
import pytest
from sqlalchemy import update

from delivery_sign.core.errors import Conflict
from delivery_sign.extensions import db
from delivery_sign.signing import links
from delivery_sign.waybills import transitions
from delivery_sign.waybills.models import FINAL_STATUSES, STATUSES, Waybill

OPEN = ("created", "assigned", "out_for_delivery")
SIGNED_OFF = ("signed", "partially_signed", "refused")
# What the waybill may become, from each status, as the operations allowed before the table.
EXPECTED = {
    "assigned": {"created", "assigned"},
    "out_for_delivery": set(OPEN),
    "cancelled": set(OPEN),
    "dropped": set(OPEN),
    **{to: set(OPEN) for to in SIGNED_OFF},
}
# Today's refusals, word for word (detail with {n} for the number and {s} for the status, slug).
REFUSED = {
    "assigned": ("Waybill {n} is {s}; only created or assigned waybills can be assigned.", "conflict"),
    "out_for_delivery": ("Waybill {n} is {s}; it cannot be signed for.", "conflict"),
    "cancelled": ("Waybill {n} is {s} and can no longer be cancelled.", "conflict"),
    "dropped": ("Waybill {n} is {s}; it can no longer be dropped.", "waybill-final"),
    **{to: ("Waybill {n} is {s}; it can no longer be signed for.", "conflict") for to in SIGNED_OFF},
}


@pytest.mark.parametrize("to", sorted(EXPECTED))
@pytest.mark.parametrize("status", STATUSES)
def test_every_change_is_allowed_or_refused_as_before(status, to):
    waybill = Waybill(number="WB-1", status=status)
    if status in EXPECTED[to]:
        transitions.move(waybill, to)
        assert waybill.status == to
        return
    with pytest.raises(Conflict) as refused:
        transitions.move(waybill, to)
    detail, slug = REFUSED[to]
    assert (refused.value.detail, refused.value.slug) == (detail.format(n="WB-1", s=status), slug)
    assert waybill.status == status


def test_the_table_covers_every_status_and_the_old_constants_agree():
    assert set(transitions.TRANSITIONS) == set(STATUSES)
    assert {s for s, to in transitions.TRANSITIONS.items() if not to} == set(FINAL_STATUSES)
    assert links.LINKABLE == links.DELIVERABLE == OPEN
    for to in EXPECTED:
        assert transitions.sources_of(to) == tuple(s for s in STATUSES if s in EXPECTED[to])


def _force(app, world, number, status):
    with app.app_context():
        db.session.execute(update(Waybill).where(Waybill.tenant_id == world.tenant_id, Waybill.number == number)
                           .values(status=status))
        db.session.commit()


@pytest.mark.parametrize("status", STATUSES)
def test_the_operations_follow_the_table(app, world, status):
    """Assign, cancel, a QR and a drop on a waybill in each status: what the table allows
    goes through, the rest is the 409 it was."""
    def waybill():
        number = world.waybill(courier="courier1", org_unit="EAST-1")["number"]
        _force(app, world, number, status)
        return number

    def refused(response, to, number):
        detail, slug = REFUSED[to]
        body = response.get_json()
        return (response.status_code, body["detail"], body["type"].rsplit("/", 1)[-1]) == (
            409, detail.format(n=number, s=status), slug)

    number = waybill()
    response = world.post(f"/waybills/{number}/assign", {"courier": "courier2"})
    assert response.status_code == 200 if status in EXPECTED["assigned"] else refused(response, "assigned", number)

    number = waybill()
    response = world.post(f"/waybills/{number}/cancel", {"reason": "客户取消"})
    assert response.status_code == 200 if status in OPEN else refused(response, "cancelled", number)

    number = waybill()
    response = world.post("/sign-links", {"waybills": [number]}, who="courier1")
    assert response.status_code == 201 if status in OPEN else refused(response, "out_for_delivery", number)
    if status in OPEN:
        assert world.get(f"/waybills/{number}").get_json()["status"] == "out_for_delivery"

    number = waybill()
    response = world.post(f"/waybills/{number}/drop", {
        "place": "locker", "photo_ids": ["x"], "location": {"lat": 31.23, "lng": 121.47, "accuracy": 10,
                                                            "coord_system": "gcj02", "source": "gps"}},
        who="courier1")
    if status in OPEN:
        # past the state machine: refused for want of the consignee's consent, not for its status
        assert response.status_code == 409 and response.get_json()["type"].endswith("consent-required")
    else:
        assert refused(response, "dropped", number)
