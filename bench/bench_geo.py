"""Coordinate conversion and distance throughput (target: >= 500,000 per second).

Prints scalar (one Python call per point) and numpy batch rates; no asserts.
Run: /work/venv/bin/python bench/bench_geo.py
"""

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from delivery_sign.geo import coords  # noqa: E402
from delivery_sign.geo.distance import haversine_m, haversine_m_batch, location_findings  # noqa: E402

TARGET_PER_S = 500_000


def rate(fn, n: int, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return n / best


def main() -> None:
    rng = np.random.default_rng(1)
    n_scalar, n_batch = 100_000, 1_000_000
    lat = rng.uniform(18, 53, n_batch)
    lng = rng.uniform(74, 134, n_batch)
    lat2 = lat + rng.normal(0, 0.01, n_batch)
    lng2 = lng + rng.normal(0, 0.01, n_batch)
    pts = list(zip(lat[:n_scalar].tolist(), lng[:n_scalar].tolist()))
    quads = list(zip(lat[:n_scalar].tolist(), lng[:n_scalar].tolist(), lat2[:n_scalar].tolist(), lng2[:n_scalar].tolist()))

    scalar = {
        "wgs84_to_gcj02": lambda: [coords.wgs84_to_gcj02(a, b) for a, b in pts],
        "gcj02_to_wgs84 (iterated)": lambda: [coords.gcj02_to_wgs84(a, b) for a, b in pts],
        "gcj02_to_bd09": lambda: [coords.gcj02_to_bd09(a, b) for a, b in pts],
        "bd09_to_gcj02": lambda: [coords.bd09_to_gcj02(a, b) for a, b in pts],
        "bd09_to_wgs84": lambda: [coords.bd09_to_wgs84(a, b) for a, b in pts],
        "haversine_m": lambda: [haversine_m(a, b, c, d) for a, b, c, d in quads],
    }
    batch = {
        "wgs84_to_gcj02_batch": lambda: coords.wgs84_to_gcj02_batch(lat, lng),
        "gcj02_to_wgs84_batch (iterated)": lambda: coords.gcj02_to_wgs84_batch(lat, lng),
        "gcj02_to_bd09_batch": lambda: coords.gcj02_to_bd09_batch(lat, lng),
        "bd09_to_gcj02_batch": lambda: coords.bd09_to_gcj02_batch(lat, lng),
        "to_wgs84_batch bd09": lambda: coords.to_wgs84_batch(lat, lng, "bd09"),
        "haversine_m_batch": lambda: haversine_m_batch(lat, lng, lat2, lng2),
    }
    print(f"target: >= {TARGET_PER_S:,} per second, one core")
    print(f"{'scalar (per call, Python loop)':40s} {'per second':>14s}")
    for name, fn in scalar.items():
        print(f"  {name:38s} {rate(fn, n_scalar, 3):14,.0f}")
    print(f"{'numpy batch (1,000,000 points)':40s} {'per second':>14s}")
    for name, fn in batch.items():
        print(f"  {name:38s} {rate(fn, n_batch):14,.0f}")

    signer = {"lat": 31.2304, "lng": 121.4737, "coord_system": "gcj02", "accuracy": 25}
    consignee = {"lat": 31.2354, "lng": 121.4801, "coord_system": "bd09"}
    courier = {"lat": 31.2301, "lng": 121.4735, "coord_system": "wgs84"}
    n = 20_000
    r = rate(lambda: [location_findings(signer, consignee, courier, 300) for _ in range(n)], n, 3)
    print(f"  {'location_findings (3 conversions + 2 distances)':38s} {r:14,.0f}")


if __name__ == "__main__":
    main()
