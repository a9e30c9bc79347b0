"""Issue 15.6: the chain head anchored outside the database (RFC 3161) and signed so that
anyone holding the tenant certificate can check it."""
import asyncio
import base64
import hashlib

import pytest
from asn1crypto import cms
from sqlalchemy import text

from delivery_sign.core import anchors
from delivery_sign.extensions import db
from tests.receipts.pki import TimestampAuthority


@pytest.fixture
def tsa(app):
    authority = TimestampAuthority()
    app.config["TSA_URL"] = authority.url
    yield authority
    app.config["TSA_URL"] = None
    authority.close()


def test_anchor_on_demand_needs_a_tsa(world):
    response = world.post("/audit/anchors")
    assert response.status_code == 409 and response.get_json()["type"].endswith("/tsa-not-configured")


def test_anchor_on_demand_timestamps_the_head(world, tsa):
    world.waybill()
    head_before = world.get("/audit/head").get_json()
    anchor = world.post("/audit/anchors")
    assert anchor.status_code == 201, anchor.get_json()
    anchor = anchor.get_json()
    assert (anchor["seq"], anchor["hash"]) == (head_before["seq"], head_before["hash"])
    assert tsa.requests == 1
    # The token covers exactly the statement it is kept with: checkable offline.
    assert anchors.token_digest(base64.b64decode(anchor["token"])) == \
        hashlib.sha256(anchor["statement"].encode()).digest()
    verdict = world.get("/audit/verify").get_json()
    assert verdict["ok"] is True and verdict["anchors"] == 1
    assert world.get("/audit/head").get_json()["anchor"]["seq"] == anchor["seq"]


def test_a_rewritten_anchored_event_is_caught_even_with_the_chain_recomputed(world, tsa, app):
    # Someone holding the key could recompute the whole chain; the anchor still disagrees.
    from delivery_sign.core.audit import AuditEvent, AuditHead, _event_body, chain_hash

    world.waybill()
    anchored = world.post("/audit/anchors").get_json()
    with app.app_context():
        events = db.session.query(AuditEvent).filter_by(tenant_id=world.tenant_id).order_by(AuditEvent.seq).all()
        events[0].actor, prev = "user:mallory", "0" * 64
        for event in events:
            event.prev_hash = prev
            event.hash = prev = chain_hash(prev, _event_body(event))
        db.session.get(AuditHead, world.tenant_id).hash = prev
        db.session.commit()
    verdict = world.get("/audit/verify").get_json()
    assert verdict["first_bad_seq"] is None          # the chain alone looks whole…
    assert verdict["ok"] is False and verdict["first_bad_anchor_seq"] == anchored["seq"]   # …the anchor does not


def test_daily_anchor_runs_once_per_moved_head(world, tsa, app):
    world.waybill()
    with app.app_context():
        assert anchors.anchor_daily() >= 1
        db.session.commit()
        requests = tsa.requests
        assert anchors.anchor_daily() == 0          # anchored less than a day ago
        db.session.execute(text("UPDATE audit_anchors SET anchored_at = :old WHERE tenant_id = :t"),
                           {"old": "2000-01-01 00:00:00", "t": world.tenant_id})
        db.session.commit()
    world.waybill()
    with app.app_context():
        assert anchors.anchor_daily() >= 1 and tsa.requests > requests
        count = db.session.execute(text("SELECT COUNT(*) FROM audit_anchors WHERE tenant_id = :t"),
                                   {"t": world.tenant_id}).scalar_one()
    assert count == 2


def test_tsa_down_is_a_503_and_writes_nothing(world, app):
    app.config["TSA_URL"] = "http://127.0.0.1:9/tsa"
    try:
        response = world.post("/audit/anchors")
    finally:
        app.config["TSA_URL"] = None
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    assert world.get("/audit/verify").get_json()["anchors"] == 0


def test_signed_head_verifies_with_the_tenant_certificate_alone(world):
    from cryptography import x509
    from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
    from pyhanko_certvalidator import ValidationContext

    world.waybill()
    head = world.get("/audit/head").get_json()
    verdict = world.get("/audit/verify").get_json()
    assert head["seq"] == verdict["events"] and head["alg"] == "hmac-sha256-v1"
    assert f'"seq":{head["seq"]}' in head["statement"] and head["hash"] in head["statement"]
    certificate = x509.load_pem_x509_certificate(head["certificate"].encode())
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives import serialization

    trusted = asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))
    signed_data = cms.ContentInfo.load(base64.b64decode(head["signature"]))["content"]
    context = ValidationContext(trust_roots=[trusted])
    status = asyncio.run(async_validate_detached_cms(head["statement"].encode(), signed_data,
                                                     signer_validation_context=context))
    assert status.intact and status.valid
    forged = head["statement"].replace(f'"seq":{head["seq"]}', f'"seq":{head["seq"] + 1}').encode()
    status = asyncio.run(async_validate_detached_cms(forged, signed_data, signer_validation_context=context))
    assert not status.intact
