"""Evidence photos: what is refused on upload, and what is reported on what is kept."""

import functools
import hashlib
import io
import json
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from delivery_sign.evidence.photo_hash import hamming
from delivery_sign.evidence.photos import (
    BLURRY_MAX_SHARPNESS,
    MAX_PHOTO_BYTES,
    MAX_PHOTO_PIXELS,
    MAX_PNG_16BIT_PIXELS,
    PhotoInvalid,
    inspect_photo,
    make_derivative,
)

from .photo_fixtures import (
    blurred,
    darkened,
    encode,
    exif_bytes,
    jpeg,
    jpeg_claiming,
    overexposed,
    png_claiming,
    scene,
)

SPEC_PHOTO_ANOMALIES = {"blurry_photo", "dark_photo"}


@functools.lru_cache
def photo_12mp() -> Image.Image:
    return scene(7, 4000, 3000)


def refusal(data: bytes) -> str:
    with pytest.raises(PhotoInvalid) as caught:
        inspect_photo(data)
    assert caught.value.code == "photo_invalid"
    return caught.value.message


# --- accepted by content -------------------------------------------------------


@pytest.mark.parametrize(
    "fmt, params, mime",
    [
        ("JPEG", {"quality": 85}, "image/jpeg"),
        ("JPEG", {"quality": 85, "progressive": True}, "image/jpeg"),
        ("PNG", {}, "image/png"),
        ("WEBP", {"quality": 80}, "image/webp"),
        ("WEBP", {"lossless": True}, "image/webp"),
    ],
)
def test_jpeg_png_and_webp_are_accepted_and_keep_the_original_hash(fmt, params, mime):
    data = encode(scene(1, 640, 480), fmt, **params)
    report = inspect_photo(data)
    assert report.mime == mime
    assert (report.width, report.height) == (640, 480)
    assert report.sha256 == hashlib.sha256(data).hexdigest()
    assert 0 <= report.phash < 2**64
    json.dumps(report.exif), json.dumps(report.checks)  # stored as JSON as they are


@pytest.mark.parametrize(
    "make",
    [
        lambda im: encode(im.convert("CMYK"), "JPEG"),
        lambda im: encode(im.convert("L"), "JPEG"),
        lambda im: encode(im, "JPEG", subsampling=0),
        lambda im: encode(Image.fromarray(np.asarray(im.convert("L")).astype(np.uint16) * 257), "PNG"),
        lambda im: encode(im.convert("P"), "PNG", transparency=0),
        lambda im: encode(im.convert("LA"), "PNG"),
        lambda im: encode(im, "PNG", save_all=True, append_images=[scene(2, 320, 240)]),
        lambda im: encode(im.convert("RGBA"), "WEBP"),
        lambda im: encode(im, "WEBP", save_all=True, append_images=[scene(2, 320, 240)]),
    ],
    ids=["cmyk jpeg", "grey jpeg", "4:4:4 jpeg", "16-bit png", "palette png", "grey+alpha png",
         "animated png", "webp with alpha", "animated webp"],
)
def test_unusual_but_valid_encodings_are_accepted_and_measured_alike(make):
    image = scene(1, 320, 240)
    plain = inspect_photo(jpeg(image, 95))
    report = inspect_photo(make(image))
    assert (report.width, report.height) == (320, 240)
    assert report.checks["brightness"] == pytest.approx(plain.checks["brightness"], abs=3)
    display, thumbnail = both_copies(make(image))
    assert Image.open(io.BytesIO(display)).mode == "RGB"


def test_photo_invalid_is_a_value_error_with_the_spec_code():
    assert issubclass(PhotoInvalid, ValueError)
    assert PhotoInvalid("x").code == "photo_invalid"


# --- refused -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        encode(scene(1, 200, 150).convert("P"), "GIF"),
        encode(scene(1, 200, 150), "BMP"),
        encode(scene(1, 200, 150), "TIFF"),
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"",
        b"RIFF\x10\x00\x00\x00WAVEfmt ",
    ],
    ids=["gif", "bmp", "tiff", "pdf", "svg", "empty", "wav"],
)
def test_other_formats_are_refused_whatever_they_are_called(data):
    assert "not a JPEG, PNG or WebP" in refusal(data)


def test_jpeg_magic_followed_by_garbage_is_refused():
    refusal(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 20)


def test_a_jpeg_cut_off_in_its_image_data_is_refused():
    data = jpeg(scene(2, 800, 600))
    assert "truncated" in refusal(data[: len(data) // 2])


def test_a_jpeg_missing_only_its_end_marker_is_refused():
    data = jpeg(scene(2, 800, 600))
    assert data.endswith(b"\xff\xd9")
    assert "truncated" in refusal(data[:-2])


def test_a_jpeg_cut_off_in_its_header_is_refused():
    data = jpeg(scene(2, 800, 600), exif=exif_bytes(orientation=1, make="Phone"))
    assert "truncated" in refusal(data[:40])


def test_a_jpeg_with_a_video_after_its_end_marker_is_accepted():
    # "motion photos" append an MP4 after the JPEG's end-of-image marker
    data = jpeg(scene(2, 800, 600)) + b"\x00\x00\x00\x18ftypmp42" + bytes(5000)
    assert inspect_photo(data).mime == "image/jpeg"


@pytest.mark.parametrize("cut", [0.5, 0.98])
def test_a_png_cut_off_is_refused(cut):
    data = encode(scene(2, 400, 300), "PNG")
    assert "truncated" in refusal(data[: int(len(data) * cut)])


def test_a_png_missing_only_its_end_chunk_is_refused():
    data = encode(scene(2, 400, 300), "PNG")
    assert data.endswith(b"IEND\xaeB`\x82")
    assert "truncated" in refusal(data[:-12])


def test_a_png_with_corrupt_image_data_is_refused():
    # the decode's error must not be lost on the way to the EXIF (PNG keeps eXIf
    # after the pixels, so reading EXIF may decode first)
    data = bytearray(encode(scene(2, 300, 200), "PNG"))
    middle = len(data) // 2
    data[middle : middle + 200] = bytes(200)
    assert "corrupt" in refusal(bytes(data))


def test_a_webp_cut_off_is_refused():
    data = encode(scene(2, 400, 300), "WEBP")
    assert "truncated" in refusal(data[: len(data) // 2])


def test_more_than_15_mb_is_refused_before_anything_else():
    data = jpeg(scene(2, 200, 150))
    padded = data + bytes(MAX_PHOTO_BYTES + 1 - len(data))
    assert "larger than" in refusal(padded)


def test_a_png_header_claiming_20000_by_20000_is_refused_as_a_bomb():
    data = png_claiming(20000, 20000)
    assert len(data) < 1000
    assert "pixels" in refusal(data)


def test_a_jpeg_header_claiming_20000_by_20000_is_refused_as_a_bomb():
    data = jpeg_claiming(jpeg(scene(2, 200, 150)), 20000, 20000)
    assert "pixels" in refusal(data)


def test_the_pixel_limit_is_50_megapixels():
    just_over = png_claiming(10_000, MAX_PHOTO_PIXELS // 10_000 + 1)
    assert "pixels" in refusal(just_over)
    at_limit = png_claiming(10_000, MAX_PHOTO_PIXELS // 10_000)
    # within the limit, so it gets as far as decoding, which finds the data missing
    assert "pixels" not in refusal(at_limit)


def test_derivatives_refuse_what_inspection_refuses():
    with pytest.raises(PhotoInvalid):
        both_copies(png_claiming(20000, 20000))
    with pytest.raises(PhotoInvalid):
        both_copies(b"GIF89a" + bytes(100))


# --- EXIF --------------------------------------------------------------------------

# How to store an upright picture so that EXIF orientation N turns it upright again.
_STORED_AS = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(orientation):
    upright = scene(3, 640, 400)
    stored = upright if _STORED_AS[orientation] is None else upright.transpose(_STORED_AS[orientation])
    report = inspect_photo(jpeg(stored, exif=exif_bytes(orientation=orientation)))
    assert report.exif["orientation"] == orientation
    assert (report.width, report.height) == (640, 400)
    assert hamming(report.phash, inspect_photo(jpeg(upright)).phash) <= 2


def test_exif_date_gps_and_camera_are_read():
    data = jpeg(
        scene(3, 320, 240),
        exif=exif_bytes(
            datetime_original="2026:11:27 10:01:02",
            gps=(31.2304, 121.4737),  # Shanghai
            make="Xiaomi",
            model="Redmi Note 13",
        ),
    )
    exif = inspect_photo(data).exif
    assert exif["datetime_original"] == "2026-11-27T10:01:02"
    assert exif["gps"] == pytest.approx({"lat": 31.2304, "lng": 121.4737}, abs=1e-5)
    assert (exif["make"], exif["model"]) == ("Xiaomi", "Redmi Note 13")
    assert exif["orientation"] is None


def test_southern_and_western_gps_refs_give_negative_degrees():
    data = jpeg(scene(3, 320, 240), exif=exif_bytes(gps=(-33.8568, -70.6483)))
    assert inspect_photo(data).exif["gps"] == pytest.approx({"lat": -33.8568, "lng": -70.6483}, abs=1e-5)


def test_exif_in_png_and_webp_is_read_too():
    exif = exif_bytes(datetime_original="2026:01:02 03:04:05", orientation=3)
    for fmt in ("PNG", "WEBP"):
        report = inspect_photo(encode(scene(3, 320, 240), fmt, exif=exif))
        assert report.exif["datetime_original"] == "2026-01-02T03:04:05"
        assert report.exif["orientation"] == 3


def test_a_photo_without_exif_reports_nothing():
    exif = inspect_photo(encode(scene(3, 320, 240), "PNG")).exif
    assert exif == {"datetime_original": None, "gps": None, "orientation": None}


def test_nonsense_exif_values_read_as_absent():
    data = jpeg(
        scene(3, 320, 240),
        exif=exif_bytes(datetime_original="0000:00:00 00:00:00", gps=(0.0, 0.0), orientation=1),
    )
    exif = inspect_photo(data).exif
    assert exif["datetime_original"] is None
    assert exif["gps"] is None  # what phones write without a fix


# --- blur, darkness, overexposure ----------------------------------------------------


def test_a_sharp_photo_has_no_anomalies():
    report = inspect_photo(jpeg(scene(4, 1600, 1200)))
    assert report.anomalies == ()


def test_a_blurred_photo_is_blurry():
    report = inspect_photo(jpeg(blurred(scene(4, 1600, 1200), 12)))
    assert report.anomalies == ("blurry_photo",)


def test_sharpness_does_not_depend_on_resolution():
    """A 12-MP original and a compressed 1080p copy of the same scene score alike."""
    original = photo_12mp()
    full = inspect_photo(jpeg(original, 92))
    small = inspect_photo(jpeg(original.resize((1440, 1080), Image.Resampling.LANCZOS), 70))
    assert small.checks["sharpness"] == pytest.approx(full.checks["sharpness"], rel=0.2)
    assert full.anomalies == small.anomalies == ()

    out_of_focus = blurred(original, 12)  # 1.5 px at the working size
    full = inspect_photo(jpeg(out_of_focus, 92))
    small = inspect_photo(jpeg(out_of_focus.resize((1440, 1080), Image.Resampling.LANCZOS), 70))
    assert abs(small.checks["sharpness"] - full.checks["sharpness"]) < BLURRY_MAX_SHARPNESS / 4
    assert full.anomalies == small.anomalies == ("blurry_photo",)


def test_a_dark_photo_is_dark():
    report = inspect_photo(jpeg(darkened(scene(4, 800, 600), 0.2)))
    assert "dark_photo" in report.anomalies
    assert report.checks["brightness"] < 40


def test_a_dim_but_usable_photo_is_not_dark():
    report = inspect_photo(jpeg(darkened(scene(4, 800, 600), 0.55)))
    assert "dark_photo" not in report.anomalies


def test_overexposure_is_measured_but_only_spec_anomalies_are_raised():
    report = inspect_photo(jpeg(overexposed(scene(4, 800, 600), 2.5)))
    assert report.checks["overexposed"] is True
    assert report.checks["overexposed_fraction"] > 0.4
    assert set(report.anomalies) <= SPEC_PHOTO_ANOMALIES
    assert inspect_photo(jpeg(scene(4, 800, 600))).checks["overexposed"] is False


# --- derivatives -----------------------------------------------------------------------


def both_copies(data: bytes) -> tuple[bytes, bytes]:
    """Both copies, as a receipt's reader asks for them (receipts.services.stored_photo)."""
    return make_derivative(data, "display"), make_derivative(data, "thumb")


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_derivatives_are_small_upright_jpegs_without_metadata():
    stored = scene(5, 2400, 1800).transpose(Image.Transpose.ROTATE_90)  # 1800 x 2400
    data = jpeg(stored, exif=exif_bytes(orientation=6, gps=(31.2, 121.4), make="Phone"))
    display, thumbnail = both_copies(data)
    display_image, thumbnail_image = _open(display), _open(thumbnail)
    assert display_image.format == thumbnail_image.format == "JPEG"
    assert display_image.size == (1600, 1200)  # turned upright, long side 1600
    assert thumbnail_image.size == (320, 240)
    for image in (display_image, thumbnail_image):
        assert not image.getexif()
        assert "exif" not in image.info and "icc_profile" not in image.info


def test_derivatives_of_a_small_photo_are_not_enlarged():
    image = scene(5, 300, 200).convert("RGBA")
    display, thumbnail = both_copies(encode(image, "PNG"))
    assert _open(display).size == (300, 200)
    assert _open(thumbnail).size == (300, 200)


def test_transparent_pixels_are_laid_on_white():
    clear = Image.new("RGBA", (320, 240), (0, 0, 0, 0))
    report = inspect_photo(encode(clear, "PNG"))
    assert report.checks["brightness"] == pytest.approx(255, abs=0.5)
    assert "dark_photo" not in report.anomalies


# --- 16-bit PNGs (issue 15 item 11) -------------------------------------------------


def png_16bit(width: int, height: int, colour_type: int = 0) -> bytes:
    """A real, complete 16-bit PNG of black pixels, compressed row by row (a 50-MP one is
    about 100 KB): the shape of the upload that peaked at ~1 GB."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + width * channels * 2)       # filter byte, then the samples
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_a_50_megapixel_16_bit_png_is_refused_from_its_header():
    data = png_16bit(10_000, 5_000)
    assert len(data) < 200_000
    message = refusal(data)
    assert "16-bit PNG of 50 MP" in message and "16 MP" in message
    with pytest.raises(PhotoInvalid):
        both_copies(data)


def test_16_bit_pngs_up_to_the_limit_are_measured_like_their_8_bit_twins():
    image = scene(5, 640, 480)
    grey = np.asarray(image.convert("L"))
    eight = inspect_photo(encode(Image.fromarray(grey), "PNG"))
    sixteen = inspect_photo(encode(Image.fromarray(grey.astype(np.uint16) * 257), "PNG"))
    assert sixteen.checks == eight.checks and sixteen.phash == eight.phash
    # At the limit a 16-bit PNG is still read (here: black, so dark).
    side = int(MAX_PNG_16BIT_PIXELS ** 0.5)
    assert inspect_photo(png_16bit(side, side)).anomalies == ("blurry_photo", "dark_photo")


def test_a_png_with_an_impossible_bit_depth_is_refused():
    data = bytearray(encode(scene(2, 40, 30), "PNG"))
    data[24] = 12                                     # 12 bits: not a PNG depth
    assert "bit depth" in refusal(bytes(data))
