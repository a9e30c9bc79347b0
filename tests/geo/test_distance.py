"""Haversine distance and the location findings of a sign-off."""

import json
import math

import numpy as np
import pytest

from delivery_sign.geo.coords import wgs84_to_bd09, wgs84_to_gcj02
from delivery_sign.geo.distance import (
    COURIER_FAR_M,
    EARTH_RADIUS_M,
    GEOFENCE_DEFAULT_M,
    LOW_ACCURACY_M,
    haversine_m,
    haversine_m_batch,
    location_findings,
)

# A consignee in Shanghai, and points due north of it at a given distance.
HOME = (31.2304, 121.4737)
METRES_PER_DEGREE_LAT = math.pi * EARTH_RADIUS_M / 180


def north_of_home(metres: float) -> tuple[float, float]:
    return HOME[0] + metres / METRES_PER_DEGREE_LAT, HOME[1]


def at(point, coord_system="wgs84", accuracy=None) -> dict:
    location = {"lat": point[0], "lng": point[1], "coord_system": coord_system}
    if accuracy is not None:
        location["accuracy"] = accuracy
    return location


CONSIGNEE = at(HOME)


def test_haversine_matches_the_rosetta_code_vector():
    # Rosetta Code, "Haversine formula": Nashville BNA (36.12, -86.67) to Los Angeles
    # LAX (33.94, -118.40) is 2886.444442837983 km with R = 6372.8 km.
    # https://rosettacode.org/wiki/Haversine_formula
    distance = haversine_m(36.12, -86.67, 33.94, -118.40)
    assert distance * 6372.8e3 / EARTH_RADIUS_M == pytest.approx(2887259.9506071106, abs=1e-3)


def test_haversine_basics():
    assert haversine_m(*HOME, *HOME) == 0
    assert haversine_m(*HOME, *north_of_home(300)) == pytest.approx(300, abs=1e-6)
    assert haversine_m(0, 0, 0, 180) == pytest.approx(math.pi * EARTH_RADIUS_M)
    assert haversine_m(10, 20, 30, 40) == pytest.approx(haversine_m(30, 40, 10, 20))


def test_haversine_batch_agrees_with_the_scalar_function():
    rng = np.random.default_rng(2)
    points = rng.uniform([-90, -180, -90, -180], [90, 180, 90, 180], size=(1000, 4))
    got = haversine_m_batch(*points.T)
    want = [haversine_m(*row) for row in points.tolist()]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-6)


def test_a_signer_at_the_door_raises_nothing():
    findings = location_findings(at(north_of_home(20), accuracy=15), CONSIGNEE, at(north_of_home(40)), 300)
    assert findings["anomalies"] == []
    assert findings["distance_to_consignee_m"] == pytest.approx(20, abs=0.1)
    assert findings["distance_to_courier_m"] == pytest.approx(20, abs=0.1)
    assert findings["signer_wgs84"] == pytest.approx({"lat": north_of_home(20)[0], "lng": HOME[1]}, abs=1e-7)
    json.dumps(findings)


def test_no_signer_location_is_no_location():
    findings = location_findings(None, CONSIGNEE, at(HOME), GEOFENCE_DEFAULT_M)
    assert findings == {
        "signer_wgs84": None,
        "distance_to_consignee_m": None,
        "distance_to_courier_m": None,
        "anomalies": ["no_location"],
    }


def test_outside_geofence_when_distance_minus_accuracy_exceeds_the_radius():
    far = at(north_of_home(450), accuracy=100)  # 450 - 100 = 350 > 300
    assert location_findings(far, CONSIGNEE, None, 300)["anomalies"] == ["outside_geofence"]
    near_enough = at(north_of_home(450), accuracy=200)  # 450 - 200 = 250
    assert location_findings(near_enough, CONSIGNEE, None, 300)["anomalies"] == []
    no_accuracy = at(north_of_home(301))
    assert location_findings(no_accuracy, CONSIGNEE, None, 300)["anomalies"] == ["outside_geofence"]
    assert location_findings(at(north_of_home(299)), CONSIGNEE, None, 300)["anomalies"] == []


def test_the_geofence_radius_is_the_policy_s():
    signer = at(north_of_home(800))
    assert location_findings(signer, CONSIGNEE, None, 1000)["anomalies"] == []
    assert location_findings(signer, CONSIGNEE, None, 500)["anomalies"] == ["outside_geofence"]
    assert location_findings(signer, CONSIGNEE, None, None)["anomalies"] == ["outside_geofence"]  # default 300


def test_low_accuracy_above_500_m():
    assert location_findings(at(HOME, accuracy=LOW_ACCURACY_M), CONSIGNEE, None, 300)["anomalies"] == []
    coarse = location_findings(at(HOME, accuracy=LOW_ACCURACY_M + 1), CONSIGNEE, None, 300)
    assert coarse["anomalies"] == ["low_location_accuracy"]


def test_courier_far_from_signer_above_1_km():
    courier = at(north_of_home(COURIER_FAR_M + 50))
    findings = location_findings(at(HOME), CONSIGNEE, courier, 300)
    assert findings["anomalies"] == ["courier_far_from_signer"]
    assert findings["distance_to_courier_m"] == pytest.approx(1050, abs=0.1)
    near = at(north_of_home(COURIER_FAR_M - 50))
    assert location_findings(at(HOME), CONSIGNEE, near, 300)["anomalies"] == []


def test_without_consignee_or_courier_location_those_findings_are_skipped():
    findings = location_findings(at(HOME, accuracy=900), None, None, 300)
    assert findings["distance_to_consignee_m"] is None
    assert findings["distance_to_courier_m"] is None
    assert findings["anomalies"] == ["low_location_accuracy"]


def test_every_finding_at_once_in_a_fixed_order():
    findings = location_findings(at(north_of_home(5000), accuracy=800), CONSIGNEE, at(HOME), 300)
    assert findings["anomalies"] == ["outside_geofence", "low_location_accuracy", "courier_far_from_signer"]


def test_locations_in_gcj02_and_bd09_are_normalised_first():
    """A WeChat (GCJ-02) signer and a Baidu-geocoded (BD-09) consignee at the same
    door are at the same place, though their raw numbers are 500-1000 m apart."""
    door = north_of_home(10)
    signer = at(wgs84_to_gcj02(*door), "gcj02", accuracy=10)
    consignee = at(wgs84_to_bd09(*HOME), "bd09")
    findings = location_findings(signer, consignee, at(HOME), 300)
    assert findings["distance_to_consignee_m"] == pytest.approx(10, abs=0.5)
    assert findings["anomalies"] == []
    assert findings["signer_wgs84"] == pytest.approx({"lat": door[0], "lng": door[1]}, abs=1e-6)


@pytest.mark.parametrize(
    "signer",
    [
        {"lat": "31.2", "lng": 121.4, "coord_system": "wgs84"},
        {"lat": float("nan"), "lng": 121.4, "coord_system": "wgs84"},
        {"lat": 91.0, "lng": 121.4, "coord_system": "wgs84"},
        {"lat": 31.2, "lng": 181.0, "coord_system": "wgs84"},
        {"lat": 31.2, "lng": 121.4, "coord_system": "mars"},
        {"lat": 31.2, "lng": 121.4, "coord_system": "wgs84", "accuracy": -5},
        {"lat": True, "lng": 121.4, "coord_system": "wgs84"},
        {"lng": 121.4, "coord_system": "wgs84"},
        [31.2, 121.4],
    ],
)
def test_malformed_locations_are_refused(signer):
    with pytest.raises(ValueError):
        location_findings(signer, CONSIGNEE, None, 300)
