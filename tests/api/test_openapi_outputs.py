"""Every JSON body the API answers with (200/201) is described by its schema in /api/v1/openapi.json:
objects list their properties, lists say what their items are, all the way down. An object
without properties is allowed only as a declared map (a description saying what it holds)."""

JSON = "application/json"
NULL = {"type": "object", "nullable": True}


def _resolve(spec, schema):
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def undescribed(spec, schema, where, seen=()):
    """The places under ``schema`` that say nothing about their shape."""
    ref = schema.get("$ref")
    if ref in seen:
        return []
    seen = (*seen, ref) if ref else seen
    schema = _resolve(spec, schema)
    problems = []
    for part in schema.get("allOf", []) + schema.get("oneOf", []) + schema.get("anyOf", []):
        if part != NULL:                         # apispec's "or null" beside a nullable nested schema
            problems += undescribed(spec, part, where, seen)
    if schema.get("allOf") or schema.get("oneOf") or schema.get("anyOf"):
        return problems
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "array" in kinds:
        if "items" not in schema:
            return [f"{where}: a list without items"]
        return undescribed(spec, schema["items"], where + "[]", seen)
    if "object" in kinds or "properties" in schema or kind is None:
        if schema.get("properties"):
            for name, prop in schema["properties"].items():
                problems += undescribed(spec, prop, f"{where}.{name}", seen)
        elif schema.get("description"):          # a declared map: what it holds is said in words
            values = schema.get("additionalProperties")
            if isinstance(values, dict) and values:
                problems += undescribed(spec, values, where + "{}", seen)
        else:
            problems.append(f"{where}: an object without properties")
    return problems


def test_every_json_response_has_its_properties(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    problems, checked = [], 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status in ("200", "201"):
                response = operation["responses"].get(status)
                if response is None:
                    continue
                response = _resolve(spec, response)
                schema = response.get("content", {}).get(JSON, {}).get("schema")
                if schema is None:
                    continue
                checked += 1
                problems += undescribed(spec, schema, f"{method.upper()} {path} {status}")
    assert checked > 50
    assert problems == []


def test_a_bare_object_is_reported():
    a = {"type": "object", "properties": {
        "free": {"type": "object"},
        "map": {"type": "object", "description": "code → label", "additionalProperties": {"type": "string"}},
        "rows": {"type": "array", "items": {"type": "object"}},
        "untyped": {"readOnly": True},
        "maybe": {"anyOf": [NULL, {"$ref": "#/components/schemas/B"}]}}}
    b = {"type": "object", "properties": {"bare": {"type": "object", "nullable": True}}}
    spec = {"components": {"schemas": {"A": a, "B": b}}}
    assert undescribed(spec, {"$ref": "#/components/schemas/A"}, "A") == [
        "A.free: an object without properties", "A.rows[]: an object without properties",
        "A.untyped: an object without properties", "A.maybe.bare: an object without properties"]
