"""A delivery note with active content (issue 15 item 10): the signed receipt built on it
runs nothing — no JavaScript, launch actions or embedded files of the note survive — while
its pages, its plain links and the receipt's own signature and evidence do."""
import hashlib
import io

from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, IndirectObject, NameObject, TextStringObject

from delivery_sign.receipts.active_content import UNSAFE_ACTIONS, UNSAFE_ANNOTATIONS, strip_active_content
from tests.receipts.conftest import drain
from tests.receipts.pki import one_page_pdf
from tests.receipts.test_pdf import _validate


def _js(writer, code):
    return writer._add_object(DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                                                NameObject("/JS"): TextStringObject(code)}))


def _link(writer, action, rect=(72, 600, 200, 620)):
    return writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"),
        NameObject("/Rect"): ArrayObject(FloatObject(v) for v in rect), NameObject("/A"): action}))


def hostile_note() -> bytes:
    """A one-page note with every kind of active content a generator (or an attacker) adds."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(one_page_pdf())))
    root, page = writer.root_object, writer.pages[0]
    root[NameObject("/OpenAction")] = _js(writer, "app.alert('open action')")
    root[NameObject("/AA")] = DictionaryObject({NameObject("/WC"): _js(writer, "app.alert('will close')")})
    writer.add_attachment("invoice.exe", b"MZ\x90\x00 not an invoice")
    root["/Names"].get_object()[NameObject("/JavaScript")] = DictionaryObject({NameObject("/Names"): ArrayObject(
        [TextStringObject("doc"), _js(writer, "app.alert('document-level script')")])})
    page[NameObject("/AA")] = DictionaryObject({NameObject("/O"): _js(writer, "app.alert('page open')")})
    launch = writer._add_object(DictionaryObject({NameObject("/S"): NameObject("/Launch"),
                                                  NameObject("/F"): TextStringObject("cmd.exe")}))
    uri = writer._add_object(DictionaryObject({NameObject("/S"): NameObject("/URI"),
                                               NameObject("/URI"): TextStringObject("https://shipper.example/track"),
                                               NameObject("/Next"): _js(writer, "app.alert('chained')")}))
    filespec = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Filespec"), NameObject("/F"): TextStringObject("x.bin"),
        NameObject("/EF"): DictionaryObject({NameObject("/F"): writer._add_object(
            DictionaryObject({NameObject("/Type"): NameObject("/EmbeddedFile")}))})}))
    attachment = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/FileAttachment"),
        NameObject("/Rect"): ArrayObject(FloatObject(v) for v in (10, 10, 30, 30)), NameObject("/FS"): filespec}))
    page[NameObject("/Annots")] = ArrayObject([_link(writer, _js(writer, "app.alert('link')")),
                                               _link(writer, launch, (72, 560, 200, 580)),
                                               _link(writer, uri, (72, 520, 200, 540)), attachment])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def active_content(data: bytes) -> list[str]:
    """Every piece of active content anywhere in the PDF, found by walking all of it."""
    reader = PdfReader(io.BytesIO(data))
    found, seen, stack = [], set(), [reader.trailer["/Root"]]
    while stack:
        node = stack.pop()
        if isinstance(node, IndirectObject):
            if node.idnum in seen:
                continue
            seen.add(node.idnum)
            node = node.get_object()
        if isinstance(node, ArrayObject):
            stack.extend(node)
        elif isinstance(node, DictionaryObject):
            if node.get("/S") in UNSAFE_ACTIONS or "/JS" in node:
                found.append(f"action {node.get('/S')}")
            if "/AA" in node:
                found.append("/AA")
            if node.get("/Subtype") in UNSAFE_ANNOTATIONS:
                found.append(f"annotation {node['/Subtype']}")
            if node.get("/Type") == "/EmbeddedFile":
                found.append("embedded file")
            stack.extend(v for k, v in node.items() if k not in ("/Parent", "/P"))
    names = reader.trailer["/Root"].get("/Names")
    if names is not None and "/JavaScript" in names.get_object():
        found.append("names /JavaScript")
    return found


def test_the_hostile_note_really_is_hostile():
    found = active_content(hostile_note())
    for kind in ("action /JavaScript", "action /Launch", "/AA", "annotation /FileAttachment",
                 "embedded file", "names /JavaScript"):
        assert kind in found


def test_a_note_with_javascript_opens_no_javascript_in_the_signed_receipt(world, make_door):
    door = make_door()
    note = hostile_note()
    response = world.put(f"/waybills/{door.number}/document", data=note, content_type="application/pdf")
    assert response.status_code == 200, response.get_json()
    receipt_id = door.submit().get_json()["receipt_id"]
    drain(world)
    data = world.get(f"/receipts/{receipt_id}/pdf").data
    reader = PdfReader(io.BytesIO(data))

    # Nothing of the note runs: the receipt's only embedded file is its own evidence.
    assert [f for f in active_content(data) if f != "embedded file"] == []
    assert list(reader.attachments) == ["evidence.json"]
    assert "/OpenAction" not in reader.trailer["/Root"]
    # What the note shows stays: its page, its text, and its plain web link.
    assert "ORIGINAL DELIVERY NOTE" in reader.pages[0].extract_text()
    links = [a.get_object() for a in reader.pages[0].get("/Annots", [])]
    actions = [a["/A"] for a in links if "/A" in a]         # the script and launch links are inert now
    assert [a["/URI"] for a in actions] == ["https://shipper.example/track"] and "/Next" not in actions[0]
    status, _ = _validate(data)
    assert status.intact and status.valid
    # The note as uploaded is kept byte for byte: its hash is the one on record.
    document = world.get(f"/waybills/{door.number}").get_json()["document"]
    assert document["sha256"] == hashlib.sha256(note).hexdigest()


def test_a_clean_note_passes_through_unchanged():
    note = one_page_pdf()
    assert strip_active_content(note) == (note, ())
