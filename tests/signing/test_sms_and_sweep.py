"""The HTTP SMS backend against a fake provider, and the orphan-photo sweep."""
import json
import re
from datetime import timedelta

import pytest

from delivery_sign.core.clock import utcnow
from delivery_sign.core.storage import get_storage
from delivery_sign.extensions import db
from delivery_sign.evidence.photo_hash import CHUNK_COUNT
from delivery_sign.receipts.models import Photo, PhotoHashChunk
from delivery_sign.receipts.services import derivative_key
from delivery_sign.signing.models import SignLink
from tests.evidence.photo_fixtures import jpeg, scene
from tests.fakes import FakeSmsProvider


@pytest.fixture
def http_sms(app):
    saved = {k: app.config[k] for k in ("SMS_BACKEND", "SMS_HTTP_URL", "SMS_HTTP_KEY")}
    providers = []

    def start(fail_with=None):
        provider = FakeSmsProvider(fail_with)
        providers.append(provider)
        app.config.update(SMS_BACKEND="http", SMS_HTTP_URL=provider.url + "/send", SMS_HTTP_KEY="sms-key")
        return provider

    yield start
    app.config.update(saved)
    for provider in providers:
        provider.close()


def test_http_sms_delivers_the_code(world, make_door, http_sms):
    provider = http_sms()
    world.patch("/doc-types/default", {"policy": {"otp": "required"}})
    door = make_door()
    assert door.client.post(f"/api/v1/sign/{door.token}/otp").status_code == 200
    sent = provider.requests[0]
    assert sent["headers"]["Authorization"] == "Bearer sms-key"
    message = json.loads(sent["body"])
    assert message["phone"] == "13800138000"
    code = re.search(r"\b(\d{6})\b", message["text"]).group(1)
    assert door.client.post(f"/api/v1/sign/{door.token}/otp/verify", json={"code": code}).status_code == 200


def test_provider_failure_is_503_and_sends_nothing_twice(world, make_door, http_sms):
    http_sms(fail_with=500)
    world.patch("/doc-types/default", {"policy": {"otp": "required"}})
    door = make_door()
    failed = door.client.post(f"/api/v1/sign/{door.token}/otp")
    assert failed.status_code == 503 and failed.headers["Retry-After"]
    # The failed attempt left no code behind, so the resend limit does not bite.
    http_sms()
    assert door.client.post(f"/api/v1/sign/{door.token}/otp").status_code == 200


def test_sweep_removes_unclaimed_photos_of_dead_links(app, world, make_door, runner):
    kept = make_door()
    kept.submit()
    orphaned = make_door()
    photo = orphaned.upload(data=jpeg(scene(23, 800, 600))).get_json()
    with app.app_context():
        link = db.session.query(SignLink).order_by(SignLink.id.desc()).first()
        link.expires_at = utcnow() - timedelta(hours=1)
        db.session.commit()
        stored = db.session.query(Photo).filter_by(public_id=photo["photo_id"]).one()
        key, thumb = stored.storage_key, derivative_key(stored.tenant_id, stored.sha256, "thumb")
        assert get_storage().exists(thumb)   # made by the upload (issue 16)
        orphan_id = stored.id
        assert db.session.query(PhotoHashChunk).filter_by(photo_id=orphan_id).count() == CHUNK_COUNT
    result = runner.invoke(args=["sweep-orphans"])
    assert result.exit_code == 0 and "removed" in result.output
    with app.app_context():
        assert db.session.query(Photo).filter_by(public_id=photo["photo_id"]).count() == 0
        assert not get_storage().exists(key) and not get_storage().exists(thumb)
        claimed = db.session.query(Photo).filter(Photo.receipt_id.isnot(None), Photo.tenant_id == world.tenant_id)
        assert claimed.count() == 1 and get_storage().exists(claimed.first().storage_key)
        # The chunk rows go with their photo (no foreign key cascades them since c16u00000001).
        assert db.session.query(PhotoHashChunk).filter_by(photo_id=orphan_id).count() == 0
        assert db.session.query(PhotoHashChunk).filter_by(photo_id=claimed.first().id).count() == CHUNK_COUNT


def test_sweep_keeps_a_file_a_signed_photo_shares(app, world, make_door, runner):
    """The same bytes uploaded on two links are one file (content-addressed): sweeping the
    unsigned link's photo leaves the file of the signed one."""
    data = jpeg(scene(37, 800, 600))
    kept = make_door()
    assert kept.submit(kept.body(photo_ids=[kept.upload(data=data).get_json()["photo_id"]])).status_code == 201
    orphaned = make_door()
    photo = orphaned.upload(data=data).get_json()
    with app.app_context():
        link = db.session.query(SignLink).order_by(SignLink.id.desc()).first()
        link.expires_at = utcnow() - timedelta(hours=1)
        db.session.commit()
        key = db.session.query(Photo).filter_by(public_id=photo["photo_id"]).one().storage_key
    assert runner.invoke(args=["sweep-orphans"]).exit_code == 0
    with app.app_context():
        assert db.session.query(Photo).filter_by(public_id=photo["photo_id"]).count() == 0
        assert db.session.query(Photo).filter_by(storage_key=key).count() == 1
        assert get_storage().exists(key)


def test_each_link_schedules_its_own_sweep(app, world, make_door):
    from delivery_sign.core import jobs
    from delivery_sign.core.jobs import Job
    from delivery_sign.signing.sweep import GRACE, SWEEP_LINK

    door = make_door()
    photo = door.upload(data=jpeg(scene(31, 800, 600))).get_json()
    with app.app_context():
        link = db.session.query(SignLink).order_by(SignLink.id.desc()).first()
        job = db.session.query(Job).filter_by(kind=SWEEP_LINK, dedupe_key=f"sweep-link:{link.id}").one()
        assert job.run_after == link.expires_at + GRACE
        key = db.session.query(Photo).filter_by(public_id=photo["photo_id"]).one().storage_key
    # Before it is due nothing runs; once due (the link long dead), the photo and its file go.
    assert jobs.run_due(app, kinds=(SWEEP_LINK,), tenant_id=world.tenant_id) == 0
    later = utcnow() + timedelta(hours=2)
    assert jobs.run_due(app, kinds=(SWEEP_LINK,), tenant_id=world.tenant_id, now=later) == 1
    with app.app_context():
        assert db.session.query(Photo).filter_by(public_id=photo["photo_id"]).count() == 0
        assert not get_storage().exists(key)


def test_sweep_keeps_photos_of_a_signed_link(app, world, make_door):
    from delivery_sign.core import jobs
    from delivery_sign.signing.sweep import SWEEP_LINK

    door = make_door()
    receipt = door.submit().get_json()
    later = utcnow() + timedelta(hours=2)
    jobs.run_due(app, kinds=(SWEEP_LINK,), tenant_id=world.tenant_id, now=later)
    photos = world.get(f"/receipts/{receipt['receipt_id']}").get_json()["evidence"]["photos"]
    assert world.get(f"/receipts/{receipt['receipt_id']}/photos/{photos[0]['photo_id']}").status_code == 200
