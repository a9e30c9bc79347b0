"""core.dump: the compiled dump returns exactly what marshmallow's own ``Schema.dump`` does."""
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from marshmallow import Schema, fields, post_dump

from delivery_sign.core.dump import CompiledDump, compile_dump
from delivery_sign.core.schema import CodeSchema, FromColumns, UtcDateTime
from delivery_sign.extensions import db
from delivery_sign.waybills.models import Waybill, WaybillAnomaly
from delivery_sign.waybills.schemas import WaybillOutSchema, WaybillPageSchema


def marshmallow_dump(schema, obj, many=False):
    """What marshmallow itself returns, past the CompiledDump override."""
    return Schema.dump(schema, obj, many=many)


class Inner(Schema):
    code = fields.String()
    n = fields.Integer()


class Flat(Schema):
    lat = fields.Float(attribute="flat_lat")
    label = fields.String(attribute="flat_label", allow_none=True)


class Everything(Schema):
    text = fields.String()
    number = fields.Integer()
    ratio = fields.Float()
    money = fields.Decimal(as_string=True)
    as_text = fields.Integer(as_string=True)
    flag = fields.Boolean()
    when = UtcDateTime(allow_none=True)
    renamed = fields.String(data_key="other-name", attribute="source")
    dotted = fields.String(attribute="ref.code")
    defaulted = fields.String(dump_default="fallback")
    raw = fields.Raw()
    mapping = fields.Dict()
    typed_map = fields.Dict(keys=fields.String(), values=fields.Integer())
    tags = fields.List(fields.String())
    numbers = fields.List(fields.Integer())
    inner = fields.Nested(Inner, allow_none=True)
    inners = fields.List(fields.Nested(Inner))
    many_inner = fields.Nested(Inner, many=True)
    only_code = fields.Nested(Inner, only=("code",))
    plucked = fields.Pluck(CodeSchema, "code", allow_none=True)
    plucked_many = fields.Pluck(CodeSchema, "code", many=True)
    flat = FromColumns(Flat, present="flat_lat", allow_none=True)
    method = fields.Method("_method")
    function = fields.Function(lambda obj: "fn")
    constant = fields.Constant(7)

    def _method(self, obj):
        return "m"


def _values(**overrides):
    values = dict(
        text="字", number=3, ratio=0.5, money=Decimal("1.50"), as_text=12, flag=True,
        when=datetime(2026, 12, 1, 10, 2, 3, 456000), source="s", ref=SimpleNamespace(code="R"),
        raw={"any": [1, "x"]}, mapping={"a": 1}, typed_map={"k": 2}, tags=["a", "b"], numbers=[1, 2],
        inner=SimpleNamespace(code="c", n=1), inners=[SimpleNamespace(code="d", n=2)],
        many_inner=[{"code": "e", "n": 3}], only_code=SimpleNamespace(code="f", n=4),
        plucked=SimpleNamespace(code="p"), plucked_many=[SimpleNamespace(code="q"), {"code": "r"}],
        flat_lat=31.2, flat_label="here")
    values.update(overrides)
    return values


CASES = {
    "plain": _values(),
    "nulls": _values(text=None, number=None, ratio=None, when=None, inner=None, plucked=None, flat_lat=None,
                     tags=None, mapping=None, flag=None),
    "conversions": _values(text=5, number=True, ratio=2, flag=0, numbers=[True, 2.0, Decimal("3")],
                           tags=[1, None], money=3),
    "absent": {k: v for k, v in _values().items() if k not in ("text", "defaulted", "tags", "inner")},
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("shape", ["object", "mapping"])
def test_compiled_dump_equals_marshmallow(case, shape):
    values = CASES[case]
    obj = SimpleNamespace(**values) if shape == "object" else dict(values)
    if shape == "mapping":
        obj.pop("ref", None)
        obj["ref.code"] = "R"        # a mapping's dotted key is read as a path: keep both sides alike
    schema = Everything()
    expected = schema.dump(obj)
    assert compile_dump(schema)(obj) == expected
    assert type(compile_dump(schema)(obj)["number"]) is type(expected["number"])   # 1, not True


def test_many_and_only_exclude_follow_the_instance():
    class Compiled(CompiledDump, Everything):
        pass

    rows = [SimpleNamespace(**CASES["plain"]), SimpleNamespace(**CASES["nulls"])]
    assert Compiled().dump(rows, many=True) == Everything().dump(rows, many=True)
    assert Compiled(many=True).dump(rows) == Everything(many=True).dump(rows)
    only = Compiled(only=("text", "inner"), exclude=("inner",))
    assert only.dump(rows[0]) == Everything(only=("text", "inner"), exclude=("inner",)).dump(rows[0]) == {"text": "字"}


def test_what_it_cannot_reproduce_refuses_to_compile():
    class Hooked(Schema):
        a = fields.String()

        @post_dump
        def _upper(self, data, **kwargs):
            return data

    class OwnAccess(Schema):
        a = fields.String()

        def get_attribute(self, obj, attr, default):
            return "x"

    for schema in (Hooked(), OwnAccess()):
        with pytest.raises(TypeError):
            compile_dump(schema)
    with pytest.raises(TypeError):
        compile_dump(Schema.from_dict({"inner": fields.Nested(Hooked)})())


def _varied_waybills(world, app):
    """Waybills with every optional part set in some and absent in others."""
    plain = world.waybill(consignee={"name": "王伟", "phone": "010-12345678", "address": "北京"}, items=[
        {"name": "箱", "qty": "2.5"}])
    full = world.waybill(courier="courier1", org_unit="EAST-1", metadata={"po": "PO-1", "tags": ["冷"], "n": 1},
                         external_ref="EXT-9", deadline="2026-12-24T18:00:00+08:00")
    with app.app_context():
        rows = db.session.query(Waybill).filter(Waybill.tenant_id == world.tenant_id).all()
        by_number = {w.number: w for w in rows}
        w = by_number[full["number"]]
        w.signed_at = w.reconciled_at = w.created_at
        w.receipt_public_id, w.signer_relation = "rcpt0000000000000000000001", "family"
        w.reconcile_decision, w.reconcile_note, w.reconciled_by = "disputed", None, "admin"
        w.document_key, w.document_sha256, w.document_size = "doc/1", "a" * 64, 2048
        db.session.add_all([WaybillAnomaly(tenant_id=world.tenant_id, waybill_id=w.id, code=code,
                                           created_at=w.created_at) for code in ("outside_geofence", "late_signature")])
        db.session.commit()
    return plain, full


def test_waybills_dump_as_marshmallow_dumps_them(world, app):
    _varied_waybills(world, app)
    with app.test_request_context("/"):
        rows = db.session.query(Waybill).filter(Waybill.tenant_id == world.tenant_id).all()
        rows[0].reveal_phone = True
        schema = WaybillOutSchema()
        compiled = schema.dump(rows, many=True)
        assert compiled == marshmallow_dump(schema, rows, many=True)
        assert [schema.dump(w) for w in rows] == compiled
        assert WaybillPageSchema().dump({"items": rows, "next_cursor": None})["items"] == compiled
        assert {bool(w["receipt"]) for w in compiled} == {True, False}     # both shapes were compared
        assert {bool(w["consignee"]["location"]) for w in compiled} == {True, False}


def test_waybill_parts_in_the_api(world, app):
    plain, full = _varied_waybills(world, app)
    body = world.get(f"/waybills/{full['number']}").get_json()
    receipt = body["receipt"]
    assert receipt["id"] == "rcpt0000000000000000000001" and receipt["signer_relation"] == "family"
    assert receipt["url"].endswith("/api/v1/receipts/rcpt0000000000000000000001")
    assert receipt["pdf"] == receipt["url"] + "/pdf"
    assert body["reconciliation"] == {"decision": "disputed", "note": None, "at": body["signed_at"], "by": "admin"}
    assert body["document"] == {"sha256": "a" * 64, "size": 2048}
    assert body["anomalies"] == ["outside_geofence", "late_signature"]
    assert (body["org_unit"], body["courier"], body["doc_type"]) == ("EAST-1", "courier1", "default")
    assert body["metadata"] == {"po": "PO-1", "tags": ["冷"], "n": 1}
    body = world.get(f"/waybills/{plain['number']}").get_json()
    assert (body["receipt"], body["reconciliation"], body["document"], body["consignee"]["location"]) == (
        None, None, None, None)
    assert body["consignee"]["phone"] != "010-12345678" and body["items"] == [
        {"sku": None, "name": "箱", "qty": 2.5, "unit": None}]


def test_the_recipient_answers_dump_as_marshmallow_dumps_them(door, monkeypatch):
    # The view, the photo upload and the submit answer through compiled dumps (issue 16):
    # each answer of a real sign-off is dumped both ways and compared.
    compiled, seen = CompiledDump.dump, {}

    def both_ways(schema, obj, *, many=None):
        out = compiled(schema, obj, many=many)
        seen[type(schema).__name__] = (out, marshmallow_dump(schema, obj, many=bool(many)))
        return out

    monkeypatch.setattr(CompiledDump, "dump", both_ways)
    assert door.view().status_code == 200
    assert door.submit().status_code == 201          # its body uploads a photo first
    assert {"RecipientViewSchema", "PhotoOutSchema", "SubmitResultSchema"} <= set(seen)
    for name, (fast, plain) in seen.items():
        assert fast == plain, name
