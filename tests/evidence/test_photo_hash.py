"""Perceptual photo hashes: near-duplicates are found, distinct photos are not, and the
index answers exactly what a brute-force scan would."""

import functools
import itertools
import math
import random

import numpy as np
import pytest
from PIL import Image

from delivery_sign.evidence.photo_hash import (
    CHUNK_COUNT,
    DUPLICATE_MAX_DISTANCE,
    PhotoHashIndex,
    chunk_keys,
    chunk_radii,
    hamming,
    perceptual_hash,
    probe_chunks,
    probe_keys,
    stored_chunks,
)
from delivery_sign.evidence.photos import inspect_photo

from .photo_fixtures import cropped, encode, jpeg, scene


@functools.lru_cache
def original(seed: int) -> Image.Image:
    return scene(seed, 1200, 900)


def phash(data: bytes) -> int:
    return inspect_photo(data).phash


def flip_bits(h: int, count: int, rng: random.Random) -> int:
    for bit in rng.sample(range(64), count):
        h ^= 1 << bit
    return h


# --- the hash -------------------------------------------------------------------------


def test_hamming_counts_differing_bits():
    assert hamming(0, 0) == 0
    assert hamming(0, 2**64 - 1) == 64
    assert hamming(0b1011, 0b0001) == 2


def test_perceptual_hash_needs_a_32_by_32_image():
    with pytest.raises(ValueError):
        perceptual_hash(np.zeros((16, 16)))
    assert 0 <= perceptual_hash(np.arange(1024).reshape(32, 32)) < 2**64


NEAR_COPIES = {
    "jpeg q50": lambda im: jpeg(im, 50),
    "png": lambda im: encode(im, "PNG", compress_level=1),
    "webp": lambda im: encode(im, "WEBP", quality=70),
    "half size": lambda im: jpeg(im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS), 80),
    "eighth size": lambda im: jpeg(im.resize((im.width // 8, im.height // 8), Image.Resampling.LANCZOS), 80),
    "crop 2% a side": lambda im: jpeg(cropped(im, 0.02)),
    "crop 3% a side": lambda im: jpeg(cropped(im, 0.03)),
    "crop 5% off one edge": lambda im: jpeg(im.crop((int(im.width * 0.05), 0, im.width, im.height))),
}


@pytest.mark.parametrize("copy", NEAR_COPIES)
def test_re_encoded_resized_and_lightly_cropped_copies_are_near_duplicates(copy):
    for seed in (11, 12, 13):
        stored = phash(jpeg(original(seed), 90))
        assert hamming(stored, phash(NEAR_COPIES[copy](original(seed)))) <= DUPLICATE_MAX_DISTANCE


def test_distinct_photos_are_not_near_duplicates():
    hashes = [phash(jpeg(original(seed), 90)) for seed in range(20, 32)]
    closest = min(hamming(a, b) for a, b in itertools.combinations(hashes, 2))
    assert closest > DUPLICATE_MAX_DISTANCE


def test_the_index_finds_a_re_sent_photo_and_nothing_else():
    index = PhotoHashIndex()
    for seed in range(20, 32):
        index.add(f"photo-{seed}", phash(jpeg(original(seed), 90)))
    resent = jpeg(original(25).resize((600, 450), Image.Resampling.LANCZOS), 60)
    assert index.find(phash(resent)) == ["photo-25"]
    assert index.find(phash(jpeg(original(40), 90))) == []


# --- multi-index hashing keys ---------------------------------------------------------


def test_chunk_keys_cover_the_hash():
    h = 0x0123_4567_89AB_CDEF
    keys = chunk_keys(h)
    assert keys == [(0, 0xCDEF), (1, 0x89AB), (2, 0x4567), (3, 0x0123)]
    assert sum(value << (16 * no) for no, value in keys) == h


def test_probe_keys_hold_every_combination_within_the_chunk_radius():
    radius = DUPLICATE_MAX_DISTANCE // CHUNK_COUNT
    expected = CHUNK_COUNT * sum(math.comb(16, r) for r in range(radius + 1))
    keys = probe_keys(2**64 - 1)
    assert len(keys) == len(set(keys)) == expected
    assert set(chunk_keys(2**64 - 1)) <= set(keys)


def test_a_near_duplicate_always_shares_a_probe_key():
    """Pigeonhole: a hash within the distance stores at least one probed key."""
    rng = random.Random(3)
    for _ in range(2000):
        h = rng.getrandbits(64)
        near = flip_bits(h, rng.randint(0, DUPLICATE_MAX_DISTANCE), rng)
        assert set(chunk_keys(near)) & set(probe_keys(h))


def test_probe_keys_follow_a_smaller_distance():
    assert len(probe_keys(0, max_distance=3)) == CHUNK_COUNT
    with pytest.raises(ValueError):
        probe_keys(0, max_distance=-1)


def test_the_database_probe_finds_every_hash_within_the_distance_however_its_bits_split():
    """``probe_chunks`` (the finer pigeonhole of ``chunk_radii``): for each distance up to 15
    and every split of up to that many flipped bits over the four chunks, the near hash
    stores one of the probed keys."""
    rng = random.Random(5)
    for distance in range(16):
        for flips in itertools.product(range(distance + 1), repeat=CHUNK_COUNT):
            if sum(flips) > distance:
                continue
            h = rng.getrandbits(64)
            near = h
            for no, count in enumerate(flips):
                for bit in rng.sample(range(16), count):
                    near ^= 1 << (16 * no + bit)
            assert set(stored_chunks(near)) & set(probe_chunks(h, distance)), (distance, flips)


def test_the_database_probe_sends_fewer_keys_than_the_even_split():
    assert chunk_radii() == (3, 2, 2, 2)
    keys = probe_chunks(0x0123_4567_89AB_CDEF)
    assert len(keys) == len(set(keys)) == 697 + 3 * 137 < len(probe_keys(0))
    assert set(stored_chunks(0x0123_4567_89AB_CDEF)) <= set(keys)
    assert probe_chunks(7, max_distance=0) == stored_chunks(7)[:1]
    with pytest.raises(ValueError):
        probe_chunks(0, max_distance=-1)


# --- the in-memory index --------------------------------------------------------------


def brute_force(stored: list[int], query: int, max_distance: int) -> set[int]:
    return {i for i, h in enumerate(stored) if hamming(h, query) <= max_distance}


def test_index_answers_like_a_brute_force_scan():
    rng = random.Random(5)
    stored = [rng.getrandbits(64) for _ in range(6000)]
    # near neighbours of some stored hashes, at every distance around the limit
    stored += [flip_bits(stored[i], i % 16, rng) for i in range(0, 2000, 7)]
    index = PhotoHashIndex()
    for i, h in enumerate(stored):
        index.add(i, h)
    for i in range(300):
        query = flip_bits(stored[rng.randrange(len(stored))], rng.randint(0, 14), rng)
        for max_distance in (DUPLICATE_MAX_DISTANCE, 7):
            found = index.find(query, max_distance)
            assert set(found) == brute_force(stored, query, max_distance)
            distances = [hamming(stored[k], query) for k in found]
            assert distances == sorted(distances)  # nearest first


def test_index_sees_hashes_added_after_a_lookup():
    rng = random.Random(6)
    index = PhotoHashIndex()
    stored = [rng.getrandbits(64) for _ in range(5000)]
    for i, h in enumerate(stored):
        index.add(i, h)
    assert index.find(stored[10]) == [10]  # builds the tables
    later = flip_bits(stored[10], 4, rng)
    index.add("later", later)
    assert index.find(stored[10]) == [10, "later"]
    assert len(index) == 5001


def test_index_refuses_hashes_that_are_not_unsigned_64_bit():
    index = PhotoHashIndex()
    for bad in (-1, 2**64):
        with pytest.raises(ValueError):
            index.add("x", bad)


def test_an_empty_index_finds_nothing():
    assert PhotoHashIndex().find(12345) == []
