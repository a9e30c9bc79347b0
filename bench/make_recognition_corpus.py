"""Synthesise the handwriting-recognition corpus (issue 13) from a seed.

Uses the hands of bench/make_signature_corpus.py (its people, sigma-lognormal strokes and
simulated touch devices, imported, not copied) over the stroke medians shipped in
delivery_sign/evidence/data/hanzi_medians.bin. Every item is one submit: a name written
one character per box (``layout: boxes``, with the boxes) or freely on the canvas
(``free``), and the name it is checked against (``expected``).

Classes (``kind``): genuine writing of the expected name, by ``variant`` — ``standard``
order, two adjacent strokes ``swapped``, a stroke ``reversed``, strokes ``joined``
(cursive), a stroke ``missing`` (``dropped``: per character, the reference stroke left
out); and impostors: ``other_name`` (another name of the same
length), ``one_swap`` (one character replaced), ``lookalike`` (one character replaced by
a look-alike: 王→文, 李→季 ...), ``scribble`` (random curves). Each (person, class) is
written ``ATTEMPTS`` times, as a signer retrying would.

    python bench/make_recognition_corpus.py [--out FILE] [--people N]   # JSON lines
    python bench/make_recognition_corpus.py --extract-medians /tmp/hwd/node_modules
    python bench/make_recognition_corpus.py --test-cases   # tests/data/recognition/cases.json

The second form rebuilds delivery_sign/evidence/data/hanzi_medians.bin from the npm
package hanzi-writer-data (``npm install --prefix /tmp/hwd hanzi-writer-data``): all
9,574 characters, coordinates quantised to 4/1024 of the em box (1 byte each).
"""
import argparse
import json
import math
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import make_signature_corpus as hands  # noqa: E402  (another helper owns it: import only)

from delivery_sign.evidence.handwriting import DATA_PATH, reference_strokes  # noqa: E402

SEED = 20261201
ATTEMPTS = 3
VARIANTS = ("standard", "swapped", "reversed", "joined", "missing")
IMPOSTORS = ("other_name", "one_swap", "lookalike", "scribble")
# One-stroke or one-component look-alikes of common name characters.
LOOKALIKES = {
    "王": "文玉主", "李": "季杏", "张": "弛", "刘": "列", "陈": "阵", "杨": "扬场", "黄": "寅", "赵": "赶",
    "吴": "昊", "周": "用", "徐": "途", "孙": "驰", "马": "乌鸟", "朱": "未末", "胡": "湖", "林": "材杯",
    "罗": "梦", "郑": "邦", "梁": "粱", "谢": "射", "宋": "宗", "唐": "庸", "许": "评", "韩": "乾", "冯": "码",
    "明": "朋", "伟": "韦", "华": "毕", "国": "图", "文": "又", "丽": "雨", "英": "央", "军": "车",
    "平": "半", "玉": "王", "春": "泰", "兰": "半", "白": "自", "石": "右", "田": "由甲", "方": "万",
    "于": "干", "史": "吏", "毛": "手", "金": "全", "丁": "了", "叶": "什",
}


# ---------------------------------------------------------------- medians
def extract_medians(node_modules: pathlib.Path) -> None:
    root = node_modules / "hanzi-writer-data"
    chars = sorted(p.stem for p in root.glob("*.json") if len(p.stem) == 1)
    out = bytearray(b"HZMD1\n")
    for char in chars:
        medians = json.loads((root / f"{char}.json").read_text("utf-8"))["medians"]
        encoded = char.encode("utf-8")
        out.append(len(encoded))
        out += encoded
        out.append(len(medians))
        for stroke in medians:
            out.append(len(stroke))
            for x, y in stroke:
                # Make Me a Hanzi: 1024 box, y up, baseline at -124; store y down, 0..255
                out += bytes((max(0, min(255, round(x / 4))), max(0, min(255, round((900 - y) / 4)))))
    DATA_PATH.write_bytes(bytes(out))
    print(f"{len(chars)} characters, {len(out)} bytes -> {DATA_PATH}")


# ---------------------------------------------------------------- glyph variants
def glyph(char, variant, rng):
    """The character's strokes as `variant` writes them, and the index of the reference
    stroke left out (``missing``) or None."""
    strokes = [np.array(s) for s in reference_strokes(char)]
    dropped = None
    if variant == "swapped" and len(strokes) >= 2:
        i = int(rng.integers(len(strokes) - 1))
        strokes[i], strokes[i + 1] = strokes[i + 1], strokes[i]
    elif variant == "reversed":
        i = int(rng.integers(len(strokes)))
        strokes[i] = strokes[i][::-1]
    elif variant == "missing" and len(strokes) >= 4:
        dropped = int(rng.integers(len(strokes)))
        del strokes[dropped]
    return strokes, dropped


def render(person, written, variant, layout, rng):
    """Strokes (n, 4 arrays in CSS px) and boxes of one submit writing `written`, and per
    character the reference stroke left out (variant ``missing``)."""
    style = dict(person["style"], char_size=1.0)
    style["cursive"] = rng.uniform(0.4, 0.8) if variant == "joined" else 0.0
    # in the order written: a set's order of str follows PYTHONHASHSEED, and the rng with it
    drawn = {c: glyph(c, variant, rng) for c in dict.fromkeys(written)}
    shapes = {c: strokes for c, (strokes, _) in drawn.items()}
    shape = hands.chinese_name_shape(written, shapes, style, rng)
    width, height, _ = person["device"]["canvas"]
    n = len(written)
    boxes = None
    placed = []
    if layout == "boxes":
        side = min(0.8 * height, 0.92 * width / n)
        left = (width - side * n) / 2
        top = (height - side) / 2
        boxes = [{"x": round(left + i * side, 1), "y": round(top, 1), "width": round(side, 1),
                  "height": round(side, 1)} for i in range(n)]
        for index in range(n):
            parts = [p for i, p in shape if i == index]
            pts = np.vstack(parts)
            lo, hi = pts.min(0), pts.max(0)
            size = rng.uniform(0.6, 0.85) * side / max(float((hi - lo).max()), 1e-6)
            extent = (hi - lo) * size
            offset = np.array([boxes[index]["x"], boxes[index]["y"]]) + rng.uniform(
                0.04 * side, np.maximum(0.05 * side, side - extent - 0.04 * side))
            placed += [(index, (p - lo) * size + offset) for p in parts]
    else:
        pts = np.vstack([p for _, p in shape])
        lo, hi = pts.min(0), pts.max(0)
        size = min(person["style"]["char_size"] * height / max(hi[1] - lo[1], 1e-6),
                   0.92 * width / max(hi[0] - lo[0], 1e-6), 0.95 * height / max(hi[1] - lo[1], 1e-6))
        offset = np.array([0.04 * width, 0.04 * height])
        placed = [(i, (p - lo) * size + offset) for i, p in shape]
    dropped = {c: k for c, (_, k) in drawn.items() if k is not None}
    return _timed(placed, person, style, rng), boxes, dropped


def scribble(person, n, rng):
    width, height, _ = person["device"]["canvas"]
    placed = []
    for index in range(n):
        for _ in range(int(rng.integers(1, 5))):
            k = int(rng.integers(3, 8))
            centre = np.array([width * (index + 0.5) / n, height / 2])
            path = centre + rng.normal(0, [width / n / 4, height / 5], (k, 2))
            placed.append((index, hands.smooth_polyline(path, 2)))
    return _timed(placed, person, dict(person["style"]), rng)


def _timed(placed, person, style, rng):
    strokes, t, previous = [], float(rng.uniform(0, 400)), 0
    for index, path in placed:
        t += rng.lognormal(math.log(style["lift_ms"] * (1.8 if index != previous else 1.0)), 0.35)
        previous = index
        position, duration = hands.lognormal_stroke(path, style, rng)
        xy, stamps, _ = hands.sample_device(position, duration, t, person["device"], rng)
        t = float(stamps[-1])
        strokes.append(np.column_stack([xy, stamps, np.full(len(xy), np.nan)]))
    return strokes


# ---------------------------------------------------------------- the corpus
def random_name(rng, length, surname=None):
    chars = [surname or hands.SURNAMES[int(rng.integers(len(hands.SURNAMES)))]]
    chars += [hands.GIVEN_NAME_CHARACTERS[int(rng.integers(len(hands.GIVEN_NAME_CHARACTERS)))]
              for _ in range(length - 1)]
    return "".join(chars)


def impostor_text(kind, name, rng):
    if kind == "other_name":
        while True:
            other = random_name(rng, len(name))
            if other != name:
                return other, None
    positions = list(range(len(name)))
    if kind == "lookalike":
        positions = [i for i in positions if name[i] in LOOKALIKES] or positions
    i = positions[int(rng.integers(len(positions)))]
    if kind == "lookalike" and name[i] in LOOKALIKES:
        options = LOOKALIKES[name[i]]
        replacement = options[int(rng.integers(len(options)))]
    else:
        pool = [c for c in hands.GIVEN_NAME_CHARACTERS + hands.SURNAMES if c != name[i]]
        replacement = pool[int(rng.integers(len(pool)))]
    return name[:i] + replacement + name[i + 1:], i


def items(people_per_surname=1, layouts=("boxes", "free"), seed=SEED):
    rng = np.random.default_rng(seed)
    index = 0
    for surname in hands.SURNAMES:
        for _ in range(people_per_surname):
            person = hands.make_person(rng, index, False)
            index += 1
            length = int(rng.choice([2, 3, 3, 3, 4], p=[0.25, 0.3, 0.2, 0.2, 0.05]))
            name = random_name(rng, length, surname)
            for layout in layouts:
                classes = [("genuine", v) for v in (VARIANTS if layout == "boxes" else ("standard", "joined"))]
                classes += [(k, None) for k in (IMPOSTORS if layout == "boxes" else ("other_name", "one_swap"))]
                for kind, variant in classes:
                    written, swapped_at = (name, None) if kind == "genuine" else (
                        (None, None) if kind == "scribble" else impostor_text(kind, name, rng))
                    for attempt in range(1, ATTEMPTS + 1):
                        dropped = {}
                        if kind == "scribble":
                            strokes, boxes = scribble(person, len(name), rng), None
                            if layout == "boxes":
                                _, boxes, _ = render(person, name, "standard", "boxes", rng)
                        else:
                            strokes, boxes, dropped = render(person, written, variant or "standard", layout, rng)
                        yield {"person": person["id"], "kind": kind, "variant": variant, "layout": layout,
                               "expected": name, "written": written, "swapped_at": swapped_at,
                               "attempt": attempt, "canvas": hands.canvas_of(person), "boxes": boxes,
                               "dropped": dropped, "strokes": hands.to_compact(strokes)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extract-medians", type=pathlib.Path, metavar="NODE_MODULES")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("/tmp/recognition_corpus.jsonl"))
    parser.add_argument("--people", type=int, default=1, help="people per surname (100 surnames)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--test-cases", action="store_true", help=f"write {TEST_CASES_PATH.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    if args.extract_medians:
        extract_medians(args.extract_medians)
        return
    if args.test_cases:
        write_test_cases(args.seed)
        return
    count = 0
    with args.out.open("w", encoding="utf-8") as out:
        for item in items(args.people, seed=args.seed):
            out.write(json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
    print(f"{count} submits -> {args.out}")


# ---------------------------------------------------------------- the tests' small subset
TEST_CASES_PATH = ROOT / "tests" / "data" / "recognition" / "cases.json"
TEST_CASES = (   # (case, expected name, written text or None for a scribble, layout, variant)
    ("genuine_boxes", "李明华", "李明华", "boxes", "standard"),
    ("genuine_boxes_joined", "李明华", "李明华", "boxes", "joined"),
    ("genuine_free", "李明华", "李明华", "free", "standard"),
    ("lookalike_boxes", "李明华", "季明华", "boxes", "standard"),
    ("other_name_boxes", "李明华", "王建国", "boxes", "standard"),
    ("other_name_free", "李明华", "王建国", "free", "standard"),
    ("scribble_boxes", "李明华", None, "boxes", "standard"),
    ("outside_model_boxes", "张喆", "张喆", "boxes", "standard"),
)


def write_test_cases(seed=SEED):
    """A handful of submits for tests/ (written by the same hands as the corpus)."""
    rng = np.random.default_rng(seed)
    person = hands.make_person(rng, 0, False)
    person["device"]["canvas"] = (360, 200, 3)
    person["style"].update(cursive=0.0, slant=0.05, aspect=0.95, shape_noise=0.025)
    cases = {}
    for case, expected, written, layout, variant in TEST_CASES:
        if written is None:
            strokes = scribble(person, len(expected), rng)
            _, boxes, _ = render(person, expected, "standard", "boxes", rng)
        else:
            strokes, boxes, _ = render(person, written, variant, layout, rng)
        cases[case] = {"expected": expected, "written": written, "layout": layout, "variant": variant,
                       "canvas": hands.canvas_of(person), "boxes": boxes, "strokes": hands.to_compact(strokes)}
    TEST_CASES_PATH.parent.mkdir(parents=True, exist_ok=True)
    TEST_CASES_PATH.write_text(json.dumps(cases, ensure_ascii=False, separators=(",", ":")), "utf-8")
    print(f"{len(cases)} cases -> {TEST_CASES_PATH}")


if __name__ == "__main__":
    main()
