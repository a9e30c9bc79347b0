"""WGS-84 / GCJ-02 / BD-09 conversion against published vectors of the reference
implementations, round trips, and the outside-China passthrough."""

import random

import numpy as np
import pytest

from delivery_sign.geo.coords import (
    bd09_to_gcj02,
    bd09_to_gcj02_batch,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_bd09_batch,
    gcj02_to_wgs84,
    gcj02_to_wgs84_batch,
    out_of_china,
    to_wgs84,
    to_wgs84_batch,
    wgs84_to_bd09,
    wgs84_to_gcj02,
    wgs84_to_gcj02_batch,
)
from delivery_sign.geo.distance import haversine_m

# googollee/eviltransform, python/test.py and go/transform_test.go (TESTS):
# (wgsLat, wgsLng, gcjLat, gcjLng); its wgs2gcj must match to 6 decimals and its
# gcj2wgs_exact must come back within 0.5 m.
# https://github.com/googollee/eviltransform/blob/master/python/test.py
EVILTRANSFORM_WGS_GCJ = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # beijing
]
# (eviltransform's TESTS_bd pairs are left out on purpose: they were produced by an
# early version whose BD-09 used sin(y * pi) instead of sin(y * x_pi).)

# wandergis/coordtransform README, "示例用法": every function applied to
# (lng 116.404, lat 39.915), results printed as [lng, lat].
# https://github.com/wandergis/coordtransform#示例用法exampleusage
COORDTRANSFORM_INPUT = (39.915, 116.404)
COORDTRANSFORM_BD09_TO_GCJ02 = (39.90865673957631, 116.39762729119315)
COORDTRANSFORM_GCJ02_TO_BD09 = (39.92133699351021, 116.41036949371029)
COORDTRANSFORM_WGS84_TO_GCJ02 = (39.91640428150164, 116.41024449916938)
# coordtransform's gcj02towgs84 is the one-step approximation (gcj - offset(gcj)),
# a few metres from the exact inverse that SPEC §5 asks for.
COORDTRANSFORM_GCJ02_TO_WGS84_APPROX = (39.91359571849836, 116.39775550083061)

CHINA_CITIES = [  # WGS-84, from north-east to south-west
    (45.8038, 126.5350),  # Harbin
    (39.9042, 116.4074),  # Beijing
    (31.2304, 121.4737),  # Shanghai
    (30.5728, 104.0668),  # Chengdu
    (43.8256, 87.6168),  # Urumqi
    (29.6520, 91.1721),  # Lhasa
    (22.5431, 114.0579),  # Shenzhen
    (18.2528, 109.5119),  # Sanya
]


@pytest.mark.parametrize("wgs_lat, wgs_lng, gcj_lat, gcj_lng", EVILTRANSFORM_WGS_GCJ)
def test_wgs84_to_gcj02_matches_eviltransform(wgs_lat, wgs_lng, gcj_lat, gcj_lng):
    assert wgs84_to_gcj02(wgs_lat, wgs_lng) == pytest.approx((gcj_lat, gcj_lng), abs=1e-9)


@pytest.mark.parametrize("wgs_lat, wgs_lng, gcj_lat, gcj_lng", EVILTRANSFORM_WGS_GCJ)
def test_gcj02_to_wgs84_is_within_half_a_metre_of_eviltransform(wgs_lat, wgs_lng, gcj_lat, gcj_lng):
    assert haversine_m(*gcj02_to_wgs84(gcj_lat, gcj_lng), wgs_lat, wgs_lng) < 0.5


def test_bd09_and_gcj02_match_coordtransform():
    assert bd09_to_gcj02(*COORDTRANSFORM_INPUT) == pytest.approx(COORDTRANSFORM_BD09_TO_GCJ02, abs=1e-12)
    assert gcj02_to_bd09(*COORDTRANSFORM_INPUT) == pytest.approx(COORDTRANSFORM_GCJ02_TO_BD09, abs=1e-12)
    assert wgs84_to_gcj02(*COORDTRANSFORM_INPUT) == pytest.approx(COORDTRANSFORM_WGS84_TO_GCJ02, abs=1e-12)


def test_gcj02_to_wgs84_is_exact_where_coordtransform_approximates():
    exact = gcj02_to_wgs84(*COORDTRANSFORM_INPUT)
    assert haversine_m(*exact, *COORDTRANSFORM_GCJ02_TO_WGS84_APPROX) < 5
    assert haversine_m(*wgs84_to_gcj02(*exact), *COORDTRANSFORM_INPUT) < 0.01


def test_the_offset_is_hundreds_of_metres_inside_china():
    for lat, lng in CHINA_CITIES:
        assert 50 < haversine_m(lat, lng, *wgs84_to_gcj02(lat, lng)) < 1000
        assert 500 < haversine_m(lat, lng, *wgs84_to_bd09(lat, lng)) < 2000


def test_round_trips_come_back_within_half_a_metre_all_over_china():
    rng = random.Random(9)
    points = CHINA_CITIES + [(rng.uniform(18, 53), rng.uniform(74, 134)) for _ in range(2000)]
    for lat, lng in points:
        assert haversine_m(*gcj02_to_wgs84(*wgs84_to_gcj02(lat, lng)), lat, lng) < 0.5
        assert haversine_m(*bd09_to_wgs84(*wgs84_to_bd09(lat, lng)), lat, lng) < 0.5
        assert haversine_m(*bd09_to_gcj02(*gcj02_to_bd09(lat, lng)), lat, lng) < 0.5


@pytest.mark.parametrize(
    "lat, lng",
    [(51.5007, -0.1246), (40.6892, -74.0445), (35.6586, 139.7454), (-33.8568, 151.2153), (0.0, 0.0)],
    ids=["london", "new york", "tokyo", "sydney", "null island"],
)
def test_points_outside_china_pass_through_unchanged(lat, lng):
    assert out_of_china(lat, lng)
    for convert in (wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, wgs84_to_bd09, bd09_to_wgs84):
        assert convert(lat, lng) == (lat, lng)
    for system in ("wgs84", "gcj02", "bd09"):
        assert to_wgs84(lat, lng, system) == (lat, lng)


def test_the_china_rectangle_is_the_reference_libraries_coarse_one():
    # Same bounds as eviltransform/coordtransform, so a point means the same thing in
    # every app that uses them; it also covers Seoul and Singapore, where no phone
    # reports GCJ-02, so treat "gcj02" from there as a client bug, not as a datum.
    assert not out_of_china(37.5665, 126.9780)  # Seoul
    assert not out_of_china(1.2834, 103.8607)  # Singapore
    assert out_of_china(55.9, 100.0) and out_of_china(0.8, 100.0)
    assert out_of_china(30.0, 71.9) and out_of_china(30.0, 137.9)


def test_to_wgs84_picks_the_conversion_by_system():
    lat, lng = CHINA_CITIES[2]
    assert to_wgs84(lat, lng, "wgs84") == (lat, lng)
    assert to_wgs84(*wgs84_to_gcj02(lat, lng), "gcj02") == pytest.approx((lat, lng), abs=1e-7)
    assert haversine_m(*to_wgs84(*wgs84_to_bd09(lat, lng), "bd09"), lat, lng) < 0.5


@pytest.mark.parametrize("system", ["WGS84", "gcj-02", "bd09ll", "", None])
def test_to_wgs84_refuses_unknown_systems(system):
    with pytest.raises(ValueError):
        to_wgs84(31.2, 121.4, system)


def test_batches_agree_with_the_scalar_functions():
    rng = np.random.default_rng(4)
    lat = np.concatenate([rng.uniform(18, 53, 500), [51.5, -33.9]])  # two outside China
    lng = np.concatenate([rng.uniform(74, 134, 500), [-0.12, 151.2]])
    pairs = [
        (wgs84_to_gcj02_batch, wgs84_to_gcj02),
        (gcj02_to_wgs84_batch, gcj02_to_wgs84),
        (gcj02_to_bd09_batch, gcj02_to_bd09),
        (bd09_to_gcj02_batch, bd09_to_gcj02),
    ]
    for batch, scalar in pairs:
        got_lat, got_lng = batch(lat, lng)
        want = np.array([scalar(a, b) for a, b in zip(lat.tolist(), lng.tolist())])
        np.testing.assert_allclose(got_lat, want[:, 0], rtol=0, atol=1e-8)  # 1 mm: the inverse stops per point
        np.testing.assert_allclose(got_lng, want[:, 1], rtol=0, atol=1e-8)
    for system in ("wgs84", "gcj02", "bd09"):
        got_lat, got_lng = to_wgs84_batch(lat, lng, system)
        want = np.array([to_wgs84(a, b, system) for a, b in zip(lat.tolist(), lng.tolist())])
        np.testing.assert_allclose(np.stack([got_lat, got_lng], axis=1), want, rtol=0, atol=1e-8)
    with pytest.raises(ValueError):
        to_wgs84_batch(lat, lng, "mars")
