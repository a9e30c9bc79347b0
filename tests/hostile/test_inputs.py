"""Hostile text and numbers in request bodies: each is a clear 4xx, never a 500, and what is
stored is what a reader sees (issue 15 items 5, 12, 14)."""
import base64
import json

import pytest

from tests.factories import PASSWORD, waybill_payload


def raw_json(value):
    """The body as a client that escapes everything would send it (``\\ud800`` survives)."""
    return {"data": json.dumps(value, ensure_ascii=True), "content_type": "application/json"}


def error_codes(response):
    return {(e["field"], e["code"]) for e in response.get_json().get("errors", [])}


# -- lone surrogates (15.12) ------------------------------------------------------------

def test_lone_surrogate_at_login_is_a_422(world, client):
    response = client.post("/api/v1/auth/login",
                           **raw_json({"tenant": world.slug, "username": "ad\ud800min", "password": PASSWORD}))
    assert response.status_code == 422
    assert ("username", "invalid_unicode") in error_codes(response)


def test_lone_surrogate_in_a_waybill_is_a_422(world, client):
    payload = waybill_payload(consignee={"name": "李\udfff", "phone": "13800138000", "address": "世纪大道100号"})
    response = client.post("/api/v1/waybills", headers=world.auth(), **raw_json(payload))
    assert response.status_code == 422
    assert ("consignee.name", "invalid_unicode") in error_codes(response)
    assert world.get(f"/waybills/{payload['number']}").status_code == 404


def test_one_lone_surrogate_does_not_sink_a_batch(world, client):
    good, bad = waybill_payload(), waybill_payload(external_ref="ref-\ud800")
    response = client.post("/api/v1/waybills/batch", headers=world.auth(), **raw_json({"waybills": [good, bad]}))
    assert response.status_code == 200
    results = {r["number"]: r for r in response.get_json()["results"]}
    assert results[good["number"]]["status"] == "created"
    assert results[bad["number"]]["status"] == "error"
    assert {e["code"] for e in results[bad["number"]]["errors"]} == {"invalid_unicode"}
    assert world.get(f"/waybills/{bad['number']}").status_code == 404


def test_lone_surrogate_at_submit_is_a_422_and_the_link_stays_usable(door, client):
    body = door.body(signer={"name": "李\ud800娜", "relation": "self"})
    response = client.post(f"/api/v1/sign/{door.token}/submit", **raw_json(body))
    assert response.status_code == 422
    assert ("signer.name", "invalid_unicode") in error_codes(response)
    assert door.submit(door.body()).status_code == 201


def test_lone_surrogate_as_a_key_is_a_422(world, client):
    payload = waybill_payload(metadata={"\ud800": 1})
    response = client.post("/api/v1/waybills", headers=world.auth(), **raw_json(payload))
    assert response.status_code == 422


# -- cursors (15.12) --------------------------------------------------------------------

@pytest.mark.parametrize("last_id", [2**63, 2**64 + 5, 10**30])
def test_cursor_beyond_64_bits_is_a_422(world, last_id):
    cursor = base64.urlsafe_b64encode(f"v1:{last_id}".encode()).decode().rstrip("=")
    response = world.get(f"/waybills?cursor={cursor}")
    assert response.status_code == 422
    assert ("cursor", "invalid") in error_codes(response)


def test_largest_64_bit_cursor_still_pages(world):
    world.waybill()
    cursor = base64.urlsafe_b64encode(f"v1:{2**63 - 1}".encode()).decode().rstrip("=")
    response = world.get(f"/waybills?cursor={cursor}")
    assert response.status_code == 200 and len(response.get_json()["items"]) == 1


# -- non-finite numbers (15.5) ----------------------------------------------------------

@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999", "-1E+400", "9" * 400])
def test_non_finite_numbers_are_refused_when_parsed(world, client, literal):
    payload = json.dumps(waybill_payload(metadata={"weight": 1})).replace('"weight": 1', f'"weight": {literal}')
    response = client.post("/api/v1/waybills", data=payload, content_type="application/json", headers=world.auth())
    assert response.status_code == 422
    assert (None, "non_finite_number") in error_codes(response)
    assert world.get("/waybills").get_json()["items"] == []


@pytest.mark.parametrize("weights", ["[1e999, 2]", "[1, -2.5E+0400]", "[\n  1,\n  1e999]", "[" + "9" * 400 + "]"])
def test_non_finite_numbers_in_a_list_are_refused(world, client, weights):
    """The pre-filter looks for numbers where JSON puts them (after ``:``, ``,`` or ``[``)."""
    payload = json.dumps(waybill_payload(metadata={"weights": [1, 2]})).replace('"weights": [1, 2]',
                                                                              f'"weights": {weights}')
    response = client.post("/api/v1/waybills", data=payload, content_type="application/json", headers=world.auth())
    assert response.status_code == 422
    assert (None, "non_finite_number") in error_codes(response)


def test_non_finite_number_at_submit_is_refused(door, client):
    body = json.dumps(door.body()).replace('"accuracy": 15', '"accuracy": NaN')
    response = client.post(f"/api/v1/sign/{door.token}/submit", data=body, content_type="application/json")
    assert response.status_code == 422
    assert (None, "non_finite_number") in error_codes(response)


def test_the_pre_filter_answers_as_its_regex_does():
    """``_maybe_non_finite`` (substring searches, the regex on windows) says what the
    whole-body regex says, on random bodies built from the cases that matter."""
    import random

    from delivery_sign.core.errors import _MAYBE_NON_FINITE, _maybe_non_finite

    rnd = random.Random(16)
    alphabet = b"0123456789eE+-. ,:[]{}\"a\t\nNI"
    pieces = [b"1e999", b"-1E+400", b"9" * 309, b"9" * 308, b"e123", b"1e12", b"0.5e-0400", b"1.e100", b"[", b",",
              b":", b" ", b"\n", b"a", b"NaN", b"Inf", b"e000" * 20, b" " * 1100 + b"1e999"]
    matched = 0
    for i in range(20000):
        if i % 2:
            data = bytes(rnd.choice(alphabet) for _ in range(rnd.randint(0, 30)))
        else:
            data = b"".join(rnd.choice(pieces) + bytes(rnd.choice(alphabet) for _ in range(rnd.randint(0, 3)))
                            for _ in range(rnd.randint(0, 6)))
        expected = _MAYBE_NON_FINITE.search(data) is not None
        assert _maybe_non_finite(data) is expected, data
        matched += expected
    assert 1000 < matched < 19000   # both answers seen often


def test_the_words_nan_and_infinity_in_text_are_fine(world):
    created = world.post("/waybills", waybill_payload(metadata={"note": "NaN Infinity 1e999"}))
    assert created.status_code == 201
    assert created.get_json()["metadata"] == {"note": "NaN Infinity 1e999"}


def test_metadata_is_capped_in_depth(world):
    deep = {"a": {"b": {"c": {"d": {"e": 1}}}}}
    response = world.post("/waybills", waybill_payload(metadata=deep))
    assert response.status_code == 422 and ("metadata", "too_deep") in error_codes(response)
    assert world.post("/waybills", waybill_payload(metadata={"a": {"b": {"c": [1]}}})).status_code == 201


def test_metadata_is_capped_in_size(world):
    response = world.post("/waybills", waybill_payload(metadata={"blob": "x" * 5000}))
    assert response.status_code == 422 and ("metadata", "too_large") in error_codes(response)


# -- bidi controls and invisible characters (15.14) -------------------------------------

@pytest.mark.parametrize("char", ["\u202e", "\u202d", "\u2066", "\u2069", "\u200f", "\u061c"])
def test_bidi_controls_in_names_are_refused(world, char):
    payload = waybill_payload(consignee={"name": f"李{char}娜", "phone": "13800138000", "address": "世纪大道100号"})
    response = world.post("/waybills", payload)
    assert response.status_code == 422
    assert ("consignee.name", "bidi_control") in error_codes(response)


def test_bidi_override_in_a_signer_name_is_refused(door):
    response = door.submit(door.body(signer={"name": "\u202e娜李", "relation": "self"}))
    assert response.status_code == 422 and ("signer.name", "bidi_control") in error_codes(response)


def test_invisible_characters_are_stripped_so_the_stored_name_is_the_shown_one(world):
    payload = waybill_payload(consignee={"name": "李\u200b娜\ufeff", "phone": "13800138000",
                                         "address": "世纪\u2060大道\u00ad100号"})
    created = world.post("/waybills", payload)
    assert created.status_code == 201
    consignee = world.get(f"/waybills/{payload['number']}").get_json()["consignee"]
    assert consignee["name"] == "李娜" and consignee["address"] == "世纪大道100号"
    # The same waybill sent again without the invisible characters is the same body.
    plain = dict(payload, consignee=dict(payload["consignee"], name="李娜", address="世纪大道100号"))
    assert world.post("/waybills", plain).status_code == 200


def test_emoji_sequences_keep_their_joiners_in_notes(door, world):
    assert door.submit().status_code == 201
    note = "家里人\u200b签收 👨\u200d👩\u200d👧"
    response = world.post(f"/waybills/{door.number}/reconcile", {"decision": "disputed", "note": note})
    assert response.status_code == 200, response.get_json()
    stored = world.get(f"/waybills/{door.number}").get_json()["reconciliation"]["note"]
    assert stored == "家里人签收 👨\u200d👩\u200d👧"


def test_passwords_are_kept_verbatim(world, client):
    password = "long\u200benough\u202epw"
    assert world.post("/users", {"username": "zhou", "password": password, "role": "courier"}).status_code == 201
    login = {"tenant": world.slug, "username": "zhou"}
    assert client.post("/api/v1/auth/login", json={**login, "password": password}).status_code == 200
    assert client.post("/api/v1/auth/login", json={**login, "password": "longenoughpw"}).status_code == 401


# -- undocumented keys in strokes (15.5) ------------------------------------------------

def test_undocumented_stroke_and_point_keys_are_not_stored(door, world):
    strokes = []
    for stroke in door.signature["strokes"]:
        points = [{"x": p[0], "y": p[1], "time": p[2], "junk": "p" * 50, "\ud800": "\ud800"} for p in stroke]
        strokes.append({"points": points, "penColor": "#0b1b3f", "minWidth": 0.5, "payload": "s" * 20_000,
                        "maxWidth": "x" * 200, "compositeOperation": "\u202esource-over"})
    body = door.body(signature={"strokes": strokes, "canvas": door.signature["canvas"]})
    response = door.client.post(f"/api/v1/sign/{door.token}/submit", **raw_json(body))
    assert response.status_code == 201, response.get_json()
    evidence = world.get(f"/receipts/{response.get_json()['receipt_id']}").get_json()
    stored = evidence["evidence"]["signature"]["strokes"] if "evidence" in evidence else evidence["signature"]["strokes"]
    assert len(stored) == len(strokes)
    for stroke in stored:
        assert set(stroke) == {"points", "penColor", "minWidth"}
        assert all(set(p) <= {"x", "y", "time", "pressure"} for p in stroke["points"])
    assert "junk" not in json.dumps(evidence) and "sssss" not in json.dumps(evidence)


def test_control_characters_are_stripped_but_line_breaks_kept(door, world):
    payload = waybill_payload(consignee={"name": "李\x07娜\x1b", "phone": "13800138000", "address": "世纪大道\x85100号"})
    assert world.post("/waybills", payload).status_code == 201
    consignee = world.get(f"/waybills/{payload['number']}").get_json()["consignee"]
    assert consignee["name"] == "李娜" and consignee["address"] == "世纪大道100号"
    assert door.submit().status_code == 201
    note = "第一行\r\n第二行\t完"
    assert world.post(f"/waybills/{door.number}/reconcile", {"decision": "disputed", "note": note}).status_code == 200
    assert world.get(f"/waybills/{door.number}").get_json()["reconciliation"]["note"] == note


# -- 16-bit PNG (15.11) -----------------------------------------------------------------

def test_a_50_megapixel_16_bit_png_upload_is_a_clear_422(door):
    from tests.evidence.test_photos import png_16bit

    response = door.upload(png_16bit(10_000, 5_000), kind="goods")
    assert response.status_code == 422
    (error,) = [e for e in response.get_json()["errors"] if e["code"] == "photo_invalid"]
    assert "16-bit PNG" in error["message"]
