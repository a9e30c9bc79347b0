"""The evidence declaration (receipts/evidence_doc.py) against its builders and readers:
every key documented, the builders write no undeclared key, and the readers — the PDF,
verification, the PDF job, the courier's copy, retention, the privacy export, the reports'
export and the dashboard — read only declared keys (webhooks carry no evidence)."""
import ast
import dataclasses
import json
import os
import re
import typing

import pytest

from delivery_sign.receipts import evidence_doc as doc

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
GOLDEN = os.path.join(ROOT, "tests", "data", "evidence", "golden.json")
DECLARED = doc.declared_keys()


def _hint_classes(cls) -> dict:
    hints = typing.get_type_hints(cls)
    return {f.name: doc._nested(hints[f.name]) for f in dataclasses.fields(cls)}


# Paths under a key declared as a plain dict or list: their keys belong to the module that
# makes them (policy: accounts/doc_types.py; checks.location: geo/distance.py; …).
OPAQUE = {path for path in DECLARED if not any(p.startswith(path + ".") for p in DECLARED)}


def _allowed(path: str) -> bool:
    return path in DECLARED or any(path.startswith(o + ".") for o in OPAQUE)


def test_every_key_is_documented():
    assert len(DECLARED) > 100
    undocumented = [path for path, text in DECLARED.items() if not text.strip()]
    assert undocumented == []


def _walk(value, cls, path, problems):
    """``value`` against dataclass ``cls``: no undeclared key, every required key there."""
    if not isinstance(value, dict):
        problems.append(f"{path or '<document>'}: not an object")
        return
    fields = {f.name: f for f in dataclasses.fields(cls)}
    inner = _hint_classes(cls)
    problems += [f"{path}{k}: undeclared" for k in value if k not in fields]
    problems += [f"{path}{name}: missing" for name, f in fields.items()
                 if name not in value and f.default is not doc.ABSENT]
    for name, v in value.items():
        if name in fields and inner[name] and v is not None:
            for item in (v if isinstance(v, list) else [v]):
                _walk(item, inner[name][0], f"{path}{name}.", problems)


@pytest.mark.parametrize("name", ["plain", "partial_family_boxes", "refused", "assisted", "recognised", "drop",
                                  "consents"])
def test_builders_write_only_declared_keys(name):
    """The golden documents are what the builders write (test_evidence_golden.py)."""
    with open(GOLDEN, encoding="utf-8") as fh:
        evidence = json.load(fh)[name]
    problems = []
    _walk(evidence, doc.EvidenceDocument, "", problems)
    assert problems == []


def test_as_json_keeps_order_and_leaves_absent_keys_out():
    signature = doc.Signature(strokes=[], canvas={"width": 1, "height": 1, "dpr": 1}, metrics={})
    assert list(doc.as_json(signature)) == ["strokes", "canvas", "metrics"]
    with_boxes = dataclasses.replace(signature, boxes=[{"x": 0, "y": 0, "width": 1, "height": 1}])
    assert list(doc.as_json(with_boxes)) == ["strokes", "canvas", "metrics", "boxes"]
    # A key that is null is written; only an absent one is left out.
    assert doc.as_json(doc.Assisted(declared=True, otp_to=None, otp_phone_masked=None))["otp_to"] is None


def test_a_photo_with_an_undeclared_key_cannot_enter_the_evidence():
    """Builders pass Photo.as_evidence() through the declaration: a new key there fails loudly."""
    with open(GOLDEN, encoding="utf-8") as fh:
        photo = json.load(fh)["plain"]["photos"][0]
    assert doc.as_json(doc.Photo(**photo)) == photo
    with pytest.raises(TypeError):
        doc.Photo(**photo, location_hint="x")


# --- Python readers ---------------------------------------------------------------------

class _Reads(ast.NodeVisitor):
    """Which evidence key paths a module reads: ``X.evidence`` is the document; a name bound
    to a part of it (assignment, ``for``, comprehension, a parameter named in ``params``)
    stands for that part; ``part["key"]`` and ``part.get("key")`` are reads. Lists are
    transparent, as in ``declared_keys``."""

    def __init__(self, params):
        self.params, self.reads, self.env = params, set(), {}

    def path(self, node):
        if isinstance(node, ast.Name):
            return self.env.get(node.id)
        if isinstance(node, ast.Attribute) and node.attr == "evidence":
            return ""
        if isinstance(node, ast.Subscript):
            key = node.slice
            if isinstance(key, ast.Constant) and key.value == "evidence":
                return ""                   # an export's row: {"evidence": …}
            base = self.path(node.value)
            if base is None:
                return None
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                return self.read(base, key.value)
            if isinstance(key, ast.Tuple) and all(isinstance(k, ast.Constant) for k in key.elts):
                for k in key.elts:          # a JSON path in SQL: Receipt.evidence[("consent", "answered_at")]
                    base = self.read(base, k.value)
                return base
            return base if isinstance(key, ast.Constant) else None   # an index into a list
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            base = self.path(node.func.value)
            if base is not None and node.args and isinstance(node.args[0], ast.Constant):
                return self.read(base, node.args[0].value)
        if isinstance(node, ast.Call) and node.args and (
                isinstance(node.func, ast.Name) and node.func.id in ("dict", "list", "enumerate")
                or isinstance(node.func, ast.Attribute) and node.func.attr == "deepcopy"):
            return self.path(node.args[0])
        if isinstance(node, ast.BoolOp):
            return self.path(node.values[0])
        if isinstance(node, ast.IfExp):
            found = self.path(node.body)
            return found if found is not None else self.path(node.orelse)
        return None

    def read(self, base, key):
        path = f"{base}.{key}" if base else key
        self.reads.add(path)
        return path

    def bind(self, target, iterator):
        if isinstance(target, ast.Tuple) and isinstance(iterator, ast.Tuple) and len(target.elts) == len(iterator.elts):
            for t, v in zip(target.elts, iterator.elts):
                self.bind(t, v)
            return
        is_enumerate = (isinstance(iterator, ast.Call) and isinstance(iterator.func, ast.Name)
                        and iterator.func.id == "enumerate")
        if is_enumerate and isinstance(target, ast.Tuple) and len(target.elts) == 2:
            target = target.elts[1]
        path = self.path(iterator)
        if isinstance(target, ast.Name) and path is not None:
            self.env[target.id] = path

    def visit_FunctionDef(self, node):
        saved, self.env = self.env, {a.arg: self.params[a.arg] for a in node.args.args if a.arg in self.params}
        for _ in range(2):                  # twice: a name bound late in the body is read early in a loop
            for child in ast.walk(node):
                if isinstance(child, ast.Assign) and len(child.targets) == 1:
                    self.bind(child.targets[0], child.value)
                elif isinstance(child, (ast.For, ast.comprehension)):
                    self.bind(child.target, child.iter)
                elif isinstance(child, (ast.Subscript, ast.Call)):
                    self.path(child)
        self.env = saved

    visit_AsyncFunctionDef = visit_FunctionDef


# module → (parameters that hold a part of the evidence, keys the test must find read)
PYTHON_READERS = {
    "delivery_sign/receipts/pdf.py": ({"reading": "checks.handwriting", "photo": "photos", "consents": "consents"},
                                      {"signer.name", "drop.consent_line", "location.raw.lat", "times.submitted_at",
                                       "checks.handwriting.chars.status", "photos.taken_by.party"}),
    "delivery_sign/receipts/verification.py": ({}, {"retention.original_evidence_hash", "times.submitted_at",
                                                    "signer.relation", "waybills.number"}),
    "delivery_sign/receipts/tasks.py": ({}, {"policy.auto_seal", "photos.photo_id"}),
    "delivery_sign/receipts/services.py": ({"evidence": ""}, {"photos", "client.ip", "signature"}),
    "delivery_sign/privacy/retention.py": ({"evidence": ""}, {"signature.strokes", "retention", "client.ip",
                                                              "photos.declared_by_client"}),
    "delivery_sign/privacy/services.py": ({"evidence": ""}, {"waybills.number", "signer.name"}),
    "delivery_sign/privacy/export_pdf.py": ({}, {"signer.phone_masked", "location.raw.lat", "consents.notice_version"}),
    "delivery_sign/reports/export.py": ({}, {"consent.answered_at"}),
}


@pytest.mark.parametrize("module", sorted(PYTHON_READERS))
def test_python_readers_read_only_declared_keys(module):
    params, expected = PYTHON_READERS[module]
    with open(os.path.join(ROOT, module), encoding="utf-8") as fh:
        visitor = _Reads(params)
        visitor.visit(ast.parse(fh.read()))
    assert expected <= visitor.reads, "the walk lost track of the evidence"
    assert sorted(p for p in visitor.reads if not _allowed(p)) == []


# --- the dashboard ----------------------------------------------------------------------

EVIDENCE_JS = os.path.join(ROOT, "static", "dashboard", "evidence.js")

# (the code between two markers, its variables that stand for a part of the evidence)
JS_SECTIONS = [
    ("function SignatureReplay(signature)", "SignatureReplay.prototype.context", {"signature": "signature",
                                                                                "size": "signature.canvas"}),
    ("function charBoxes(signature, n)", "function inkBox(", {"signature": "signature"}),
    ("function handwritingCard(hw, found)", "function consentCard(", {"hw": "checks.handwriting",
                                                                     "c": "checks.handwriting.chars"}),
    ("function consentCard(c)", "function metres(", {"c": "consent"}),
    ("function showEvidence(w, receipt)", "// 查看记录", {
        "ev": "", "signer": "signer", "loc": "location", "times": "times", "drop": "drop", "hw": "checks.handwriting",
        "raw": "location.raw", "wgs": "location.wgs84", "wb": "waybills", "it": "waybills.items", "photo": "photos"}),
    ("function openPhoto(base, photo)", "function actorText(", {"photo": "photos"}),
]
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'')
_ACCESS = re.compile(r"(?<![\w.])([A-Za-z_]\w*)((?:\.[a-z_]\w*)+)")
_JS_METHODS = {"length", "forEach", "map", "filter", "reduce", "slice", "join", "indexOf", "push", "toFixed",
               "toUpperCase", "points"}


def _js_reads() -> set:
    with open(EVIDENCE_JS, encoding="utf-8") as fh:
        source = fh.read()
    reads = set()
    for start, end, names in JS_SECTIONS:
        section = _STRING.sub('""', source[source.index(start):source.index(end, source.index(start))])
        for name, chain in _ACCESS.findall(section):
            if name not in names:
                continue
            path = names[name]
            for key in chain.lstrip(".").split("."):
                if key in _JS_METHODS:
                    break
                path = f"{path}.{key}" if path else key
                reads.add(path)
    return reads


def test_dashboard_reads_only_declared_keys():
    reads = _js_reads()
    assert {"signer.name", "location.raw.lat", "drop.place_name", "assisted.otp_to", "consents.notice_version",
            "checks.handwriting.chars.expected", "signature.boxes", "photos.sha256", "consent.sent_to",
            "waybills.items.received_qty"} <= reads, "the scan lost track of the evidence"
    assert sorted(p for p in reads if not _allowed(p)) == []


# --- older documents -------------------------------------------------------------------

def _older(evidence: dict) -> dict:
    """``evidence`` as a receipt stored before issues 12, 13 and 19 has it: no receipt code,
    no consents, no name_from, photos that do not say who took them."""
    old = json.loads(json.dumps(evidence))
    for key in ("receipt_code", "consents"):
        old.pop(key, None)
    old["signer"].pop("name_from")
    old["client"].pop("first_stroke_time_ms")
    for photo in old["photos"]:
        for key in ("taken_by", "taken_at", "declared_by_client"):
            photo.pop(key)
    return old


@pytest.mark.parametrize("name", ["plain", "assisted", "drop", "older"])
def test_stored_documents_of_every_shape_still_render(name):
    """The PDF reads stored evidence as it is, never re-dumped: older shapes, drops and
    assisted sign-offs included."""
    import io

    from pypdf import PdfReader

    from delivery_sign.core.audit import canonical_json
    from delivery_sign.receipts.pdf import ReceiptDocument, render

    with open(GOLDEN, encoding="utf-8") as fh:
        golden = json.load(fh)
    evidence = _older(golden["plain"]) if name == "older" else golden[name]
    # the golden's placeholders back into values
    evidence = json.loads(json.dumps({**evidence, "policy": {"auto_seal": False}}, ensure_ascii=False)
                          .replace('"<time>"', '"2026-12-01T10:02:03.000Z"').replace("<", "").replace(">", ""))
    pages = render(ReceiptDocument(receipt_id="r" * 32, evidence=evidence, evidence_json=canonical_json(evidence),
                                   evidence_hash="e" * 64, verify_url="https://example.invalid/v/r",
                                   signature_png=None))
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pages)).pages)
    assert "签收结果" in text and "e" * 64 in text
    if name == "older":
        assert "签收客户端未记录同意" in text
    if name == "drop":
        assert evidence["drop"]["consent_line"][:6] in text
    if name == "assisted":
        assert "协助签收" in text
