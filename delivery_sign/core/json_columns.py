"""How JSON columns are written: orjson, with the standard library for what orjson refuses.

An evidence document with its signature's strokes is 11 KB of JSON; ``json.dumps`` took
0.19 ms for it and orjson 0.04, and the JSON columns of one submit (the evidence, the
response, the audit events, the jobs) cost 0.47 ms of its ~6 (issue 16). orjson writes
compact UTF-8; ``json.dumps`` wrote ``\\u`` escapes for every Chinese character, so the
stored text is also about a third shorter. Both read back as the same values.

What orjson refuses (integers beyond 64 bits, keys that are not strings) goes to
``json.dumps`` as before, so no value that could be stored before is refused now. Reading
stays with ``json.loads``: orjson reads an integer beyond 64 bits as a float, which would
change a value. Hashes are never taken over this text: ``core.audit.canonical_json`` is the
one byte form a hash covers.
"""
import json

import orjson


def dumps(value) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:   # orjson.JSONEncodeError: a value orjson does not write, json.dumps may
        return json.dumps(value, ensure_ascii=False)
