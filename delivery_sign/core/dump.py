"""A schema's dump compiled once from its declared fields, for the hottest outputs.

Why not plain ``Schema.dump``: per row and per field marshmallow goes through
``Field.serialize`` → ``get_value`` (a ``__getitem__`` probe, then ``getattr``) → the
missing/default checks → ``_serialize``, and each nested object is a ``dump`` of its own.
A page of 200 waybills is about 45 values a row, and plainly dumped it cost three times
the hand-written dict it replaces (13.9–17.4 against 4.3–7.3 ms per 200 rows;
bench/bench_waybill_list.py).

``compile_dump(schema)`` reads the same declarations once — each field's output key,
attribute, ``dump_default``, ``get_value`` and ``_serialize`` — into a flat list of steps,
so a row is one loop: read, convert, store. A value that is already what the field's
``_serialize`` would return (a ``str`` for a ``String``, an ``int`` for an ``Integer``, a
``float`` for a ``Float``, ``None``) is stored as it is; everything else goes through the
field's own ``_serialize``. Nested, Pluck and List are compiled the same way, inside.

So the schema stays the one source of truth (keys, conversions and the OpenAPI document
all come from its fields); tests/core/test_dump.py dumps the same rows both ways and
compares them, so the two cannot drift. What the compiler does not reproduce (dump hooks,
a custom ``get_attribute``) raises when it compiles rather than dumping differently.
"""
from marshmallow import Schema, fields
from marshmallow.decorators import POST_DUMP, PRE_DUMP
from marshmallow.utils import _get_value_for_key, get_value, missing


def compile_dump(schema: Schema):
    """``obj -> dict``: what ``schema.dump(obj, many=False)`` returns, built faster."""
    if schema._hooks[PRE_DUMP] or schema._hooks[POST_DUMP]:
        raise TypeError(f"{type(schema).__name__} has dump hooks; compile_dump does not run them")
    if type(schema).get_attribute is not Schema.get_attribute:
        raise TypeError(f"{type(schema).__name__} overrides get_attribute; compile_dump reads attributes itself")
    steps = [_step(name, field) for name, field in schema.dump_fields.items()]

    def dump(obj):
        out = {}
        mapping = hasattr(obj, "__getitem__")
        for key, name, attr, read, native, convert, field in steps:
            if read is not None:
                value = read(obj, name)
            elif mapping:
                value = _get_value_for_key(obj, attr, missing)
            else:
                value = getattr(obj, attr, missing)
            if value is missing:
                default = field.dump_default
                value = default() if callable(default) else default
                if value is missing:
                    continue
            if (value is None and native is not None) or value.__class__ is native:
                out[key] = value
            else:
                out[key] = convert(value, name, obj)
        return out

    return dump


def _step(name, field):
    key = field.data_key if field.data_key is not None else name
    attr = field.attribute if field.attribute is not None else name
    if not field._CHECK_ATTRIBUTE:
        read = _none
    elif type(field).get_value is not fields.Field.get_value:
        read = field.get_value                      # e.g. core.schema.FromColumns
    elif "." in attr:
        def read(obj, _name, _attr=attr):
            return get_value(obj, _attr)
    else:
        read = None
    return key, name, attr, read, _native(field), _converter(field), field


def _none(obj, name):
    return None


def _native(field):
    """The type whose values the field's ``_serialize`` returns unchanged (``None`` too), or None."""
    serialize = type(field)._serialize
    if serialize is fields.String._serialize:
        return str
    if (serialize is fields.Number._serialize and not field.as_string
            and type(field)._format_num is fields.Number._format_num and field.num_type in (int, float)):
        return field.num_type
    return None


def _converter(field):
    """``(value, name, obj) -> JSON value``, equal to ``field._serialize(value, name, obj)``."""
    serialize = type(field)._serialize
    if isinstance(field, fields.Pluck) and serialize is fields.Pluck._serialize:
        pluck, many = _plucker(field), field.schema.many or field.many
        if many:
            return lambda value, name, obj: None if value is None else [pluck(v) for v in value]
        return lambda value, name, obj: None if value is None else pluck(value)
    if isinstance(field, fields.Nested) and serialize is fields.Nested._serialize:
        dump, many = compile_dump(field.schema), field.schema.many or field.many
        if many:
            return lambda value, name, obj: None if value is None else [dump(v) for v in value]
        return lambda value, name, obj: None if value is None else dump(value)
    if isinstance(field, fields.List) and serialize is fields.List._serialize:
        inner, native = _converter(field.inner), _native(field.inner)

        def convert(value, name, obj):
            if value is None:
                return None
            return [v if (v is None and native is not None) or v.__class__ is native else inner(v, name, obj)
                    for v in value]
        return convert
    return field._serialize


def _plucker(field):
    """``obj -> value`` of a Pluck's one field: its dump without building the one-key dict."""
    schema = field.schema
    dump = compile_dump(schema)         # checks the nested schema as any other
    key, name, attr, read, native, convert, inner = _step(field.field_name, schema.fields[field.field_name])
    if read is not None or inner.dump_default is not missing:
        return lambda obj: dump(obj)[key]

    def pluck(obj):
        value = _get_value_for_key(obj, attr, missing) if hasattr(obj, "__getitem__") else getattr(obj, attr, missing)
        if value is missing:
            raise KeyError(key)          # as marshmallow's Pluck does on a missing value
        if (value is None and native is not None) or value.__class__ is native:
            return value
        return convert(value, name, obj)
    return pluck


class CompiledDump:
    """Schema mixin: ``dump`` runs ``compile_dump`` of this schema (compiled at the first dump)."""

    def dump(self, obj, *, many=None):
        dump = self.__dict__.get("_compiled_dump")
        if dump is None:
            dump = self._compiled_dump = compile_dump(self)
        many = self.many if many is None else many
        if many and obj is not None:
            return [dump(o) for o in obj]
        return dump(obj)
