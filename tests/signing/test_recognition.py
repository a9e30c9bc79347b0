"""Handwriting recognition through HTTP: the policy, 422 per box, lenient third attempt,
evidence, PDF, and a server without the recogniser."""
import io
import json
import os

import pytest
from pypdf import PdfReader

from delivery_sign.evidence import zinnia
from tests.receipts.conftest import drain

CASES_PATH = os.path.join(os.path.dirname(__file__), "..", "data", "recognition", "cases.json")

pytestmark = pytest.mark.skipif(zinnia.recognizer() is None, reason=f"needs {zinnia.INSTALL_HINT}")


@pytest.fixture(scope="module")
def cases():
    with open(CASES_PATH, encoding="utf-8") as fh:
        return json.load(fh)


def recognized(world, make_door, mode="lenient"):
    response = world.patch("/doc-types/default", {"policy": {"handwriting": "recognized", "recognition": mode}})
    assert response.status_code == 200, response.get_json()
    return make_door()


def body(door, case, name=None, boxes=True):
    signature = {"strokes": case["strokes"], "canvas": case["canvas"]}
    if boxes and case["boxes"]:
        signature["boxes"] = case["boxes"]
    return door.body(signer={"name": name or case["expected"], "relation": "self"}, signature=signature)


def errors(response):
    return response.get_json().get("errors", [])


def pdf_text(world, receipt_id):
    drain(world)
    response = world.get(f"/receipts/{receipt_id}/pdf")
    assert response.status_code == 200
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)


def test_policy_defaults_to_lenient_and_readyz_says_on(world, client):
    response = world.patch("/doc-types/default", {"policy": {"handwriting": "recognized"}})
    assert response.status_code == 200
    assert response.get_json()["policy"]["recognition"] == "lenient"
    bad = world.patch("/doc-types/default", {"policy": {"recognition": "sometimes"}})
    assert bad.status_code == 422
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["recognizer"] == "on"


def test_without_the_recogniser_the_policy_is_refused_and_readyz_stays_ready(world, client, app, monkeypatch):
    monkeypatch.setitem(app.config, "ZINNIA_MODEL", "/nonexistent/handwriting-zh_CN.model")
    response = world.patch("/doc-types/default", {"policy": {"handwriting": "recognized"}})
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    [error] = errors(response)
    assert error["code"] == "recognizer_unavailable" and "apt-get install libzinnia0" in error["message"]
    created = world.post("/doc-types", {"code": "hw", "name": "笔迹", "policy": {"handwriting": "recognized"}})
    assert created.status_code == 409
    listed = {d["code"]: d["policy"] for d in world.get("/doc-types").get_json()}
    assert "hw" not in listed and listed["default"]["handwriting"] == "basic"   # nothing half-written
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json() == {"status": "ok", "database": "ok", "recognizer": "off"}
    assert world.patch("/doc-types/default", {"policy": {"handwriting": "strict"}}).status_code == 200


def test_genuine_name_in_boxes_signs_with_the_reading_in_evidence_and_pdf(world, make_door, cases):
    door = recognized(world, make_door, "strict")
    response = door.submit(body(door, cases["genuine_boxes"]))
    assert response.status_code == 201, response.get_json()
    reading = response.get_json()["checks"]["handwriting"]
    assert reading["recognized"] is True and reading["mode"] == "strict" and reading["attempts"] == 1
    assert reading["engine"]["zinnia"] is True and reading["engine"]["verifier"]
    assert [c["expected"] for c in reading["chars"]] == list("李明华")
    assert all(c["verified"] and c["best"] == c["expected"] for c in reading["chars"])
    receipt_id = response.get_json()["receipt_id"]
    evidence = world.get(f"/receipts/{receipt_id}").get_json()["evidence"]
    assert evidence["checks"]["handwriting"] == reading
    assert evidence["signature"]["boxes"] == cases["genuine_boxes"]["boxes"]   # the dashboard draws them
    assert "笔迹识别：通过" in pdf_text(world, receipt_id)


def test_free_canvas_without_boxes(world, make_door, cases):
    door = recognized(world, make_door, "strict")
    response = door.submit(body(door, cases["genuine_free"], boxes=False))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["checks"]["handwriting"]["recognized"] is True
    evidence = world.get(f"/receipts/{response.get_json()['receipt_id']}").get_json()["evidence"]
    assert "boxes" not in evidence["signature"]
    other = make_door()
    refused = other.submit(body(other, cases["other_name_free"], boxes=False))
    assert refused.status_code == 422
    assert {e["code"] for e in errors(refused)} == {"signature_name_mismatch"}


def test_strict_mode_names_the_failing_box_and_stays_422(world, make_door, cases):
    door = recognized(world, make_door, "strict")
    for attempt in range(4):
        response = door.submit(body(door, cases["lookalike_boxes"]))
        assert response.status_code == 422
        assert errors(response) == [{"field": "signature.boxes[0]", "code": "signature_name_mismatch",
                                     "message": "第1个字\u201c李\u201d未能识别，请在框内工整重写"}]
    assert door.view().status_code == 200      # the link stays usable
    fixed = door.submit(body(door, cases["genuine_boxes"]))
    assert fixed.status_code == 201
    assert fixed.get_json()["checks"]["handwriting"]["attempts"] == 5
    assert "name_not_recognized" not in fixed.get_json()["anomalies"]


def test_lenient_mode_accepts_the_third_failed_attempt_with_an_anomaly(world, make_door, cases):
    door = recognized(world, make_door, "lenient")
    for attempt in (1, 2):
        response = door.submit(body(door, cases["other_name_boxes"]))
        assert response.status_code == 422
        assert [e["field"] for e in errors(response)] == [f"signature.boxes[{i}]" for i in range(3)]
    third = door.submit(body(door, cases["other_name_boxes"]))
    assert third.status_code == 201, third.get_json()
    answer = third.get_json()
    assert "name_not_recognized" in answer["anomalies"]
    reading = answer["checks"]["handwriting"]
    assert reading["recognized"] is False and reading["attempts"] == 3 and reading["mode"] == "lenient"
    listed = world.get("/waybills", query_string={"anomaly": "name_not_recognized"}).get_json()["items"]
    assert [w["number"] for w in listed] == [door.number]
    text = pdf_text(world, answer["receipt_id"])
    assert "笔迹识别：未通过" in text and "第3次书写" in text


def test_attempts_are_counted_per_link(world, make_door, cases):
    first, second = recognized(world, make_door, "lenient"), make_door()
    for _ in range(2):
        assert first.submit(body(first, cases["scribble_boxes"])).status_code == 422
    assert second.submit(body(second, cases["scribble_boxes"])).status_code == 422


def test_outside_model_character_and_latin_names(world, make_door, cases):
    door = recognized(world, make_door, "strict")
    response = door.submit(body(door, cases["outside_model_boxes"]))
    assert response.status_code == 201, response.get_json()
    chars = response.get_json()["checks"]["handwriting"]["chars"]
    assert chars[1]["expected"] == "喆" and chars[1]["rank"] is None and chars[1]["verified"] is True
    latin = make_door()
    signed = latin.submit(body(latin, cases["genuine_free"], name="Anna Smith", boxes=False))
    assert signed.status_code == 201
    assert signed.get_json()["checks"]["handwriting"]["recognized"] is None
    drain(world)


@pytest.mark.parametrize("boxes, field", [
    ([{"x": 0, "y": 0, "width": 100, "height": 100}], "signature.boxes"),
    ([{"x": 0, "y": 0, "width": -5, "height": 100}] * 3, "signature.boxes.0.width"),
    ([{"x": "left", "y": 0, "width": 10, "height": 10}] * 3, "signature.boxes.0.x"),
    ([{"x": 0, "y": 0, "width": 10}] * 3, "signature.boxes.0.height"),
    ("three boxes", "signature.boxes"),
    ([{"x": 0, "y": 0, "width": 10, "height": 10}] * 51, "signature.boxes"),
])
def test_malformed_boxes_are_422_not_500(world, make_door, cases, boxes, field):
    door = recognized(world, make_door, "strict")
    payload = body(door, cases["genuine_boxes"])
    payload["signature"]["boxes"] = boxes
    response = door.submit(payload)
    assert response.status_code == 422, response.get_json()
    assert any(e["field"].startswith(field) for e in errors(response)), errors(response)


def test_boxes_are_ignored_without_the_policy(door, cases):
    response = door.submit(body(door, cases["genuine_boxes"]))
    assert response.status_code == 201
    assert "handwriting" not in response.get_json()["checks"]
