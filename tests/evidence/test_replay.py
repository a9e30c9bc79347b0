"""Replayed signatures: the same strokes again are found, also re-sampled as another
device would report them; a person's new signature is not."""
import collections
import itertools

import numpy as np
import pytest

from delivery_sign.evidence.replay import (BANDS, FINGERPRINT_VERSION, ReplayIndex, band_keys, fingerprint,
                                           is_replay, legacy_fingerprint, replay_distance)
from delivery_sign.evidence.strokes import Signature, parse_signature

RESAMPLED_KINDS = ("half_density", "double_density", "rate_60hz", "rate_120hz", "rate_240hz",
                   "points_dropped", "resampled_combined")


def signature_of(item):
    return parse_signature({"strokes": item["strokes"], "canvas": item["canvas"]})


def transformed(sig, scale=1.0, shift=(0.0, 0.0), time_factor=1.0, time_shift=0.0, jitter=0.0, seed=0):
    rng = np.random.default_rng(seed)
    strokes = []
    for stroke in sig.strokes:
        s = stroke.copy()
        s[:, :2] = s[:, :2] * scale + shift + rng.normal(0, jitter, (len(s), 2)) * (jitter > 0)
        s[:, 2] = s[:, 2] * time_factor + time_shift
        strokes.append(s)
    return Signature(tuple(strokes), sig.width * scale, sig.height * scale, sig.dpr)


@pytest.fixture(scope="module")
def original(chinese_signature):
    return signature_of(chinese_signature)


def test_fingerprint_is_compact_and_deterministic(original):
    fp = fingerprint(original)
    assert isinstance(fp, bytes) and len(fp) <= 64
    assert fingerprint(original) == fp


@pytest.mark.parametrize("change", [
    dict(shift=(37.0, -12.5)),
    dict(scale=1.7),
    dict(scale=0.55, shift=(5.0, 9.0)),
    dict(time_factor=1.4, time_shift=1.795e12),
    dict(jitter=0.5, seed=3),
    dict(scale=1.3, shift=(-20.0, 4.0), time_factor=0.7, time_shift=5e8, jitter=0.5, seed=4),
])
def test_replays_are_recognised_after_shift_scale_retiming_and_jitter(original, change):
    copy = transformed(original, **change)
    assert is_replay(fingerprint(original), fingerprint(copy))
    assert set(band_keys(fingerprint(original))) & set(band_keys(fingerprint(copy)))


def test_retiming_and_moving_without_jitter_gives_the_same_fingerprint(original):
    assert fingerprint(transformed(original, shift=(10.0, 10.0), time_factor=2.0, time_shift=99.0)) == \
        fingerprint(original)


def test_band_keys_fit_a_signed_bigint(original):
    keys = band_keys(fingerprint(original))
    assert len(keys) == BANDS
    assert all(isinstance(k, int) and 0 <= k < 2**63 for k in keys)
    assert band_keys(fingerprint(original)) == keys


def test_the_same_persons_other_signatures_are_not_replays(genuine_signatures):
    people = collections.defaultdict(list)
    for item in genuine_signatures:
        people[item["person"]].append(fingerprint(signature_of(item)))
    pairs = [pair for fps in people.values() for pair in itertools.combinations(fps, 2)]
    assert len(pairs) == 360
    assert not any(is_replay(a, b) for a, b in pairs)



def test_empty_and_dot_signatures_replay_nothing():
    empty = Signature((), 300.0, 150.0, 2.0)
    dot = Signature((np.array([[10.0, 10.0, 0.0, 0.5]]),), 300.0, 150.0, 2.0)
    index = ReplayIndex()
    index.add("empty", fingerprint(empty))
    index.add("dot", fingerprint(dot))
    assert band_keys(fingerprint(empty)) == [] and not is_replay(fingerprint(dot), fingerprint(dot))
    assert index.find(fingerprint(dot)) == []


def test_index_finds_every_replay_of_the_corpus_and_nothing_else(genuine_signatures, replayed_signatures):
    index = ReplayIndex()
    for item in genuine_signatures:
        index.add(item["id"], fingerprint(signature_of(item)))
    assert len(index) == len(genuine_signatures)
    missed = collections.Counter(item["kind"] for item in replayed_signatures
                                 if item["original"] not in index.find(fingerprint(signature_of(item))))
    kinds = collections.Counter(item["kind"] for item in replayed_signatures)
    assert set(kinds) >= set(RESAMPLED_KINDS) | {"exact", "translated", "scaled", "retimed", "jittered", "combined"}
    # issue 21's targets: re-sampled >= 95 %, shifted/scaled/re-timed all (the corpus: all)
    for kind, count in kinds.items():
        assert missed[kind] <= (0.05 * count if kind in RESAMPLED_KINDS else 0), (kind, missed[kind], count)
    for item in genuine_signatures:
        assert index.find(fingerprint(signature_of(item))) == [item["id"]]


def test_the_held_out_replays_are_found(genuine_signatures, held_out_replays):
    index = ReplayIndex()
    for item in genuine_signatures:
        index.add(item["id"], fingerprint(signature_of(item)))
    kinds = collections.Counter(item["kind"] for item in held_out_replays)
    assert len(kinds) == 13 and min(kinds.values()) == 10
    missed = [(item["kind"], item["original"]) for item in held_out_replays
              if item["original"] not in index.find(fingerprint(signature_of(item)))]
    assert missed == []


# --- re-sampling, as another device would report the same pen path ----------------------

def resampled(sig, how, seed=0):
    rng = np.random.default_rng(seed)
    strokes = []
    for stroke in sig.strokes:
        if how == "half":
            keep = np.zeros(len(stroke), bool)
            keep[::2] = keep[-1] = True
            s = stroke[keep]
        elif how == "double":
            mid = (stroke[:-1] + stroke[1:]) / 2
            s = np.empty((2 * len(stroke) - 1, 4))
            s[0::2], s[1::2] = stroke, mid
        elif how == "drop":
            keep = rng.random(len(stroke)) > 0.1
            keep[0] = keep[-1] = True
            s = stroke[keep]
        else:   # a clock at `how` Hz with 1 ms jitter and integer-ms stamps
            t = stroke[:, 2] + np.arange(len(stroke)) * 1e-6
            times = t[0] + np.arange(1, int((t[-1] - t[0]) * how / 1000) + 1) * (1000 / how)
            times = np.sort(np.clip(times + rng.normal(0, 1.0, len(times)), t[0], t[-1]))
            times = np.concatenate(([t[0]], times, [t[-1]]))
            s = np.column_stack([np.interp(times, t, stroke[:, 0]), np.interp(times, t, stroke[:, 1]),
                                 np.floor(times), np.full(len(times), 0.5)])
        strokes.append(s)
    return Signature(tuple(strokes), sig.width, sig.height, sig.dpr)


@pytest.mark.parametrize("how", ["half", "double", "drop", 60, 120, 240])
def test_re_sampled_replays_are_recognised(original, how):
    copy = resampled(original, how)
    assert sum(map(len, copy.strokes)) != sum(map(len, original.strokes))
    assert is_replay(fingerprint(original), fingerprint(copy))
    assert set(band_keys(fingerprint(original))) & set(band_keys(fingerprint(copy)))


def test_re_sampled_then_moved_scaled_re_timed_and_jittered(original):
    copy = transformed(resampled(original, 60, seed=5), scale=0.8, shift=(30.0, -4.0), time_factor=1.3,
                       time_shift=7e8, jitter=0.5, seed=6)
    assert is_replay(fingerprint(original), fingerprint(copy))


def test_the_version_1_fingerprint_misses_what_version_2_catches(original):
    """The bug of issue 21: every other point dropped and v1 no longer matched."""
    copy = resampled(original, "half")
    assert not is_replay(legacy_fingerprint(original), legacy_fingerprint(copy))
    assert is_replay(fingerprint(original), fingerprint(copy))


def test_versions_never_match_each_other_and_hash_apart(original):
    new, old = fingerprint(original), legacy_fingerprint(original)
    assert new[0] == FINGERPRINT_VERSION == 2 and old[0] == 1 and len(new) == len(old) == 64
    assert is_replay(old, legacy_fingerprint(transformed(original, shift=(3.0, 3.0))))
    assert not is_replay(new, old) and not is_replay(old, new)
    assert len(band_keys(old)) == BANDS and not set(band_keys(old)) & set(band_keys(new))
    index = ReplayIndex()
    index.add("old", old)
    assert index.find(new) == [] and index.find(old) == ["old"]


def test_unknown_versions_and_truncated_fingerprints_match_nothing(original):
    fp = fingerprint(original)
    for bad in (bytes([9]) + fp[1:], fp[:40], b""):
        assert band_keys(bad) == [] and not is_replay(bad, bad)


def test_times_that_do_not_increase_fall_back_to_the_point_order(original):
    backwards = Signature(tuple(s[::-1].copy() for s in original.strokes[::-1]), original.width,
                          original.height, original.dpr)
    for stroke in backwards.strokes:
        stroke[:, 2] = stroke[::-1, 2]   # the times run backwards along the points
    missing = transformed(original)
    for stroke in missing.strokes:
        stroke[:, 2] = np.nan
    for sig in (backwards, missing):
        fp = fingerprint(sig)
        assert len(fp) == 64 and fingerprint(sig) == fp and len(band_keys(fp)) == BANDS


def test_a_replay_lies_well_inside_the_limit_and_a_rewrite_well_outside(genuine_signatures, original):
    people = collections.defaultdict(list)
    for item in genuine_signatures:
        people[item["person"]].append(fingerprint(signature_of(item)))
    nearest_other = min(replay_distance(a, b) for fps in people.values() for a, b in itertools.combinations(fps, 2))
    assert replay_distance(fingerprint(original), fingerprint(resampled(original, "half"))) < nearest_other / 2


def test_equal_stamps_over_an_enormous_duration_still_give_a_fingerprint():
    """Before: a nanosecond tie-break vanished in float rounding at 1e14 ms, and the
    stretch means divided by zero (NaN bytes in the fingerprint)."""
    n = 200
    points = np.column_stack([np.linspace(10, 300, n), 50 + 30 * np.sin(np.linspace(0, 9, n)),
                              np.where(np.arange(n) < n // 2, 0.0, 9.9e13), np.full(n, 0.5)])
    with np.errstate(all="raise"):
        fp = fingerprint(Signature((points,), 400.0, 200.0, 2.0))
    assert len(fp) == 64 and len(band_keys(fp)) == BANDS
