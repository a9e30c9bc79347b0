"""JSON columns are written by orjson (core/json_columns.py), on both databases, and read back
as the values that were stored; what orjson refuses is written by json.dumps as before."""
import json

import pytest
from sqlalchemy import JSON, Text, bindparam, cast, select

from delivery_sign.core.json_columns import dumps
from delivery_sign.extensions import db

VALUES = [
    {"signer": {"name": "张三", "relation": "self"}, "points": [[0.5, 1.25, 16.0]], "ok": True, "none": None},
    {"big": 2 ** 70, "small": -(2 ** 70)},   # beyond 64 bits: json.dumps's
    {"1": "a", 2: "b"},                      # a key that is not a string: json.dumps's
    [1e-07, 1e16, -0.0, "line\nbreak \u2028 \x1f"],
]


def _stored_text(value):
    """The text the engine writes for ``value`` in a JSON column, as the database holds it."""
    return db.session.execute(select(cast(bindparam("v", value, type_=JSON), Text))).scalar_one()


@pytest.mark.parametrize("value", VALUES)
def test_a_json_column_reads_back_what_was_written(app, value):
    with app.app_context():
        text_form = _stored_text(value)
        read = db.session.execute(select(bindparam("v", value, type_=JSON))).scalar_one()
    assert json.loads(text_form) == json.loads(json.dumps(value))   # keys as JSON has them
    assert read == json.loads(json.dumps(value))


def test_chinese_text_is_stored_as_itself_not_escaped(app):
    with app.app_context():
        text_form = _stored_text(VALUES[0])
    assert "张三" in text_form and "\\u" not in text_form and text_form == dumps(VALUES[0])


def test_what_orjson_refuses_is_written_as_json_dumps_writes_it():
    for value in VALUES[1:3]:
        assert dumps(value) == json.dumps(value, ensure_ascii=False)
    with pytest.raises(TypeError):   # and what neither writes is still refused
        dumps({"when": object()})
