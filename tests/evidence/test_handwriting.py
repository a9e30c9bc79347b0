"""Handwriting recognition as pure functions: the Zinnia binding, the verifier, boxes and
the free canvas, characters outside the model, names that are not Chinese."""
import json
import os

import numpy as np
import pytest

from delivery_sign.evidence import handwriting, zinnia
from delivery_sign.evidence.strokes import parse_signature

CASES_PATH = os.path.join(os.path.dirname(__file__), "..", "data", "recognition", "cases.json")
NO_REFERENCE = "\U00020001"   # CJK Extension B: neither in the model nor in the medians


@pytest.fixture(scope="module")
def engine():
    found = zinnia.recognizer()
    if found is None:
        pytest.skip(f"zinnia is not installed ({zinnia.INSTALL_HINT})")
    return found


@pytest.fixture(scope="module")
def cases():
    with open(CASES_PATH, encoding="utf-8") as fh:
        return json.load(fh)


def read(case, engine, name=None):
    signature = parse_signature({"strokes": case["strokes"], "canvas": case["canvas"]})
    return handwriting.recognize_name([s[:, :2] for s in signature.strokes], name or case["expected"],
                                      case["boxes"], engine)


def glyph(char, scale=300.0, dx=0.0):
    return [s * scale + [dx, 0] for s in handwriting.reference_strokes(char)]


def test_binding_opens_the_model_once_and_ranks_a_character(engine):
    assert engine.size == 6763
    assert zinnia.recognizer() is engine
    ranked = engine.classify(glyph("明"), 10)
    assert ranked[0].char == "明" and len(ranked) == 10
    assert [c.score for c in ranked] == sorted((c.score for c in ranked), reverse=True)


def test_binding_scales_strokes_into_the_model_box(engine):
    small = engine.classify(glyph("明", 40.0), 3)
    large = engine.classify(glyph("明", 2000.0), 3)
    assert [c.char for c in small] == [c.char for c in large]


def test_binding_without_the_library_or_the_model_is_none(tmp_path):
    assert zinnia.recognizer(str(tmp_path / "libzinnia.so.0"), zinnia.DEFAULT_MODEL) is None
    assert zinnia.recognizer(zinnia.DEFAULT_LIBRARY, str(tmp_path / "missing.model")) is None


def test_genuine_name_in_boxes_is_verified_character_by_character(cases, engine):
    reading = read(cases["genuine_boxes"], engine)
    assert reading.recognized and reading.segmentation == "boxes"
    assert [c.expected for c in reading.chars] == list("李明华")
    assert all(c.verified and c.best == c.expected for c in reading.chars)


def test_joined_strokes_do_not_sink_the_verifier(cases, engine):
    reading = read(cases["genuine_boxes_joined"], engine)
    assert reading.recognized


def test_free_canvas_is_split_into_the_name_characters(cases, engine):
    reading = read(cases["genuine_free"], engine)
    assert reading.recognized and reading.segmentation in ("gaps", "search")


def test_a_lookalike_is_refused_at_its_box(cases, engine):
    reading = read(cases["lookalike_boxes"], engine)
    assert not reading.recognized
    assert reading.failed == [0] and reading.chars[0].best == "季"


@pytest.mark.parametrize("case", ["other_name_boxes", "other_name_free", "scribble_boxes"])
def test_other_names_and_scribbles_are_refused(cases, engine, case):
    reading = read(cases[case], engine)
    assert not reading.recognized and len(reading.failed) >= 2


def test_a_character_outside_the_model_is_checked_by_the_verifier_alone(cases, engine):
    reading = read(cases["outside_model_boxes"], engine)
    assert "喆" not in handwriting._gb2312() and handwriting.has_reference("喆")
    assert reading.recognized and reading.chars[1].rank is None and reading.chars[1].verified


def test_a_character_without_reference_is_unsupported_never_a_failure(cases, engine):
    case = cases["outside_model_boxes"]
    reading = read(case, engine, name="张" + NO_REFERENCE)
    assert reading.chars[1].status == "unsupported" and reading.chars[1].verified is None
    assert reading.recognized


def test_wrong_character_next_to_an_unsupported_one_still_fails(cases, engine):
    reading = read(cases["outside_model_boxes"], engine, name="王" + NO_REFERENCE)
    assert not reading.recognized and reading.failed == [0]


def test_latin_and_mixed_names_are_not_recognised(cases, engine):
    assert not read(cases["genuine_boxes"], engine, name="Anna Smith").applicable
    assert not read(cases["genuine_boxes"], engine, name="李Anna").applicable
    assert handwriting.name_characters("买买提·艾力") == list("买买提艾力")


def test_empty_box_fails_its_character(engine):
    boxes = [{"x": 0, "y": 0, "width": 300, "height": 300}, {"x": 300, "y": 0, "width": 300, "height": 300}]
    reading = handwriting.recognize_name(glyph("明"), "明华", boxes, engine)
    assert reading.chars[0].verified and reading.failed == [1]


def test_strokes_go_to_the_box_holding_most_of_their_points():
    boxes = [{"x": 0, "y": 0, "width": 100, "height": 100}, {"x": 100, "y": 0, "width": 100, "height": 100}]
    left, right = np.array([[10.0, 10], [90, 90]]), np.array([[95.0, 50], [190, 50], [180, 60]])
    outside = np.array([[250.0, 50], [260, 60]])
    groups = handwriting.strokes_in_boxes([left, right, outside], boxes)
    assert [len(g) for g in groups] == [1, 2]


def test_stroke_order_and_direction_do_not_change_the_distance():
    reference = handwriting._reference_samples("国")
    strokes = list(handwriting.reference_strokes("国"))
    shuffled = [s[::-1] for s in strokes[::-1]]
    assert handwriting.chamfer(handwriting.samples(shuffled), reference) < 0.01
    assert handwriting.chamfer(handwriting.samples(glyph("田")), reference) > 0.03


def test_rivals_are_built_once_in_the_background_and_shared():
    thread = handwriting.warm_in_background()
    if thread is not None:
        thread.join(120)
    built = handwriting._rivals()
    assert handwriting._rivals() is built and handwriting.warm_in_background() is None
    assert len(built.chars) == 6763 and built.table.shape == (6763, handwriting.GRID ** 2 * handwriting.DIRECTIONS)
    assert handwriting._reference_samples("明") is built.samples[built.position["明"]]


def test_chamfers_scores_every_set_like_one_by_one_and_inf_for_none():
    written = handwriting._reference_samples("国")
    sets = [handwriting._reference_samples(c) for c in "田国明"] + [None]
    together = handwriting.chamfers(written, sets)
    assert [round(x, 6) for x in together[:3]] == [round(handwriting.chamfer(written, s), 6) for s in sets[:3]]
    assert together[1] < 0.001 and together[3] == np.inf


def test_each_stroke_carries_an_equal_share_whatever_its_length():
    line = np.array([[0.0, 0.0], [1.0, 0.0]])
    dot = np.array([[0.5, 0.5], [0.5, 0.5]])
    sample_set = handwriting.samples([line, dot])
    assert len(sample_set) > 20 and np.isclose(sample_set[:, 4].sum(), 1.0)
    assert np.isclose(sample_set[-1, 4], 0.5) and np.allclose(sample_set[:-1, 4], 0.5 / (len(sample_set) - 1))


def test_chamfers_in_one_product_match_the_definition_whatever_the_block(monkeypatch):
    written = handwriting.samples(glyph("国"))
    sets = [handwriting._reference_samples(c) for c in "田国明王"]
    keep = int(np.ceil(len(written) * (1 - handwriting.TOLERANT_TRIM)))
    all_in_one = handwriting.CHAMFER_BLOCK

    def weighted(sample_set, stroke_share):   # the samples alike, the strokes alike (column 4)
        return (1 - stroke_share) / len(sample_set) + stroke_share * sample_set[:, 4]

    def definition(b, trim):   # float64, one pair of samples at a time
        d = np.minimum(np.sqrt(((written[:, None, :4] - b[None, :, :4]) ** 2).sum(axis=2)), handwriting.CHAMFER_CAP)
        nearest, covered = d.min(axis=1), d.min(axis=0)
        ink = (np.sort(nearest)[:keep].mean() if trim
               else (weighted(written, handwriting.STROKE_SHARE_INK) * nearest).sum())
        reference = (weighted(b, handwriting.STROKE_SHARE_REFERENCE) * covered).sum()
        return (1 - handwriting.REFERENCE_WEIGHT) * ink + handwriting.REFERENCE_WEIGHT * reference

    for share in (0.0, 0.7):
        monkeypatch.setattr(handwriting, "STROKE_SHARE_INK", share)
        monkeypatch.setattr(handwriting, "STROKE_SHARE_REFERENCE", share / 2)
        for trim in (0.0, handwriting.TOLERANT_TRIM):
            expected = [definition(b.astype(np.float64), trim) for b in sets]
            for block in (1, all_in_one):   # one set per product, all in one
                monkeypatch.setattr(handwriting, "CHAMFER_BLOCK", block)
                got = handwriting.chamfers(written, sets + [None], trim)
                # float32 |p|² + |q|² - 2p·q: about 1e-4 of cancellation where samples coincide
                assert np.allclose(got[:4], expected, atol=2e-4) and got[4] == np.inf, (share, trim, block)


def test_a_missing_stroke_is_tolerated_but_not_against_a_nearer_character(engine):
    strokes = list(handwriting.reference_strokes("明"))
    missing = [s * 300.0 for s in strokes[:3] + strokes[4:]]     # one stroke of 月 left out
    assert handwriting.read_character(missing, "明", engine).verified
    # 王 written (4 strokes) where 玉 is expected: 玉 minus its dot ties with 王, refused
    for written, expected in (("王", "玉"), ("场", "杨"), ("未", "朱")):
        reading = handwriting.read_character(glyph(written), expected, engine)
        assert not reading.verified and reading.best == written, (written, expected)


def test_a_stroke_whose_absence_makes_another_character_is_never_left_out(engine):
    # 方 without its dot is 万: that one-stroke-out set is dropped, the others stay
    rivals = handwriting.one_out_rival_distances("方")
    assert len(rivals) == len(handwriting.reference_strokes("方"))
    assert min(rivals) <= handwriting.ONE_OUT_RIVAL_MIN < max(rivals)
    # the tolerant distance skips that set: 万 is nearer to 方 minus its dot than it is allowed to count
    wan = handwriting.samples(handwriting.reference_strokes("万"))
    trim = handwriting.TOLERANT_TRIM
    without_dot = handwriting._reference_without_one("方")[int(np.argmin(rivals))]
    tolerant = handwriting.tolerant_distance(wan, "方", trim)
    assert handwriting.chamfers(wan, [without_dot], trim)[0] < tolerant
    assert tolerant <= handwriting.chamfers(wan, [handwriting._reference_samples("方")], trim)[0]
    # 万 written where 方 is expected is refused; 方 with another stroke missing is not
    assert not handwriting.read_character(glyph("万"), "方", engine).verified
    strokes = list(handwriting.reference_strokes("方"))
    left_out = int(np.argmax(rivals))
    assert handwriting.read_character([s * 300.0 for k, s in enumerate(strokes) if k != left_out], "方", engine).verified


def test_joined_strokes_are_trimmed_as_ligatures(engine):
    strokes = [s * 300.0 for s in handwriting.reference_strokes("国")]
    joined = [np.vstack(strokes[:2])] + strokes[2:]              # first two strokes in one
    assert len(joined) < len(strokes)
    assert handwriting.read_character(joined, "国", engine).verified


def test_a_process_forked_after_the_build_reads_names_with_the_inherited_rivals(cases, engine):
    """gunicorn's master builds the rivals (gunicorn.conf.py on_starting): a worker forked
    afterwards must read names with the table and recogniser it inherited, building nothing."""
    handwriting._rivals()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child: report, never return into pytest
        try:
            built = handwriting._rivals_built
            reading = read(cases["genuine_boxes"], engine)
            answer = f"{built is handwriting._rivals()} {reading.recognized}"
        except BaseException as exc:   # noqa: BLE001  (anything goes back to the parent)
            answer = repr(exc)
        os.write(write_fd, answer.encode())
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as fh:
        answer = fh.read()
    os.waitpid(pid, 0)
    assert answer == "True True"
