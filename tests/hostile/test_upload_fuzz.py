"""Random and mutated image bytes never crash the photo path or leak memory."""
import io
import random
import tracemalloc

import pytest

from delivery_sign.evidence.photos import PhotoInvalid, PhotoReport, inspect_photo
from tests.evidence.photo_fixtures import encode, jpeg_claiming, png_claiming, scene

ROUNDS = 400
# Bytes still held after the fuzz run, beyond what the first rounds warmed up.
MAX_LEAK_BYTES = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def seeds():
    image = scene(3, 320, 240)
    return [encode(image, "JPEG", quality=80), encode(image, "PNG"), encode(image, "WEBP", quality=70),
            encode(image.convert("RGBA"), "PNG"), encode(image, "WEBP", lossless=True)]


def _mutate(rng, data):
    kind = rng.randrange(6)
    data = bytearray(data)
    if kind == 0:                       # flip bytes anywhere
        for _ in range(rng.randint(1, 40)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif kind == 1:                     # cut short
        data = data[: rng.randrange(1, len(data))]
    elif kind == 2:                     # flip bytes in the header, where sizes live
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(min(64, len(data)))] = rng.randrange(256)
    elif kind == 3:                     # splice two files
        cut = rng.randrange(len(data))
        data = data[:cut] + bytes(rng.randrange(256) for _ in range(rng.randint(0, 500))) + data[cut:]
    elif kind == 4:                     # pure noise behind a real magic number
        data = data[:12] + bytes(rng.randrange(256) for _ in range(rng.randint(0, 4000)))
    else:                               # duplicate a random slice
        a = rng.randrange(len(data))
        b = min(len(data), a + rng.randint(1, 2000))
        data = data[:b] + data[a:b] + data[b:]
    return bytes(data)


def _inspect(data):
    try:
        return inspect_photo(data)
    except PhotoInvalid:
        return None


def test_mutated_images_are_refused_or_read_never_crash(seeds):
    rng = random.Random(20261127)
    outcomes = {"read": 0, "refused": 0}
    for _ in range(ROUNDS):
        result = _inspect(_mutate(rng, rng.choice(seeds)))
        assert result is None or isinstance(result, PhotoReport)
        outcomes["read" if result else "refused"] += 1
    assert outcomes["refused"] > ROUNDS // 4 and outcomes["read"] > 0


@pytest.mark.parametrize("bomb", [
    lambda s: png_claiming(60000, 60000),
    lambda s: png_claiming(1, 10 ** 8),
    lambda s: jpeg_claiming(s[0], 65000, 65000),
    lambda s: jpeg_claiming(s[0], 0, 0),
])
def test_pixel_bombs_are_refused_before_decoding(seeds, bomb):
    with pytest.raises(PhotoInvalid):
        inspect_photo(bomb(seeds))


def test_no_memory_leak_over_many_bad_uploads(seeds):
    rng = random.Random(7)
    for _ in range(50):                 # warm caches and pools first
        _inspect(_mutate(rng, rng.choice(seeds)))
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(ROUNDS):
        _inspect(_mutate(rng, rng.choice(seeds)))
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert after - before < MAX_LEAK_BYTES


def test_fuzzed_uploads_over_http_are_201_or_422(door, seeds):
    rng = random.Random(99)
    statuses = set()
    for _ in range(12):
        data = _mutate(rng, rng.choice(seeds))
        response = door.client.post(f"/api/v1/sign/{door.token}/photos",
                                    data={"file": (io.BytesIO(data), "x.jpg"), "kind": "goods"},
                                    content_type="multipart/form-data")
        assert response.status_code in (201, 422), response.get_data(as_text=True)
        statuses.add(response.status_code)
    assert 422 in statuses
