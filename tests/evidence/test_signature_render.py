"""Signature pictures for receipts: transparent 2x PNG and SVG, the same bytes every time."""
import io
import xml.etree.ElementTree as ET

import cv2
import numpy as np
import pytest
from PIL import Image

from delivery_sign.evidence.signature_render import render_png, render_svg
from delivery_sign.evidence.strokes import Signature, parse_signature

SVG = "{http://www.w3.org/2000/svg}"


def signature_of(item):
    return parse_signature({"strokes": item["strokes"], "canvas": item["canvas"]})


def straight(x0, x1, y, dt, width=300.0, height=150.0):
    """One horizontal stroke of 30 points, drawn at a constant speed set by dt."""
    xs = np.linspace(x0, x1, 30)
    stroke = np.column_stack([xs, np.full(30, y), np.arange(30) * dt, np.full(30, 0.5)])
    return Signature((stroke,), width, height, 2.0)


def image_of(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def test_png_is_transparent_rgba_at_twice_the_canvas(chinese_signature):
    sig = signature_of(chinese_signature)
    image = image_of(render_png(sig))
    assert image.format == "PNG" and image.mode == "RGBA"
    assert image.size == (round(sig.width * 2), round(sig.height * 2))
    alpha = np.asarray(image)[..., 3]
    assert alpha[0, 0] == 0 and alpha[-1, -1] == 0
    assert 0.005 < (alpha > 0).mean() < 0.2          # ink, on a mostly transparent canvas
    x, y = sig.strokes[0][0, :2] * 2
    assert alpha[int(y), int(x)] == 255               # ink where the pen went down


def test_png_bytes_are_deterministic(chinese_signature):
    sig = signature_of(chinese_signature)
    assert render_png(sig) == render_png(signature_of(chinese_signature))


def test_png_decodes_the_same_in_another_decoder(latin_signature):
    png = render_png(signature_of(latin_signature))
    decoded = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(decoded[..., 3], np.asarray(image_of(png))[..., 3])


@pytest.mark.parametrize("sig", [
    Signature((), 300.0, 150.0, 2.0),                                            # nothing drawn
    Signature((), 160.0, 80.0, 2.0),                                             # ... whole blank chunks
    Signature((np.array([[0.0, 0.0, 0.0, 0.5], [160.0, 80.0, 90.0, 0.5]]),), 160.0, 80.0, 2.0),   # ink in every row
    Signature((np.array([[5.0, 5.0, 0.0, 0.5]]),), 1.0, 1.0, 1.0),               # tiny canvas, a dot
    Signature((np.array([[0.0, 0.0, 0.0, 0.5], [333.3, 99.9, 100.0, 0.5]]),), 333.3, 99.9, 3.0),
    Signature((np.array([[10.0, -50.0, 0.0, 0.5], [20.0, 500.0, 50.0, 0.5]]),), 100.0, 100.0, 1.0),
])
def test_png_of_edge_cases_is_valid(sig):
    image = image_of(render_png(sig))
    assert image.mode == "RGBA" and image.size == (max(1, round(sig.width * 2)), max(1, round(sig.height * 2)))


def test_line_is_thinner_where_the_pen_moves_faster():
    slow = np.asarray(image_of(render_png(straight(20, 280, 50, dt=40.0))))[..., 3]
    fast = np.asarray(image_of(render_png(straight(20, 280, 50, dt=2.0))))[..., 3]
    column = slice(200, 400)
    assert (slow[:, column] > 0).sum() > (fast[:, column] > 0).sum()


def test_svg_is_a_deterministic_path_document(chinese_signature):
    sig = signature_of(chinese_signature)
    svg = render_svg(sig)
    assert svg == render_svg(signature_of(chinese_signature))
    root = ET.fromstring(svg.encode("utf-8"))
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == f"0 0 {sig.width:g} {sig.height:g}"
    paths = root.findall(f".//{SVG}path")
    assert len(paths) >= len(sig.strokes)
    assert all(p.get("d").startswith("M") for p in paths)
    assert len({p.get("stroke-width") for p in paths}) > 1     # width follows speed


def test_svg_widths_follow_speed():
    def widths(svg):
        return [float(p.get("stroke-width")) for p in ET.fromstring(svg).findall(f".//{SVG}path")]
    assert min(widths(render_svg(straight(20, 280, 50, dt=40.0)))) > max(widths(render_svg(straight(20, 280, 50, dt=2.0))))


def test_svg_of_an_empty_signature_is_valid():
    root = ET.fromstring(render_svg(Signature((), 300.0, 150.0, 2.0)))
    assert root.findall(f".//{SVG}path") == []
