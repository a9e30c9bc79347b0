"""Synthetic evidence photos for the photo tests and bench, made on the fly.

A "scene" is a textured picture in the spirit of a doorstep photo: boxes, round
things, straight edges, lettering-like strokes, a lighting gradient and sensor
noise. Different seeds give unrelated scenes; the same seed the same scene.
"""

from __future__ import annotations

import functools
import io
import struct
import zlib

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


@functools.lru_cache(maxsize=8)
def scene(seed: int, width: int = 1600, height: int = 1200) -> Image.Image:
    """A textured RGB scene drawn at ``width`` x ``height``."""
    rng = np.random.default_rng(seed)
    base = tuple(int(v) for v in rng.integers(60, 190, 3))
    image = Image.new("RGB", (width, height), base)
    draw = ImageDraw.Draw(image)
    unit = max(width, height) / 1000
    for i in range(260):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        w = int(rng.integers(10, 260) * unit)
        h = int(rng.integers(10, 200) * unit)
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        kind = i % 4
        if kind == 0:
            draw.rectangle([x0, y0, x0 + w, y0 + h], fill=colour)
        elif kind == 1:
            draw.ellipse([x0, y0, x0 + w, y0 + h], fill=colour)
        elif kind == 2:
            draw.line([x0, y0, x0 + w, y0 + h], fill=colour, width=max(1, int(rng.integers(1, 6) * unit)))
        else:  # a row of small strokes, like printing on a label
            for k in range(int(rng.integers(4, 12))):
                x = x0 + int(k * 9 * unit)
                draw.line([x, y0, x + int(4 * unit), y0 + int(10 * unit)], fill=colour, width=max(1, int(unit)))
    # lighting: brighter towards one corner
    gx = np.linspace(0.75, 1.15, width, dtype=np.float32)[None, :]
    gy = np.linspace(0.85, 1.1, height, dtype=np.float32)[:, None]
    pixels = np.asarray(image, dtype=np.float32) * (gx * gy)[:, :, None]
    # Sensor noise from the scene's own generator: Pillow's effect_noise draws from C's rand(),
    # whose state is the process's, so the same seed gave other bytes after other tests.
    noise = np.clip(rng.normal(128.0, 20.0, (height, width)), 0, 255).astype(np.uint8).astype(np.float32) - 128.0
    pixels += 0.25 * noise[:, :, None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def encode(image: Image.Image, fmt: str = "JPEG", **params) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def jpeg(image: Image.Image, quality: int = 90, **params) -> bytes:
    return encode(image, "JPEG", quality=quality, **params)


def blurred(image: Image.Image, radius: float) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(radius))


def darkened(image: Image.Image, factor: float) -> Image.Image:
    pixels = np.asarray(image, dtype=np.float32) * factor
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), image.mode)


def overexposed(image: Image.Image, gain: float) -> Image.Image:
    pixels = np.asarray(image, dtype=np.float32) * gain + 60
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), image.mode)


def cropped(image: Image.Image, fraction: float) -> Image.Image:
    """Cut ``fraction`` of the width and height off each side."""
    dx, dy = int(image.width * fraction), int(image.height * fraction)
    return image.crop((dx, dy, image.width - dx, image.height - dy))


def exif_bytes(
    orientation: int | None = None,
    datetime_original: str | None = None,
    gps: tuple[float, float] | None = None,
    make: str | None = None,
    model: str | None = None,
) -> bytes:
    """EXIF as a camera writes it: IFD0 (orientation, make, model), Exif IFD
    (DateTimeOriginal) and GPS IFD (DMS rationals with N/S, E/W refs)."""
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    if make is not None:
        exif[0x010F] = make
    if model is not None:
        exif[0x0110] = model
    if datetime_original is not None:
        exif.get_ifd(0x8769)[0x9003] = datetime_original
    if gps is not None:
        lat, lng = gps
        gps_ifd = exif.get_ifd(0x8825)
        gps_ifd[1] = "N" if lat >= 0 else "S"
        gps_ifd[2] = _dms(abs(lat))
        gps_ifd[3] = "E" if lng >= 0 else "W"
        gps_ifd[4] = _dms(abs(lng))
    return exif.tobytes()


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round((value - degrees - minutes / 60) * 3600, 4)
    return (float(degrees), float(minutes), seconds)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG whose header claims ``width`` x ``height`` pixels
    (the decompression bomb shape: a few hundred bytes that would inflate to GBs)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)  # far too little data, never reached
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def jpeg_claiming(data: bytes, width: int, height: int) -> bytes:
    """``data`` (a JPEG) with its frame header patched to claim another size."""
    sof = data.find(b"\xff\xc0")
    assert sof > 0
    return data[: sof + 5] + struct.pack(">HH", height, width) + data[sof + 9 :]
