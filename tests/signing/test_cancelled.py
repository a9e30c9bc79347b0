"""Issue 15.3: a cancelled waybill can no longer be signed for, on any recipient route."""
from delivery_sign.extensions import db
from delivery_sign.signing.models import SignLink


def _cancel(door):
    response = door.world.post(f"/waybills/{door.number}/cancel", {"reason": "客户取消"})
    assert response.status_code == 200, response.get_json()


def test_cancel_retires_the_live_link(door, app):
    _cancel(door)
    with app.app_context():
        link = db.session.query(SignLink).filter_by(tenant_id=door.world.tenant_id).one()
        assert link.revoked_at is not None
    status = door.world.get(f"/sign-links/{door.token}/status", who="courier1").get_json()
    assert status["state"] == "expired"


def test_view_upload_submit_and_page_refuse_a_cancelled_waybill(door):
    photo_id = door.upload().get_json()["photo_id"]
    body = door.body(photo_ids=[photo_id])
    _cancel(door)

    view = door.view()
    assert view.status_code == 410
    problem = view.get_json()
    assert problem["type"].endswith("/waybill-cancelled")
    assert "cancelled" in problem["detail"]

    upload = door.upload()
    assert upload.status_code == 410 and upload.get_json()["type"].endswith("/waybill-cancelled")
    submit = door.submit(body)
    assert submit.status_code == 410 and submit.get_json()["type"].endswith("/waybill-cancelled")
    otp = door.client.post(f"/api/v1/sign/{door.token}/otp")
    assert otp.status_code == 410

    page = door.client.get(f"/s/{door.token}")
    assert page.status_code == 410
    html = page.get_data(as_text=True)
    assert 'data-state="cancelled"' in html and "已取消" in html and "联系" in html

    waybill = door.world.get(f"/waybills/{door.number}").get_json()
    assert waybill["status"] == "cancelled" and waybill.get("receipt_id") in (None, "")


def test_a_link_whose_waybill_left_the_deliverable_states_is_refused(door, app):
    # A waybill cancelled behind the API (or by an older release that left the link open)
    # is still refused: deliverability is checked on every recipient call, not only at cancel.
    from delivery_sign.waybills.models import Waybill

    body = door.body()
    with app.app_context():
        waybill = db.session.query(Waybill).filter_by(tenant_id=door.world.tenant_id, number=door.number).one()
        waybill.status = "cancelled"
        db.session.commit()
    assert door.view().status_code == 410
    assert door.submit(body).status_code == 410
    assert door.client.get(f"/s/{door.token}").status_code == 410
