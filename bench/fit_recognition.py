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
a threshold can be chosen on the even persons and then read once on the odd ones; it also
replays a Zinnia veto on chosen paths (`--veto-paths rescue,tolerant --veto-score ...`,
tried 2026-12-02, see handwriting.py) and the one-stroke-out filter at any rival distance
(`--one-out-rival-min`, handwriting.ONE_OUT_RIVAL_MIN; -1 turns it off), and gives each
surname's count with a 95 % Wilson interval, so that one failure among five (80 %) is
told from a surname really below 90 %.

    # a bigger held-out corpus in reasonable time: boxes only, the classes a rule can change
    python bench/fit_recognition.py measure --corpus FILE --part held-out --layout boxes \
        --no-rival-tolerant --kinds genuine,lookalike --shard 0/2    # and 1/2 in parallel
    python bench/fit_recognition.py evaluate --part held-out --features A.jsonl,B.jsonl
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


def measure(corpus: pathlib.Path, out: pathlib.Path, part: str, shard: tuple[int, int], layout: str = "all",
            rival_tolerant: bool = True, kinds: frozenset | None = None) -> None:
    """`shard` (k, n): only the part's persons whose number // 2 is k modulo n (to run
    several processes, or a subset like bench_recognition.py's --every). `layout`: boxes
    or free only (look-alikes and scribbles are written in boxes only, and the strict
    target is for boxes). `rival_tolerant` False: skip the nearest rivals' leave-one-out
    distances (only `--rival-tolerance-slack` replays them). `kinds`: only these classes (a veto only refuses: the impostor classes it cannot
    raise need not be measured to compare rules that add one)."""
    recognizer = zinnia.recognizer()
    hw._rivals()
    with corpus.open(encoding="utf-8") as lines, out.open("w", encoding="utf-8") as dump:
        for n, line in enumerate(lines):
            item = json.loads(line)
            number = int(item["person"].lstrip("p"))
            if (part != "all" and part_of(item) != part) or (number // 2) % shard[1] != shard[0]:
                continue
            if (layout != "all" and item["layout"] != layout) or (kinds and item["kind"] not in kinds):
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
                                             char, recognizer, rival_tolerant)))
            dump.write(json.dumps({k: item[k] for k in ("person", "kind", "variant", "layout", "expected", "attempt")}
                                  | {"chars": chars}, ensure_ascii=False) + "\n")
            if n % 500 == 0:
                print(n, file=sys.stderr)


def features(strokes, char, recognizer, rival_tolerant=True) -> dict:
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
    rival_tolerant = (min(hw.tolerant_distance(written, names[int(k)], hw.TOLERANT_TRIM) for k in order)
                      if rival_tolerant else math.inf)
    return {"strokes": len(strokes), "reference_strokes": len(hw.reference_strokes(char)), "rank": rank,
            "zinnia": [[c.char, round(c.score, 5)] for c in ranked],
            "rivals": {c: round(float(d), 5) for c, d in zip(names, others)},
            "trimmed_rivals": {c: round(float(d), 5) for c, d in zip(names, trimmed)},
            "distance": hw.chamfer(written, reference), "best_other": float(others.min()),
            "best": names[int(np.argmin(others))],
            # whole, then each stroke left out, unfiltered: tolerant_distance replays the filter
            "tolerant_sets": [round(float(d), 5) for d in hw.chamfers(
                written, (hw._reference_samples(char),) + hw._reference_without_one(char), hw.TOLERANT_TRIM)],
            "trimmed_rival": float(trimmed.min()), "rival_tolerant": float(rival_tolerant)}


# ---------------------------------------------------------------- the rule, replayed
def vetoed(c: dict, t: dict) -> bool:
    """Zinnia as a veto: its first answer is another character, with a score of at least
    veto_score and ahead of its second by veto_gap, and that character is also the
    verifier's nearest rival (plain or trimmed) or within veto_near of it."""
    z = c.get("zinnia") or []
    if not z or z[0][0] == c["expected"] or z[0][1] < t["veto_score"]:
        return False
    if len(z) > 1 and z[0][1] - z[1][1] < t["veto_gap"]:
        return False
    top = z[0][0]
    plain, trimmed = c["rivals"].get(top), c["trimmed_rivals"].get(top)
    if plain is None:
        return False
    return (plain <= c["best_other"] + t["veto_near"]) or (trimmed <= c["trimmed_rival"] + t["veto_near"])


def verified(c: dict, t: dict) -> bool:
    if c.get("unsupported"):
        return True
    if "distance" not in c:
        return False
    paths = t["veto_paths"]
    veto = bool(paths) and vetoed(c, t)
    margin = c["best_other"] - c["distance"]
    rank = c["rank"]
    if c["distance"] <= t["max_distance"]:
        if margin >= t["margin"] and not (veto and "main" in paths):
            return True
        if (rank is not None and rank <= t["rescue_rank"] and margin >= t["rescue_margin"]
                and not (veto and "rescue" in paths)):
            return True
    if c["strokes"] < c["reference_strokes"] and c["reference_strokes"] - c["strokes"] <= t["fewer_max"]:
        if veto and "tolerant" in paths:
            return False
        rival = min(c["trimmed_rival"], c["rival_tolerant"] + t["rival_tolerance_slack"])
        tolerant = tolerant_distance(c, t)
        return tolerant <= t["tolerant_max"] and rival - tolerant >= t["tolerant_margin"]
    return False


def tolerant_distance(c: dict, t: dict) -> float:
    """The tolerant distance with the one-stroke-out filter at t["one_out_rival_min"]
    (features measured before the filter have only their unfiltered "tolerant")."""
    if "tolerant_sets" not in c:
        return c["tolerant"]
    whole, *each = c["tolerant_sets"]
    rivals = hw.one_out_rival_distances(c["expected"])
    return min([whole] + [d for d, r in zip(each, rivals) if r > t["one_out_rival_min"]])


def thresholds(**overrides) -> dict:
    t = {"max_distance": hw.MAX_DISTANCE, "margin": hw.MARGIN, "rescue_rank": hw.RESCUE_RANK,
         "rescue_margin": hw.RESCUE_MARGIN, "tolerant_max": hw.MAX_DISTANCE, "tolerant_margin": hw.TOLERANT_MARGIN,
         "fewer_max": 99, "rival_tolerance_slack": math.inf, "one_out_rival_min": hw.ONE_OUT_RIVAL_MIN,
         "veto_paths": "", "veto_score": -math.inf, "veto_gap": 0.0, "veto_near": 0.0}
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
            "surnames": {s: (int(sum(v)), len(v)) for s, v in surname.items()},
            "impostor_chars": impostor_chars}


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a share k/n."""
    if not n:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def surname_summary(counts: dict, target: float = 0.9) -> str:
    """Per surname (k accepted of n genuine (writer, variant) pairs within 3 attempts): how
    many reach the target, and which are below it beyond doubt (the 95 % interval's upper
    bound under the target) rather than by one failure among a few writers."""
    if not counts:
        return "surnames: no genuine writing in boxes measured"
    below = sorted((k / n, s, k, n) for s, (k, n) in counts.items() if k / n < target)
    certain = [(s, k, n) for _, s, k, n in below if wilson(k, n)[1] < target]
    sizes = sorted(n for _, n in counts.values())
    k_all, n_all = sum(k for k, _ in counts.values()), sum(n for _, n in counts.values())
    return (f"surnames >= {target:.0%} within 3 (all variants): {len(counts) - len(below)} of {len(counts)} "
            f"(n per surname {sizes[0]}..{sizes[-1]}; pooled {100 * k_all / n_all:.1f} %)"
            + (f"; below: {', '.join(f'{s} {k}/{n}' for _, s, k, n in below)}" if below else "")
            + f"; significantly below (95 % upper bound < {target:.0%}): "
            + (", ".join(f"{s} {k}/{n} (<= {wilson(k, n)[1]:.0%})" for s, k, n in certain) if certain else "none"))


def report(rows, t, part) -> None:
    result = evaluate(rows, t, part)
    print(f"part {part}: {t}")
    for (kind, variant, layout), (people, one, three) in sorted(result["table"].items(),
                                                                key=lambda kv: (kv[0][0] != "genuine", kv[0])):
        print(f"  {kind:<11} {variant:<9} {layout:<6} {people:>4} {one:>6.1f}% {three:>6.1f}%")
    print("  " + surname_summary(result["surnames"]))
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
                 "rival_tolerance_slack", "one_out_rival_min", "veto_score", "veto_gap", "veto_near"):
        parser.add_argument("--" + name.replace("_", "-"), type=float)
    parser.add_argument("--shard", default="0/1", help="measure: k/n, the part's persons with number // 2 = k mod n")
    parser.add_argument("--layout", choices=("all", "boxes", "free"), default="all", help="measure: one layout only")
    parser.add_argument("--no-rival-tolerant", action="store_true",
                        help="measure: skip the rivals' leave-one-out distances (--rival-tolerance-slack needs them)")
    parser.add_argument("--kinds", help="measure: comma-separated classes only (genuine,lookalike ...)")
    parser.add_argument("--rescue-rank", type=int)
    parser.add_argument("--fewer-max", type=int)
    parser.add_argument("--veto-paths", help="comma-separated: main, rescue, tolerant (Zinnia's veto applies there)")
    args = parser.parse_args(argv)
    if args.command == "measure":
        k, n = (int(x) for x in args.shard.split("/"))
        measure(args.corpus, args.features, args.part, (k, n), args.layout, not args.no_rival_tolerant,
                frozenset(args.kinds.split(",")) if args.kinds else None)
        return
    t = thresholds(**{k: getattr(args, k) for k in ("max_distance", "margin", "rescue_rank", "rescue_margin",
                                                    "tolerant_max", "tolerant_margin", "fewer_max",
                                                    "rival_tolerance_slack", "one_out_rival_min", "veto_paths", "veto_score",
                                                    "veto_gap", "veto_near")})
    rows = [row for path in str(args.features).split(",") for row in load(pathlib.Path(path))]
    report(rows, t, args.part)


if __name__ == "__main__":
    main()
