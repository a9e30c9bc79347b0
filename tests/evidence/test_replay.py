"""Replayed signatures: the same strokes again are found, a person's new signature is not."""
import collections
import itertools

import numpy as np
import pytest

from delivery_sign.evidence.replay import BANDS, ReplayIndex, band_keys, fingerprint, is_replay
from delivery_sign.evidence.strokes import Signature, parse_signature


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
    assert len(pairs) >= 300
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
    found = sum(item["original"] in index.find(fingerprint(signature_of(item))) for item in replayed_signatures)
    assert found >= 0.99 * len(replayed_signatures)
    for item in genuine_signatures:
        assert index.find(fingerprint(signature_of(item))) == [item["id"]]
