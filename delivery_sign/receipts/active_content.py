"""Active content stripped from an uploaded delivery note before it is bound into a receipt.

A delivery note (``PUT /waybills/<n>/document``) comes from the shipper's systems and may
carry JavaScript (an open action, a link, a form field's triggers), launch actions, or
embedded files. The signed receipt is what recipients, dispatchers and courts open, so it
must run nothing. The note is *stripped* here rather than refused at upload: PDF
generators add a print-on-open script or form triggers on their own, shippers cannot
change that, and a refused note would leave the receipt without its delivery note. The
note as uploaded is stored byte for byte (its SHA-256 is in the audit chain); only the
copy inside the receipt is stripped. Pages, text, images, page links (GoTo, URI) and
named actions stay.

pypdf has no "remove all active content" call (``remove_links``/``remove_annotations``
would also drop harmless page links and form appearances), so the walk over the object
graph is written here: every dictionary reachable from the catalog, once each.
Plain bytes in, plain bytes out: no Flask, no database.
"""
from __future__ import annotations

import io

# Actions that run code, open or send files, or play media (ISO 32000-2 §12.6.4).
UNSAFE_ACTIONS = frozenset({"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/ResetForm",
                            "/GoToR", "/GoToE", "/GoToDp", "/Rendition", "/Sound", "/Movie",
                            "/RichMediaExecute", "/GoTo3DView"})
# Annotations that carry files or media rather than marks on the page.
UNSAFE_ANNOTATIONS = frozenset({"/FileAttachment", "/Sound", "/Movie", "/Screen", "/RichMedia", "/3D"})
_ACTION_KEYS = ("/A", "/OpenAction", "/PA")
_NAME_TREES = ("/JavaScript", "/EmbeddedFiles")


def _unsafe_action(value) -> bool:
    from pypdf.generic import DictionaryObject

    action = value.get_object() if value is not None else None
    return isinstance(action, DictionaryObject) and (action.get("/S") in UNSAFE_ACTIONS or "/JS" in action)


def strip_active_content(data: bytes) -> tuple[bytes, tuple[str, ...]]:
    """The PDF ``data`` without active content, and what was removed (sorted names such as
    ``"/OpenAction"``, ``"annotation /FileAttachment"``, ``"names /JavaScript"``)."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    removed: set[str] = set()
    root = writer.root_object

    names = root.get("/Names")
    if isinstance(names, (DictionaryObject, IndirectObject)) and isinstance(names.get_object(), DictionaryObject):
        for tree in _NAME_TREES:
            if tree in names.get_object():
                del names.get_object()[NameObject(tree)]
                removed.add(f"names {tree}")
    for key in ("/Collection", "/AF"):          # portfolios and associated files: embedded files
        if key in root:
            del root[NameObject(key)]
            removed.add(key)
    acro_form = root.get("/AcroForm")
    if acro_form is not None and isinstance(acro_form.get_object(), DictionaryObject) and "/XFA" in acro_form.get_object():
        del acro_form.get_object()[NameObject("/XFA")]          # XFA forms carry their own scripts
        removed.add("/XFA")

    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, IndirectObject):
            if node.idnum in seen:
                continue
            seen.add(node.idnum)
            node = node.get_object()
        if isinstance(node, ArrayObject):
            stack.extend(node)
            continue
        if not isinstance(node, DictionaryObject):
            continue
        if "/AA" in node:                          # additional actions: triggers on open, close, focus…
            del node[NameObject("/AA")]
            removed.add("/AA")
        for key in _ACTION_KEYS:
            if key in node and _unsafe_action(node[key]):
                removed.add(f"{key} {node[key].get_object().get('/S')}")
                del node[NameObject(key)]
        if "/Next" in node:                        # chained actions: keep only the safe ones
            chained = node["/Next"].get_object()
            chain = list(chained) if isinstance(chained, ArrayObject) else [node["/Next"]]
            safe = [a for a in chain if not _unsafe_action(a)]
            if len(safe) != len(chain):
                removed.add("/Next")
                if safe:
                    node[NameObject("/Next")] = ArrayObject(safe)
                else:
                    del node[NameObject("/Next")]
        annots = node.get("/Annots")
        if annots is not None and isinstance(annots.get_object(), ArrayObject):
            kept = ArrayObject()
            for annot in annots.get_object():
                subtype = annot.get_object().get("/Subtype") if isinstance(annot.get_object(), DictionaryObject) else None
                if subtype in UNSAFE_ANNOTATIONS:
                    removed.add(f"annotation {subtype}")
                else:
                    kept.append(annot)
            node[NameObject("/Annots")] = kept
        if "/EF" in node:                          # a file specification with the file inside
            del node[NameObject("/EF")]
            removed.add("/EF")
        for key, value in node.items():
            if key not in ("/Parent", "/P"):       # back links: reached from the top anyway
                stack.append(value)

    if not removed:
        return data, ()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), tuple(sorted(removed))
