"""Signature stroke checks: the confusion table over the labelled corpus, and timings.

    /work/venv/bin/python bench/bench_strokes.py [--stored 100000] [--replays-only] [--db sqlite] [--db postgresql+psycopg://…]

Prints numbers next to the targets of issues #3 and #21; asserts nothing. Wall-clock times are
p50/p95 over repeated runs; CPU times (process_time) are printed beside them because
other work on a shared machine inflates wall time.
"""
import argparse
import collections
import itertools
import json
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from delivery_sign.evidence import replay, signature_render, strokes  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "signatures"


def load(name):
    return json.loads((CORPUS / f"{name}.json").read_text("utf-8"))


def parse(item):
    return strokes.parse_signature({"strokes": item["strokes"], "canvas": item["canvas"]})


def verdict(item, handwriting=None):
    return strokes.check_signature(parse(item), signer_name=item.get("signer_name", ""),
                                   handwriting=handwriting or item.get("handwriting", "basic"))


def pct(part, whole):
    return f"{100.0 * part / whole:6.2f}%" if whole else "    -  "


def timed(function, items, repeat=3):
    wall, cpu = [], []
    for _ in range(repeat):
        for item in items:
            w, c = time.perf_counter(), time.process_time()
            function(item)
            wall.append(time.perf_counter() - w)
            cpu.append(time.process_time() - c)
    return (np.percentile(wall, 50) * 1e3, np.percentile(wall, 95) * 1e3, np.percentile(cpu, 50) * 1e3)


def confusion_table():
    genuine, garbage, robots = load("genuine"), load("garbage"), load("robots")
    print("== confusion table (rows: labelled class; columns: what the checks said)")
    print(f"{'class':42s} {'n':>5s} {'own code':>8s} {'any hard':>8s} {'robotic':>8s} {'weak':>8s}")

    def row(label, items, own_code=None, handwriting=None):
        verdicts = [verdict(item, handwriting) for item in items]
        own = sum(any(code == (own_code or item["kind"]) for code, _ in v.errors)
                  for item, v in zip(items, verdicts)) if own_code != "" else 0
        hard = sum(bool(v.errors) for v in verdicts)
        robotic = sum("robotic_signature" in v.anomalies for v in verdicts)
        weak = sum("weak_signature" in v.anomalies for v in verdicts)
        print(f"{label:42s} {len(items):5d} {pct(own, len(items)) if own_code != '' else '    -  ':>8s} "
              f"{pct(hard, len(items))} {pct(robotic, len(items))} {pct(weak, len(items))}")
        return verdicts

    verdicts = row("genuine (basic)", genuine, own_code="")
    failed = [(item["id"], v.errors) for item, v in zip(genuine, verdicts) if v.errors]
    row("genuine (strict)", genuine, own_code="", handwriting="strict")
    print("   targets: genuine hard-failed <= 1 %, flagged robotic <= 2 %")
    by_kind = collections.defaultdict(list)
    for item in garbage:
        by_kind[item["kind"] + (f" / {item['variant']}" if "variant" in item else "")].append(item)
    for kind, items in by_kind.items():
        row(kind, items, own_code=items[0]["kind"])
    refused = 0
    for item in genuine[:20]:   # over 20,000 points: built here, too big for the corpus
        one_stroke = [point for stroke in item["strokes"] for point in stroke]
        repeats = strokes.MAX_POINTS // len(one_stroke) + 1
        try:
            strokes.parse_signature({"strokes": [one_stroke] * repeats, "canvas": item["canvas"]})
        except strokes.SignatureInputError as error:
            refused += error.code == "signature_too_many_points"
    print(f"{'signature_too_many_points (parse)':42s} {20:5d} {pct(refused, 20)} {pct(refused, 20)}")
    print("   target: each garbage kind caught by its own code >= 99 %")
    by_kind = collections.defaultdict(list)
    for item in robots:
        by_kind["robot / " + item["kind"]].append(item)
    for kind, items in by_kind.items():
        row(kind, items, own_code="")
    verdicts = [verdict(item) for item in robots]
    robotic = sum("robotic_signature" in v.anomalies for v in verdicts)
    print(f"   robots flagged robotic: {robotic}/{len(robots)} = {pct(robotic, len(robots))} (target >= 95 %)")
    if failed:
        print("   genuine hard failures:", failed[:5])

    replay_table(genuine)
    return genuine


SHIFTED_KINDS = ("exact", "translated", "scaled", "retimed", "jittered", "combined")


def replay_table(genuine):
    """Issue 21: each replay class of the corpus and of the held-out set, and the same
    writers signing again, against an index of every genuine signature."""
    fingerprints = {item["id"]: replay.fingerprint(parse(item)) for item in genuine}
    index = replay.ReplayIndex()
    for key, fp in fingerprints.items():
        index.add(key, fp)
    print(f"\n== replays (fingerprint version {replay.FINGERPRINT_VERSION}; index holds every genuine signature)")
    print(f"{'class':42s} {'n':>5s} {'flagged':>8s} {'held-out':>8s}")
    found = {}
    for name in ("replays", "replays_heldout"):
        for item in load(name):
            hit = item["original"] in index.find(replay.fingerprint(parse(item)))
            found.setdefault((name, item["kind"]), []).append(hit)
    kinds = list(dict.fromkeys(kind for _, kind in found))
    for kind in kinds:
        main, held = found.get(("replays", kind), []), found.get(("replays_heldout", kind), [])
        print(f"{'replay / ' + kind:42s} {len(main):5d} {pct(sum(main), len(main))} "
              f"{pct(sum(held), len(held))} of {len(held)}")
    for label, group, target in (("shifted/scaled/re-timed", SHIFTED_KINDS, "100 %"),
                                 ("re-sampled", [k for k in kinds if k not in SHIFTED_KINDS], ">= 95 %")):
        for name in ("replays", "replays_heldout"):
            hits = [h for (n, kind), v in found.items() if n == name and kind in group for h in v]
            print(f"   {label} replays flagged ({name}): {sum(hits)}/{len(hits)} = {pct(sum(hits), len(hits))}"
                  f" (target {target})")
    people = collections.defaultdict(list)
    for item in genuine:
        people[item["person"]].append(item["id"])
    pairs = [(a, b) for ids in people.values() for a, b in itertools.combinations(ids, 2)]
    flagged = sum(replay.is_replay(fingerprints[a], fingerprints[b]) for a, b in pairs)
    self_only = sum(index.find(fp) != [key] for key, fp in fingerprints.items())
    print(f"   same-writer repeats (distinct genuine pairs of one person) flagged: {flagged}/{len(pairs)} (target 0); "
          f"genuine signatures matching anything but themselves: {self_only}")
    distances = [replay.replay_distance(fingerprints[a], fingerprints[b]) for a, b in pairs]
    replay_distances = [replay.replay_distance(replay.fingerprint(parse(item)), fingerprints[item["original"]])
                        for name in ("replays", "replays_heldout") for item in load(name)]
    print(f"   fingerprint distance: replays max {max(replay_distances):.4f}, p99 "
          f"{np.percentile(replay_distances, 99):.4f}; same-person genuine pairs min {min(distances):.4f}, "
          f"p1 {np.percentile(distances, 1):.4f}; limit REPLAY_MAX_DISTANCE = {replay.REPLAY_MAX_DISTANCE}")


def measurements(genuine):
    """Distributions the thresholds in strokes.py were chosen from."""
    keys = ("point_count", "bbox_share", "ink_share", "duration_ms", "mean_speed_px_ms",
            "speed_cv", "end_speed_ratio", "interval_cv", "line_thickness_ratio")
    groups = {"genuine": genuine, "robots": load("robots")}
    for item in load("garbage"):
        groups.setdefault("garbage " + item["kind"].replace("signature_", ""), []).append(item)
    print("\n== metric ranges (min / p1 / p50 / p99 / max)")
    for name, items in groups.items():
        verdicts = [verdict(item) for item in items]
        for key in keys:
            values = [v.metrics[key] for v in verdicts if v.metrics.get(key) is not None]
            if values and (name in ("genuine", "robots") or key in ("bbox_share", "ink_share", "line_thickness_ratio")):
                print(f"{name:28s} {key:22s} " + " ".join(f"{x:10.4f}" for x in np.percentile(values, [0, 1, 50, 99, 100])))
    strict = [verdict(item, "strict").metrics.get("ink_heights") for item in genuine]
    heights = [h / max(1, len(item["signer_name"].replace(" ", ""))) for h, item in zip(strict, genuine) if h]
    print(f"{'genuine':28s} {'ink heights per char':22s} min {min(heights):.2f} p1 {np.percentile(heights, 1):.2f}")


def timings(genuine, stored, db_urls=()):
    print("\n== timings (wall p50 / wall p95 / cpu p50, ms)")
    three = [item for item in genuine
             if len(item["signer_name"]) == 3 and 300 <= sum(len(s) for s in item["strokes"]) <= 800]
    signatures = [(parse(item), item["signer_name"]) for item in three]
    p50, p95, cpu = timed(lambda s: strokes.check_signature(s[0], signer_name=s[1]), signatures, repeat=20)
    print(f"check_signature, 3-character names of 300-800 points (n={len(three)}): "
          f"{p50:.3f} / {p95:.3f} / {cpu:.3f}   target <= 1 ms p50")
    p50, p95, cpu = timed(lambda item: parse(item), three, repeat=5)
    print(f"parse_signature, same signatures:                         {p50:.3f} / {p95:.3f} / {cpu:.3f}")
    by_canvas = collections.defaultdict(list)
    for sig, _ in signatures:
        by_canvas[(sig.width, sig.height)].append(sig)
    both = [sig for sig, _ in signatures]
    p50, p95, cpu = timed(lambda s: (signature_render.render_png(s), signature_render.render_svg(s)), both, repeat=5)
    print(f"render_png + render_svg, all canvases:                     {p50:.3f} / {p95:.3f} / {cpu:.3f}   target <= 5 ms")
    for canvas, sigs in sorted(by_canvas.items()):
        p50, p95, cpu = timed(lambda s: (signature_render.render_png(s), signature_render.render_svg(s)), sigs, repeat=5)
        print(f"    canvas {canvas[0]:.0f}x{canvas[1]:.0f} CSS px (n={len(sigs)}):{'':22s}{p50:.3f} / {p95:.3f} / {cpu:.3f}")
    p50, p95, cpu = timed(signature_render.render_svg, both, repeat=5)
    print(f"    of which render_svg:                                   {p50:.3f} / {p95:.3f} / {cpu:.3f}")
    replay_lookup(genuine, stored, db_urls)


def replay_lookup(genuine, stored, db_urls=()):
    """Fill an index with `stored` fingerprints of distinct synthetic signatures, then time
    lookups of replays (must be found) and of new genuine signatures (must not be)."""
    import make_signature_corpus as corpus

    rng = np.random.default_rng(7)
    hanzi, latin = corpus.load_glyphs()
    per_person = 20
    persons = [corpus.make_person(rng, i, i % 10 == 9) for i in range(stored // per_person + 50)]
    index = replay.ReplayIndex()
    started = time.perf_counter()
    queries_new, queries_replay, rows, new_signatures = [], [], [], []
    count = 0
    for person in persons:
        base = quick_shape(person, hanzi, latin, rng, corpus)
        for k in range(per_person + 1):
            variant = vary(base, rng)
            fp = replay.fingerprint(variant)
            if count < stored and k < per_person:
                index.add((person["id"], k), fp)
                rows.append(fp)
                count += 1
                if rng.random() < 0.01:
                    queries_replay.append(((person["id"], k), jitter(variant, rng, resample=len(queries_replay) % 2)))
            elif len(queries_new) < 1000:
                queries_new.append(fp)   # the same person signing again, not stored
                new_signatures.append(variant)
        if count >= stored and len(queries_new) >= 1000:
            break
    print(f"replay index: {len(index)} stored signatures built in {time.perf_counter() - started:.1f} s")
    # queries_new[p] is person p's signature number 21, rows[20 p : 20 p + 20] their stored ones
    own = [replay.replay_distance(fp, rows[n]) for p, fp in enumerate(queries_new[:50])
           for n in range(p * per_person, (p + 1) * per_person)]
    print(f"    same-person pairs of this model: distance min {min(own):.4f}, p1 {np.percentile(own, 1):.4f} "
          f"(corpus: see the replay table)")
    wall, candidates, missed, false_flags = [], [], 0, 0
    for key, sig in queries_replay[:1000]:
        fp = replay.fingerprint(sig)
        t = time.perf_counter()
        found = index.find(fp)
        wall.append(time.perf_counter() - t)
        candidates.append(len(index.candidates(fp)))
        missed += key not in found
    for fp in queries_new:
        t = time.perf_counter()
        found = index.find(fp)
        wall.append(time.perf_counter() - t)
        candidates.append(len(index.candidates(fp)))
        false_flags += bool(found)
    print(f"replay lookup among {len(index)}: p50 {np.percentile(wall, 50) * 1e3:.3f} ms, "
          f"p95 {np.percentile(wall, 95) * 1e3:.3f} ms (target <= 5 ms p95); candidates per lookup "
          f"p50 {np.percentile(candidates, 50):.0f}, p95 {np.percentile(candidates, 95):.0f}, max {max(candidates)}")
    print(f"    jittered (half of them re-sampled) replays missed: {missed}/{len(queries_replay[:1000])}; new signatures of stored "
          f"people flagged as replays: {false_flags}/{len(queries_new)}")
    keys = {key: n for n, key in enumerate(index._fingerprints)}
    for url in db_urls:
        database_lookup(url, rows, [(keys[key], sig) for key, sig in queries_replay[:500]], new_signatures[:500],
                        new_signatures[-1])
    submit_cpu(genuine)


def _lookup_before(tenant_id, signature, fp, keys):
    """The lookup as signing/submit.py ran it before issue 21 (one version, no legacy probe)."""
    from sqlalchemy import select

    from delivery_sign.extensions import db
    from delivery_sign.receipts.models import Receipt, SignatureFingerprint

    candidates = db.session.execute(
        select(SignatureFingerprint.receipt_id, SignatureFingerprint.fingerprint)
        .where(SignatureFingerprint.tenant_id == tenant_id, SignatureFingerprint.band_key.in_(keys)).distinct()
    ).all()
    for receipt_id, stored in candidates:
        if replay.is_replay(fp, stored):
            return db.session.get(Receipt, receipt_id).public_id
    return None


def _timed_lookups(lookup, queries_replay, queries_new):
    """Each lookup inside an open transaction, as in the submit; wall and CPU seconds."""
    from sqlalchemy import text

    from delivery_sign.extensions import db

    wall, cpu, missed, false_flags = [], [], 0, 0
    for expected, signature in queries_replay + [(None, sig) for sig in queries_new]:
        fp = replay.fingerprint(signature)
        keys = replay.band_keys(fp)
        db.session.execute(text("SELECT 1"))
        w, c = time.perf_counter(), time.process_time()
        found = lookup(1, signature, fp, keys)
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
        db.session.rollback()
        if expected is None:
            false_flags += found is not None
        else:
            missed += found != f"rcp_{expected:08d}"
    return wall, cpu, missed, false_flags


def database_lookup(url, rows, queries_replay, queries_new, legacy_source):
    """The submit's lookup itself (receipts.fingerprints.find_replay) against a migrated
    database holding one tenant's `len(rows)` receipts, each filed under its band keys
    (rows inserted directly, foreign-key checks off: only the lookup is measured)."""
    import tempfile

    from flask_migrate import upgrade
    from sqlalchemy import create_engine, event, insert, text
    from sqlalchemy.engine import make_url

    from delivery_sign import create_app
    from delivery_sign.extensions import db
    from delivery_sign.receipts import fingerprints
    from delivery_sign.receipts.fingerprints import find_replay
    from delivery_sign.receipts.models import Receipt, SignatureFingerprint

    dropped = None
    if url.startswith("postgresql"):
        base = make_url(url)
        name = f"ds_bench_{np.random.default_rng().integers(1 << 40):x}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url, dropped = base.set(database=name).render_as_string(hide_password=False), (admin, name)
    elif url == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    from delivery_sign.config import _engine_options

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(url, {}),
                      "DEMO_TENANT": False, "WORKER": "off",
                      "INSTANCE_PATH": tempfile.mkdtemp(), "TESTING": True})
    try:
        with app.app_context():
            upgrade()
            started = time.perf_counter()
            # an engine of its own with the foreign keys off (PostgreSQL: as a replica)
            loader = create_engine(url)

            @event.listens_for(loader, "connect")
            def _no_foreign_keys(dbapi_connection, record):   # after the app's listener
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA foreign_keys=OFF" if loader.dialect.name == "sqlite"
                               else "SET session_replication_role = replica")
                cursor.close()

            with loader.begin() as conn:
                for first in range(0, len(rows), 5000):
                    chunk = range(first, min(first + 5000, len(rows)))
                    conn.execute(insert(Receipt.__table__), [
                        {"id": n + 1, "public_id": f"rcp_{n:08d}", "tenant_id": 1, "link_id": n + 1, "submission_id": "s",
                         "outcome": "signed", "signer_name": "", "signer_relation": "self", "evidence": {},
                         "evidence_hash": "", "audit_seq": n, "anomalies": [], "response": {}} for n in chunk])
                    conn.execute(insert(SignatureFingerprint.__table__), [
                        {"tenant_id": 1, "band_key": key, "receipt_id": n + 1, "fingerprint": rows[n], "version": rows[n][0]}
                        for n in chunk for key in replay.band_keys(rows[n])])
                conn.execute(text("ANALYZE"))
            print(f"database lookup ({make_url(url).get_backend_name()}): {len(rows)} receipts, "
                  f"{len(rows) * replay.BANDS} band-key rows loaded in {time.perf_counter() - started:.1f} s")
            results = {"before (main's inline lookup)": _timed_lookups(_lookup_before, queries_replay, queries_new),
                       "find_replay": _timed_lookups(find_replay, queries_replay, queries_new)}
            # while the re-index runs: a version-1 row is left, so every lookup also hashes
            # the legacy fingerprint and probes its keys
            legacy = replay.legacy_fingerprint(legacy_source)
            with loader.begin() as conn:
                conn.execute(insert(SignatureFingerprint.__table__),
                             [{"tenant_id": 1, "band_key": key, "receipt_id": 1, "fingerprint": legacy, "version": 1}
                              for key in replay.band_keys(legacy)])
            loader.dispose()
            fingerprints._legacy_state.clear()
            results["find_replay, legacy rows left"] = _timed_lookups(find_replay, queries_replay, queries_new)
            for label, (wall, cpu, missed, false_flags) in results.items():
                print(f"    {label:30s} p50 {np.percentile(wall, 50) * 1e3:.3f} ms, p95 "
                      f"{np.percentile(wall, 95) * 1e3:.3f} ms (target <= 5 ms p95), cpu p50 "
                      f"{np.percentile(cpu, 50) * 1e3:.3f} ms; replays missed {missed}/{len(queries_replay)}, "
                      f"new signatures flagged {false_flags}/{len(queries_new)}")
            db.session.remove()
            db.engine.dispose()
    finally:
        if dropped:
            admin, name = dropped
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def submit_cpu(genuine):
    """The submit's replay work outside the database: fingerprint and band keys of the
    signature (before issue 21: version 1; after: version 2; while the re-index runs:
    both), over corpus signatures of 3-character names of 300-800 points."""
    three = [parse(item) for item in genuine
             if len(item["signer_name"]) == 3 and 300 <= sum(len(s) for s in item["strokes"]) <= 800]
    legacy = getattr(replay, "legacy_fingerprint", None)
    stages = [("fingerprint + band_keys", lambda s: replay.band_keys(replay.fingerprint(s)))]
    if legacy is not None:
        stages.append(("  legacy (version 1) fingerprint + band_keys", lambda s: replay.band_keys(legacy(s))))
        stages.append(("  both, while the re-index runs", lambda s: (replay.band_keys(replay.fingerprint(s)),
                                                                     replay.band_keys(legacy(s)))))
    print(f"submit's replay CPU, fingerprint version {replay.FINGERPRINT_VERSION} (n={len(three)}; "
          "wall p50 / wall p95 / cpu p50, ms):")
    for label, function in stages:
        p50, p95, cpu = timed(function, three, repeat=20)
        print(f"    {label:46s} {p50:.3f} / {p95:.3f} / {cpu:.3f}")


CHARACTER_PX = 150.0


def quick_shape(person, hanzi, latin, rng, corpus):
    """A person's signature shape without kinematics: all points as one (n, 4) array,
    with each point's stroke number and position along its stroke (-1..1)."""
    style = dict(person["style"], char_size=1.0)
    shape = (corpus.latin_name_shape(person["name"], latin, style, rng) if person["latin"]
             else corpus.chinese_name_shape(person["name"], hanzi, style, rng))
    # 150 px per character: the middle of the corpus' phone and tablet character sizes
    paths = [corpus.resample_path(pts * CHARACTER_PX, 3.0) for _, pts in shape]
    xy = np.concatenate(paths)
    points = np.column_stack([xy, np.arange(len(xy)) * 16.0, np.full(len(xy), 0.5)])
    stroke_of = np.repeat(np.arange(len(paths)), [len(p) for p in paths])
    along = np.concatenate([np.linspace(-1, 1, len(p)) for p in paths])
    return points, stroke_of, along, np.cumsum([len(p) for p in paths])[:-1]


def vary(base, rng):
    """Another signature of the same person: every stroke moved and reshaped a little
    (4 % of a character per stroke, calibrated so that pairs lie as far apart as the
    same-person pairs of the corpus: min 0.04, p1 0.05 in version-1 distance), and
    written at its own pace: each stroke's duration x lognormal(0, 0.12), pen lifts of
    lognormal(100 ms, 0.35) as in the corpus' hands (version-2 distance of such pairs: p1
    0.084 vs the corpus' 0.080; see the "same-person pairs of this model" line)."""
    points, stroke_of, along, splits = base
    strokes_count = len(splits) + 1
    moved = points.copy()
    moved[:, :2] += (rng.normal(0, 0.04 * CHARACTER_PX, (strokes_count, 2))[stroke_of]
                     + along[:, None] * rng.normal(0, 0.027 * CHARACTER_PX, (strokes_count, 2))[stroke_of])
    period = 16.0 * rng.lognormal(0.0, 0.12, strokes_count)[stroke_of]
    starts = np.concatenate(([0], splits))
    first = np.zeros(len(moved), bool)
    first[starts] = True
    steps = np.where(first, rng.lognormal(np.log(100.0), 0.35, len(moved)), period)
    steps[0] = 0.0
    moved[:, 2] = np.floor(np.cumsum(steps))
    return strokes.Signature(tuple(np.split(moved, splits)), 400.0, 200.0, 2.0)


def jitter(sig, rng, resample=False):
    """A replay: scaled, shifted, 0.5 px jitter; re-sampled (every other point) if asked."""
    moved = []
    factor, shift = rng.uniform(0.6, 1.6), rng.uniform(-50, 50, 2)
    for stroke in sig.strokes:
        s = stroke.copy()
        if resample:
            keep = np.zeros(len(s), bool)
            keep[::2] = keep[-1] = True
            s = s[keep]
        s[:, :2] = s[:, :2] * factor + shift + rng.normal(0, 0.5, (len(s), 2))
        moved.append(s)
    return strokes.Signature(tuple(moved), sig.width, sig.height, sig.dpr)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--stored", type=int, default=100_000, help="signatures in the replay index")
    parser.add_argument("--replays-only", action="store_true", help="only the replay table, lookup and CPU")
    parser.add_argument("--db", action="append", default=[], metavar="URL",
                        help="also time the submit's lookup in a database: 'sqlite', or a PostgreSQL URL "
                             "next to which a scratch database is made and dropped (repeatable)")
    args = parser.parse_args()
    if args.replays_only:
        genuine = load("genuine")
        replay_table(genuine)
        replay_lookup(genuine, args.stored, args.db)
        return
    genuine = confusion_table()
    measurements(genuine)
    timings(genuine, args.stored, args.db)


if __name__ == "__main__":
    main()
