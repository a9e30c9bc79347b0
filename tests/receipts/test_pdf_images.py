"""The adapter over reportlab's canvas internals (receipts/pdf_images.py): if a reportlab
upgrade changes ``_doc``, ``_code``, ``_formsinuse`` or the image ``_filters``, these fail."""
import io

import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from delivery_sign.receipts import pdf_images


def _png(mode):
    image = Image.new(mode, (60, 40), (0, 0, 0, 0) if mode == "RGBA" else (255, 255, 255))
    ImageDraw.Draw(image).line((5, 5, 55, 35), fill=(20, 30, 160, 255) if mode == "RGBA" else (20, 30, 160),
                               width=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _page(draw):
    out = io.BytesIO()
    c = canvas.Canvas(out, pageCompression=1)
    draw(c)
    c.showPage()
    c.save()
    return PdfReader(io.BytesIO(out.getvalue())).pages[0]


def _placements(page):
    """Each ``Do`` with the matrix in force, from the page's content operators."""
    from pypdf.generic import ContentStream

    found, matrix = [], None
    for operands, operator in ContentStream(page.get_contents(), page.pdf).operations:
        if operator == b"cm":
            matrix = [round(float(v), 3) for v in operands]
        elif operator == b"Do":
            found.append(matrix)
    return found


@pytest.mark.parametrize("mode", ["RGBA", "RGB"])
def test_draw_places_what_reportlab_drawimage_places(mode):
    png = _png(mode)
    ours = _page(lambda c: pdf_images.draw(c, pdf_images.from_png(png), 100, 200, 120, 80))
    theirs = _page(lambda c: c.drawImage(ImageReader(io.BytesIO(png)), 100, 200, 120, 80, mask="auto"))

    [our_image], [their_image] = ours.images, theirs.images
    assert our_image.image.size == their_image.image.size == (60, 40)
    assert our_image.image.convert("RGBA").tobytes() == their_image.image.convert("RGBA").tobytes()
    xobject = next(iter(ours["/Resources"]["/XObject"].values())).get_object()
    assert list(xobject["/Filter"]) == ["/FlateDecode"]   # the stream as made, not re-encoded
    assert ("/SMask" in xobject) == (mode == "RGBA")
    assert ours["/Resources"]["/ProcSet"] == theirs["/Resources"]["/ProcSet"]   # _currentPageHasImages
    assert len(_placements(ours)) == 1
    # reportlab's own drawImage puts translate and scale in one cm; ours applies them in turn.
    assert _placements(ours)[0][0] == _placements(theirs)[0][0] == 120


def test_the_same_image_twice_is_one_object():
    image = pdf_images.from_png(_png("RGBA"))
    page = _page(lambda c: [pdf_images.draw(c, image, x, 100, 60, 40) for x in (50, 200)])
    assert len(page["/Resources"]["/XObject"]) == 1
    assert len(_placements(page)) == 2


def test_the_internals_the_adapter_uses_exist():
    c = canvas.Canvas(io.BytesIO())
    for name in ("_doc", "_code", "_formsinuse", "_currentPageHasImages"):
        assert hasattr(c, name), name
    assert callable(c._doc.getXObjectName) and hasattr(c._doc, "idToObject")


def test_a_signature_from_its_coverage_is_the_image_its_png_makes():
    """The PDF job hands the signature over as drawn (no PNG encoded only to be decoded):
    the same size and soft mask as from the signature's PNG, and the ink colour wherever
    there is ink (the PNG's blank rows are black, but fully transparent)."""
    import zlib

    import numpy as np

    from delivery_sign.evidence.signature_render import INK, render_alpha, render_png
    from delivery_sign.evidence.strokes import parse_signature

    sig = parse_signature({"canvas": {"width": 300, "height": 120}, "strokes": [
        [[10 + 4 * i, 60 + (i % 7) * 3, 16 * i] for i in range(60)], [[150, 30, 2000]]]})
    direct, via_png = pdf_images.from_alpha(render_alpha(sig), INK), pdf_images.from_png(render_png(sig))
    assert (direct.width, direct.height, direct.color_space) == (via_png.width, via_png.height, via_png.color_space)
    assert direct.alpha == via_png.alpha
    ink = np.frombuffer(zlib.decompress(direct.alpha), np.uint8) > 0
    assert ink.any()
    direct_rgb = np.frombuffer(zlib.decompress(direct.color), np.uint8).reshape(-1, 3)
    png_rgb = np.frombuffer(zlib.decompress(via_png.color), np.uint8).reshape(-1, 3)
    assert (direct_rgb == INK).all()
    assert (direct_rgb[ink] == png_rgb[ink]).all()


def test_the_receipt_qr_is_one_path_of_its_dark_modules_and_scans():
    """The QR goes in as integer rectangles in module units under one ``cm``: the modules
    the path fills are the code's dark modules, at the size asked, and they decode."""
    import cv2
    import numpy as np
    from pypdf.generic import ContentStream

    from delivery_sign.receipts.pdf import _qr

    url = "https://sign.example.com/verify/" + "a" * 32
    page = _page(lambda c: _qr(c, url, 400, 700, 90))
    matrix, cells = None, set()
    for operands, operator in ContentStream(page.get_contents(), page.pdf).operations:
        if operator == b"cm":
            matrix = [float(v) for v in operands]
        elif operator == b"re":
            x, y, width, height = (int(v) for v in operands)
            assert height == 1
            cells.update((y, x + i) for i in range(width))
    side = round(90 / matrix[0])
    assert matrix[0] == pytest.approx(-matrix[3]) and (matrix[4], matrix[4 + 1] - 90) == pytest.approx((400, 700))
    grid = np.full((side, side), 255, np.uint8)
    for row, col in cells:
        grid[row, col] = 0
    decoded, _, _ = cv2.QRCodeDetector().detectAndDecode(cv2.resize(grid, (side * 8, side * 8),
                                                                    interpolation=cv2.INTER_NEAREST))
    assert decoded == url


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_a_jpeg_goes_in_as_reportlab_drawimage_puts_it_without_decoding(mode, monkeypatch):
    """A thumbnail is its JPEG bytes under DCTDecode, as ``drawImage`` has it, the same
    size and picture; and it is never decoded on the way (drawImage decodes it to name it)."""
    image = Image.new(mode, (64, 48), 200 if mode == "L" else (200, 120, 40))
    ImageDraw.Draw(image).ellipse((8, 8, 40, 40), fill=30 if mode == "L" else (30, 60, 220))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    jpeg = out.getvalue()
    theirs = _page(lambda c: c.drawImage(ImageReader(io.BytesIO(jpeg)), 100, 200, 64, 48))

    from PIL import ImageFile

    def no_decode(*args, **kwargs):
        raise AssertionError("the JPEG was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decode)
    flat = pdf_images.from_jpeg(jpeg)
    ours = _page(lambda c: pdf_images.draw(c, flat, 100, 200, 64, 48))
    monkeypatch.undo()

    assert (flat.width, flat.height) == (64, 48)
    ours_x, theirs_x = (next(iter(page["/Resources"]["/XObject"].values())).get_object() for page in (ours, theirs))
    for key in ("/Filter", "/ColorSpace", "/BitsPerComponent", "/Width", "/Height"):
        assert ours_x[key] == theirs_x[key], key
    assert ours_x.get_data() == theirs_x.get_data() == jpeg
    assert ours["/Resources"]["/ProcSet"] == theirs["/Resources"]["/ProcSet"]
    assert _placements(ours)[0][0] == _placements(theirs)[0][0] == 64


def test_what_from_jpeg_does_not_cover_is_left_to_drawimage():
    image = Image.new("CMYK", (16, 16), (0, 50, 100, 0))
    out = io.BytesIO()
    image.save(out, "JPEG")
    assert pdf_images.from_jpeg(out.getvalue()) is None
    assert pdf_images.from_jpeg(b"not a jpeg") is None
