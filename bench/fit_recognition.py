"""Fit the thresholds of evidence/handwriting.py on the corpus's FITTING part, report them
on the HELD-OUT part (issue 13).

    python bench/make_recognition_corpus.py                  # /tmp/recognition_corpus.jsonl
    python bench/fit_recognition.py measure [--corpus FILE]  # /tmp/recognition_features.jsonl
    python bench/fit_recognition.py evaluate [--margin 0.001 ...]

`measure` records, per character of every submit (all persons), what the decision rule of
`handwriting.read_character` looks at and what no threshold changes: Zinnia's rank, the
verifier distance to the expected reference, the distance to the best other candidate,
and for the tolerant path (part 4) the trimmed leave-one-out distance and the best
rival's trimmed distance. `evaluate` replays the rule with any thresholds in a moment, so
a threshold can be chosen on the even persons and then read once on the odd ones.
"""
import argparse
import collections
import json
import math
import os
import pathlib
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # before numpy: see bench_recognition.py

import numpy as np  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from delivery_sign.evidence import handwriting as hw, zinnia  # noqa: E402
from delivery_sign.evidence.strokes import parse_signature  # noqa: E402


def measure(corpus: pathlib.Path, out: pathlib.Path, part: str, shard: tuple[int, int]) -> None:
    """`shard` (k, n): only the part's persons whose number // 2 is k modulo n (to run
    several processes, or a subset like bench_recognition.py's --every)."""
    recognizer = zinnia.recognizer()
    hw._rivals()
    with corpus.open(encoding="utf-8") as lines, out.open("w", encoding="utf-8") as dump:
        for n, line in enumerate(lines):
            item = json.loads(line)
            number = int(item["person"].lstrip("p"))
            if (part != "all" and part_of(item) != part) or (number // 2) % shard[1] != shard[0]:
                continue
            signature = parse_signature({"strokes": item["strokes"], "canvas": item["canvas"]})
            strokes = [s[:, :2] for s in signature.strokes]
            expected = hw.name_characters(item["expected"])
            if item["boxes"]:
                groups = hw.strokes_in_boxes(strokes, item["boxes"])
            else:
                groups, _ = hw.split_free_canvas(strokes, expected)
            chars = []
            for i, (group, char) in enumerate(zip(groups, expected)):
                written_char = item["written"][i] if item["written"] else None
                chars.append(dict(i=i, expected=char, written=written_char, impostor=written_char != char,
                                  **features([np.asarray(s, dtype=np.float64) for s in group if len(s)],
                                             char, recognizer)))
            dump.write(json.dumps({k: item[k] for k in ("person", "kind", "variant", "layout", "expected", "attempt")}
                                  | {"chars": chars}, ensure_ascii=False) + "\n")
            if n % 500 == 0:
                print(n, file=sys.stderr)


def features(strokes, char, recognizer) -> dict:
    reference = hw._reference_samples(char)
    if reference is None or not strokes:
        return {"strokes": len(strokes), "unsupported": reference is None}
    ranked = recognizer.classify(strokes, hw.ZINNIA_CANDIDATES)
    rank = next((i + 1 for i, c in enumerate(ranked) if c.char == char), None)
    written = hw.samples(strokes)
    names = hw.rival_candidates(written, ranked, char)
    sets = [hw._reference_samples(c) for c in names]
    others = hw.chamfers(written, sets)
    trimmed = hw.chamfers(written, sets, hw.TOLERANT_TRIM)
    order = np.argsort(trimmed)[:2]
    # the nearest rivals with the expected character's full tolerance (trim and leave-one-out)
    rival_tolerant = min(hw.tolerant_distance(written, names[int(k)], hw.TOLERANT_TRIM) for k in order)
    return {"strokes": len(strokes), "reference_strokes": len(hw.reference_strokes(char)), "rank": rank,
            "zinnia": [[c.char, round(c.score, 5)] for c in ranked],
            "rivals": {c: round(float(d), 5) for c, d in zip(names, others)},
            "trimmed_rivals": {c: round(float(d), 5) for c, d in zip(names, trimmed)},
            "distance": hw.chamfer(written, reference), "best_other": float(others.min()),
            "best": names[int(np.argmin(others))],
            "tolerant": hw.tolerant_distance(written, char, hw.TOLERANT_TRIM),
            "trimmed_rival": float(trimmed.min()), "rival_tolerant": float(rival_tolerant)}


# ---------------------------------------------------------------- the rule, replayed
def verified(c: dict, t: dict) -> bool:
    if c.get("unsupported"):
        return True
    if "distance" not in c:
        return False
    margin = c["best_other"] - c["distance"]
    rank = c["rank"]
    if c["distance"] <= t["max_distance"] and (
            margin >= t["margin"] or (rank is not None and rank <= t["rescue_rank"] and margin >= t["rescue_margin"])):
        return True
    if c["strokes"] < c["reference_strokes"] and c["reference_strokes"] - c["strokes"] <= t["fewer_max"]:
        rival = min(c["trimmed_rival"], c["rival_tolerant"] + t["rival_tolerance_slack"])
        return c["tolerant"] <= t["tolerant_max"] and rival - c["tolerant"] >= t["tolerant_margin"]
    return False


def thresholds(**overrides) -> dict:
    t = {"max_distance": hw.MAX_DISTANCE, "margin": hw.MARGIN, "rescue_rank": hw.RESCUE_RANK,
         "rescue_margin": hw.RESCUE_MARGIN, "tolerant_max": hw.MAX_DISTANCE, "tolerant_margin": hw.TOLERANT_MARGIN,
         "fewer_max": 99, "rival_tolerance_slack": math.inf}
    t.update({k: v for k, v in overrides.items() if v is not None})
    return t


def load(path: pathlib.Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def part_of(row) -> str:
    return "held-out" if int(row["person"].lstrip("p")) % 2 else "fit"


def evaluate(rows, t, part) -> dict:
    """Acceptance per class within 1 and 3 attempts, surnames, impostor characters."""
    attempts = collections.defaultdict(list)
    impostor_chars = collections.Counter()
    names = {}
    for row in rows:
        names[row["person"]] = row["expected"]
        if part != "all" and part_of(row) != part:
            continue
        ok = [verified(c, t) for c in row["chars"]]
        key = (row["kind"], row["variant"] or "", row["layout"], row["person"])
        attempts[key].append(all(ok))
        if row["kind"] != "genuine":
            for c, v in zip(row["chars"], ok):
                if c["impostor"]:
                    impostor_chars[(row["kind"], v)] += 1
    table = collections.defaultdict(list)
    surname = collections.defaultdict(list)
    for (kind, variant, layout, person), results in attempts.items():
        table[(kind, variant, layout)].append((results[0], any(results[:3])))
        if kind == "genuine" and layout == "boxes":
            table[("genuine", "(all)", "boxes")].append((results[0], any(results[:3])))
            surname[names[person][0]].append(any(results[:3]))
    return {"table": {k: (len(v), 100 * np.mean([a for a, _ in v]), 100 * np.mean([b for _, b in v]))
                      for k, v in table.items()},
            "surnames": {s: float(np.mean(v)) for s, v in surname.items()},
            "impostor_chars": impostor_chars}


def report(rows, t, part) -> None:
    result = evaluate(rows, t, part)
    print(f"part {part}: {t}")
    for (kind, variant, layout), (people, one, three) in sorted(result["table"].items(),
                                                                key=lambda kv: (kv[0][0] != "genuine", kv[0])):
        print(f"  {kind:<11} {variant:<9} {layout:<6} {people:>4} {one:>6.1f}% {three:>6.1f}%")
    low = sorted((v, s) for s, v in result["surnames"].items() if v < 0.9)
    print(f"  surnames >= 90 % within 3 (all variants): {len(result['surnames']) - len(low)} of "
          f"{len(result['surnames'])}" + (f"; below: {', '.join(f'{s} {v:.0%}' for v, s in low)}" if low else ""))
    ic = result["impostor_chars"]
    print("  impostor characters accepted: " + ", ".join(
        f"{kind} {ic[(kind, True)]}/{ic[(kind, True)] + ic[(kind, False)]}"
        for kind in ("lookalike", "one_swap", "other_name", "scribble") if ic[(kind, True)] + ic[(kind, False)]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("measure", "evaluate"))
    parser.add_argument("--corpus", type=pathlib.Path, default=pathlib.Path("/tmp/recognition_corpus.jsonl"))
    parser.add_argument("--features", type=pathlib.Path, default=pathlib.Path("/tmp/recognition_features.jsonl"))
    parser.add_argument("--part", choices=("fit", "held-out", "all"), default="fit")
    for name in ("max_distance", "margin", "rescue_margin", "tolerant_max", "tolerant_margin",
                 "rival_tolerance_slack"):
        parser.add_argument("--" + name.replace("_", "-"), type=float)
    parser.add_argument("--shard", default="0/1", help="measure: k/n, the part's persons with number // 2 = k mod n")
    parser.add_argument("--rescue-rank", type=int)
    parser.add_argument("--fewer-max", type=int)
    args = parser.parse_args(argv)
    if args.command == "measure":
        k, n = (int(x) for x in args.shard.split("/"))
        measure(args.corpus, args.features, args.part, (k, n))
        return
    t = thresholds(**{k: getattr(args, k) for k in ("max_distance", "margin", "rescue_rank", "rescue_margin",
                                                    "tolerant_max", "tolerant_margin", "fewer_max",
                                                    "rival_tolerance_slack")})
    rows = [row for path in str(args.features).split(",") for row in load(pathlib.Path(path))]
    report(rows, t, args.part)


if __name__ == "__main__":
    main()
