"""Perceptual hashes of evidence photos and the index that finds near-duplicates.

A photo's 64-bit perceptual hash (a DCT "pHash") changes little when the photo is
re-encoded, resized or lightly cropped, so a courier re-using yesterday's photo for
today's sign-off lands within a small Hamming distance of the stored one.

Lookup among a million stored hashes uses multi-index hashing: the hash is cut into
``CHUNK_COUNT`` chunks of ``CHUNK_BITS`` bits; by the pigeonhole principle two hashes
within distance ``d`` agree on at least one chunk to within ``d // CHUNK_COUNT`` bits.
``chunk_keys`` gives the rows to store (tenant, chunk_no, chunk_value) -> photo and
``probe_keys`` the rows to look up; ``PhotoHashIndex`` is the same scheme in memory.
"""

from __future__ import annotations

import itertools

import numpy as np

HASH_BITS = 64
HASH_SIDE = 32  # the hash is taken from a 32x32 grey image, as in the usual pHash
LOW_FREQUENCY_SIDE = 8  # 8x8 lowest DCT frequencies -> 64 bits

# Measured on synthetic textured scenes (bench/bench_photos.py prints the table):
# re-encodings (JPEG q50, PNG, WebP) and resizes down to 1/8 land at 0-4 bits, crops
# of 2 % per side at 2-10, of 3 % at 4-12, of 5 % off one edge at 4-10, of 5 % per
# side at 6-18; 3,160 pairs of distinct scenes at 16 or more (mean 31, as for
# unrelated hashes). 12 finds every crop up to 3 % per side and 5 % off one edge and
# keeps 4 bits clear of the closest distinct pair. It means a probe radius of 3 bits
# per 16-bit chunk (2,788 probe keys); 10 would need only 548 but misses 3 % crops.
DUPLICATE_MAX_DISTANCE = 12

# 4 chunks of 16 bits: at a million hashes a 16-bit value holds ~15 of them, so the
# 4 x 697 probes of a lookup at distance 12 (radius 3 per chunk) touch ~40,000
# candidates, checked in about a millisecond. 8-bit chunks would hold ~4,000 each;
# 32-bit ones would need radius 6, over a million probes.
CHUNK_COUNT = 4
CHUNK_BITS = HASH_BITS // CHUNK_COUNT
_CHUNK_MASK = (1 << CHUNK_BITS) - 1

# A lookup scans up to this many recently added hashes one by one (about 0.1 us
# each, so under half a millisecond); past it the chunk tables are rebuilt (about
# 1 s per million hashes). Good for the bench and tests; the service keeps the
# same keys in its database instead.
_UNSORTED_TAIL_MAX = 4096


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * i + 1) * k / (2 * n))
    m[0, :] = np.sqrt(1.0 / n)
    return m


_DCT = _dct_matrix(HASH_SIDE)
_BIT_WEIGHTS = np.array([1 << (63 - i) for i in range(HASH_BITS)], dtype=np.uint64)


def perceptual_hash(grey_32: np.ndarray) -> int:
    """64-bit pHash of a 32x32 grey image, as an unsigned int.

    Bits are the 8x8 lowest DCT frequencies compared with their median (the DC term
    is left out of the median so overall brightness does not shift it)."""
    pixels = np.asarray(grey_32, dtype=np.float64)
    if pixels.shape != (HASH_SIDE, HASH_SIDE):
        raise ValueError(f"perceptual_hash needs a {HASH_SIDE}x{HASH_SIDE} image")
    low = (_DCT @ pixels @ _DCT.T)[:LOW_FREQUENCY_SIDE, :LOW_FREQUENCY_SIDE].ravel()
    median = np.median(low[1:])
    bits = (low > median).astype(np.uint64)
    return int((bits * _BIT_WEIGHTS).sum(dtype=np.uint64))


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def chunk_keys(h: int) -> list[tuple[int, int]]:
    """(chunk_no, chunk_value) rows to store for hash ``h``; chunk 0 is the low bits."""
    return [(no, (h >> (no * CHUNK_BITS)) & _CHUNK_MASK) for no in range(CHUNK_COUNT)]


def _flip_masks(radius: int) -> tuple[int, ...]:
    masks = [0]
    for r in range(1, radius + 1):
        for bits in itertools.combinations(range(CHUNK_BITS), r):
            masks.append(sum(1 << b for b in bits))
    return tuple(masks)


_FLIP_MASKS: dict[int, tuple[int, ...]] = {}


def _masks_for(max_distance: int) -> tuple[int, ...]:
    radius = max_distance // CHUNK_COUNT
    if radius not in _FLIP_MASKS:
        _FLIP_MASKS[radius] = _flip_masks(radius)
    return _FLIP_MASKS[radius]


def probe_keys(h: int, max_distance: int = DUPLICATE_MAX_DISTANCE) -> list[tuple[int, int]]:
    """Every (chunk_no, chunk_value) of which a hash within ``max_distance`` of ``h``
    must store at least one (pigeonhole over ``CHUNK_COUNT`` chunks)."""
    if max_distance < 0:
        raise ValueError("max_distance must be >= 0")
    masks = _masks_for(max_distance)
    return [(no, value ^ m) for no, value in chunk_keys(h) for m in masks]


_CHUNK_BASES = np.arange(CHUNK_COUNT, dtype=np.int64) << CHUNK_BITS


def stored_chunks(h: int) -> list[int]:
    """``chunk_keys`` as the database files them: chunk number and value in one integer."""
    return [(no << CHUNK_BITS) | value for no, value in chunk_keys(h)]


def chunk_radii(max_distance: int = DUPLICATE_MAX_DISTANCE) -> tuple[int, ...]:
    """How many bits each chunk's probe flips: a finer pigeonhole than ``max_distance //
    CHUNK_COUNT`` for all. With ``max_distance = CHUNK_COUNT * r + a`` (0 <= a < CHUNK_COUNT),
    a hash within the distance agrees to within r bits on one of chunks 0..a or to within
    r - 1 bits on one of the others: were each of the first a + 1 chunks r + 1 bits off and
    the rest r bits off, the distance would be CHUNK_COUNT * r + a + 1. At 12 that is radius
    3 for chunk 0 and 2 for chunks 1-3 (697 + 3 x 137 = 1,108 keys instead of 2,788)."""
    if max_distance < 0:
        raise ValueError("max_distance must be >= 0")
    r, a = divmod(max_distance, CHUNK_COUNT)
    return tuple(r if no <= a else r - 1 for no in range(CHUNK_COUNT))


_PROBE_MASKS: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def probe_masks(max_distance: int = DUPLICATE_MAX_DISTANCE) -> tuple[np.ndarray, np.ndarray]:
    """(chunk numbers, flip masks), one pair per probe key of ``probe_chunks``: the key is the
    chunk's value XOR the mask, filed under the chunk number. A chunk of radius -1 has none."""
    if max_distance not in _PROBE_MASKS:
        radii = chunk_radii(max_distance)
        masks = [np.array(_flip_masks(r), dtype=np.int64) if r >= 0 else np.zeros(0, dtype=np.int64) for r in radii]
        _PROBE_MASKS[max_distance] = (
            np.concatenate([np.full(len(m), no, dtype=np.int64) for no, m in enumerate(masks)]),
            np.concatenate(masks))
    return _PROBE_MASKS[max_distance]


def probe_chunks(h: int, max_distance: int = DUPLICATE_MAX_DISTANCE) -> list[int]:
    """The stored chunk keys (see ``stored_chunks``) of which a hash within ``max_distance``
    of ``h`` holds at least one, by ``chunk_radii``: 1,108 keys at distance 12, built with
    numpy in a few microseconds."""
    nos, masks = probe_masks(max_distance)
    values = np.array([value for _, value in chunk_keys(h)], dtype=np.int64)[nos]
    return ((values ^ masks) + (nos << CHUNK_BITS)).tolist()


class PhotoHashIndex:
    """In-memory multi-index hash table over 64-bit photo hashes.

    For each chunk, the stored hashes are kept ordered by that chunk's value (a
    counting sort), with a 65,536-entry table of where each value starts; the four
    orderings sit end to end in one array, so every probe of a lookup is one slice
    and all of them are gathered and checked with an exact Hamming distance in a
    handful of numpy calls. Recently added hashes wait in a short unsorted tail that
    is scanned directly; the tables are rebuilt on lookup once the tail grows past
    ``_UNSORTED_TAIL_MAX``, so adds stay cheap amortised."""

    def __init__(self) -> None:
        self._keys: list = []
        self._hashes: list[int] = []
        self._sorted_count = 0
        # start of each (chunk_no, chunk_value) run, at chunk_no * 65,536 + chunk_value
        self._starts = np.zeros(CHUNK_COUNT << CHUNK_BITS | 1, dtype=np.int64)
        self._positions = np.zeros(0, dtype=np.int64)  # insertion position of each entry
        self._ordered = np.zeros(0, dtype=np.uint64)  # the hash of each entry

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key, h: int) -> None:
        if not 0 <= h < 1 << HASH_BITS:
            raise ValueError("hash must be an unsigned 64-bit int")
        self._keys.append(key)
        self._hashes.append(h)

    def _rebuild(self) -> None:
        hashes = np.array(self._hashes, dtype=np.uint64)
        n = len(hashes)
        slot = np.empty(CHUNK_COUNT * n, dtype=np.int64)  # (chunk_no, chunk_value) per entry
        for no in range(CHUNK_COUNT):
            values = (hashes >> np.uint64(no * CHUNK_BITS)) & np.uint64(_CHUNK_MASK)
            slot[no * n : (no + 1) * n] = values.astype(np.int64) + (no << CHUNK_BITS)
        order = np.argsort(slot, kind="stable")
        self._starts = np.zeros(CHUNK_COUNT << CHUNK_BITS | 1, dtype=np.int64)
        np.cumsum(np.bincount(slot, minlength=CHUNK_COUNT << CHUNK_BITS), out=self._starts[1:])
        self._positions = order % n if n else order
        self._ordered = hashes[self._positions]
        self._sorted_count = n

    def find(self, h: int, max_distance: int = DUPLICATE_MAX_DISTANCE) -> list:
        """Keys of stored hashes within ``max_distance`` bits of ``h``, nearest first."""
        if len(self._hashes) - self._sorted_count > _UNSORTED_TAIL_MAX:
            self._rebuild()
        found: dict[int, int] = {}
        if self._sorted_count:
            if max_distance < 0:
                raise ValueError("max_distance must be >= 0")
            masks = np.array(_masks_for(max_distance), dtype=np.int64)
            values = np.array([value for _, value in chunk_keys(h)], dtype=np.int64)
            slots = ((values[:, None] ^ masks[None, :]) + _CHUNK_BASES[:, None]).ravel()
            starts, ends = self._starts[slots], self._starts[slots + 1]
            lengths = ends - starts
            total = int(lengths.sum())
            if total:
                # every index starts[i]..ends[i]-1, without a Python loop
                entries = np.arange(total) + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
                distances = np.bitwise_count(self._ordered[entries] ^ np.uint64(h))
                near = distances <= max_distance
                if near.any():
                    found.update(zip(self._positions[entries[near]].tolist(), distances[near].tolist()))
        for p in range(self._sorted_count, len(self._hashes)):
            d = hamming(self._hashes[p], h)
            if d <= max_distance:
                found[p] = d
        return [self._keys[p] for p, _ in sorted(found.items(), key=lambda item: (item[1], item[0]))]
