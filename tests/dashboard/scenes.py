"""Sign-offs of issues 13 and 14 made through HTTP, for the dashboard's and the exports'
tests: a drop with the consignee's consent, an assisted sign-off on the courier's phone
(the OTP read from the outbox backend), a name read box by box, a consent still unanswered."""
import json
import os
import re

from tests.consent.conftest import Parcel
from tests.factories import Door

CASES = os.path.join(os.path.dirname(__file__), "..", "data", "recognition", "cases.json")


def consented_drop(world, photo, place="guard", standing=False, **waybill):
    """A parcel left where the consignee answered it may go (one-off, or "always")."""
    parcel = Parcel(world, photo, **waybill)
    answer = parcel.answer(parcel.asked(options=[place, "reschedule"]), choice=place, standing=standing)
    assert answer.status_code == 200, answer.get_json()
    response = parcel.drop(place=place)
    assert response.status_code == 201, response.get_json()
    return parcel, response.get_json()


def waiting_for_answer(world, photo, **waybill):
    """A waybill whose consignee was asked and has not answered yet."""
    parcel = Parcel(world, photo, **waybill)
    assert parcel.ask(options=["locker", "station"]).status_code == 201
    return parcel


def assisted_sign_off(world, signature, photo):
    """Signed on the courier's phone in the declared assisted mode, the code sent to the consignee."""
    door = Door.__new__(Door)
    door.world, door.client, door.signature, door.photo = world, world.client, signature, photo
    door.waybill = world.waybill(courier="courier1", org_unit="EAST-1")
    door.number = door.waybill["number"]
    door.token = world.post("/sign-links", {"waybills": [door.number], "assisted": True},
                            who="courier1").get_json()["token"]
    assert door.client.post(f"/api/v1/sign/{door.token}/otp").status_code == 200
    newest = world.get("/dev/sms-outbox").get_json()["items"][0]
    code = re.search(r"\b(\d{6})\b", newest["text"]).group(1)
    assert door.client.post(f"/api/v1/sign/{door.token}/otp/verify", json={"code": code}).status_code == 200
    consents = {"notice_version": 0, "handwriting": True, "location": True}     # the default notice
    response = door.submit(door.body(consents=consents))
    assert response.status_code == 201, response.get_json()
    return door, response.get_json()


def recognized_sign_off(world, make_door, case="genuine_boxes", mode="strict"):
    """李明华 written one character per box under ``handwriting: recognized`` (``case`` of
    tests/data/recognition/cases.json: another writing, a look-alike, …)."""
    assert world.patch("/doc-types/default", {"policy": {"handwriting": "recognized",
                                                         "recognition": mode}}).status_code == 200
    with open(CASES, encoding="utf-8") as fh:
        written = json.load(fh)[case]
    door = make_door()
    signature = {"strokes": written["strokes"], "canvas": written["canvas"]}
    if written["boxes"]:
        signature["boxes"] = written["boxes"]
    for _ in range(3):       # lenient: a name that does not read is accepted at the third attempt
        response = door.submit(door.body(signer={"name": written["expected"], "relation": "self"}, signature=signature))
        if response.status_code != 422:
            break
    assert response.status_code == 201, response.get_json()
    return door, response.get_json(), written

