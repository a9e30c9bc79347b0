"""Profile handwriting recognition per character (issue 13) with pyinstrument.

    python bench/profile_recognition.py [--corpus FILE] [--limit N]

Reads the corpus of bench/make_recognition_corpus.py, warms the rivals, then profiles
`recognize_name` over the first N submits written in boxes and prints the call tree and
the CPU ms per character.
"""
import argparse
import json
import pathlib
import sys
import time

from pyinstrument import Profiler

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from delivery_sign.evidence import handwriting, zinnia  # noqa: E402
from delivery_sign.evidence.strokes import parse_signature  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=pathlib.Path, default=pathlib.Path("/tmp/recognition_corpus.jsonl"))
    parser.add_argument("--limit", type=int, default=60)
    args = parser.parse_args(argv)
    recognizer = zinnia.recognizer()
    if recognizer is None:
        sys.exit(f"zinnia is not installed: {zinnia.INSTALL_HINT}")
    handwriting._rivals()
    submits = []
    with args.corpus.open(encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            if item["layout"] == "boxes":
                signature = parse_signature({"strokes": item["strokes"], "canvas": item["canvas"]})
                submits.append(([s[:, :2] for s in signature.strokes], item["expected"], item["boxes"]))
            if len(submits) >= args.limit:
                break
    profiler = Profiler(interval=0.0005)
    profiler.start()
    started = time.process_time()
    for strokes, name, boxes in submits:
        handwriting.recognize_name(strokes, name, boxes, recognizer)
    cpu = time.process_time() - started
    profiler.stop()
    chars = sum(len(name) for _, name, _ in submits)
    print(profiler.output_text(unicode=False, color=False))
    print(f"{chars} characters, {cpu / chars * 1000:.1f} CPU ms per character (with the profiler's overhead)")


if __name__ == "__main__":
    main()
