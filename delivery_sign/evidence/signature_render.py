"""Pictures of a signature for receipts: a transparent PNG and an SVG path document.

The line gets thinner as the pen moves faster, with signature_pad's own pen model
(width = MAX_WIDTH / (filtered speed + 1), at least MIN_WIDTH), so the picture looks like
what the signer saw on the pad. Both outputs are deterministic: the same strokes always
give the same bytes (the receipt's evidence hash covers them) for a given OpenCV and
zlib; the PNG is drawn anti-aliased with OpenCV and encoded here (see _encode_png).
"""
from __future__ import annotations

import functools
import struct
import zlib

import cv2
import numpy as np

from .strokes import Signature

PNG_SCALE = 2                 # the PNG is twice the CSS canvas, sharp on phones and in PDFs
MIN_WIDTH = 0.5               # CSS px: signature_pad's defaults (minWidth 0.5, maxWidth 2.5)
MAX_WIDTH = 2.5
# signature_pad smooths speed with an exponential filter of weight 0.7; its first three
# taps plus the remainder (0.027) reproduce the recursive filter within 1 % and vectorise.
SPEED_FILTER = np.array([0.7, 0.21, 0.063, 0.027])
# Segments are drawn in runs of equal width, widths rounded to this step (in PNG px):
# OpenCV draws whole-pixel thicknesses anyway, and fewer runs mean fewer draw calls.
WIDTH_STEP = 1.0
# Speed assumed where timestamps are missing or not increasing (a mid-width line).
FALLBACK_SPEED = 1.0
INK = (17, 24, 39)            # near-black blue of a ballpoint
SVG_DECIMALS = 1              # 0.1 CSS px is below a device pixel on every phone


def _pen_runs(sig: Signature):
    """The ink as runs of equal pen width.

    Returns (xy, runs): xy is an (n, 2) array of every point in CSS px, runs a list of
    (first point, last point, width class), the width in PNG px being class * WIDTH_STEP.
    A one-point stroke is a run of one point (a dot). Computed over all strokes at once;
    the speed filter's three-sample memory may reach across a pen lift, which no eye can
    tell at these widths.
    """
    strokes = [s for s in sig.strokes if len(s)]
    if not strokes:
        return np.zeros((0, 2)), []
    points = np.concatenate(strokes) if len(strokes) > 1 else strokes[0]
    counts = np.fromiter((len(s) for s in strokes), dtype=np.intp, count=len(strokes))
    stroke_of = np.repeat(np.arange(len(strokes)), counts)
    dot_class = round((MIN_WIDTH + MAX_WIDTH) / 2 * PNG_SCALE / WIDTH_STEP)
    dots = [(i, i, dot_class) for i in (np.cumsum(counts) - 1)[counts == 1].tolist()]
    if len(points) == 1:
        return points[:, :2], dots
    delta = np.diff(points[:, :3], axis=0)
    inside = stroke_of[1:] == stroke_of[:-1]
    speed = np.full(len(delta), FALLBACK_SPEED)
    np.divide(np.hypot(delta[:, 0], delta[:, 1]), delta[:, 2], out=speed, where=delta[:, 2] > 0)
    filtered = np.convolve(speed, SPEED_FILTER)[: len(speed)]
    head = min(len(SPEED_FILTER) - 1, len(speed))
    filtered[:head] /= np.cumsum(SPEED_FILTER)[:head]
    width = np.maximum(MAX_WIDTH / (filtered + 1.0), MIN_WIDTH)
    width_class = np.maximum(np.rint(width * PNG_SCALE / WIDTH_STEP).astype(np.int64), 1)
    # a run starts at every inside segment whose predecessor is a pen lift or another width
    segments = np.flatnonzero(inside)
    starts = np.ones(len(segments), dtype=bool)
    starts[1:] = (segments[1:] != segments[:-1] + 1) | (width_class[segments[1:]] != width_class[segments[:-1]])
    run_first = np.flatnonzero(starts)
    run_last = np.append(run_first[1:], len(segments)) - 1
    runs = list(zip(segments[run_first].tolist(), (segments[run_last] + 1).tolist(),
                    width_class[segments[run_first]].tolist()))
    return points[:, :2], runs + dots


# cv2 draws at 1/2**SUBPIXEL_BITS px precision; coordinates are bounded by the parser
# (|x| <= 1e7 CSS px) so the fixed-point values fit int32.
SUBPIXEL_BITS = 2


def render_png(sig: Signature) -> bytes:
    """Transparent RGBA PNG, PNG_SCALE x the CSS canvas, ink width following speed, of
    colour INK over the coverage ``render_alpha`` draws."""
    return _encode_png(render_alpha(sig))


def render_alpha(sig: Signature) -> np.ndarray:
    """The ink's coverage (uint8, rows × columns), PNG_SCALE x the CSS canvas: what the PNG
    and the receipt PDF's soft mask are made of.

    Drawn with OpenCV's anti-aliased polylines, one call per pen width (round caps and
    joins); Pillow needed a line and a cap ellipse per run, 3-4x the time.
    """
    size = (max(1, round(sig.width * PNG_SCALE)), max(1, round(sig.height * PNG_SCALE)))
    alpha = np.zeros((size[1], size[0]), dtype=np.uint8)
    xy, runs = _pen_runs(sig)
    fixed = np.rint(xy * (PNG_SCALE * (1 << SUBPIXEL_BITS))).astype(np.int32)
    lines, dots = {}, {}
    for first, last, width_class in runs:
        if last > first:
            lines.setdefault(width_class, []).append(fixed[first:last + 1])
        else:
            dots.setdefault(width_class, []).append(fixed[first])
    for width_class, polylines in sorted(lines.items()):
        thickness = max(1, round(width_class * WIDTH_STEP))
        cv2.polylines(alpha, polylines, False, 255, thickness, cv2.LINE_AA, SUBPIXEL_BITS)
    for width_class, centres in sorted(dots.items()):
        radius = max(1, round(width_class * WIDTH_STEP / 2 * (1 << SUBPIXEL_BITS)))
        for x, y in (centre.tolist() for centre in centres):
            cv2.circle(alpha, (x, y), radius, 255, -1, cv2.LINE_AA, SUBPIXEL_BITS)
    return alpha


# ---------------------------------------------------------------- PNG encoding
# A signature covers a small part of its canvas, and compressing megabytes of empty
# rows was 85 % of the render time (Pillow: 25-40 ms for a 768x300 canvas). So the
# PNG is written here: empty rows are compressed once per width in chunks of
# BLANK_CHUNK_ROWS, each ended with a full flush so the compressed chunk is a constant
# that can be repeated; only the rows with ink are compressed per signature.
BLANK_CHUNK_ROWS = 16
PNG_COMPRESS_LEVEL = 1


@functools.lru_cache(maxsize=32)
def _blank_chunk(width: int) -> bytes:
    """BLANK_CHUNK_ROWS transparent rows, compressed and ended by a full flush."""
    return _compress_rows(bytes((1 + 4 * width) * BLANK_CHUNK_ROWS))


def _adler32_of_zeros(count: int, checksum: int) -> int:
    """zlib.adler32 of `count` zero bytes appended, without touching them."""
    low, high = checksum & 0xFFFF, checksum >> 16
    return (((high + count * low) % 65521) << 16) | low


_INK_RGB = np.uint32(INK[0] | INK[1] << 8 | INK[2] << 16)   # little-endian RGBA word


def _compress_rows(raw: bytes) -> bytes:
    packer = zlib.compressobj(PNG_COMPRESS_LEVEL, zlib.DEFLATED, -15)
    return packer.compress(raw) + packer.flush(zlib.Z_FULL_FLUSH)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _encode_png(alpha: np.ndarray) -> bytes:
    """RGBA PNG (8 bit, no filter) of ink colour INK with the given alpha."""
    height, width = alpha.shape
    rows_with_ink = np.flatnonzero(alpha.any(axis=1))
    top = int(rows_with_ink[0]) if len(rows_with_ink) else height
    bottom = int(rows_with_ink[-1]) + 1 if len(rows_with_ink) else height
    # whole blank chunks above and below the ink; the rest goes with the ink rows
    above = top // BLANK_CHUNK_ROWS
    below = (height - bottom) // BLANK_CHUNK_ROWS
    first, last = above * BLANK_CHUNK_ROWS, height - below * BLANK_CHUNK_ROWS
    band = alpha[first:last]
    rows = np.zeros((last - first, 1 + 4 * width), dtype=np.uint8)   # filter byte 0: None
    # RGB is the ink colour everywhere (transparent where alpha is 0), written as one
    # little-endian RGBA word per pixel straight into the rows
    pixels = rows[:, 1:].view("<u4")
    pixels[...] = band
    pixels <<= 24
    pixels |= _INK_RGB
    band_raw = rows.reshape(-1)     # zlib reads the array through the buffer protocol
    blank_packed = _blank_chunk(width)
    blank_length = (1 + 4 * width) * BLANK_CHUNK_ROWS
    checksum = _adler32_of_zeros(blank_length * above, 1)
    checksum = zlib.adler32(band_raw, checksum)
    checksum = _adler32_of_zeros(blank_length * below, checksum)
    stream = b"".join((
        b"\x78\x01",                                 # zlib header: deflate, 32K window, fast
        blank_packed * above,
        _compress_rows(band_raw),
        blank_packed * below,
        b"\x03\x00",                                 # final empty fixed-Huffman block
        struct.pack(">I", checksum),
    ))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)   # 8-bit RGBA
    return b"".join((b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", header), _chunk(b"IDAT", stream),
                     _chunk(b"IEND", b"")))


def _number(value: float) -> str:
    text = f"{value:.{SVG_DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


_SVG_POINT = f"%.{SVG_DECIMALS}f %.{SVG_DECIMALS}f,"


def render_svg(sig: Signature) -> str:
    """An SVG document in CSS px: one round-capped path per run of equal pen width."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_number(sig.width)}" '
        f'height="{_number(sig.height)}" viewBox="0 0 {_number(sig.width)} {_number(sig.height)}">\n',
        '<g fill="none" stroke="#{:02x}{:02x}{:02x}" stroke-linecap="round" stroke-linejoin="round">\n'.format(*INK),
    ]
    xy, runs = _pen_runs(sig)
    # one format call for all points: per-number formatting was most of the SVG time
    text = ((_SVG_POINT * len(xy))[:-1] % tuple(xy.ravel().tolist())).split(",") if len(xy) else []
    for first, last, width_class in runs:
        if last > first:
            d = "M" + text[first] + " L" + " ".join(text[first + 1:last + 1])
        else:
            d = "M" + text[first] + " l0 0"
        parts.append(f'<path d="{d}" stroke-width="{_number(width_class * WIDTH_STEP / PNG_SCALE)}"/>\n')
    parts.append("</g>\n</svg>\n")
    return "".join(parts)
