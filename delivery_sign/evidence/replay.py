"""Replayed signatures: a compact fingerprint of the pen path and a locality-sensitive index.

A real person never signs twice identically, so a signature whose normalised pen path is
near-identical to an earlier one of the tenant is a replay (`replayed_signature`), also
when it was shifted, scaled, re-timed, or re-sampled as a phone with another touch rate
would report it (every other point dropped, midpoints added, 60/120/240 Hz with clock
jitter, frames lost).

Fingerprint version 2 (issue 21) follows the pen through time, not along the ink: the
path is x(t), y(t), linear between the reported points and along the pen-up jump between
strokes, over the signature's own duration scaled to 0..1. Its 31 points are the means
of that path over 31 equal stretches of time, centred, scaled and quantised to bytes.
Every re-sampling keeps x(t) (the points of a re-sampled replay lie on the original's
path at the times they were taken), re-timing by a constant factor keeps the stretches,
shift and scale are normalised away, and the stretch means average out jitter and the
corners a sparser device cuts. Arc length, which version 1 used, is not kept: a device at
half the rate cuts 1-35 % off a stroke's length on the corpus, and the error adds up
along the path. Timestamps are parsed integers, so a signature whose times do not
increase (refused anyway, `signature_timing_invalid`) falls back to the point order.

Corpus (bench/bench_strokes.py): replays of every class at most 0.033 apart, distinct
signatures of one person at least 0.057 (version 1: 0.40 vs 0.042 once re-sampled).

Known limit: a replay whose pen-up pauses are changed while the strokes are kept moves
the time axis: with every pause x0.7-1.4 at random, 11 of 120 corpus replays are caught
(version 1, by shape alone: all). Counting pen-down time only catches all of them, but
the pauses are much of what separates one person's signatures: without them replays
reach 0.049 and one person's signatures come down to 0.041 (bench model, 9,900 pairs; 8
under a 0.056 limit). Catching both would take a second, shape-only fingerprint.

Lookup cost does not grow with the number stored: `band_keys` hashes the fingerprint
with p-stable (Gaussian) random projections grouped into bands (E2LSH); a replay shares
at least one band key with its original with near certainty, an unrelated signature
almost never. The database keeps (tenant, band key) rows; candidates found through them
are confirmed with `is_replay`. `ReplayIndex` is the same scheme in memory.

Version 1 (`legacy_fingerprint`) stays until the stored fingerprints are re-indexed
(receipts/fingerprint_reindex.py): a fingerprint carries its version in its first byte,
`band_keys` and `is_replay` use that version's constants, and fingerprints of different
versions never match. Changing any constant changes every stored key: add a version.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .strokes import Signature

FINGERPRINT_VERSION = 2
LEGACY_VERSIONS = (1,)   # still matched and hashed, no longer written
# Points of the fingerprint: 31 points x 2 bytes + 2 header bytes = 64 bytes (both versions).
# Coarse on purpose: identity of the pen path, not a drawing.
FINGERPRINT_POINTS = 31
_HEADER = 2
# Version 2: replay when the RMS distance between corresponding points (in RMS radii) is
# below this. Corpus: replays of every class (shift, scale, re-time, 0.5 px jitter,
# re-sampled at half/double density and 60/120/240 Hz, 5-15 % of the points dropped) reach
# 0.033 (held-out set 0.015); distinct signatures of one person start at 0.057 (p1 0.080).
# 0.042 is nearer the replays' side, because accusing a real signer is worse.
REPLAY_MAX_DISTANCE = 0.042
# Version 1 (shape along the ink): replays 0.021, one person's signatures from 0.026.
LEGACY_REPLAY_MAX_DISTANCE = 0.024
# Version 1: arc length is measured on about this many box-smoothed points.
KEPT_POINTS = 40
# E2LSH: BANDS bands of PROJECTIONS_PER_BAND hashes floor((a.v + b) / width) over the
# 62-dimensional unit-RMS fingerprint vector, width 1.0 in both versions. Version 2: a
# replay at the limit lies within vector distance 0.23 of its original (0.042 x sqrt(31)),
# so each hash agrees with p >= 0.81, a band with p >= 0.29, and all 16 bands miss with
# p < 0.005; at the corpus' largest replay distance (0.033) p < 5e-4, at its p99 (0.020)
# p < 2e-6. Unrelated signatures (distance 4-8) almost never share a band; a person's
# other signatures sometimes do, so candidates are mostly the signer's own (bench at
# 20,000 stored: p50 4, p95 42; a width of 1.5 made that 36 and 286 and doubled the
# database lookup's CPU).
BANDS = 16
PROJECTIONS_PER_BAND = 6


@dataclass(frozen=True)
class _Scheme:
    """One fingerprint version's match limit and hash family (fixed forever per version)."""

    max_distance: float
    projections: np.ndarray
    offsets: np.ndarray
    width: float
    mixers: np.ndarray   # odd 64-bit multipliers that mix a band's bucket numbers into one key
    salt: np.ndarray


def _scheme(seed: int, width: float, max_distance: float) -> _Scheme:
    rng = np.random.default_rng(seed)
    projections = rng.standard_normal((BANDS * PROJECTIONS_PER_BAND, 2 * FINGERPRINT_POINTS))
    offsets = rng.uniform(0.0, width, BANDS * PROJECTIONS_PER_BAND)
    mixers = rng.integers(1, 2**62, (BANDS, PROJECTIONS_PER_BAND), dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    salt = rng.integers(1, 2**62, BANDS, dtype=np.uint64)
    return _Scheme(max_distance, projections, offsets, width, mixers, salt)


_SCHEMES = {
    1: _scheme(0x5EED_0001, 1.0, LEGACY_REPLAY_MAX_DISTANCE),
    2: _scheme(0x5EED_0002, 1.0, REPLAY_MAX_DISTANCE),
}


def _empty(version: int, stroke_count: int) -> bytes:
    return bytes([version, min(stroke_count, 255)]) + bytes(2 * FINGERPRINT_POINTS)


def _quantised(header: bytes, path: np.ndarray) -> bytes:
    if not np.isfinite(path).all():
        return header + bytes(2 * FINGERPRINT_POINTS)
    path = path - path.mean(axis=0)
    extent = float(np.abs(path).max())
    if not extent > 0:
        return header + bytes(2 * FINGERPRINT_POINTS)
    # the farthest coordinate maps to +-127: the finest steps int8 allows
    return header + np.rint(path * (127.0 / extent)).astype(np.int8).tobytes()


def fingerprint(sig: Signature) -> bytes:
    """64 bytes: version 2, stroke count, 31 normalised (x, y) means of the pen path over
    equal stretches of the signature's time."""
    strokes = [s for s in sig.strokes if len(s)]
    header = bytes([FINGERPRINT_VERSION, min(len(strokes), 255)])
    if not strokes:
        return _empty(FINGERPRINT_VERSION, 0)
    points = np.concatenate(strokes) if len(strokes) > 1 else strokes[0]
    if len(points) < 2:
        return _empty(FINGERPRINT_VERSION, len(strokes))
    xy, t = points[:, :2], points[:, 2]
    # The time axis. Equal stamps (a 1 ms clock) keep their order by a billionth of the
    # duration per point (well above float rounding at any duration, and re-timing scales
    # it with the rest); times that are missing or go backwards fall back to the order.
    order = np.arange(len(t), dtype=np.float64)
    steps = np.diff(t)
    span = float(t[-1] - t[0])
    if np.isfinite(t).all() and (steps >= 0).all() and span > 0:
        u = (t - t[0]) + order * (span * 1e-9)
    else:
        u = order
    du = np.diff(u)
    # Mean of the piecewise-linear path over each stretch [e_i, e_i+1]: the exact
    # integral from the running trapezoid sums, interpolated inside a segment.
    running = np.concatenate((np.zeros((1, 2)), np.cumsum((xy[1:] + xy[:-1]) * (0.5 * du)[:, None], axis=0)))
    edges = np.linspace(u[0], u[-1], FINGERPRINT_POINTS + 1)
    segment = np.clip(np.searchsorted(u, edges, side="right") - 1, 0, len(u) - 2)
    into = edges - u[segment]
    rise = xy[segment + 1] - xy[segment]
    slope = np.divide(rise, du[segment][:, None], out=np.zeros_like(rise), where=du[segment][:, None] > 0)
    integral = running[segment] + xy[segment] * into[:, None] + 0.5 * slope * (into * into)[:, None]
    path = np.diff(integral, axis=0) / np.diff(edges)[:, None]
    return _quantised(header, path)


def legacy_fingerprint(sig: Signature) -> bytes:
    """Version 1 (shape along the ink): only to look up receipts not yet re-indexed."""
    strokes = [s for s in sig.strokes if len(s)]
    header = bytes([1, min(len(strokes), 255)])
    if not strokes:
        return header + bytes(2 * FINGERPRINT_POINTS)
    xy = np.concatenate(strokes)[:, :2] if len(strokes) > 1 else strokes[0][:, :2]
    counts = np.fromiter((len(s) for s in strokes), dtype=np.intp, count=len(strokes))
    starts = np.concatenate(([0], np.cumsum(counts[:-1])))
    ends = starts + counts - 1
    # Arc length on a box-smoothed path, every k-th point kept so that about KEPT_POINTS
    # remain: jitter then barely lengthens the path.
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
    step = np.hypot(*np.diff(xy, axis=0).T)
    along = np.concatenate(([0.0], np.cumsum(step)))
    total = along[-1]
    if total <= 0:
        return header + bytes(2 * FINGERPRINT_POINTS)
    targets = (np.arange(FINGERPRINT_POINTS) + 0.5) * (total / FINGERPRINT_POINTS)
    path = np.column_stack((np.interp(targets, along, xy[:, 0]), np.interp(targets, along, xy[:, 1])))
    return _quantised(header, path)


def version_of(fp: bytes) -> int:
    return fp[0] if fp else 0


def _unit_rms(raw: np.ndarray) -> np.ndarray:
    """Dequantised points (rows of flattened x, y) scaled to unit RMS radius."""
    values = raw.astype(np.float64)
    norms = np.sqrt((values * values).sum(axis=-1, keepdims=True) / FINGERPRINT_POINTS)
    return np.divide(values, norms, out=np.zeros_like(values), where=norms > 0)


def _known(fp: bytes) -> bool:
    return len(fp) == _HEADER + 2 * FINGERPRINT_POINTS and fp[0] in _SCHEMES


def _vector(fp: bytes) -> np.ndarray:
    return _unit_rms(np.frombuffer(fp, dtype=np.int8, offset=_HEADER))


def _vectors(fps: list) -> np.ndarray:
    raw = np.frombuffer(b"".join(fps), dtype=np.int8).reshape(len(fps), -1)
    return _unit_rms(raw[:, _HEADER:])


def band_keys(fp: bytes) -> list[int]:
    """One non-negative key per band, each fitting a signed 64-bit BIGINT (the hash family
    of the fingerprint's version; an unknown version or no ink gives no keys)."""
    if not _known(fp):
        return []
    vector = _vector(fp)
    if not vector.any():
        return []   # no ink: nothing to replay
    scheme = _SCHEMES[fp[0]]
    buckets = np.floor((scheme.projections @ vector + scheme.offsets) / scheme.width).astype(np.int64)
    mixed = (buckets.reshape(BANDS, PROJECTIONS_PER_BAND).astype(np.uint64) * scheme.mixers).sum(axis=1, dtype=np.uint64)
    keys = ((mixed ^ scheme.salt) >> np.uint64(1)).astype(np.int64)
    return keys.tolist()


def replay_distance(fp_a: bytes, fp_b: bytes) -> float:
    """RMS distance between corresponding fingerprint points, in RMS radii."""
    diff = _vector(fp_a) - _vector(fp_b)
    return float(np.sqrt((diff * diff).sum() / FINGERPRINT_POINTS))


def is_replay(fp_a: bytes, fp_b: bytes) -> bool:
    """True when two fingerprints of one version are the same pen path (up to shift,
    scale, timing and re-sampling)."""
    if not _known(fp_a) or len(fp_a) != len(fp_b) or fp_a[0] != fp_b[0]:
        return False
    a, b = _vector(fp_a), _vector(fp_b)
    if not a.any() or not b.any():
        return False
    diff = a - b
    return float((diff * diff).sum()) < _SCHEMES[fp_a[0]].max_distance ** 2 * FINGERPRINT_POINTS


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
        candidates = [key for key in self.candidates(fp) if self._fingerprints[key][0] == fp[0]]
        if not candidates or not _known(fp) or not _vector(fp).any():
            return []
        stored = _vectors([self._fingerprints[key] for key in candidates])
        diff = stored - _vector(fp)
        limit = _SCHEMES[fp[0]].max_distance ** 2 * FINGERPRINT_POINTS
        close = (diff * diff).sum(axis=1) < limit
        return [key for key, hit in zip(candidates, close) if hit]
