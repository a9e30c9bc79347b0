"""Distances on the earth and the location findings of a sign-off.

``location_findings`` turns the signer's, the consignee's and the courier's reported
positions (each in whatever system the client used) into the WGS-84 signer position,
the two distances, and the SPEC §5 anomalies ``no_location``, ``outside_geofence``,
``low_location_accuracy`` and ``courier_far_from_signer``.
"""

from __future__ import annotations

import math

import numpy as np

from delivery_sign.geo.coords import COORD_SYSTEMS, to_wgs84

# Mean earth radius (IUGG R1), metres: the usual haversine choice; its error against
# the ellipsoid is under 0.5 %, i.e. under 1.5 m at the default geofence radius.
EARTH_RADIUS_M = 6_371_008.8

# Default policy radius around the consignee's address. A geocoded Chinese address
# points at the compound (小区) gate or the building's centroid; the far buildings of
# a large compound are 200-300 m away, so a smaller radius flags honest deliveries.
GEOFENCE_DEFAULT_M = 300
# Browser/WeChat positions worse than this come from cell towers or IP, not GPS or
# Wi-Fi (those report 5-100 m); SPEC §5 sets it at 500 m.
LOW_ACCURACY_M = 500
# The courier's position when the QR code was shown and the signer's when signing
# should be the same doorstep; SPEC §5 flags more than 1 km apart.
COURIER_FAR_M = 1000

ANOMALY_NO_LOCATION = "no_location"
ANOMALY_OUTSIDE_GEOFENCE = "outside_geofence"
ANOMALY_LOW_ACCURACY = "low_location_accuracy"
ANOMALY_COURIER_FAR = "courier_far_from_signer"

_DEG = math.pi / 180.0


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres between two WGS-84 points."""
    s_lat = math.sin((lat2 - lat1) * _DEG / 2.0)
    s_lng = math.sin((lng2 - lng1) * _DEG / 2.0)
    a = s_lat * s_lat + math.cos(lat1 * _DEG) * math.cos(lat2 * _DEG) * s_lng * s_lng
    return 2.0 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


def haversine_m_batch(lat1, lng1, lat2, lng2) -> np.ndarray:
    """``haversine_m`` over numpy arrays (broadcasting)."""
    lat1, lng1, lat2, lng2 = (np.asarray(v, dtype=np.float64) * _DEG for v in (lat1, lng1, lat2, lng2))
    s_lat = np.sin((lat2 - lat1) / 2.0)
    s_lng = np.sin((lng2 - lng1) / 2.0)
    a = s_lat * s_lat + np.cos(lat1) * np.cos(lat2) * s_lng * s_lng
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(1.0, a)))


def _number(location: dict, key: str, low: float, high: float) -> float:
    value = location.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"location {key} must be a finite number")
    if not low <= value <= high:
        raise ValueError(f"location {key} must be within {low}..{high}")
    return float(value)


def _wgs84(location: dict) -> tuple[float, float]:
    if not isinstance(location, dict):
        raise ValueError("a location must be a dict with lat, lng and coord_system")
    lat = _number(location, "lat", -90.0, 90.0)
    lng = _number(location, "lng", -180.0, 180.0)
    system = location.get("coord_system", "wgs84")
    if system not in COORD_SYSTEMS:
        raise ValueError(f"unknown coordinate system {system!r}; expected one of {COORD_SYSTEMS}")
    return to_wgs84(lat, lng, system)


def _accuracy(location: dict) -> float | None:
    if location.get("accuracy") is None:
        return None
    return _number(location, "accuracy", 0.0, math.inf)


def location_findings(
    signer: dict | None,
    consignee: dict | None,
    courier: dict | None,
    geofence_m: float | None = GEOFENCE_DEFAULT_M,
) -> dict:
    """Findings on where the sign-off happened, as JSON-able data.

    Each location is ``{"lat", "lng", "coord_system", "accuracy"?}`` (system "wgs84",
    "gcj02" or "bd09", default "wgs84"; accuracy in metres as the device reports it).
    Distances are between WGS-84 normalisations; ``outside_geofence`` allows for the
    reported accuracy (distance minus accuracy must exceed ``geofence_m``), so a
    coarse fix does not accuse a signer standing at the door. Malformed locations
    raise ValueError: the caller's schema should have refused them."""
    if geofence_m is None:
        geofence_m = GEOFENCE_DEFAULT_M
    if not math.isfinite(geofence_m) or geofence_m < 0:
        raise ValueError("geofence_m must be a finite number >= 0")
    result = {
        "signer_wgs84": None,
        "distance_to_consignee_m": None,
        "distance_to_courier_m": None,
        "anomalies": [],
    }
    consignee_at = _wgs84(consignee) if consignee is not None else None
    courier_at = _wgs84(courier) if courier is not None else None
    if signer is None:
        result["anomalies"].append(ANOMALY_NO_LOCATION)
        return result
    signer_at = _wgs84(signer)
    accuracy = _accuracy(signer)
    result["signer_wgs84"] = {"lat": round(signer_at[0], 7), "lng": round(signer_at[1], 7)}
    if consignee_at is not None:
        distance = haversine_m(*signer_at, *consignee_at)
        result["distance_to_consignee_m"] = round(distance, 1)
        if distance - (accuracy or 0.0) > geofence_m:
            result["anomalies"].append(ANOMALY_OUTSIDE_GEOFENCE)
    if accuracy is not None and accuracy > LOW_ACCURACY_M:
        result["anomalies"].append(ANOMALY_LOW_ACCURACY)
    if courier_at is not None:
        distance = haversine_m(*signer_at, *courier_at)
        result["distance_to_courier_m"] = round(distance, 1)
        if distance > COURIER_FAR_M:
            result["anomalies"].append(ANOMALY_COURIER_FAR)
    return result
