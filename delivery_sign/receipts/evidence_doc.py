"""The evidence document (SPEC §6), declared once: every key, its order and what it says.

A receipt's evidence is hashed (SHA-256 of ``core.audit.canonical_json``) and embedded in
the signed PDF, so for a given sign-off its bytes must never change: the dataclasses below
are written in the order the keys have always been stored, a key marked *absent* is left
out of the document rather than written as null (``signature.boxes`` of a free canvas, the
``assisted`` block of an ordinary link), and ``as_json`` turns a document into exactly the
dict the sign-off (signing/submit.py) and the drop (consent/drops.py) store. Stored
evidence is never re-dumped through this module: readers take the stored dict as it is,
older shapes included, and read only keys declared here (tests/receipts/test_evidence_doc.py
checks pdf.py, verification.py, tasks.py and static/dashboard/evidence.js against it).

Receipts stored before a key existed lack it (the key's text says since when); readers
take such keys with ``.get``. Three kinds of document share the declaration:

- a **sign-off**: ``receipt_code``, ``signer``, ``signature``, ``consents``, and
  ``assisted`` on a link declared for the courier's device (issue 14);
- a **consented drop** (issue 14): no ``receipt_code``, ``signer`` and ``signature`` null,
  ``drop`` and ``consent`` instead; ``checks`` has only ``location`` and ``photos``;
- what **retention** (privacy/retention.py, issue 19) leaves: the raw parts set to null
  with their SHA-256 beside them (``signature.strokes_sha256``, ``location.purged``; the
  address only masked, ``client.ip``), a ``retention`` block, and at the receipt's end a skeleton of a
  few keys. The courier's copy (receipts/services.py ``courier_copy``) adds
  ``redacted_for``. Those keys are declared here too, but only those modules write them.

Values that another module builds as a plain dict (the canvas and boxes the pad sent, the
phone's location, the handwriting reading, a photo's ``taken_by``…) are declared by a
*shape* below: the keys they carry, written by that producer in its own order and stored
as they are (``as_json`` passes dicts through). The numbers of the pure checks stay
documented where they are computed: ``signature.metrics`` (evidence/strokes.py
``Verdict.metrics``), ``checks.location`` (geo/distance.py ``location_findings``, without
its anomalies), a photo's ``exif`` and ``checks`` (evidence/photos.py).

static/dashboard/evidence.js reads the document too (``ev.signer.name``, ``loc.raw.lat``…);
the test walks its accesses through the same declaration.
"""
import dataclasses
import types
import typing
from dataclasses import dataclass, field


class _Absent:
    """A key left out of the document (not the same as a key whose value is null)."""

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


ABSENT = _Absent()


def key(doc: str, *, absent: bool = False):
    """A declared key: ``doc`` says what it holds; ``absent`` keys may be left out."""
    return field(default=ABSENT, metadata={"doc": doc}) if absent else field(metadata={"doc": doc})


# Values passed through as they are, tested by exact type before anything else: a
# signature's strokes are thousands of numbers, and asking ``dataclasses.is_dataclass``
# of each was most of a sign-off's ``as_json`` (issue 16).
_PLAIN = frozenset({str, int, float, bool, type(None)})
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


@dataclass(frozen=True, slots=True)
class Parsed:
    """A value as the JSON parser made it (dicts, lists, strings, numbers, booleans, null,
    nothing else): ``as_json`` gives it back as it is, without walking it. A signature's
    strokes are thousands of numbers; copying them point by point was most of a
    sign-off's ``as_json`` (issue 16)."""

    value: object


def as_json(value):
    """The stored form: dataclasses as dicts in declaration order, absent keys left out."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is Parsed:
        return value.value
    if kind is list:
        return [v if type(v) in _PLAIN else as_json(v) for v in value]
    if kind is dict:
        return {k: v if type(v) in _PLAIN else as_json(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        for name in _field_names(kind):
            item = getattr(value, name)
            if item is not ABSENT:
                out[name] = as_json(item)
        return out
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    return value


# --- shapes: values built as dicts by their producers, declared for readers --------------

@dataclass(frozen=True, kw_only=True)
class Canvas:
    """The pad's size (signing/schemas.py ``CanvasSchema``)."""

    width: float = key("Width in canvas units.")
    height: float = key("Height in canvas units.")
    dpr: float = key("The device pixel ratio the pad drew at.")


@dataclass(frozen=True, kw_only=True)
class Box:
    """One character's writing box, in canvas units (signing/schemas.py ``BoxSchema``)."""

    x: float = key("Left.")
    y: float = key("Top.")
    width: float = key("Width.")
    height: float = key("Height.")


@dataclass(frozen=True, kw_only=True)
class RawLocation:
    """The location as the phone sent it (signing/schemas.py ``LocationSchema``)."""

    lat: float = key("Latitude in ``coord_system``.")
    lng: float = key("Longitude in ``coord_system``.")
    accuracy: float | None = key("Metres, as the device reports them.")
    coord_system: str = key("wgs84, gcj02 or bd09.")
    source: str | None = key("gps, network… as the client says.")


@dataclass(frozen=True, kw_only=True)
class Point:
    lat: float = key("WGS-84 latitude, 7 decimals.")
    lng: float = key("WGS-84 longitude, 7 decimals.")


@dataclass(frozen=True, kw_only=True)
class HandwritingChar:
    expected: str = key("The character of the typed name.")
    best: str | None = key("The recogniser's best reading of its box.")
    rank: int | None = key("Where the expected character ranked.")
    score: float | None = key("The verifier's score.")
    verified: bool | None = key("Whether the box was read as the expected character (null: unsupported).")
    status: str = key("verified, failed or unsupported (a character outside the model).")


@dataclass(frozen=True, kw_only=True)
class Handwriting:
    """The name read box by box (issue 13; signing/recognition.py ``_evidence``)."""

    recognized: bool | None = key("Read as the typed name; null where not applicable (not a Chinese name).")
    mode: str = key("strict or lenient (the policy's recognition).")
    attempts: int = key("This submit and the failed ones before it.")
    segmentation: str = key("boxes (the pad's), gaps, search, or none (not applicable).")
    engine: dict = key("{zinnia, model, verifier}: what read it.")
    chars: list[HandwritingChar] = key("One per character of the name.")


@dataclass(frozen=True, kw_only=True)
class TakenBy:
    party: str = key("recipient or courier.")
    user: str | None = key("The courier's username.")


@dataclass(frozen=True, kw_only=True)
class ClientExif:
    """What the phone declared about a photo before it shrank it (signing/schemas.py
    ``ClientExifSchema``); stored as declared, the server cannot check it."""

    taken_at: str | None = key("EXIF DateTimeOriginal as the phone wrote it.")
    offset: str | None = key("Its UTC offset, as written.")
    gps: dict | None = key("The GPS tag the phone read (nulled by retention).")
    make: str | None = key("The camera's make.")
    model: str | None = key("The camera's model.")
    orientation: int | None = key("EXIF orientation, 1–8.")
    original: dict | None = key("The original's size before the phone shrank it.")
    resized: bool = key("Whether the phone shrank it.")


@dataclass(frozen=True, kw_only=True)
class Retention:
    """What retention did (privacy/retention.py, issue 19)."""

    original_evidence_hash: str = key("The hash the receipt was signed with (the PDF's evidence still has it).")
    purged: dict = key("Part (strokes, photos, location, ip) → {at, reason, sha256…} ({at, reason, masked} for ip).")
    anonymised: bool = key("Names and addresses masked by an erasure.", absent=True)
    expired: dict = key("{at, pdf_sha256}: the receipt's retention ended.", absent=True)


# --- the document ------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Tenant:
    slug: str = key("The tenant's slug at the sign-off.")
    name: str = key("The tenant's name at the sign-off (the PDF's heading and seal).")


@dataclass(frozen=True, kw_only=True)
class DocType:
    code: str = key("The document type's code.")
    name: str = key("Its name, the PDF's title (送货签收单).")


@dataclass(frozen=True, kw_only=True)
class Consignee:
    name: str = key("The consignee's name on the waybill.")
    phone_masked: str | None = key("The consignee's phone, masked (138****8000); never the full number.")
    address: str = key("The delivery address on the waybill.")


@dataclass(frozen=True, kw_only=True)
class Item:
    line: int = key("The item line's number on its waybill.")
    sku: str | None = key("The line's SKU.")
    name: str = key("What the goods are.")
    unit: str | None = key("The unit of the quantities (件, 把).")
    qty: int | float = key("Shipped, as waybills.schemas.number_out writes a quantity.")
    received_qty: int | float = key("Received (0 when refused).")
    damaged_qty: int | float | str = key('Damaged, of the received; a drop writes the string "0" (hashed, so kept).')
    note: str = key("The signer's note on the line.")


@dataclass(frozen=True, kw_only=True)
class Waybill:
    number: str = key("The waybill number.")
    external_ref: str | None = key("The shipper's own reference.")
    consignee: Consignee = key("Who the goods were addressed to.")
    items: list[Item] = key("Every item line of the waybill with what was received.")


@dataclass(frozen=True, kw_only=True)
class Drop:
    place: str = key("Where the goods were left: locker, station, guard… (consent/models.py).")
    place_label: str = key("The place's word (驿站).")
    place_name: str | None = key("The named place (世纪大道菜鸟驿站), typed or from the consent.")
    place_code: str | None = key("The pick-up code (取件码).")
    by: str = key("The actor who left them (user:<courier>).")
    consent_line: str = key("The PDF's line: where, and on what consent (consent/drops.py drop_line).")


@dataclass(frozen=True, kw_only=True)
class DropConsent:
    """The consignee's answer a drop relied on (consent/services.py ``Consent.evidence``)."""

    kind: str = key("one_off or standing.")
    choice: str = key("The place the consignee chose.")
    place: str | None = key("The place's name as the consignee was offered it.")
    answered_at: str | None = key("When the consignee answered (ISO-8601 UTC).")
    request: str = key("The consent request (and so the SMS) answered.")
    channel: str = key("sms or wechat.")
    sent_to: str = key("The phone (masked) or account the question went to.")
    audit_seq: int | None = key("The audit event of the answer.")
    standing_id: str | None = key("The standing consent used, if any.")
    client: dict | None = key("The page that answered: platform and user agent, never its address.")


@dataclass(frozen=True, kw_only=True)
class Signer:
    name: str = key("The name of the person who signed (stripped).")
    relation: str = key("self, family, guard… (core/vocabulary.py).")
    phone_masked: str | None = key("The phone the signer typed, masked.")
    wechat_openid: str | None = key("The signer's WeChat openid, when the mini program gave a code.")
    name_from: str = key("typed, or consignee when the consignee signing for themself typed none (issue 12; "
                         "older receipts lack it).")


@dataclass(frozen=True, kw_only=True)
class Signature:
    strokes: list[list[list[float]]] | None = key("The raw strokes as the pad sent them; null once purged (retention).")
    canvas: Canvas = key("The pad's size.")
    metrics: dict = key("The stroke check's numbers (evidence/strokes.py).")
    boxes: list[Box] = key("The boxes the page drew, one per character (recognised names).", absent=True)
    strokes_sha256: str = key("SHA-256 of the purged strokes (written by retention only).", absent=True)


@dataclass(frozen=True, kw_only=True)
class Photo:
    """One photo (receipts/models.py ``Photo.as_evidence``: one shape for sign-offs and drops)."""

    photo_id: str = key("The photo's public id.")
    kind: str = key("goods, scene, damage… (core/vocabulary.py photo_kind).")
    sha256: str = key("SHA-256 of the original bytes.")
    mime: str = key("The original's media type.")
    size: int = key("The original's size in bytes.")
    width: int = key("Width in pixels.")
    height: int = key("Height in pixels.")
    exif: dict = key("What the server read from the file (GPS nulled by retention).")
    checks: dict = key("The photo checks' numbers (evidence/photos.py).")
    taken_by: TakenBy = key("Who took it (issue 12; older receipts lack it and the three keys after it).")
    taken_at: str | None = key("When it was uploaded (ISO-8601 UTC).")
    declared_by_client: ClientExif | None = key("What the phone declared about the original (time, GPS, make).")


@dataclass(frozen=True, kw_only=True)
class Location:
    raw: RawLocation | None = key("The location the phone sent, as sent; null without one (or without consent).")
    wgs84: Point | None = key("The same point in WGS-84, {lat, lng}.")
    distance_to_consignee_m: float | None = key("Metres to the consignee's address.")
    distance_to_courier_m: float | None = key("Metres to where the courier made the link.")
    courier_at_link_time: RawLocation | None = key("The courier's location when the link was made.")
    purged: dict = key("{sha256} of the purged raw parts (written by retention only).", absent=True)


@dataclass(frozen=True, kw_only=True)
class Checks:
    signature: dict = key("The stroke check's metrics again (a sign-off's).", absent=True)
    replay_of: str | None = key("The receipt whose signature this one replays, if any.", absent=True)
    otp_verified: bool = key("Whether the link's one-time code was verified.", absent=True)
    location: dict = key("The location findings without their anomalies (geo/distance.py).")
    photos: dict = key("Photo id → its anomaly codes.")
    handwriting: Handwriting = key("The handwriting reading (issue 13), when the policy asks for one.", absent=True)


@dataclass(frozen=True, kw_only=True)
class SignOffConsents:
    """What the recipient agreed to (issue 19); clients before it record ``{recorded: false}``."""

    recorded: bool = key("Whether the client sent the consent step at all.")
    notice_version: int = key("The privacy notice's version the person saw.", absent=True)
    handwriting: bool = key("Consent to collect the handwriting.", absent=True)
    location: bool = key("Consent to collect the location.", absent=True)
    location_dropped: bool = key("A location sent without consent was dropped.", absent=True)


@dataclass(frozen=True, kw_only=True)
class Client:
    platform: str | None = key("h5, miniprogram… as the client says.")
    user_agent: str | None = key("The client's user agent, as it says.")
    time: str | None = key("The client's own clock at submit (declared, not trusted).")
    ip: str | None = key("The address the request came from (masked by retention).")
    first_stroke_time_ms: float | None = key("The pad's time of the first point (a sign-off's; older receipts "
                                             "may lack it).", absent=True)
    ip_sha256: str = key("SHA-256 of the purged address, in receipts purged before 2026-12-02 only (retention "
                         "now keeps only the masked address: beside it, the digest gave the address back).", absent=True)


@dataclass(frozen=True, kw_only=True)
class Times:
    link_created_at: str | None = key("When the sign link was made (null for a drop).")
    link_opened_at: str | None = key("When the recipient first opened it.")
    otp_verified_at: str | None = key("When the one-time code was verified.")
    submitted_at: str = key("The server's time of the sign-off: the receipt's time.")


@dataclass(frozen=True, kw_only=True)
class Assisted:
    declared: bool = key("The link was declared for the courier's device.")
    otp_to: str | None = key("Whose phone the code went to: consignee or receiver.")
    otp_phone_masked: str | None = key("That phone, masked.")


@dataclass(frozen=True, kw_only=True)
class EvidenceDocument:
    """One receipt's evidence, in stored key order."""

    receipt_id: str = key("The receipt's public id.")
    receipt_code: str = key("What the recipient reads out (8 Crockford base32); sign-offs since issue 12.",
                            absent=True)
    tenant: Tenant = key("Whose receipt it is.")
    doc_type: DocType = key("The document type signed.")
    policy: dict = key("The link's policy snapshot (accounts/doc_types.py), as it was at the sign-off.")
    submission_id: str = key("The client's id of the submit (a drop's is the receipt id).")
    outcome: str = key("signed, partial, refused or dropped.")
    refuse_reason: str | None = key("Why the goods were refused; null otherwise.")
    waybills: list[Waybill] = key("The waybills signed for, in waybill id order.")
    drop: Drop = key("Where a drop left the goods (issue 14).", absent=True)
    consent: DropConsent | None = key("The consent a drop relied on; null for a recorded drop without one.",
                                      absent=True)
    signer: Signer | None = key("Who signed; null for a drop.")
    signature: Signature | None = key("The handwritten signature; null for a drop.")
    photos: list[Photo] = key("The receipt's photos, in the order the PDF shows them.")
    location: Location = key("Where the sign-off happened.")
    checks: Checks = key("What the checks found (also in submit's 201 answer).")
    anomalies: list[str] = key("The anomaly codes, each once (core/vocabulary.py).")
    consents: SignOffConsents = key("The consent step of a sign-off (issue 19; older receipts lack it).",
                                    absent=True)
    client: Client = key("What the client said about itself, and its address.")
    times: Times = key("The link's and the sign-off's times, ISO-8601 UTC.")
    assisted: Assisted = key("A sign-off on the courier's device, and whose phone proved it.", absent=True)
    retention: Retention = key("What retention purged (written by retention only).", absent=True)
    redacted_for: str = key("courier, on the copy a courier's app gets (never stored).", absent=True)


def _nested(hint) -> list[type]:
    if dataclasses.is_dataclass(hint):
        return [hint]
    return [t for arg in typing.get_args(hint) for t in _nested(arg)]


def declared_keys(cls: type = EvidenceDocument, prefix: str = "") -> dict[str, str]:
    """Every declared key path (``signature.boxes``; ``waybills.items.qty`` through lists)
    with its documentation."""
    out, hints = {}, typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        path = f"{prefix}{f.name}"
        out[path] = f.metadata["doc"]
        for inner in _nested(hints[f.name]):
            out.update(declared_keys(inner, f"{path}."))
    return out


_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object",
               list: "array"}


def _json_type(hint, doc: str) -> dict:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        out = _json_type(args[0], doc) if len(args) == 1 else {"description": doc}
        return {**out, "nullable": True}
    if dataclasses.is_dataclass(hint):
        return {**openapi_schema(hint), "description": doc}
    origin = typing.get_origin(hint) or hint
    out = {"type": _JSON_TYPES[origin], "description": doc}
    if origin is list:
        out["items"] = _json_type(args[0], doc)
    elif origin is dict:
        out["additionalProperties"] = {}          # a map: what it holds is said in ``doc``
    return out


def openapi_schema(cls: type = EvidenceDocument) -> dict:
    """The declaration as an OpenAPI schema (the API's ``evidence`` outputs), for documentation
    only: the outputs still return the stored dict as it is, older shapes included, so no key
    is marked required (a receipt at the end of its retention keeps only a few)."""
    hints = typing.get_type_hints(cls)
    return {"type": "object", "properties": {f.name: _json_type(hints[f.name], f.metadata["doc"])
                                             for f in dataclasses.fields(cls)}}
