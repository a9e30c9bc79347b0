"""canonical_json (core/audit.py), the byte form every hash is taken over, is written by
orjson where orjson writes json.dumps's bytes and by json.dumps elsewhere: its bytes are
the reference's for every value, and a sign-off's evidence takes the fast way."""
import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from delivery_sign.core import audit
from delivery_sign.core.audit import canonical_json


def reference(value) -> bytes:
    """The byte form as every release before orjson wrote it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# Where the two writers' floats part: exponent form, the 1e-4 and 1e-5 edges, 1e16.
EDGE_FLOATS = [1e-4, 9.999999999999999e-05, 1e-5, 1.5e-5, 9.99e-6, 5e-6, 1e-7, 1.2345e-9, 1e-10, 5e-324, 2.2e-308,
               1e15, 9999999999999998.0, 1e16, 1.5e16, 1.2345678901234568e+20, 1.7976931348623157e308,
               0.0, -0.0, 0.1, 123.456, -1e-5, -1e16]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2 ** 80), max_value=2 ** 80)
    | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(EDGE_FLOATS) | st.text(),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.text(), children, max_size=6),
    max_leaves=40)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_canonical_json_writes_the_reference_bytes_for_any_value(value):
    assert canonical_json(value) == reference(value)


@pytest.mark.parametrize("number", EDGE_FLOATS)
def test_an_edge_float_is_written_as_json_dumps_writes_it(number):
    for value in (number, [number], {"v": number}, {"a": [1, {"b": number}]}, [0.5, number, "1e-05"]):
        assert canonical_json(value) == reference(value)


def test_text_keys_and_escapes_are_the_reference_s():
    value = {"中": 1, "a": 2, "\U0001f600": 3, "\ue000": 4, "Z": 5, "": 6,
             "s": "\x00\x1f\x7f\b\f\n\r\t\"\\ \u2028\u2029 é 中 \U0010ffff"}
    assert canonical_json(value) == reference(value)


def test_what_orjson_refuses_goes_to_json_dumps_and_fails_as_it_did():
    for value in ({"big": 2 ** 70, "neg": -(2 ** 64)}, {1: "a", 2: "b"}, [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]):
        assert canonical_json(value) == reference(value)
    for unwritable in ({"t": object()}, {"s": "\ud800"}, {1: "a", "b": 2}):
        with pytest.raises((TypeError, UnicodeEncodeError)):
            reference(unwritable)
        with pytest.raises((TypeError, UnicodeEncodeError)):
            canonical_json(unwritable)


def test_an_evidence_document_is_written_by_orjson(monkeypatch):
    """Strings that look like floats (a dashed UUID's ``3e-9``, a typed ``1e-05``) do not send
    the document to json.dumps; only a number token would."""
    evidence = {
        "submission_id": "0c5e4d1e-7b2a-4c3e-9e1d-3e5a1f7b9c2d", "note": "ratio 1e-05, 0.00001 kg",
        "photos": [{"sha256": "3e5e-" + "a1" * 30, "width": 4000, "checks": {"sharpness": 812.25}}],
        "signature": {"strokes": [[[12.5, 240.0, 0, 0.5], [13.75, 241.5, 16, 0.52]] * 50] * 4},
        "location": {"lat": 31.2305, "lng": 121.4736, "accuracy": 12}, "ids": [str(uuid.uuid4()) for _ in range(20)],
    }
    expected, calls, dumps = reference(evidence), [], json.dumps
    monkeypatch.setattr(audit.json, "dumps", lambda *a, **k: calls.append(a) or dumps(*a, **k))
    assert canonical_json(evidence) == expected
    assert calls == []
    assert canonical_json({"tiny": 2e-5}) == b'{"tiny":2e-05}' and len(calls) == 1
