"""Build the labelled handwriting corpus under tests/data/signatures/ from a seed.

Genuine signatures are synthesised from real character stroke data (the `medians` of
Make Me a Hanzi via the npm package hanzi-writer-data, and the Hershey "Script 1-stroke"
font via the npm package hersheytext, both extracted once into glyphs.json) with a
sigma-lognormal model of handwriting kinematics: every stroke is a sum of overlapping
lognormal speed pulses, one per sub-movement between corners, sampled by a simulated
touch device (60-240 Hz, timing jitter, dropped frames, integer-ms timestamps and
signature_pad's minDistance filter). Each synthetic person has a fixed style (size, slant,
speed, how cursive); each of their signatures varies the shapes, placement and timing.

Everything else (garbage of each kind, robots, replays) is derived here too, so that
    python bench/make_signature_corpus.py
rebuilds the same files byte for byte. To refresh glyphs.json from the npm packages:
    npm install --prefix /tmp/glyphs hanzi-writer-data hersheytext
    python bench/make_signature_corpus.py --extract-glyphs /tmp/glyphs/node_modules
"""
import argparse
import json
import math
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS_DIR = ROOT / "tests" / "data" / "signatures"
GLYPHS_PATH = CORPUS_DIR / "glyphs.json"
SEED = 20261127

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛"
    "郝龚邵万钱严武戴莫孔向汤"
)
GIVEN_NAME_CHARACTERS = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂华建国文辉玲红志云飞宇浩然子轩欣怡梓涵晨"
    "佳琪雨婷思博俊杨鑫鹏亮宁海波峰斌凯丹萍燕春玉兰梅琳雪颖慧嘉家"
)
LATIN_FIRST_NAMES = ("Anna", "James", "Maria", "Peter", "Laura", "David", "Sofia", "Mark",
                     "Elena", "Tom", "Julia", "Lucas", "Emma", "Oliver", "Nina")
LATIN_LAST_NAMES = ("Smith", "Miller", "Brown", "Garcia", "Muller", "Rossi", "Novak", "Klein",
                    "Martin", "Silva", "Walker", "Lopez", "Berg", "Costa", "Wood")

PERSONS_CHINESE = 100
PERSONS_LATIN = 20
SIGNATURES_PER_PERSON = 3


# ---------------------------------------------------------------- glyph extraction
def extract_glyphs(node_modules: pathlib.Path) -> None:
    hanzi = {}
    for char in dict.fromkeys(SURNAMES + GIVEN_NAME_CHARACTERS):
        data = json.loads((node_modules / "hanzi-writer-data" / f"{char}.json").read_text("utf-8"))
        # Make Me a Hanzi uses a 1024 box with y pointing up and the baseline at y=-124;
        # store screen coordinates (y down, 0..1024) as integers.
        hanzi[char] = [[[x, 900 - y] for x, y in median] for median in data["medians"]]
    fonts = json.loads((node_modules / "hersheytext" / "hersheytext.json").read_text("utf-8"))
    latin = {}
    for char in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz":
        glyph = fonts["scripts"]["chars"][ord(char) - 33]
        strokes = []
        for part in glyph["d"].split("M")[1:]:
            coords = part.replace("L", " ").split()
            strokes.append([[int(a), int(b)] for a, b in (c.split(",") for c in coords)])
        latin[char] = strokes
    GLYPHS_PATH.write_text(json.dumps({"hanzi": hanzi, "latin": latin}, ensure_ascii=False,
                                      separators=(",", ":")), "utf-8")


def load_glyphs():
    glyphs = json.loads(GLYPHS_PATH.read_text("utf-8"))
    hanzi = {c: [np.array(s, float) / 1024.0 for s in strokes] for c, strokes in glyphs["hanzi"].items()}
    # Hershey script: cap height ~21 units from y=1 to y=22; scale so capitals are ~1.0.
    latin = {c: [np.array(s, float) / 21.0 for s in strokes] for c, strokes in glyphs["latin"].items()}
    return hanzi, latin


# ---------------------------------------------------------------- shapes
def smooth_polyline(points: np.ndarray, rounds: int) -> np.ndarray:
    """Chaikin corner cutting: cursive hands round the corners of the font's medians."""
    for _ in range(rounds):
        if len(points) < 3:
            break
        q = 0.75 * points[:-1] + 0.25 * points[1:]
        r = 0.25 * points[:-1] + 0.75 * points[1:]
        inner = np.empty((2 * len(q), 2))
        inner[0::2], inner[1::2] = q, r
        points = np.vstack([points[:1], inner[1:-1], points[-1:]])
    return points


def chinese_name_shape(name, hanzi, style, rng):
    """Lay out a Chinese name; returns strokes as lists of control polylines in em units,
    each tagged with the character index."""
    strokes = []
    x = 0.0
    for index, char in enumerate(name):
        size = style["char_size"] * rng.normal(1.0, 0.06)
        baseline = rng.normal(0.0, 0.05) + style["baseline_drift"] * index
        glyph_strokes = [s.copy() for s in hanzi[char]]
        # Per-signature shape variation: every control point moves a little, and the whole
        # character is squeezed/stretched; no person writes the same glyph twice.
        char_strokes = []
        for s in glyph_strokes:
            s = s + rng.normal(0.0, style["shape_noise"], s.shape)
            s = s + rng.normal(0.0, style["shape_noise"] * 0.8, (1, 2))
            char_strokes.append(s)
        aspect = rng.normal(style["aspect"], 0.05)
        # cursive: join consecutive strokes of a character without lifting the pen
        merged = [char_strokes[0]]
        for s in char_strokes[1:]:
            if rng.random() < style["cursive"]:
                merged[-1] = np.vstack([merged[-1], s])
            else:
                merged.append(s)
        # cursive writers also shorten strokes: simplify by dropping some tiny ones
        for s in merged:
            s = smooth_polyline(s, style["smoothing"])
            pts = np.empty_like(s)
            pts[:, 0] = x + (s[:, 0] * aspect + style["slant"] * (1.0 - s[:, 1])) * size
            pts[:, 1] = (s[:, 1] + baseline) * size
            strokes.append((index, pts))
        x += size * style["spacing"] * rng.normal(1.0, 0.05)
    return strokes


def latin_name_shape(name, latin, style, rng):
    strokes = []
    x = 0.0
    size = style["char_size"] * 0.55
    for word_index, word in enumerate(name.split()):
        current = None
        for letter in word:
            glyph = latin[letter]
            jitter = rng.normal(1.0, 0.05)
            glyph_max_x = max(float(s[:, 0].max()) for s in glyph)
            for part in glyph:
                part = part + rng.normal(0.0, style["shape_noise"] * 0.6, part.shape)
                pts = np.empty_like(part)
                pts[:, 0] = x + (part[:, 0] + style["slant"] * (1.0 - part[:, 1])) * size * jitter
                pts[:, 1] = part[:, 1] * size * jitter
                # Script letters end where the next one starts: keep the pen down.
                if current is not None and np.hypot(*(current[-1] - pts[0])) < 0.25 * size:
                    current = np.vstack([current, pts[1:]])
                else:
                    if current is not None:
                        strokes.append((word_index, current))
                    current = pts
            x += glyph_max_x * size * jitter * style["spacing"]
        strokes.append((word_index, current))
        x += 0.5 * size
    return [(i, smooth_polyline(s, max(0, style["smoothing"] - 1))) for i, s in strokes]


# ---------------------------------------------------------------- kinematics
def lognormal_stroke(path: np.ndarray, style, rng):
    """Return a function t_ms -> (x, y) and the stroke duration for a pen-down movement
    along `path`, as a sum of lognormal speed pulses (one per sub-movement)."""
    seg = np.hypot(*np.diff(path, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    total = cum[-1]
    # sub-movements: split at sharp corners
    if len(path) >= 3:
        v1 = np.diff(path, axis=0)[:-1]
        v2 = np.diff(path, axis=0)[1:]
        cos = (v1 * v2).sum(1) / (np.hypot(*v1.T) * np.hypot(*v2.T) + 1e-9)
        corners = [i + 1 for i in np.nonzero(cos < math.cos(math.radians(50)))[0]]
    else:
        corners = []
    bounds = [0] + corners + [len(path) - 1]
    amplitudes = [cum[b] - cum[a] for a, b in zip(bounds[:-1], bounds[1:])]
    pulses = []
    t0 = 0.0
    for amp in amplitudes:
        if amp <= 0:
            continue
        sigma = max(0.15, rng.normal(style["sigma"], 0.05))
        # larger movements take longer, roughly with the square root of their length
        mode_ms = style["ms_scale"] * (25.0 + 9.0 * math.sqrt(amp)) * rng.normal(1.0, 0.08)
        mu = math.log(mode_ms) + sigma * sigma
        pulses.append((t0, mu, sigma, amp))
        # the next sub-movement starts before this one has finished (coarticulation)
        t0 += mode_ms * rng.uniform(0.55, 0.9)
    if not pulses:
        pulses.append((0.0, math.log(30.0), 0.3, max(total, 1e-6)))
    amp_sum = sum(p[3] for p in pulses)
    scale = total / amp_sum if amp_sum > 0 else 0.0
    last_end = max(p[0] + math.exp(p[1] + 2.2 * p[2]) for p in pulses)
    from math import erf

    def arc_at(t_ms):
        s = np.zeros_like(t_ms)
        for start, mu, sigma, amp in pulses:
            dt = np.maximum(t_ms - start, 1e-9)
            z = (np.log(dt) - mu) / (sigma * math.sqrt(2.0))
            s += amp * 0.5 * (1.0 + np.vectorize(erf)(z)) * (t_ms > start)
        return np.minimum(s * scale, total)

    def position(t_ms):
        s = arc_at(t_ms)
        return np.column_stack([np.interp(s, cum, path[:, 0]), np.interp(s, cum, path[:, 1])])

    return position, last_end


def sample_device(position, duration_ms, t_start, device, rng):
    """Sample a pen-down movement like a browser does: a frame clock with jitter,
    occasionally dropped frames, Date.now() integer ms, signature_pad minDistance."""
    period = 1000.0 / device["hz"]
    n = max(2, int(duration_ms / period) + 2)
    times = np.arange(n) * period + rng.normal(0.0, device["jitter_ms"], n)
    times[0] = 0.0
    times = np.maximum.accumulate(times)
    keep = rng.random(n) > device["drop"]
    keep[0] = keep[-1] = True
    times = times[keep]
    times = times[times <= duration_ms + period]
    if len(times) < 2:
        times = np.array([0.0, duration_ms])
    xy = position(times)
    stamps = np.floor(t_start + times)
    if device["min_distance"] > 0:
        chosen = [0]
        for i in range(1, len(xy)):
            if np.hypot(*(xy[i] - xy[chosen[-1]])) >= device["min_distance"]:
                chosen.append(i)
        if chosen[-1] != len(xy) - 1 and len(xy) > 1:
            chosen.append(len(xy) - 1)
        xy, stamps = xy[chosen], stamps[chosen]
    pressure = None
    if device["pressure"]:
        u = np.linspace(0, 1, len(xy))
        pressure = np.clip(0.35 + 0.3 * np.sin(np.pi * u) + rng.normal(0, 0.02, len(xy)), 0.05, 1.0)
    return xy, stamps, pressure


# ---------------------------------------------------------------- people and signatures
def make_person(rng, index, latin_person):
    if latin_person:
        name = f"{LATIN_FIRST_NAMES[rng.integers(len(LATIN_FIRST_NAMES))]} " \
               f"{LATIN_LAST_NAMES[rng.integers(len(LATIN_LAST_NAMES))]}"
    else:
        length = rng.choice([2, 3, 3, 3, 4], p=[0.25, 0.3, 0.2, 0.2, 0.05])
        chars = [SURNAMES[rng.integers(len(SURNAMES))]]
        chars += [GIVEN_NAME_CHARACTERS[rng.integers(len(GIVEN_NAME_CHARACTERS))] for _ in range(length - 1)]
        name = "".join(chars)
    hz, jitter = [(60, 1.0), (60, 2.0), (90, 1.0), (120, 0.8), (120, 1.5), (240, 0.5)][rng.integers(6)]
    device = {
        "hz": hz,
        "jitter_ms": jitter,
        "drop": rng.uniform(0.0, 0.05),
        "min_distance": float(rng.choice([0.0, 5.0, 5.0])),  # signature_pad default is 5
        "pressure": bool(rng.random() < 0.2),
        "canvas": [(343, 180, 3), (360, 200, 3), (390, 220, 3), (320, 160, 2), (600, 240, 2),
                   (375, 200, 2), (768, 300, 2), (360, 240, 2.75)][rng.integers(8)],
    }
    style = {
        "char_size": rng.uniform(0.45, 0.85),   # of canvas height, clipped to width later
        "aspect": rng.uniform(0.8, 1.1),
        "slant": rng.uniform(-0.05, 0.3),
        "spacing": rng.uniform(0.75, 1.05),
        "baseline_drift": rng.uniform(-0.06, 0.06),
        "cursive": rng.uniform(0.0, 0.8),
        "smoothing": int(rng.integers(0, 3)),
        "shape_noise": rng.uniform(0.02, 0.035),
        "sigma": rng.uniform(0.25, 0.45),
        "ms_scale": rng.uniform(0.45, 1.1),
        "lift_ms": rng.uniform(50, 180),
    }
    return {"id": f"p{index:03d}", "name": name, "latin": latin_person, "device": device, "style": style}


def signature_points(person, hanzi, latin, rng):
    """One genuine signature of `person`: strokes as list of (n,4) arrays in CSS px."""
    style = dict(person["style"])
    style["char_size"] = 1.0
    if person["latin"]:
        shape = latin_name_shape(person["name"], latin, style, rng)
    else:
        shape = chinese_name_shape(person["name"], hanzi, style, rng)
    width, height, _ = person["device"]["canvas"]
    all_pts = np.vstack([p for _, p in shape])
    lo, hi = all_pts.min(0), all_pts.max(0)
    size = min(person["style"]["char_size"] * height * rng.normal(1.0, 0.05) / max(hi[1] - lo[1], 1e-6) * (1.0 if not person["latin"] else 0.9),
               0.92 * width / max(hi[0] - lo[0], 1e-6), 0.95 * height / max(hi[1] - lo[1], 1e-6))
    extent = (hi - lo) * size
    offset = np.array([rng.uniform(0.02 * width, max(0.03 * width, width - extent[0] - 0.02 * width)),
                       rng.uniform(0.02 * height, max(0.03 * height, height - extent[1] - 0.02 * height))])
    strokes = []
    t = float(rng.uniform(0, 400))
    previous_char = 0
    for char_index, pts in shape:
        path = (pts - lo) * size + offset
        if char_index != previous_char:
            t += rng.lognormal(math.log(style["lift_ms"] * 1.8), 0.35)
        elif strokes:
            t += rng.lognormal(math.log(style["lift_ms"]), 0.35)
        previous_char = char_index
        position, duration = lognormal_stroke(path, style, rng)
        xy, stamps, pressure = sample_device(position, duration, t, person["device"], rng)
        t = float(stamps[-1])
        stroke = np.column_stack([xy, stamps, pressure if pressure is not None else np.full(len(xy), np.nan)])
        strokes.append(stroke)
    return strokes


def to_compact(strokes, decimals=1):
    """Compact wire format [[[x, y, t(, p)], ...], ...]; t relative to the first point."""
    t0 = strokes[0][0, 2] if strokes and len(strokes[0]) and np.isfinite(strokes[0][0, 2]) else 0.0
    out = []
    for s in strokes:
        stroke = []
        for x, y, t, p in s:
            point = [round(float(x), decimals), round(float(y), decimals)]
            if np.isfinite(t):
                relative = float(t - t0)
                point.append(int(relative) if relative.is_integer() else round(relative, 2))
            if np.isfinite(p):
                point.append(round(float(p), 2))
            stroke.append(point)
        out.append(stroke)
    return out


def canvas_of(person):
    w, h, dpr = person["device"]["canvas"]
    return {"width": w, "height": h, "dpr": dpr}


# ---------------------------------------------------------------- garbage, robots, replays
def human_timing(n, rng, start=0.0, period=16.7):
    return np.floor(start + np.arange(n) * period + rng.normal(0, 1.0, n).clip(-3, 3)).clip(min=start)


def make_garbage(rng, persons, genuine, hanzi, latin):
    items = []

    def add(kind, strokes, canvas, name="", handwriting="basic", compact=None):
        items.append({"kind": kind, "signer_name": name, "handwriting": handwriting,
                      "canvas": canvas, "strokes": compact if compact is not None else to_compact(strokes)})

    for i in range(60):
        canvas = canvas_of(persons[i % len(persons)])
        add("signature_empty", [], canvas, compact=[] if i % 3 else [[]])
    for i in range(60):
        person = persons[i % len(persons)]
        canvas = canvas_of(person)
        n = int(rng.integers(1, 12))
        centre = rng.uniform([20, 20], [canvas["width"] - 20, canvas["height"] - 20])
        xy = centre + rng.normal(0, 0.8, (n, 2))
        t = human_timing(n, rng, 0, 16.7)
        add("signature_dot", [np.column_stack([xy, t, np.full(n, np.nan)])], canvas)
    for i in range(80):
        person = persons[i % len(persons)]
        canvas = canvas_of(person)
        w, h = canvas["width"], canvas["height"]
        angle = rng.uniform(-0.6, 0.6) if i % 4 else rng.uniform(1.2, 1.9)
        length = rng.uniform(0.3, 0.9) * (w if i % 4 else h)
        centre = np.array([w / 2, h / 2]) + rng.normal(0, 10, 2)
        direction = np.array([math.cos(angle), math.sin(angle)])
        n = int(rng.integers(15, 80))
        if i % 2:  # human-like bell speed profile
            u = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n))
            t = human_timing(n, rng, 0, 16.7)
        else:      # constant speed
            u = np.linspace(0, 1, n)
            t = np.arange(n) * 10.0
        xy = centre + np.outer(u - 0.5, direction) * length + rng.normal(0, 0.7, (n, 2))
        add("signature_line", [np.column_stack([xy, t, np.full(n, np.nan)])], canvas)
    for i in range(80):  # a genuine signature shrunk to a tiny scribble, or two short ticks
        source = genuine[int(rng.integers(len(genuine)))]
        canvas = source["canvas"]
        strokes = [np.array(s, float) for s in source["_strokes"]]
        pts = np.vstack(strokes)
        lo, hi = pts[:, :2].min(0), pts[:, :2].max(0)
        if i % 4 == 3:
            strokes = []
            t = 0.0
            for _ in range(2):
                start = rng.uniform([10, 10], [canvas["width"] - 30, canvas["height"] - 30])
                n = 8
                xy = start + np.outer(np.linspace(0, 1, n), rng.normal(0, 4, 2)) + rng.normal(0, 0.5, (n, 2))
                strokes.append(np.column_stack([xy, human_timing(n, rng, t, 16.7), np.full(n, np.nan)]))
                t = strokes[-1][-1, 2] + 150
        else:
            target = rng.uniform(0.04, 0.09) * canvas["width"]
            scale = target / max(hi - lo)
            anchor = rng.uniform([5, 5], [canvas["width"] * 0.8, canvas["height"] * 0.8])
            for s in strokes:
                s[:, :2] = (s[:, :2] - lo) * scale + anchor
        add("signature_too_small", strokes, canvas)
    for i in range(60):
        canvas = canvas_of(persons[i % len(persons)])
        strokes = []
        t = 0.0
        total = int(rng.integers(2, 9))
        for k in range(2):
            n = max(1, total // 2 + (k if total % 2 else 0))
            start = rng.uniform([30, 30], [canvas["width"] - 60, canvas["height"] - 60])
            xy = start + rng.uniform(-40, 40, (n, 2))
            strokes.append(np.column_stack([xy, human_timing(n, rng, t, 30.0), np.full(n, np.nan)]))
            t = strokes[-1][-1, 2] + 200
        add("signature_too_few_points", strokes, canvas)
    for i in range(60):
        source = genuine[int(rng.integers(len(genuine)))]
        canvas = source["canvas"]
        strokes = [np.array(s, float) for s in source["_strokes"]]
        for s in strokes:
            if i % 3 == 0:   # device pixels sent as CSS pixels (at dpr 2 a name in the
                # left half would still fit, so those pretend a dpr 3 phone)
                s[:, :2] *= canvas["dpr"] if canvas["dpr"] >= 2.5 else 3.0
            elif i % 3 == 1:  # coordinates of another screen position
                s[:, 0] += canvas["width"] * rng.uniform(0.8, 1.5)
            else:
                s[:, 1] -= canvas["height"] * rng.uniform(1.0, 2.0)
        add("signature_out_of_canvas", strokes, canvas, name=source["signer_name"])
    variants = ["missing", "equal", "backwards", "too_fast", "too_long", "seconds"]
    for i in range(60):
        source = genuine[int(rng.integers(len(genuine)))]
        canvas = source["canvas"]
        strokes = [np.array(s, float) for s in source["_strokes"]]
        variant = variants[i % len(variants)]
        if variant == "missing":
            if i % 2:
                for s in strokes:
                    s[:, 2] = np.nan
            else:
                strokes[int(rng.integers(len(strokes)))][:, 2] = np.nan
        elif variant == "equal":
            for s in strokes:
                s[:, 2] = 1000.0
        elif variant == "backwards":
            if i % 2:
                strokes = [s[::-1].copy() for s in strokes[::-1]]
                times = np.concatenate([s[:, 2] for s in strokes])[::-1]
                k = 0
                for s in strokes:
                    s[:, 2] = times[k:k + len(s)]
                    k += len(s)
            else:
                j = int(rng.integers(len(strokes)))
                strokes[j][:, 2] = strokes[j][::-1, 2].copy()
        elif variant in ("too_fast", "seconds"):
            t_all = np.concatenate([s[:, 2] for s in strokes])
            t0 = t_all[0]
            factor = (rng.uniform(40, 120) / max(t_all[-1] - t0, 1.0)) if variant == "too_fast" else 0.001
            for s in strokes:
                s[:, 2] = (s[:, 2] - t0) * factor
                if variant == "too_fast":
                    s[:, 2] = np.round(s[:, 2], 2)
                else:
                    s[:, 2] = np.round(s[:, 2], 3)
        elif variant == "too_long":
            j = int(rng.integers(1, len(strokes))) if len(strokes) > 1 else 0
            for s in strokes[j:]:
                s[:, 2] += rng.uniform(3, 30) * 3_600_000
        kind = "signature_timing_invalid"
        items.append({"kind": kind, "variant": variant, "signer_name": source["signer_name"],
                      "handwriting": "basic", "canvas": canvas, "strokes": to_compact(strokes, 1) if variant != "seconds" else _compact_seconds(strokes)})
    for i in range(60):  # strict: one or two cursive swoops for a name of 3+ characters
        person = [p for p in persons if len(p["name"].replace(" ", "")) >= 3][i % 40]
        canvas = canvas_of(person)
        w, h = canvas["width"], canvas["height"]
        n_strokes = 1 + (i % 2)
        strokes = []
        t = 0.0
        for k in range(n_strokes):
            n = int(rng.integers(30, 60))
            u = np.linspace(0, 1, n)
            x0 = w * (0.1 + 0.4 * k)
            xs = x0 + u * w * 0.35
            ys = h * 0.5 + h * rng.uniform(0.12, 0.25) * np.sin(u * np.pi * rng.uniform(1.0, 2.0) + k)
            t_stroke = t + np.floor(np.cumsum(np.r_[0, np.full(n - 1, 16.7)]) + rng.normal(0, 1, n).clip(-2, 2))
            t_stroke = np.maximum.accumulate(t_stroke)
            strokes.append(np.column_stack([xs, ys, t_stroke, np.full(n, np.nan)]))
            t = t_stroke[-1] + 200
        add("signature_too_simple", strokes, canvas, name=person["name"], handwriting="strict")
    return items


def _compact_seconds(strokes):
    t0 = strokes[0][0, 2]
    return [[[round(float(x), 1), round(float(y), 1), round(float(t - t0), 3)] for x, y, t, _ in s] for s in strokes]


def resample_path(path, spacing):
    seg = np.hypot(*np.diff(path, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(2, int(cum[-1] / spacing) + 1)
    s = np.linspace(0, cum[-1], n)
    return np.column_stack([np.interp(s, cum, path[:, 0]), np.interp(s, cum, path[:, 1])])


def make_robots(rng, persons, hanzi, latin):
    """Scripted input: glyph paths driven at constant speed or by linear interpolation."""
    items = []
    kinds = ["constant_speed", "linear_interpolation", "constant_speed_random_intervals", "constant_speed_device_clock"]
    for i in range(120):
        person = persons[i % len(persons)]
        kind = kinds[i % len(kinds)]
        style = dict(person["style"], shape_noise=0.0, cursive=0.0, char_size=1.0, smoothing=0)
        shape = latin_name_shape(person["name"], latin, style, rng) if person["latin"] \
            else chinese_name_shape(person["name"], hanzi, style, rng)
        width, height, _ = person["device"]["canvas"]
        pts = np.vstack([p for _, p in shape])
        lo, hi = pts.min(0), pts.max(0)
        size = min(0.7 * height / (hi[1] - lo[1]), 0.9 * width / (hi[0] - lo[0]))
        strokes = []
        t = 0.0
        speed = rng.uniform(0.3, 1.2)   # px/ms
        for _, p in shape:
            path = (p - lo) * size + [0.05 * width, 0.1 * height]
            if kind == "linear_interpolation":
                steps = int(rng.integers(3, 8))
                xy = [path[0]]
                for a, b in zip(path[:-1], path[1:]):
                    for k in range(1, steps + 1):
                        xy.append(a + (b - a) * k / steps)
                xy = np.array(xy)
                times = t + np.arange(len(xy)) * 16.0
            elif kind == "constant_speed":
                xy = resample_path(path, speed * 16.0)
                times = t + np.arange(len(xy)) * 16.0
            elif kind == "constant_speed_random_intervals":
                seg = np.hypot(*np.diff(path, axis=0).T)
                cum = np.concatenate([[0.0], np.cumsum(seg)])
                dts = rng.uniform(8, 25, int(cum[-1] / (speed * 8)) + 2)
                times_rel = np.concatenate([[0.0], np.cumsum(dts)])
                times_rel = times_rel[times_rel * speed <= cum[-1]]
                s = times_rel * speed
                xy = np.column_stack([np.interp(s, cum, path[:, 0]), np.interp(s, cum, path[:, 1])])
                times = np.floor(t + times_rel)
            else:
                xy = resample_path(path, speed * 16.7)
                times = np.floor(t + np.arange(len(xy)) * 16.7 + rng.normal(0, 1.0, len(xy)).clip(-3, 3))
                times = np.maximum.accumulate(times)
            strokes.append(np.column_stack([xy, times, np.full(len(xy), np.nan)]))
            t = float(times[-1]) + 100.0
        items.append({"kind": kind, "signer_name": person["name"], "canvas": canvas_of(person),
                      "strokes": to_compact(strokes)})
    return items


def make_replays(rng, genuine, count=180):
    items = []
    kinds = ["exact", "translated", "scaled", "retimed", "jittered", "combined"]
    for i in range(count):
        source_index = int(rng.integers(len(genuine)))
        source = genuine[source_index]
        kind = kinds[i % len(kinds)]
        strokes = [np.array(s, float) for s in source["_strokes"]]
        canvas = dict(source["canvas"])
        pts = np.vstack(strokes)
        lo, hi = pts[:, :2].min(0), pts[:, :2].max(0)
        if kind in ("translated", "combined"):
            shift = rng.uniform(-lo + 2, [canvas["width"], canvas["height"]] - hi - 2)
            for s in strokes:
                s[:, :2] += shift
        if kind in ("scaled", "combined"):
            factor = rng.uniform(0.6, 1.6)
            if kind == "scaled" and i % 12 == 2:   # replayed on a bigger canvas
                canvas = {"width": round(canvas["width"] * factor, 1), "height": round(canvas["height"] * factor, 1), "dpr": canvas["dpr"]}
                for s in strokes:
                    s[:, :2] *= factor
            else:
                centre = (lo + hi) / 2
                factor = min(factor, 0.95 * min(canvas["width"] / (hi - lo)[0], canvas["height"] / (hi - lo)[1]))
                for s in strokes:
                    s[:, :2] = (s[:, :2] - centre) * factor + [canvas["width"] / 2, canvas["height"] / 2]
        if kind in ("retimed", "combined"):
            speed = rng.uniform(0.6, 1.6)
            offset = rng.uniform(1e5, 1e9)
            for s in strokes:
                s[:, 2] = np.floor(s[:, 2] * speed + offset)
        if kind in ("jittered", "combined"):
            for s in strokes:
                s[:, :2] += rng.normal(0, 0.5, (len(s), 2))
        items.append({"kind": kind, "original": source["id"], "signer_name": source["signer_name"],
                      "canvas": canvas, "strokes": to_compact(strokes)})
    return items


# Re-sampled replays (issue 21): the same pen path as another device would report it.
RESAMPLED_KINDS = ("half_density", "double_density", "rate_60hz", "rate_120hz", "rate_240hz",
                   "points_dropped", "resampled_combined")
RESAMPLED_PER_KIND = 30
HELD_OUT_PER_KIND = 10
# clock jitter (ms, sd) of the simulated devices, as in make_person's device table
RATE_JITTER_MS = {60: 1.5, 120: 1.0, 240: 0.5}


def half_density(stroke, rng):
    """Every other point dropped (the ends kept): a device at half the touch rate."""
    keep = np.zeros(len(stroke), bool)
    keep[::2] = True
    keep[-1] = True
    return stroke[keep]


def double_density(stroke, rng):
    """A midpoint added between neighbours: a device at twice the rate, or a coalescing
    pointer-event stream replayed in full."""
    if len(stroke) < 2:
        return stroke
    mid = (stroke[:-1] + stroke[1:]) / 2
    mid[:, 2] = np.floor(mid[:, 2])
    out = np.empty((2 * len(stroke) - 1, stroke.shape[1]))
    out[0::2], out[1::2] = stroke, mid
    return out


def at_rate(hz):
    def resample(stroke, rng):
        """The pen path (linear between the recorded points) sampled by a `hz` clock with
        jitter and integer-ms stamps, first and last point kept (pointerdown / pointerup)."""
        if len(stroke) < 2:
            return stroke
        t = stroke[:, 2] - stroke[0, 2]
        t = t + np.arange(len(t)) * 1e-6            # equal stamps: keep the point order
        period = 1000.0 / hz
        n = int(t[-1] / period)
        times = np.arange(1, n + 1) * period + rng.normal(0, RATE_JITTER_MS[hz], n)
        times = np.sort(times[(times > 0) & (times < t[-1])])
        times = np.concatenate(([0.0], times, [t[-1]]))
        xy = np.column_stack([np.interp(times, t, stroke[:, 0]), np.interp(times, t, stroke[:, 1])])
        stamps = np.floor(stroke[0, 2] + times)
        return np.column_stack([xy, stamps, np.full(len(xy), np.nan)])
    return resample


def points_dropped(stroke, rng):
    """5-15 % of the inner points lost at random (dropped frames, a lossy relay)."""
    keep = rng.random(len(stroke)) >= rng.uniform(0.05, 0.15)
    keep[0] = keep[-1] = True
    return stroke[keep]


RESAMPLERS = {"half_density": half_density, "double_density": double_density,
              "rate_60hz": at_rate(60), "rate_120hz": at_rate(120), "rate_240hz": at_rate(240),
              "points_dropped": points_dropped}


def make_resampled_replays(rng, genuine, per_kind):
    """Replays of a genuine signature re-sampled as another device would report the same
    pen path; `resampled_combined` cycles through the re-samplers and shifts, scales,
    re-times and jitters (0.5 px) the result on top."""
    items = []
    names = list(RESAMPLERS)
    for i in range(per_kind * len(RESAMPLED_KINDS)):
        kind = RESAMPLED_KINDS[i % len(RESAMPLED_KINDS)]
        source = genuine[int(rng.integers(len(genuine)))]
        canvas = dict(source["canvas"])
        strokes = [np.array(s, float) for s in source["_strokes"]]
        resampler = RESAMPLERS[names[(i // len(RESAMPLED_KINDS)) % len(names)] if kind == "resampled_combined" else kind]
        strokes = [resampler(s, rng) for s in strokes]
        if kind == "resampled_combined":
            pts = np.vstack(strokes)
            lo, hi = pts[:, :2].min(0), pts[:, :2].max(0)
            centre = (lo + hi) / 2
            factor = min(rng.uniform(0.6, 1.6), 0.95 * min(canvas["width"] / (hi - lo)[0], canvas["height"] / (hi - lo)[1]))
            speed, offset = rng.uniform(0.6, 1.6), rng.uniform(1e5, 1e9)
            for s in strokes:
                s[:, :2] = (s[:, :2] - centre) * factor + [canvas["width"] / 2, canvas["height"] / 2]
                s[:, :2] += rng.normal(0, 0.5, (len(s), 2))
                s[:, 2] = np.floor(s[:, 2] * speed + offset)
        items.append({"kind": kind, "original": source["id"], "signer_name": source["signer_name"],
                      "canvas": canvas, "strokes": to_compact(strokes)})
    return items


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extract-glyphs", type=pathlib.Path, metavar="NODE_MODULES")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    if args.extract_glyphs:
        extract_glyphs(args.extract_glyphs)
    hanzi, latin = load_glyphs()
    rng = np.random.default_rng(args.seed)
    persons = [make_person(rng, i, i >= PERSONS_CHINESE) for i in range(PERSONS_CHINESE + PERSONS_LATIN)]
    genuine = []
    for person in persons:
        for k in range(SIGNATURES_PER_PERSON):
            strokes = signature_points(person, hanzi, latin, rng)
            genuine.append({"id": f"{person['id']}-{k}", "person": person["id"], "signer_name": person["name"],
                            "canvas": canvas_of(person), "device_hz": person["device"]["hz"],
                            "strokes": to_compact(strokes)})
    for item in genuine:   # later kinds are derived from exactly what was written out
        item["_strokes"] = [np.array([p[:3] + [np.nan] for p in s], float) for s in item["strokes"]]
    garbage = make_garbage(rng, persons, genuine, hanzi, latin)
    robots = make_robots(rng, persons, hanzi, latin)
    replays = make_replays(rng, genuine)
    replays += make_resampled_replays(rng, genuine, RESAMPLED_PER_KIND)
    # Held out: its own seed, never looked at while choosing the fingerprint's constants.
    held_out = make_replays(np.random.default_rng([args.seed, 1]), genuine, count=60)
    held_out += make_resampled_replays(np.random.default_rng([args.seed, 2]), genuine, HELD_OUT_PER_KIND)
    for item in genuine:
        del item["_strokes"]
    for name, items in (("genuine", genuine), ("garbage", garbage), ("robots", robots), ("replays", replays),
                        ("replays_heldout", held_out)):
        (CORPUS_DIR / f"{name}.json").write_text(
            json.dumps(items, ensure_ascii=False, separators=(",", ":")), "utf-8")
        print(f"{name}: {len(items)} items, {(CORPUS_DIR / f'{name}.json').stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    sys.exit(main())
