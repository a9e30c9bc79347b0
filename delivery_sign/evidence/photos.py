"""Evidence photos: accept or refuse an upload, and judge what was accepted.

``inspect_photo`` decides the type by content (magic bytes, then a real decode), refuses
oversized files and decompression bombs from the header before any pixel is decoded,
reads the EXIF evidence (orientation, DateTimeOriginal, GPS, make/model), measures
sharpness and exposure at a fixed working size and computes the perceptual hash used
for ``duplicate_photo``, and from the same decode the thumbnail the receipt PDF shows.
``make_derivative`` renders the display JPEG (and thumbnails of older photos).
Plain bytes in, plain data out: no Flask, no database.
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from PIL import Image

from delivery_sign.evidence.photo_hash import HASH_SIDE, perceptual_hash

# SPEC §5: refused on upload above these.
MAX_PHOTO_BYTES = 15 * 1024 * 1024
MAX_PHOTO_PIXELS = 50_000_000

# Sharpness and exposure are measured on a grey copy whose long side is this many
# pixels, whatever the upload's resolution, so a 12-MP original and a 1080p copy of
# the same scene score alike. About 500 px keeps the edges of parcels, labels and
# door frames (what a sign-off photo shows) while sensor noise and JPEG blocking
# average away. 500 exactly because JPEGs reach it by DCT-scaled decoding: a 12-MP
# phone photo (4000 or 4032 px wide) decodes at 1/8 straight to this size, the
# cheapest decode there is (measured 4 ms less than 1/4 plus a resample).
WORK_LONG_SIDE = 500

# Variance of the 4-neighbour Laplacian at the working size. Measured on synthetic
# textured scenes (bench/bench_photos.py prints the table): in focus they score
# 330-500, at 12 MP and as 1080p copies alike; a Gaussian defocus of radius 4 px on
# the 12-MP original (0.5 px at the working size, just visible on the 1600-px
# display copy) 100-140; radius 8 (1 px, plainly soft) 23-33; radius 16, 4-7.
# 60 sits between just visible (100 and up) and plainly soft (33 and under). The measure
# grows with contrast, so a photo of a plain white wall may be flagged: a soft
# finding, and a photo of nothing but a wall is worth a second look anyway.
BLURRY_MAX_SHARPNESS = 60.0

# Mean luma (0-255) below which a photo is too dark to show the parcel. On the
# synthetic scenes (mean 106 at normal exposure) light scaled to 0.55 gives 58, dim
# but everything legible; to 0.35 gives 37, where dark boxes merge into their
# background; to 0.15 gives 16. 40 is the line between the first two.
DARK_MAX_BRIGHTNESS = 40.0

# Overexposure: share of pixels at or above OVEREXPOSED_LUMA. SPEC §5's anomaly
# vocabulary has no "overexposed_photo", so it is measured and reported in
# ``checks["overexposed"]`` only; raising it as an anomaly is a SPEC change. 250
# rather than 255 because JPEG ringing scatters clipped areas a few levels below
# 255; 40 % clipped is a judgement: by then most of the scene is blown out.
OVEREXPOSED_LUMA = 250
OVEREXPOSED_MIN_FRACTION = 0.40

# Issue #3: a 1600-px display copy (sharp on a phone held upright, 3x DPR, at 533
# CSS px) and a 320-px thumbnail for lists.
DISPLAY_LONG_SIDE = 1600
THUMBNAIL_LONG_SIDE = 320
# 85 is the usual web quality: artefacts invisible at display size, about 1/3 of q95.
DERIVATIVE_JPEG_QUALITY = 85
# Transparent PNG/WebP pixels are laid on white, like paper.
FLATTEN_BACKGROUND = (255, 255, 255)

ANOMALY_BLURRY = "blurry_photo"
ANOMALY_DARK = "dark_photo"

_JPEG, _PNG, _WEBP = "image/jpeg", "image/png", "image/webp"
_PIL_FORMAT = {_JPEG: "JPEG", _PNG: "PNG", _WEBP: "WEBP"}

# EXIF tags (EXIF 2.32 / TIFF 6.0)
_TAG_ORIENTATION = 0x0112
_TAG_MAKE = 0x010F
_TAG_MODEL = 0x0110
_IFD_EXIF = 0x8769
_IFD_GPS = 0x8825
_TAG_DATETIME_ORIGINAL = 0x9003
_GPS_LAT_REF, _GPS_LAT, _GPS_LNG_REF, _GPS_LNG = 1, 2, 3, 4
_MAX_EXIF_TEXT = 64  # make/model longer than this are cut: they are labels, not payloads

# How to turn a stored image upright, per EXIF orientation (as PIL.ImageOps.exif_transpose)
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class PhotoInvalid(ValueError):
    """The upload is not an acceptable photo; ``message`` says why."""

    code = "photo_invalid"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class PhotoReport:
    mime: str
    width: int  # upright, after EXIF orientation
    height: int
    sha256: str  # of the original bytes, which are the evidence
    exif: dict
    checks: dict
    anomalies: tuple[str, ...]
    phash: int  # unsigned 64-bit
    thumbnail: bytes | None = None  # the ``thumb`` JPEG, when asked for


@dataclass(frozen=True)
class _Header:
    mime: str
    width: int
    height: int
    bit_depth: int = 8   # per sample; PNG only may say 16


# 16-bit PNGs come from scanners and raw converters, never from a phone's camera, and
# Pillow decodes 16-bit grey at full depth (2 bytes a pixel, before any 8-bit copy) with
# no reduced-size decode for PNG: a 106 KB 50-MP one peaked at ~1 GB. Up to 16 MP (a
# 12-MP phone frame with room) they are accepted and brought to 8 bits with integer
# shifts; above, refused from the header before any pixel is decoded.
MAX_PNG_16BIT_PIXELS = 16_000_000
# PNG colour type → bit depths the format allows (PNG spec, IHDR).
_PNG_DEPTHS = {0: {1, 2, 4, 8, 16}, 2: {8, 16}, 3: {1, 2, 4, 8}, 4: {8, 16}, 6: {8, 16}}


# --- sniffing and limits, from the header bytes only -------------------------


def _read_header(data: bytes) -> _Header:
    """Type, stored size and structural completeness, without decoding pixels."""
    if not isinstance(data, (bytes, bytearray)):
        raise PhotoInvalid("photo must be bytes")
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoInvalid(f"photo is larger than {MAX_PHOTO_BYTES} bytes")
    if data[:3] == b"\xff\xd8\xff":
        header = _jpeg_header(data)
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        header = _png_header(data)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        header = _webp_header(data)
    else:
        raise PhotoInvalid("photo is not a JPEG, PNG or WebP image")
    if header.width <= 0 or header.height <= 0:
        raise PhotoInvalid("photo has no size")
    if header.width * header.height > MAX_PHOTO_PIXELS:
        raise PhotoInvalid(f"photo has more than {MAX_PHOTO_PIXELS} pixels")
    if header.bit_depth > 8 and header.width * header.height > MAX_PNG_16BIT_PIXELS:
        raise PhotoInvalid(f"photo is a 16-bit PNG of {header.width * header.height / 1e6:.0f} MP; 16-bit PNGs "
                           f"are accepted up to {MAX_PNG_16BIT_PIXELS // 1_000_000} MP (send an 8-bit photo)")
    return header


_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD9)}


def _jpeg_header(data: bytes) -> _Header:
    size = None
    pos, end = 2, len(data)
    while True:
        if pos + 4 > end:
            raise PhotoInvalid("photo is truncated (JPEG header)")
        if data[pos] != 0xFF:
            raise PhotoInvalid("photo is corrupt (JPEG marker expected)")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _JPEG_STANDALONE:
            pos += 2
            continue
        if marker == 0xD9:
            raise PhotoInvalid("photo is corrupt (JPEG ends before its image data)")
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if length < 2 or pos + 2 + length > end:
            raise PhotoInvalid("photo is truncated (JPEG header)")
        if marker in _JPEG_SOF:
            if length < 8:
                raise PhotoInvalid("photo is corrupt (JPEG frame header)")
            height, width = struct.unpack_from(">HH", data, pos + 5)
            size = (width, height)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        pos += 2 + length
    if size is None:
        raise PhotoInvalid("photo is corrupt (JPEG without a frame header)")
    # Entropy-coded data escapes 0xFF as FF 00, so an FF D9 after the first scan is
    # the end-of-image marker; without it the upload was cut off. Checking it here
    # refuses a truncated upload before decoding (the draft-mode decode would also
    # raise, after ~40 ms). Data after EOI (the video of a "motion photo") is allowed.
    # Searched from the end, where EOI sits: a forward search stops at every FF 00.
    if data.rfind(b"\xff\xd9", pos) < 0:
        raise PhotoInvalid("photo is truncated (JPEG without end-of-image marker)")
    return _Header(_JPEG, size[0], size[1])


def _png_header(data: bytes) -> _Header:
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise PhotoInvalid("photo is truncated (PNG header)")
    width, height = struct.unpack_from(">II", data, 16)
    bit_depth, colour_type = data[24], data[25]
    if bit_depth not in _PNG_DEPTHS.get(colour_type, ()):
        raise PhotoInvalid("photo is corrupt (PNG bit depth or colour type)")
    # IEND is the last chunk: 4-byte length, "IEND", 4-byte CRC.
    iend = data.rfind(b"IEND")
    if iend < 33 or iend + 8 > len(data):
        raise PhotoInvalid("photo is truncated (PNG without IEND)")
    return _Header(_PNG, width, height, bit_depth)


def _webp_header(data: bytes) -> _Header:
    (riff_size,) = struct.unpack_from("<I", data, 4)
    if len(data) < 30 or riff_size + 8 > len(data):
        raise PhotoInvalid("photo is truncated (WebP shorter than its RIFF size)")
    chunk = data[12:16]
    if chunk == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            raise PhotoInvalid("photo is corrupt (WebP VP8 frame)")
        width, height = struct.unpack_from("<HH", data, 26)
        return _Header(_WEBP, width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L":
        if data[20] != 0x2F:
            raise PhotoInvalid("photo is corrupt (WebP VP8L frame)")
        (bits,) = struct.unpack_from("<I", data, 21)
        return _Header(_WEBP, (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return _Header(_WEBP, width, height)
    raise PhotoInvalid("photo is corrupt (unknown WebP chunk)")


def _open(data: bytes, header: _Header) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data), formats=[_PIL_FORMAT[header.mime]])
    except Exception as exc:  # untrusted bytes: any parser failure is a refusal
        raise PhotoInvalid("photo could not be read") from exc
    if image.size != (header.width, header.height):
        raise PhotoInvalid("photo is corrupt (inconsistent size)")
    return image


def _load(image: Image.Image) -> None:
    try:
        image.load()
    except Exception as exc:  # truncated or corrupt data: the real decode is the proof
        raise PhotoInvalid("photo is truncated or corrupt") from exc


# --- EXIF ----------------------------------------------------------------------


def _read_exif(image: Image.Image) -> dict:
    """The EXIF evidence as JSON-able values; unreadable EXIF reads as absent."""
    result = {"datetime_original": None, "gps": None, "orientation": None}
    try:
        exif = image.getexif()
    except Exception:  # broken EXIF does not make the photo invalid, only unlabelled
        return result
    orientation = exif.get(_TAG_ORIENTATION)
    if isinstance(orientation, int) and 1 <= orientation <= 8:
        result["orientation"] = orientation
    for key, tag in (("make", _TAG_MAKE), ("model", _TAG_MODEL)):
        text = _exif_text(exif.get(tag))
        if text:
            result[key] = text
    try:
        result["datetime_original"] = _exif_datetime(exif.get_ifd(_IFD_EXIF).get(_TAG_DATETIME_ORIGINAL))
    except Exception:
        pass
    try:
        result["gps"] = _exif_gps(exif.get_ifd(_IFD_GPS))
    except Exception:
        pass
    return result


def _exif_text(value) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").strip()
    return value[:_MAX_EXIF_TEXT] or None


def _exif_datetime(value) -> str | None:
    text = _exif_text(value)
    if not text:
        return None
    try:  # EXIF writes "YYYY:MM:DD HH:MM:SS", local time without zone
        return datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S").isoformat()
    except ValueError:
        return None


def _dms_to_degrees(dms, ref, negative_ref: str) -> float | None:
    if not isinstance(dms, tuple) or len(dms) != 3:
        return None
    degrees = float(dms[0]) + float(dms[1]) / 60 + float(dms[2]) / 3600
    if not math.isfinite(degrees):
        return None
    ref = _exif_text(ref)
    return -degrees if ref and ref.upper().startswith(negative_ref) else degrees


def _exif_gps(gps) -> dict | None:
    lat = _dms_to_degrees(gps.get(_GPS_LAT), gps.get(_GPS_LAT_REF), "S")
    lng = _dms_to_degrees(gps.get(_GPS_LNG), gps.get(_GPS_LNG_REF), "W")
    if lat is None or lng is None or not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    if lat == 0 and lng == 0:  # what phones write when they had no fix
        return None
    return {"lat": round(lat, 7), "lng": round(lng, 7)}


# --- pixels ----------------------------------------------------------------------


def _working_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    scale = min(1.0, long_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _flatten(image: Image.Image) -> Image.Image:
    """RGB or L without alpha, 8 bits per channel."""
    if image.mode in ("I;16", "I;16B", "I;16L"):
        # The high byte of each sample, in place: no float copies (8 bytes a pixel each).
        pixels = np.array(image, dtype=np.uint16)
        np.right_shift(pixels, 8, out=pixels)
        return Image.fromarray(pixels.astype(np.uint8), "L")
    if image.mode in ("I", "F"):
        pixels = np.asarray(image, dtype=np.float32)
        top = 65535.0 if pixels.max() > 255 else 255.0
        return Image.fromarray(np.clip(pixels * (255.0 / top), 0, 255).astype(np.uint8), "L")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, FLATTEN_BACKGROUND)
        background.paste(image, mask=image.getchannel("A"))
        return background
    if image.mode in ("RGB", "L"):
        return image
    return image.convert("RGB")


def _decode_working(image: Image.Image, header: _Header) -> tuple[Image.Image, Image.Image]:
    """The upload decoded once at the smallest scale that leaves the working size: (grey
    at the working size, the decoded colour image it came from). Neither is upright yet."""
    target = _working_size(header.width, header.height, WORK_LONG_SIDE)
    if header.mime == _JPEG:
        # DCT-scaled decoding: the decoder still reads every coefficient (so corrupt data
        # is caught) but only runs a 1/8..1/2 IDCT. YCbCr, not RGB: the luma plane is the
        # grey copy as it is (what a grey decode gives), and the colour is there for the
        # thumbnail without a second decode.
        image.draft("YCbCr", target)
    _load(image)
    if image.mode == "YCbCr":
        colour, grey = image, image.getchannel(0)
    else:
        colour = _flatten(image)
        grey = colour if colour.mode == "L" else colour.convert("L")
    if grey.size != target:
        factor = min(grey.width // target[0], grey.height // target[1])
        if factor >= 2:  # cheap integer box reduction first, then the exact size
            grey = grey.reduce(factor)
        grey = grey.resize(target, Image.Resampling.BOX)
    return grey, colour


def _measure(grey: np.ndarray) -> tuple[dict, tuple[str, ...]]:
    g = grey.astype(np.float32)
    laplacian = g[1:-1, :-2] + g[1:-1, 2:]  # 4-neighbour Laplacian, in place
    laplacian += g[:-2, 1:-1]
    laplacian += g[2:, 1:-1]
    laplacian -= 4.0 * g[1:-1, 1:-1]
    sharpness = float(laplacian.var()) if laplacian.size else 0.0
    brightness = float(grey.mean())
    overexposed_fraction = float(np.count_nonzero(grey >= OVEREXPOSED_LUMA)) / grey.size
    checks = {
        "sharpness": round(sharpness, 2),
        "brightness": round(brightness, 2),
        "overexposed_fraction": round(overexposed_fraction, 4),
        "overexposed": overexposed_fraction > OVEREXPOSED_MIN_FRACTION,
        "working_size": [int(grey.shape[1]), int(grey.shape[0])],
    }
    anomalies = []
    if sharpness < BLURRY_MAX_SHARPNESS:
        anomalies.append(ANOMALY_BLURRY)
    if brightness < DARK_MAX_BRIGHTNESS:
        anomalies.append(ANOMALY_DARK)
    return checks, tuple(anomalies)


def inspect_photo(data: bytes, *, thumbnail: bool = False) -> PhotoReport:
    """Accept or refuse an uploaded photo and report on it; raises ``PhotoInvalid``.

    With ``thumbnail`` the report carries the ``thumb`` derivative (as ``make_derivative``
    makes it) drawn from the same decode, so a sign-off's photo is decoded once: the
    receipt PDF reads the stored thumbnail and never decodes the photo again (issue 16)."""
    header = _read_header(data)  # limits before any pixel is decoded
    image = _open(data, header)
    grey, colour = _decode_working(image, header)
    # after the decode: for PNG, Pillow may decode to reach an eXIf chunk after the
    # pixels, and a failure inside getexif() must not be swallowed with the EXIF
    exif = _read_exif(image)
    turn = _UPRIGHT.get(exif["orientation"])
    width, height = header.width, header.height
    if turn is not None:
        grey = grey.transpose(turn)
        if exif["orientation"] >= 5:
            width, height = height, width
    pixels = np.asarray(grey)
    checks, anomalies = _measure(pixels)
    phash = perceptual_hash(np.asarray(grey.resize((HASH_SIDE, HASH_SIDE), Image.Resampling.BOX)))
    return PhotoReport(
        mime=header.mime,
        width=width,
        height=height,
        sha256=hashlib.sha256(data).hexdigest(),
        exif=exif,
        checks=checks,
        anomalies=anomalies,
        phash=phash,
        thumbnail=_variant(colour, turn, "thumb") if thumbnail else None,
    )


# --- derivatives -------------------------------------------------------------------


DERIVATIVE_SIDES = {"display": DISPLAY_LONG_SIDE, "thumb": THUMBNAIL_LONG_SIDE}


def make_derivative(data: bytes, variant: str) -> bytes:
    """A ``display`` (long side ≤ 1600 px) or ``thumb`` (≤ 320 px) JPEG: upright, and no
    EXIF or other metadata (the GPS position stays in the evidence, not in copies).

    The display copy is made lazily, on first view, by the caller: on a 12-MP upload it
    costs two to three times ``inspect_photo`` (a 1/2-scale colour decode, a resample, an
    encode), which would break the upload's budget; most sign-off photos are never opened;
    and the original bytes are kept, so copies can always be made again. The thumbnail
    comes with the upload's own decode (``inspect_photo(thumbnail=True)``); here it is
    made only for photos stored before that. Each variant is decoded at the smallest JPEG
    scale that still covers it."""
    long_side = DERIVATIVE_SIDES[variant]
    header = _read_header(data)
    image = _open(data, header)
    if header.mime == _JPEG:
        image.draft("RGB", _working_size(header.width, header.height, long_side))
    _load(image)
    orientation = _read_exif(image)["orientation"]
    return _variant(_flatten(image), _UPRIGHT.get(orientation), variant)


def _variant(image: Image.Image, turn, variant: str) -> bytes:
    """A decoded image as the JPEG of a variant: upright, fitted, no metadata. A JPEG's
    own YCbCr decode is fitted and encoded as it is (the encoder takes YCbCr), saving two
    colour conversions."""
    if image.mode not in ("RGB", "YCbCr"):
        image = image.convert("RGB")
    if turn is not None:
        image = image.transpose(turn)
    # Bilinear for the display copy: from a 1/2-scale decode it only shrinks by 1.25 (the
    # triangle filter is widened by the factor, so it still antialiases) at half of
    # Lanczos' cost. Hamming for the thumbnail: as cheap as bilinear and a little
    # crisper; Lanczos cost 3 to 6 ms more per upload (1.6 to 3.6 for these), a budget
    # the upload no longer has now that the thumbnail is made there (issue 16).
    if variant == "display":
        return _encode_jpeg(_fit(image, DISPLAY_LONG_SIDE, Image.Resampling.BILINEAR, 2.0), optimize=True)
    # The thumbnail: the whole factor first as an integer box reduction (reducing_gap=1),
    # then Hamming for what is left. A 1080p upload's 960-px decode is a 1/3 box reduction
    # and nothing else: 0.5 ms where a Hamming resample over the whole factor took 2.3 on
    # this project's VM. No optimised Huffman tables: 5 % more bytes on a 20 kB thumbnail,
    # 0.3 ms less per upload.
    return _encode_jpeg(_fit(image, THUMBNAIL_LONG_SIDE, Image.Resampling.HAMMING, 1.0), optimize=False)


def _fit(image: Image.Image, long_side: int, resample: Image.Resampling, reducing_gap: float) -> Image.Image:
    size = _working_size(image.width, image.height, long_side)
    if size == image.size:
        return image
    return image.resize(size, resample, reducing_gap=reducing_gap)


def _encode_jpeg(image: Image.Image, *, optimize: bool) -> bytes:
    out = io.BytesIO()
    # No exif=, icc_profile= or comment=: Pillow writes no metadata unless asked.
    # optimize (Huffman tables for this image) saves ~10 % of a display copy for ~6 ms;
    # progressive would save 2 % more for 25 ms.
    image.save(out, "JPEG", quality=DERIVATIVE_JPEG_QUALITY, optimize=optimize)
    return out.getvalue()
