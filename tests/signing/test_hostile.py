"""Every recipient endpoint is public: hostile, malformed and out-of-order input."""
import json
import threading

import pytest

from delivery_sign.extensions import db
from delivery_sign.receipts.models import Photo, Receipt


def test_unknown_tokens_are_404_and_limited_per_address(client):
    for i in range(20):
        assert client.get(f"/api/v1/sign/nope{i:04d}").status_code == 404
    limited = client.get("/api/v1/sign/nope-again")
    assert limited.status_code == 429 and limited.mimetype == "application/problem+json"


def test_other_tenants_token_looks_like_any_unknown_token(door, other_world):
    # The token is the credential; which tenant owns it is never hinted at.
    assert door.client.get("/api/v1/sign/" + "x" * len(door.token)).get_json()["detail"] == "No such sign link."


def test_oversize_and_deeply_nested_json(door):
    big = json.dumps({"submission_id": "a" * 10, "pad": "x" * (2 * 1024 * 1024 + 10)})
    response = door.client.post(f"/api/v1/sign/{door.token}/submit", data=big, content_type="application/json")
    assert response.status_code == 413 and response.mimetype == "application/problem+json"
    deep = "[" * 100_000 + "]" * 100_000
    response = door.client.post(f"/api/v1/sign/{door.token}/submit", data=deep, content_type="application/json")
    assert response.status_code in (400, 422) and response.mimetype == "application/problem+json"


@pytest.mark.parametrize("change, field", [
    ({"location": {"lat": 200, "lng": 121, "coord_system": "wgs84"}}, "location.lat"),
    ({"location": {"lat": "31.2", "lng": 121, "coord_system": "wgs84"}}, "location.lat"),
    ({"location": {"lat": 31.2, "lng": 121, "coord_system": "mars"}}, "location.coord_system"),
    ({"outcome": "maybe"}, "outcome"),
    ({"submission_id": "x"}, "submission_id"),
    ({"signer": {"name": "x" * 51, "relation": "self"}}, "signer.name"),
    ({"signer": {"name": "李娜", "relation": "neighbour"}}, "signer.relation"),
    ({"photo_ids": ["ffffffffffffffffffffffffffffffff"]}, "photo_ids.0"),
    ({"items": [{"number": "SF1", "received_qty": -1}]}, "items.0.received_qty"),
    ({"signature": {"strokes": [[[1, "NaN", 3]]], "canvas": {"width": 360, "height": 200}}}, "signature"),
    ({"signature": {"strokes": "junk", "canvas": {"width": 360, "height": 200}}}, "signature"),
    ({"signature": {"strokes": [], "canvas": {"width": -1, "height": 200}}}, "signature"),
    ({"client": {"platform": "fax"}}, "client.platform"),
])
def test_bad_fields_are_422(door, change, field):
    response = door.submit(door.body(**{"photo_ids": [], **change}))
    assert response.status_code == 422, response.get_json()
    assert field in {e["field"] for e in response.get_json()["errors"]}


def test_nan_literal_in_json(door):
    body = json.dumps(door.body(photo_ids=[])).replace('"lat": 31.2304', '"lat": NaN')
    response = door.client.post(f"/api/v1/sign/{door.token}/submit", data=body, content_type="application/json")
    assert response.status_code in (400, 422)


def test_photo_of_another_link_is_refused(make_door):
    first, second = make_door(), make_door()
    foreign = first.upload().get_json()["photo_id"]
    response = second.submit(second.body(photo_ids=[foreign]))
    assert response.status_code == 422
    assert ("photo_ids.0", "photo_invalid") in {(e["field"], e["code"]) for e in response.get_json()["errors"]}


@pytest.mark.parametrize("data", [b"GIF89a" + b"\0" * 100, b"%PDF-1.4\n", b"\0", b"\xff\xd8\xff\xe0" + b"\0" * 50])
def test_non_photos_are_refused_and_leave_nothing(door, app, data):
    with app.app_context():
        before = db.session.query(Photo).count()
    response = door.upload(data=data)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["code"] == "photo_invalid"
    with app.app_context():
        assert db.session.query(Photo).count() == before


def test_upload_needs_multipart_and_a_known_kind(door):
    assert door.client.post(f"/api/v1/sign/{door.token}/photos", json={"file": "x"}).status_code == 415
    assert door.upload(kind="selfie").status_code == 422


def test_twenty_concurrent_submits_one_winner(door, app):
    photo_id = door.upload().get_json()["photo_id"]
    bodies = [door.body(photo_ids=[photo_id]) for _ in range(10)]
    bodies += bodies   # ten distinct submissions, each sent twice
    statuses, lock = [], threading.Lock()
    barrier = threading.Barrier(len(bodies))

    def send(body):
        client = app.test_client()
        barrier.wait()
        response = client.post(f"/api/v1/sign/{door.token}/submit", json=body)
        with lock:
            statuses.append((body["submission_id"], response.status_code))

    threads = [threading.Thread(target=send, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = [s for _, s in statuses]
    assert codes.count(201) == 1, statuses
    winner = next(sid for sid, s in statuses if s == 201)
    assert all(s in (200, 409) for sid, s in statuses if s != 201)
    assert all(sid == winner for sid, s in statuses if s == 200)
    with app.app_context():
        assert db.session.query(Receipt).filter_by(submission_id=winner).count() == 1
