"""Issue 16: multipart bodies are split by python-multipart (core/content.py); a view sees
what werkzeug's own parser gives it, under the same limits, for good bodies and bad ones."""
import io
import os

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.test import encode_multipart

from delivery_sign.core.content import UploadFormParser

BOUNDARY = "----delivery-sign-test-boundary"


def _outcome(parser_class, body: bytes, boundary: str | None = BOUNDARY, **limits):
    parser = parser_class(lambda **_: io.BytesIO(), max_form_memory_size=limits.get("memory", 500_000),
                          max_form_parts=limits.get("parts", 1000))
    options = {"boundary": boundary} if boundary is not None else {}
    try:
        _, form, files = parser.parse(io.BytesIO(body), "multipart/form-data", len(body), options)
    except RequestEntityTooLarge:
        return "413"
    return (sorted(form.items(multi=True)),
            sorted((name, f.filename, f.content_type, f.read()) for name, f in files.items(multi=True)))


def _same(body, **kwargs):
    ours, theirs = _outcome(UploadFormParser, body, **kwargs), _outcome(FormDataParser, body, **kwargs)
    assert ours == theirs
    return ours


def _encoded(fields) -> bytes:
    return encode_multipart(fields, boundary=BOUNDARY)[1]


PHOTO = os.urandom(300_000)
# Functions: a FileStorage's stream is read once by encode_multipart.
GOOD = {
    "a photo and its kind": lambda: {"kind": "goods",
                                     "file": FileStorage(io.BytesIO(PHOTO), "照片.jpg", content_type="image/jpeg")},
    "chinese text": lambda: {"note": "放在门口的快递柜", "floor": "3楼"},
    "two files of one name": lambda: {"file": [
        FileStorage(io.BytesIO(b"\xff\xd8one"), "a.jpg", content_type="image/jpeg"),
        FileStorage(io.BytesIO(b"two\r\n--not-a-boundary"), "b.csv", content_type="text/csv")]},
}


@pytest.mark.parametrize("name", GOOD)
def test_good_bodies_give_what_werkzeug_gives(name):
    form, files = _same(_encoded(GOOD[name]()))
    assert form or files


def test_the_photo_comes_through_byte_for_byte():
    form, files = _same(_encoded(GOOD["a photo and its kind"]()))
    assert form == [("kind", "goods")] and files == [("file", "照片.jpg", "image/jpeg", PHOTO)]


def test_the_bytes_may_arrive_in_any_chunking():
    body = _encoded(GOOD["a photo and its kind"]())

    class Trickle(io.BytesIO):
        def read(self, size=-1):
            return super().read(min(size, 7) if size and size > 0 else 7)

    parser = UploadFormParser(lambda **_: io.BytesIO(), max_form_memory_size=500_000, max_form_parts=1000)
    _, form, files = parser.parse(Trickle(body), "multipart/form-data", len(body), {"boundary": BOUNDARY})
    assert form["kind"] == "goods" and files["file"].read() == PHOTO


BAD = {
    "no boundary": (_encoded({"kind": "goods"}), None),
    "another boundary": (_encoded({"kind": "goods"}), "something-else"),
    "cut short": (_encoded(GOOD["a photo and its kind"]())[:-100], BOUNDARY),
    "garbage": (os.urandom(4000), BOUNDARY),
    "empty": (b"", BOUNDARY),
    "a header that is not UTF-8": (
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\nX-Odd: \xff\xfe\r\n\r\ngoods\r\n"
        f"--{BOUNDARY}--\r\n".encode("latin-1"), BOUNDARY),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_bodies_read_as_no_form(name):
    body, boundary = BAD[name]
    assert _outcome(UploadFormParser, body, boundary=boundary) == ([], [])


def test_a_part_without_a_name_is_no_form():
    body = (f"--{BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--{BOUNDARY}--\r\n").encode()
    assert _outcome(UploadFormParser, body) == ([], [])


def test_too_many_parts_and_too_large_a_field_are_413_as_in_werkzeug():
    assert _same(_encoded({f"f{i}": "x" for i in range(20)}), parts=10) == "413"
    assert _same(_encoded({"note": "x" * 2000}), memory=1000) == "413"
    # A file is not a field: its size is the body limit's business. (werkzeug's decoder
    # applies the field limit to its 64 KB read buffer too, so it refuses a file only when
    # the limit is below its buffer's size; at Flask's 500 KB it never does.)
    file_body = _encoded({"file": FileStorage(io.BytesIO(b"x" * 2000), "a.bin")})
    assert _outcome(UploadFormParser, file_body, memory=1000)[1][0][3] == b"x" * 2000
    assert _same(file_body)[1][0][3] == b"x" * 2000


def test_too_many_headers_in_a_part_is_no_form():
    headers = "".join(f"X-H{i}: v\r\n" for i in range(20))
    body = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n{headers}\r\ngoods\r\n"
            f"--{BOUNDARY}--\r\n").encode()
    assert _outcome(UploadFormParser, body) == ([], [])


def test_a_body_that_fails_half_way_closes_the_files_it_opened():
    opened = []

    def factory(**_):
        opened.append(io.BytesIO())
        return opened[-1]

    two = _encoded({"a": FileStorage(io.BytesIO(b"x" * 1000), "a.jpg"), "b": FileStorage(io.BytesIO(PHOTO), "b.jpg")})
    parser = UploadFormParser(factory, max_form_memory_size=500_000, max_form_parts=1000)
    assert parser.parse(io.BytesIO(two[:-5000]), "multipart/form-data", len(two) - 5000,
                        {"boundary": BOUNDARY})[1:] == ({}, {})
    assert len(opened) == 2 and all(sink.closed for sink in opened)
