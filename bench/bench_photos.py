"""Photo path figures for issue #3; prints numbers, asserts nothing.

- a 12-MP phone JPEG (4000x3000, 2-4 MB): inspect_photo p50/p95 (target <= 45 ms p50,
  one core), peak memory growth (target <= 120 MB), and the lazy derivatives
- a compressed 1080p photo: inspect_photo p50/p95 (target <= 10 ms)
- sharpness of the same scenes at 12 MP and 1080p, sharp and out of focus
- near-duplicate distances, recall and distinct false-positive rate at DUPLICATE_MAX_DISTANCE
- duplicate lookup among 1,000,000 stored hashes, p50/p95 (target <= 5 ms p95)

Run: /work/venv/bin/python bench/bench_photos.py
"""

import gc
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)

from delivery_sign.evidence.photo_hash import (  # noqa: E402
    DUPLICATE_MAX_DISTANCE,
    PhotoHashIndex,
    hamming,
    probe_keys,
)
from delivery_sign.evidence.photos import (  # noqa: E402
    BLURRY_MAX_SHARPNESS,
    WORK_LONG_SIDE,
    inspect_photo,
    make_derivative,
)
from tests.evidence.photo_fixtures import blurred, cropped, encode, exif_bytes, jpeg, scene  # noqa: E402


def percentiles(samples: list[tuple[float, float]]) -> str:
    """Wall-clock and CPU-time (this thread) percentiles. The machine is shared, so
    wall time includes waiting for a core; CPU time is the one-core cost."""

    def p(values, q):
        values = sorted(values)
        return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] * 1000

    wall = [w for w, _ in samples]
    cpu = [c for _, c in samples]
    return (
        f"wall p50 {p(wall, .5):6.1f} p95 {p(wall, .95):6.1f} | "
        f"cpu p50 {p(cpu, .5):6.1f} p95 {p(cpu, .95):6.1f} ms (n={len(samples)})"
    )


def timed(fn, n: int, warmup: int = 3) -> list[tuple[float, float]]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(n):
        wall, cpu = time.perf_counter(), time.thread_time()
        fn()
        samples.append((time.perf_counter() - wall, time.thread_time() - cpu))
    return samples


def proc_status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def reset_peak_rss() -> bool:
    try:  # Linux >= 4.0: writing 5 resets VmHWM to the current RSS
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


_MEMORY_PROBE = """
import sys, tracemalloc
sys.path.insert(0, {root!r})
from bench.bench_photos import proc_status_kib, reset_peak_rss
from delivery_sign.evidence import photos
from tests.evidence.photo_fixtures import jpeg, scene
getattr(photos, {name!r})(jpeg(scene(1, 64, 48)), *{args!r})  # imports and first-call set-up
data = open({path!r}, "rb").read()
before = proc_status_kib("VmRSS")
reset_peak_rss()
tracemalloc.start()
getattr(photos, {name!r})(data, *{args!r})
traced = tracemalloc.get_traced_memory()[1]
print((proc_status_kib("VmHWM") - before) / 1024, traced / 2**20)
"""


def memory_growth_in_fresh_process(data: bytes, name: str, args: tuple = ()) -> tuple[float, float]:
    """Peak memory of one call, in a new interpreter (this one's heap is full of the
    scenes made above, which would hide the call's growth)."""
    with tempfile.NamedTemporaryFile(suffix=".jpg") as photo:
        photo.write(data)
        photo.flush()
        code = _MEMORY_PROBE.format(root=ROOT, path=photo.name, name=name, args=args)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    growth, traced = out.split()
    return float(growth), float(traced)


def phone_exif() -> bytes:
    return exif_bytes(
        orientation=6, datetime_original="2026:11:27 10:01:02", gps=(31.2304, 121.4737), make="Xiaomi", model="14"
    )


def bench_12mp() -> None:
    print("== 12-MP phone JPEG (4000x3000, textured scene + sensor noise, EXIF orientation/date/GPS)")
    picture = scene(1, 4000, 3000)
    photos = {q: jpeg(picture, q, exif=phone_exif()) for q in (85, 90, 92, 95)}
    del picture
    gc.collect()
    for quality, data in photos.items():
        samples = timed(lambda: inspect_photo(data), 31)
        print(f"  inspect_photo q{quality} {len(data) / 1e6:4.2f} MB: {percentiles(samples)}   target p50 <= 45 ms")
    data = photos[90]
    report = inspect_photo(data)
    print(f"  report: {report.mime} {report.width}x{report.height} checks={report.checks} anomalies={report.anomalies}")
    print(f"          exif={report.exif}")

    for name, args in (("inspect_photo", ()), ("make_derivative", ("display",))):
        growth, traced = memory_growth_in_fresh_process(data, name, args)
        print(
            f"  {name}{args or ''} memory, fresh process: peak RSS growth {growth:.1f} MB "
            f"(VmHWM after vs VmRSS before), tracemalloc peak {traced:.1f} MB   target <= 120 MB"
        )

    # The display copy is made on first view; the thumbnail comes with the upload's decode
    # (inspect_photo(thumbnail=True)) and is made here only for photos stored before that.
    samples = timed(lambda: make_derivative(data, "display"), 11, warmup=1)
    display, thumbnail = make_derivative(data, "display"), make_derivative(data, "thumb")
    print(
        f"  make_derivative display (lazy, on first view): {percentiles(samples)}; "
        f"display {Image.open(__import__('io').BytesIO(display)).size} {len(display) // 1024} KiB, "
        f"thumbnail {len(thumbnail) // 1024} KiB"
    )


def bench_1080p() -> None:
    print("== compressed 1080p photo (1920x1080 and 1440x1080, q75, as WeChat sends them)")
    for size in ((1920, 1080), (1440, 1080)):
        data = jpeg(scene(2, *size), 75)
        samples = timed(lambda: inspect_photo(data), 51)
        print(f"  {size[0]}x{size[1]} {len(data) / 1e6:4.2f} MB: {percentiles(samples)}   target p50 <= 10 ms")


def bench_sharpness() -> None:
    print(f"== sharpness (variance of Laplacian at {WORK_LONG_SIDE} px), blurry below {BLURRY_MAX_SHARPNESS}")
    print("   scene  gaussian radius at 12 MP:   0      4      8     16      (12-MP q92 / 1440x1080 q70)")
    for seed in (1, 3, 5, 8):
        original = scene(seed, 4000, 3000)
        cells = []
        for radius in (0, 4, 8, 16):
            picture = original if radius == 0 else blurred(original, radius)
            full = inspect_photo(jpeg(picture, 92)).checks["sharpness"]
            small = inspect_photo(
                jpeg(picture.resize((1440, 1080), Image.Resampling.LANCZOS), 70)
            ).checks["sharpness"]
            cells.append(f"{full:6.0f}/{small:<5.0f}")
        print(f"   {seed:5d}  " + " ".join(cells))
    print("== brightness (mean luma), dark below 40: scene x factor")
    base = scene(3, 1600, 1200)
    row = []
    for factor in (1.0, 0.55, 0.35, 0.25, 0.15):
        pixels = np.clip(np.asarray(base, dtype=np.float32) * factor, 0, 255).astype(np.uint8)
        checks = inspect_photo(jpeg(Image.fromarray(pixels))).checks
        row.append(f"x{factor}: {checks['brightness']:.0f}")
    print("   " + "   ".join(row))


COPIES = {
    "jpeg q50": lambda im: jpeg(im, 50),
    "jpeg q75 again": lambda im: jpeg(im, 75),
    "png": lambda im: encode(im, "PNG", compress_level=1),
    "webp q70": lambda im: encode(im, "WEBP", quality=70),
    "resize 1/2": lambda im: jpeg(im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS), 80),
    "resize 1/4": lambda im: jpeg(im.resize((im.width // 4, im.height // 4), Image.Resampling.LANCZOS), 80),
    "resize 1/8": lambda im: jpeg(im.resize((im.width // 8, im.height // 8), Image.Resampling.LANCZOS), 80),
    "crop 2% a side": lambda im: jpeg(cropped(im, 0.02)),
    "crop 3% a side": lambda im: jpeg(cropped(im, 0.03)),
    "crop 5% one edge": lambda im: jpeg(im.crop((int(im.width * 0.05), 0, im.width, im.height))),
    "crop 5% a side": lambda im: jpeg(cropped(im, 0.05)),
    "crop 8% a side": lambda im: jpeg(cropped(im, 0.08)),
}


def bench_duplicates() -> None:
    print(f"== near-duplicates at DUPLICATE_MAX_DISTANCE = {DUPLICATE_MAX_DISTANCE} (30 scenes, 1200x900)")
    scenes = [scene(100 + s, 1200, 900) for s in range(30)]
    stored = [inspect_photo(jpeg(im, 90)).phash for im in scenes]
    for name, make in COPIES.items():
        distances = [hamming(h, inspect_photo(make(im)).phash) for h, im in zip(stored, scenes)]
        found = sum(d <= DUPLICATE_MAX_DISTANCE for d in distances)
        print(
            f"  {name:18s} distance min/median/max {min(distances):2d}/{statistics.median(distances):4.1f}/"
            f"{max(distances):2d}   found {found}/{len(distances)}"
        )
    more = stored + [inspect_photo(jpeg(scene(200 + s, 1200, 900), 90)).phash for s in range(50)]
    pairs = [hamming(a, b) for a, b in itertools.combinations(more, 2)]
    false = sum(d <= DUPLICATE_MAX_DISTANCE for d in pairs)
    print(
        f"  distinct scenes: {len(pairs)} pairs, distance min {min(pairs)} mean {statistics.mean(pairs):.1f}; "
        f"false positives {false} ({false / len(pairs):.2%})"
    )


def bench_index() -> None:
    n = 1_000_000
    print(f"== duplicate lookup among {n:,} stored hashes (4 x 16-bit chunks, d = {DUPLICATE_MAX_DISTANCE})")
    print(f"  probe keys per lookup (DB rows to probe): {len(probe_keys(0))}")
    rng = np.random.default_rng(7)
    distributions = {
        "uniform bits": np.full(64, 0.5),
        "biased bits p in [0.2, 0.8]": rng.uniform(0.2, 0.8, 64),
    }
    for name, p in distributions.items():
        bits = (rng.random((n, 64)) < p).astype(np.uint64)
        hashes = (bits << np.arange(64, dtype=np.uint64)).sum(axis=1, dtype=np.uint64).tolist()
        del bits
        index = PhotoHashIndex()
        start = time.perf_counter()
        for key, h in enumerate(hashes):
            index.add(key, h)
        index.find(0)  # builds the chunk tables
        build = time.perf_counter() - start
        queries = []
        for i in rng.integers(0, n, 1000).tolist():
            flips = rng.choice(64, size=int(rng.integers(0, DUPLICATE_MAX_DISTANCE + 1)), replace=False)
            queries.append((i, hashes[i] ^ sum(1 << int(b) for b in flips)))
        samples, hits = [], 0
        for i, q in queries:
            wall, cpu = time.perf_counter(), time.thread_time()
            found = index.find(q)
            samples.append((time.perf_counter() - wall, time.thread_time() - cpu))
            hits += i in found
        print(f"  {name:28s} build {build:4.1f} s; planted near-duplicates found {hits}/1000")
        print(f"  {'':28s} find {percentiles(samples)}   target p95 <= 5 ms")
        del index, hashes


def main() -> None:
    print(f"python {sys.version.split()[0]}, Pillow {Image.__version__}, numpy {np.__version__}, cpus {os.cpu_count()}")
    print("load average at start: %.2f %.2f %.2f (shared machine: see cpu next to wall)" % os.getloadavg())
    bench_12mp()
    bench_1080p()
    bench_sharpness()
    bench_duplicates()
    bench_index()


if __name__ == "__main__":
    main()
