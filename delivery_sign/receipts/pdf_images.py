"""PNG images for the receipt PDF as precompressed Flate streams, and the one adapter that
places them on a reportlab canvas.

reportlab's ``drawImage(mask="auto")`` splits the alpha channel and deflates colour and
alpha at level 6 on every call: 23 ms of a 44 ms render for the 720×480 signature, whose
colour is one flat ink. So PNGs go in as Flate streams made here: level 1, a flat colour
plane compressed once per size, and a tenant's seal compressed once per file.

reportlab has no public call that takes an already compressed stream, so ``draw`` (and
``fill_rects``, the QR's modules as one path of integer rectangles) uses
canvas internals: ``_doc`` (the document that registers XObjects), ``_code`` (the page's
content operators), ``_currentPageHasImages``, ``_formsinuse`` and the image's
``_filters``. They are reportlab 5.1's (pinned in requirements.txt), used here only;
tests/receipts/test_pdf_images.py fails when an upgrade changes them.

Photo thumbnails go in as the JPEG they are (``from_jpeg``, DCTDecode), as reportlab's
``drawImage`` of a JPEG puts them, minus the decode: given an ``ImageReader``,
``drawImage`` decodes the whole picture to RGB only to name it by an MD5 of the pixels
(about 1 ms of a receipt for two thumbnails, issue 16). Here the name is the SHA-1 of
the JPEG bytes. Alpha planes are deflated with zlib's run-length strategy: a signature's
coverage is mostly blank rows, RLE is a fifth faster than level 1 there and smaller.
"""
import functools
import hashlib
import io
import zlib
from dataclasses import dataclass

from reportlab.pdfbase import pdfdoc, pdfutils
from reportlab.pdfgen import canvas


@dataclass(frozen=True)
class FlateImage:
    name: str
    width: int
    height: int
    color_space: str
    color: bytes          # Flate stream of the colour samples (a JPEG's bytes: DCTDecode)
    alpha: bytes | None   # Flate stream of the soft mask, if the PNG has transparency
    filter: str = "FlateDecode"


def _deflate_alpha(plane: bytes) -> bytes:
    """A soft mask's samples as a zlib stream (run-length strategy, see the docstring)."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, zlib.MAX_WBITS, 8, zlib.Z_RLE)
    return compressor.compress(plane) + compressor.flush()


def from_png(png: bytes) -> FlateImage:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        image = image.convert("RGBA" if transparent else "RGB")
        alpha = _deflate_alpha(image.getchannel("A").tobytes()) if transparent else None
        extrema = image.getextrema()[:3]
        if all(low == high for low, high in extrema):
            color = _flat_plane(image.width, image.height, bytes(low for low, _ in extrema))
        else:
            color = zlib.compress((image.convert("RGB") if transparent else image).tobytes(), 1)
    return FlateImage(hashlib.sha1(png).hexdigest(), image.width, image.height, "DeviceRGB", color, alpha)


def from_alpha(alpha, ink: tuple[int, int, int]) -> FlateImage:
    """One flat ink colour over a coverage plane (``signature_render.render_alpha``): what
    ``from_png`` makes of the signature PNG, without encoding and decoding that PNG."""
    height, width = alpha.shape
    mask = _deflate_alpha(alpha.tobytes())
    return FlateImage("sig" + hashlib.sha1(mask).hexdigest(), width, height, "DeviceRGB",
                      _flat_plane(width, height, bytes(ink)), mask)


def from_jpeg(jpeg: bytes) -> FlateImage | None:
    """A JPEG placed as it is (DCTDecode); None for what this does not cover (CMYK, whose
    Decode reportlab inverts, or bytes its JPEG reader refuses): use ``drawImage`` then."""
    try:
        width, height, components = pdfutils.readJPEGInfo(io.BytesIO(jpeg))[:3]
    except Exception:  # noqa: BLE001 - reportlab's reader raises bare errors on odd files
        return None
    spaces = {1: "DeviceGray", 3: "DeviceRGB"}
    if components not in spaces:
        return None
    return FlateImage("jpg" + hashlib.sha1(jpeg).hexdigest(), width, height, spaces[components], jpeg, None,
                      filter="DCTDecode")


@functools.lru_cache(maxsize=16)
def _flat_plane(width: int, height: int, pixel: bytes) -> bytes:
    return zlib.compress(pixel * (width * height), 9)


# A tenant's seal is the same file receipt after receipt.
seal_from_png = functools.lru_cache(maxsize=32)(from_png)


def _xobject(name: str, image: FlateImage, *, alpha: bool = False) -> pdfdoc.PDFImageXObject:
    xobject = pdfdoc.PDFImageXObject(name)
    xobject.width, xobject.height, xobject.bitsPerComponent = image.width, image.height, 8
    xobject.colorSpace = "DeviceGray" if alpha else image.color_space
    xobject.streamContent = image.alpha if alpha else image.color
    xobject._filters, xobject.mask = ("FlateDecode",) if alpha else (image.filter,), None
    return xobject


def fill_rects(c: canvas.Canvas, runs) -> None:
    """Fill ``(x, y, width)`` unit-high rectangles of whole units in the current
    coordinates, as one path: the QR's rows of modules."""
    c._code.append(" ".join(f"{x} {y} {width} 1 re" for x, y, width in runs) + " f")


def draw(c: canvas.Canvas, image: FlateImage, x: float, y: float, w: float, h: float) -> None:
    """``drawImage`` for a precompressed image: the same registration, minus the re-encoding."""
    doc = c._doc
    reg_name = doc.getXObjectName(image.name)
    if reg_name not in doc.idToObject:
        xobject = _xobject(image.name, image)
        if image.alpha is not None:
            mask = _xobject(image.name + "a", image, alpha=True)
            xobject.smask = doc.Reference(mask, doc.getXObjectName(mask.name))
        doc.Reference(xobject, reg_name)
        doc.addForm(image.name, xobject)
    c._currentPageHasImages = 1
    c.saveState()
    c.translate(x, y)
    c.scale(w, h)
    c._code.append(f"/{reg_name} Do")
    c.restoreState()
    c._formsinuse.append(image.name)
