"""The evidence document is hashed and signed into every receipt: for a given sign-off its
bytes must never change. Representative sign-offs and a drop go through HTTP and their
stored evidence is compared, key by key in stored order, with tests/data/evidence/golden.json,
which the code produced before the evidence document was declared (issue 18.3).

Only what differs from run to run is replaced before the comparison: the tenant's slug,
waybill numbers, receipt, photo and submission ids, the receipt code and ISO times.
Regenerate (only for a deliberate, reviewed change of the document):
``EVIDENCE_GOLDEN_WRITE=1 python -m pytest tests/receipts/test_evidence_golden.py``.
"""
import hashlib
import json
import os
import re

import pytest
from sqlalchemy import select

from delivery_sign.core.audit import canonical_json
from delivery_sign.evidence import zinnia
from delivery_sign.extensions import db
from delivery_sign.receipts.models import Receipt
from tests.consent.conftest import NEAR, Parcel, last_token, outbox

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "data", "evidence", "golden.json")
CASES = os.path.join(os.path.dirname(__file__), "..", "data", "recognition", "cases.json")
_VOLATILE = ((re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"), "<time>"),
             (re.compile(r"\d\d-\d\d \d\d:\d\d"), "<local time>"),     # a drop's consent line
             (re.compile(r"Werkzeug/\S+"), "Werkzeug/<version>"))          # the test client's user agent
_written = {}


def _stored(world, receipt_id):
    """The stored evidence, its policy checked against the link's and then set aside: the
    policy is the link's snapshot, copied as it is, and its defaults are not this test's."""
    from delivery_sign.signing.models import SignLink

    with world.app.app_context():
        receipt = db.session.execute(select(Receipt).where(Receipt.public_id == receipt_id)).scalar_one()
        assert hashlib.sha256(canonical_json(receipt.evidence)).hexdigest() == receipt.evidence_hash
        evidence = dict(receipt.evidence)
        assert evidence["policy"] == db.session.get(SignLink, receipt.link_id).policy
        evidence["policy"] = "<the link's policy>"
        return evidence


def _normalised(value, volatile: dict):
    """``value`` with the run's own strings (keys too) replaced by placeholders, order kept."""
    if isinstance(value, dict):
        return {_normalised(k, volatile): _normalised(v, volatile) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalised(v, volatile) for v in value]
    if isinstance(value, str):
        for raw, placeholder in volatile.items():
            value = value.replace(raw, placeholder)
        for pattern, placeholder in _VOLATILE:
            value = pattern.sub(placeholder, value)
    return value


def _check(name, world, receipt_id, volatile):
    evidence = _stored(world, receipt_id)
    volatile = {receipt_id: "<receipt>", world.slug: "<tenant>", **volatile}
    if evidence.get("receipt_code"):
        volatile[evidence["receipt_code"]] = "<code>"
    text = json.dumps(_normalised(evidence, volatile), ensure_ascii=False, indent=1)
    if os.environ.get("EVIDENCE_GOLDEN_WRITE"):
        golden = {}
        if os.path.exists(GOLDEN):
            with open(GOLDEN, encoding="utf-8") as fh:
                golden = json.load(fh)
        golden[name] = json.loads(text)
        os.makedirs(os.path.dirname(GOLDEN), exist_ok=True)
        with open(GOLDEN, "w", encoding="utf-8") as fh:
            fh.write(_compact(json.dumps(golden, ensure_ascii=False, indent=1)) + "\n")
        return
    with open(GOLDEN, encoding="utf-8") as fh:
        expected = json.load(fh)[name]
    assert text == json.dumps(expected, ensure_ascii=False, indent=1)


def _compact(text: str) -> str:
    """One stroke a line: arrays of numbers, and arrays of those, each on a single line."""
    numbers = re.compile(r"\[\s*(-?[\d.eE+-]+(?:,\s*-?[\d.eE+-]+)*)\s*\]")
    text = numbers.sub(lambda m: "[" + ",".join(m.group(1).split()).replace(",,", ",") + "]", text)
    return re.sub(r"\[\s*(\[[-\d.eE+,]*\](?:,\s*\[[-\d.eE+,]*\])*)\s*\]",
                  lambda m: "[" + re.sub(r",\s+", ",", m.group(1)) + "]", text)


def _ids(door, photo_ids, submission_id):
    return {door.number: "<waybill>", submission_id: "<submission>",
            **{p: f"<photo{i}>" for i, p in enumerate(photo_ids)}}


def test_plain_sign_off(world, door):
    photo_ids = [door.upload().get_json()["photo_id"]]
    body = door.body(photo_ids=photo_ids, submission_id="golden-plain")
    response = door.submit(body)
    assert response.status_code == 201, response.get_json()
    _check("plain", world, response.get_json()["receipt_id"], _ids(door, photo_ids, "golden-plain"))


def test_partial_by_family_with_boxes(world, door):
    """A family member, a phone, a short line, two photos and the boxes the pad drew."""
    photo_ids = [door.upload().get_json()["photo_id"], door.upload(kind="scene").get_json()["photo_id"]]
    signature = {"strokes": door.signature["strokes"], "canvas": door.signature["canvas"],
                 "boxes": [{"x": 10, "y": 10, "width": 100, "height": 100},
                           {"x": 120, "y": 10, "width": 100, "height": 100}]}
    body = door.body(photo_ids=photo_ids, submission_id="golden-partial", outcome="partial", signature=signature,
                     signer={"name": door.signature["signer_name"], "relation": "family", "phone": "13912345678"},
                     items=[{"number": door.number, "sku": "CHR-01", "received_qty": 3, "damaged_qty": 1,
                             "note": "一把腿断"}],
                     client={"platform": "h5", "user_agent": "pytest", "time": "2026-01-01T08:00:00Z"})
    response = door.submit(body)
    assert response.status_code == 201, response.get_json()
    _check("partial_family_boxes", world, response.get_json()["receipt_id"], _ids(door, photo_ids, "golden-partial"))


def test_refused_without_location(world, door):
    photo_ids = [door.upload().get_json()["photo_id"]]
    body = door.body(photo_ids=photo_ids, submission_id="golden-refused", outcome="refused",
                     refuse_reason="包装破损", location=None)
    response = door.submit(body)
    assert response.status_code == 201, response.get_json()
    _check("refused", world, response.get_json()["receipt_id"], _ids(door, photo_ids, "golden-refused"))


def test_assisted_sign_off(world, signature, photo_jpeg):
    from tests.consent.test_assisted import _assisted_door, _code

    door = _assisted_door(world, signature, photo_jpeg)
    assert door.client.post(f"/api/v1/sign/{door.token}/otp", json={"phone": "139 1234 5678"}).status_code == 200
    assert door.client.post(f"/api/v1/sign/{door.token}/otp/verify", json={"code": _code(world)}).status_code == 200
    photo_ids = [door.upload().get_json()["photo_id"]]
    body = door.body(photo_ids=photo_ids, submission_id="golden-assisted",
                     signer={"name": signature["signer_name"], "relation": "guard"})
    response = door.submit(body)
    assert response.status_code == 201, response.get_json()
    _check("assisted", world, response.get_json()["receipt_id"], _ids(door, photo_ids, "golden-assisted"))


@pytest.mark.skipif(zinnia.recognizer() is None, reason=f"needs {zinnia.INSTALL_HINT}")
def test_recognised_name_in_boxes(world, make_door):
    with open(CASES, encoding="utf-8") as fh:
        case = json.load(fh)["genuine_boxes"]
    assert world.patch("/doc-types/default", {"policy": {"handwriting": "recognized",
                                                          "recognition": "strict"}}).status_code == 200
    door = make_door()
    photo_ids = [door.upload().get_json()["photo_id"]]
    body = door.body(photo_ids=photo_ids, submission_id="golden-recognised",
                     signer={"name": case["expected"], "relation": "self"},
                     signature={"strokes": case["strokes"], "canvas": case["canvas"], "boxes": case["boxes"]})
    response = door.submit(body)
    assert response.status_code == 201, response.get_json()
    _check("recognised", world, response.get_json()["receipt_id"], _ids(door, photo_ids, "golden-recognised"))


def test_consented_drop(world, photo_jpeg):
    parcel = Parcel(world, photo_jpeg)
    token = parcel.asked(places={"station": "世纪大道菜鸟驿站"})
    assert parcel.answer(token, choice="station").status_code == 200
    photo_id = parcel.photo_id()
    dropped = parcel.drop(place="station", photo_ids=[photo_id], place_code="A3-12", location=NEAR)
    assert dropped.status_code == 201, dropped.get_json()
    body = dropped.get_json()
    consent = body["consent"] or {}
    volatile = {parcel.number: "<waybill>", photo_id: "<photo0>"}
    if consent.get("request"):
        volatile[str(consent["request"])] = "<request>"
    sent_to = [m["phone"] for m in outbox(world)]
    assert sent_to and last_token(world)
    _check("drop", world, body["receipt_id"], volatile)


def test_consents_given_and_a_location_dropped(world, door):
    """Issue 19: the consent step recorded; a location sent without consent is dropped."""
    photo_ids = [door.upload().get_json()["photo_id"]]
    body = door.body(photo_ids=photo_ids, submission_id="golden-consents",
                     consents={"notice_version": 0, "handwriting": True, "location": False})
    response = door.submit(body)
    assert response.status_code == 201, response.get_json()
    _check("consents", world, response.get_json()["receipt_id"], _ids(door, photo_ids, "golden-consents"))
