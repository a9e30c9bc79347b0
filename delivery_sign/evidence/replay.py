"""Replayed signatures: a compact shape fingerprint and a locality-sensitive index.

A real person never signs twice identically, so a signature whose normalised shape is
near-identical to an earlier one of the tenant is a replay (`replayed_signature`), also
when it was shifted, scaled or re-timed. The fingerprint is the ink path resampled at
equal arc-length steps, centred, scaled and quantised to bytes: it
ignores translation, uniform scale and timing.

Lookup cost does not grow with the number stored: `band_keys` hashes the fingerprint
with p-stable (Gaussian) random projections grouped into bands (E2LSH); a replay shares
at least one band key with its original with near certainty, an unrelated signature
almost never. The database keeps (tenant, band key) rows; candidates found through them
are confirmed with `is_replay`. `ReplayIndex` is the same scheme in memory.

Known limit: the jitter smoothing works in sample units, so a replay re-sampled to
another point density (points interpolated in, or every other one dropped) resamples
differently and is mostly missed (about 15 % caught on the corpus). Arc-length-only
smoothing catches those exactly but lets 0.5 px of jitter through (replays up to 0.11
apart, more than distinct genuine signatures); the SPEC's shift, scale, re-timing and
jitter are what this version is measured on.

Changing any constant here changes every stored key: bump FINGERPRINT_VERSION and
re-index.
"""
from __future__ import annotations

import numpy as np

from .strokes import Signature

FINGERPRINT_VERSION = 1
# Points on the resampled ink path: 31 points x 2 bytes + 2 header bytes = 64 bytes.
# Coarse on purpose: identity of the shape, not a drawing.
FINGERPRINT_POINTS = 31
# Arc length is measured on about this many box-smoothed points (see fingerprint).
# Corpus, largest replay distance of 0.5 px-jittered copies vs smallest distance between
# distinct genuine signatures of one person: 0.022 vs 0.031 at 30 points, 0.021 vs 0.042
# at 40, 0.032 vs 0.044 at 50; 40 leaves the widest gap.
KEPT_POINTS = 40
# Points are centred and quantised to int8 with the farthest coordinate at +-127; the
# distance and the band keys rescale them to unit RMS radius. (A fixed step of 1/40 RMS
# radius made rounding alone ~0.014 of replay distance; this halves it.)

# Replay when the RMS distance between corresponding fingerprint points (in RMS radii)
# is below this. Replays (translated, scaled, re-timed, 0.5 px jitter) reach 0.021 both in
# the corpus and in the bench's lookup model; distinct signatures of one person start at
# 0.042 in the corpus, but at 0.026 among 16,500 same-person pairs of the bench model.
# 0.024 separates both; near the replays' side, because accusing a real signer is worse.
REPLAY_MAX_DISTANCE = 0.024
# E2LSH parameters: BANDS bands of PROJECTIONS_PER_BAND hashes floor((a.v + b) / WIDTH)
# over the 62-dimensional unit-RMS fingerprint vector. A replay lies within vector
# distance 0.12 of its original (0.021 x sqrt(31)), so each hash agrees with p >= 0.9,
# a band with p >= 0.53, and all 16 bands miss with p < 1e-5. Unrelated signatures
# (distance 4-8) almost never share a band; a person's other signatures (distance 0.25-1.5)
# often do, so candidates at 100,000 stored are mostly the signer's own earlier ones
# (bench: p50 ~30, p95 ~230, confirmed in one vectorised step).
BANDS = 16
PROJECTIONS_PER_BAND = 6
BUCKET_WIDTH = 1.0
_PROJECTION_SEED = 0x5EED_0001   # fixed forever for FINGERPRINT_VERSION 1

_rng = np.random.default_rng(_PROJECTION_SEED)
_PROJECTIONS = _rng.standard_normal((BANDS * PROJECTIONS_PER_BAND, 2 * FINGERPRINT_POINTS))
_OFFSETS = _rng.uniform(0.0, BUCKET_WIDTH, BANDS * PROJECTIONS_PER_BAND)
# odd 64-bit multipliers that mix a band's bucket numbers into one key
_MIXERS = _rng.integers(1, 2**62, (BANDS, PROJECTIONS_PER_BAND), dtype=np.uint64) * np.uint64(2) + np.uint64(1)
_BAND_SALT = _rng.integers(1, 2**62, BANDS, dtype=np.uint64)
_HEADER = 2


def fingerprint(sig: Signature) -> bytes:
    """64 bytes: version, stroke count, 31 normalised (x, y) points along the pen path."""
    strokes = [s for s in sig.strokes if len(s)]
    header = bytes([FINGERPRINT_VERSION, min(len(strokes), 255)])
    if not strokes:
        return header + bytes(2 * FINGERPRINT_POINTS)
    xy = np.concatenate(strokes)[:, :2] if len(strokes) > 1 else strokes[0][:, :2]
    counts = np.fromiter((len(s) for s in strokes), dtype=np.intp, count=len(strokes))
    starts = np.concatenate(([0], np.cumsum(counts[:-1])))
    ends = starts + counts - 1
    # Measure arc length on a box-smoothed path, keeping every k-th point, k chosen from
    # the point count so that about KEPT_POINTS remain: jitter then barely lengthens the
    # path, and k is the same for a replay (same points) as for its original.
    every = max(1, len(xy) // KEPT_POINTS)
    if every > 1:
        running = np.concatenate((np.zeros((1, 2)), np.cumsum(xy, axis=0)))
        half = every // 2
        lo = np.clip(np.arange(len(xy)) - half, 0, len(xy))
        hi = np.clip(np.arange(len(xy)) + half + 1, 0, len(xy))
        xy = (running[hi] - running[lo]) / (hi - lo)[:, None]
    local = np.arange(len(xy)) - np.repeat(starts, counts)
    keep = local % every == 0
    keep[ends] = True
    keep[starts] = True
    xy = xy[keep]
    # The path includes the pen-up moves between strokes: a continuous path resamples
    # stably, where skipping the jumps would make samples near a pen lift flip between
    # the end of one stroke and the start of the next.
    step = np.hypot(*np.diff(xy, axis=0).T)
    along = np.concatenate(([0.0], np.cumsum(step)))
    total = along[-1]
    if total <= 0:
        return header + bytes(2 * FINGERPRINT_POINTS)
    targets = (np.arange(FINGERPRINT_POINTS) + 0.5) * (total / FINGERPRINT_POINTS)
    path = np.column_stack((np.interp(targets, along, xy[:, 0]), np.interp(targets, along, xy[:, 1])))
    path -= path.mean(axis=0)
    extent = float(np.abs(path).max())
    if extent <= 0:
        return header + bytes(2 * FINGERPRINT_POINTS)
    # the farthest coordinate maps to +-127: the finest steps int8 allows
    quantised = np.rint(path * (127.0 / extent)).astype(np.int8)
    return header + quantised.tobytes()


def _unit_rms(raw: np.ndarray) -> np.ndarray:
    """Dequantised points (rows of flattened x, y) scaled to unit RMS radius."""
    values = raw.astype(np.float64)
    norms = np.sqrt((values * values).sum(axis=-1, keepdims=True) / FINGERPRINT_POINTS)
    return np.divide(values, norms, out=np.zeros_like(values), where=norms > 0)


def _vector(fp: bytes) -> np.ndarray:
    return _unit_rms(np.frombuffer(fp, dtype=np.int8, offset=_HEADER))


def _vectors(fps: list) -> np.ndarray:
    raw = np.frombuffer(b"".join(fps), dtype=np.int8).reshape(len(fps), -1)
    return _unit_rms(raw[:, _HEADER:])


def band_keys(fp: bytes) -> list[int]:
    """One non-negative key per band, each fitting a signed 64-bit BIGINT."""
    vector = _vector(fp)
    if not vector.any():
        return []   # no ink: nothing to replay
    buckets = np.floor((_PROJECTIONS @ vector + _OFFSETS) / BUCKET_WIDTH).astype(np.int64)
    mixed = (buckets.reshape(BANDS, PROJECTIONS_PER_BAND).astype(np.uint64) * _MIXERS).sum(axis=1, dtype=np.uint64)
    keys = ((mixed ^ _BAND_SALT) >> np.uint64(1)).astype(np.int64)
    return keys.tolist()


def replay_distance(fp_a: bytes, fp_b: bytes) -> float:
    """RMS distance between corresponding fingerprint points, in RMS radii."""
    diff = _vector(fp_a) - _vector(fp_b)
    return float(np.sqrt((diff * diff).sum() / FINGERPRINT_POINTS))


def is_replay(fp_a: bytes, fp_b: bytes) -> bool:
    """True when two fingerprints are the same strokes (up to shift, scale and timing)."""
    if len(fp_a) != len(fp_b) or fp_a[0] != fp_b[0]:
        return False
    a, b = _vector(fp_a), _vector(fp_b)
    if not a.any() or not b.any():
        return False
    diff = a - b
    return float((diff * diff).sum()) < REPLAY_MAX_DISTANCE ** 2 * FINGERPRINT_POINTS


class ReplayIndex:
    """In-memory (band key -> stored keys) index, the same scheme a database uses."""

    def __init__(self):
        self._buckets: dict[int, list] = {}
        self._fingerprints: dict = {}

    def __len__(self) -> int:
        return len(self._fingerprints)

    def add(self, key, fp: bytes) -> None:
        self._fingerprints[key] = fp
        for band_key in band_keys(fp):
            self._buckets.setdefault(band_key, []).append(key)

    def candidates(self, fp: bytes) -> set:
        found: set = set()
        for band_key in band_keys(fp):
            found.update(self._buckets.get(band_key, ()))
        return found

    def find(self, fp: bytes) -> list:
        """Keys of stored signatures that `fp` replays."""
        candidates = list(self.candidates(fp))
        if not candidates or not _vector(fp).any():
            return []
        stored = _vectors([self._fingerprints[key] for key in candidates])
        diff = stored - _vector(fp)
        close = (diff * diff).sum(axis=1) < REPLAY_MAX_DISTANCE ** 2 * FINGERPRINT_POINTS
        return [key for key, hit in zip(candidates, close) if hit]
