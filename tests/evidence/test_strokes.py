"""Signature stroke parsing and checks (SPEC §5): what a signer or dispatcher would see."""
import collections
import copy
import json
import math

import numpy as np
import pytest

from delivery_sign.evidence.strokes import (
    MAX_POINTS, MAX_STROKES, Signature, SignatureInputError, StrokeVerdict, check_signature,
    parse_signature,
)

PHONE = {"width": 360, "height": 200, "dpr": 3}


def parse(strokes, canvas=PHONE):
    return parse_signature({"strokes": strokes, "canvas": canvas})


def check(strokes, canvas=PHONE, **options) -> StrokeVerdict:
    return check_signature(parse(strokes, canvas), **options)


def codes(verdict):
    return [code for code, _ in verdict.errors]


def of_item(item, handwriting="basic"):
    return check_signature(parse(item["strokes"], item["canvas"]), signer_name=item["signer_name"],
                           handwriting=handwriting)


def to_pad(strokes):
    """Compact strokes in signature_pad's toData() shape, with its extra keys."""
    return [{"penColor": "black", "dotSize": 0, "minWidth": 0.5, "maxWidth": 2.5,
             "velocityFilterWeight": 0.7, "compositeOperation": "source-over",
             "points": [{"x": p[0], "y": p[1], "time": p[2], "pressure": p[3] if len(p) > 3 else 0.5}
                        for p in stroke]} for stroke in strokes]


def wave(n=40, x0=40.0, width=250.0, y0=100.0, height=40.0, t0=0.0, dt=16.0):
    """A slow human-ish wavy stroke: bell-shaped speed along a sine."""
    u = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n))
    return [[x0 + width * a, y0 + height * math.sin(6 * a), t0 + i * dt] for i, a in enumerate(u)]


# ---------------------------------------------------------------- parsing
def test_both_input_formats_give_the_same_signature(chinese_signature):
    compact = parse(chinese_signature["strokes"], chinese_signature["canvas"])
    pad = parse(to_pad(chinese_signature["strokes"]), chinese_signature["canvas"])
    assert len(compact.strokes) == len(pad.strokes)
    for a, b in zip(compact.strokes, pad.strokes):
        assert a.shape == b.shape and a.shape[1] == 4 and a.dtype == np.float64
        np.testing.assert_array_equal(a, b)
    assert (compact.width, compact.height, compact.dpr) == (360.0, 240.0, 2.75) or compact.width > 0


def test_pressure_defaults_to_half_and_missing_time_becomes_nan():
    sig = parse([[[1, 2], [3, 4, 5], [6, 7, 8, 0.9]]])
    np.testing.assert_array_equal(sig.strokes[0][:, 3], [0.5, 0.5, 0.9])
    assert math.isnan(sig.strokes[0][0, 2]) and sig.strokes[0][1, 2] == 5
    pad = parse([{"points": [{"x": 1, "y": 2}, {"x": 3, "y": 4, "time": None, "pressure": None}]}])
    assert np.isnan(pad.strokes[0][:, 2]).all() and (pad.strokes[0][:, 3] == 0.5).all()


def test_mixed_formats_and_point_lengths_are_read_alike():
    mixed = parse([[[1, 2, 3], [4, 5, 6, 0.25]], to_pad([[[7, 8, 9, 0.75]]])[0], [[10.5, 11, 12]]])
    np.testing.assert_array_equal(np.concatenate(mixed.strokes), [[1, 2, 3, 0.5], [4, 5, 6, 0.25],
                                                                  [7, 8, 9, 0.75], [10.5, 11, 12, 0.5]])
    assert [len(s) for s in mixed.strokes] == [2, 1, 1]


def test_canvas_dpr_is_optional():
    assert parse([], {"width": 300, "height": 150}).dpr == 1.0


@pytest.mark.parametrize("raw, where", [
    ([], "signature must be an object"),
    ({"strokes": [], "canvas": None}, "canvas must be an object"),
    ({"strokes": [], "canvas": {"height": 100}}, "canvas.width is missing"),
    ({"strokes": [], "canvas": {"width": 0, "height": 100}}, "canvas.width must be between"),
    ({"strokes": [], "canvas": {"width": 20000, "height": 100}}, "canvas.width must be between"),
    ({"strokes": [], "canvas": {"width": 300, "height": 100, "dpr": 10}}, "canvas.dpr must be between"),
    ({"strokes": [], "canvas": {"width": "300", "height": 100}}, "canvas.width is not a number"),
    ({"strokes": [], "canvas": {"width": True, "height": 100}}, "canvas.width is not a number"),
    ({"strokes": {}, "canvas": PHONE}, "strokes must be a list"),
    ({"strokes": ["abc"], "canvas": PHONE}, "strokes[0] must be"),
    ({"strokes": [{"points": 3}], "canvas": PHONE}, "strokes[0].points must be a list"),
    ({"strokes": [[[1, 2, 3]], [[1, 2, 3], [1, float("nan"), 3]]], "canvas": PHONE},
     "strokes[1][1][1] (y) is not a finite number"),
    ({"strokes": [[[1, 2, float("inf")]]], "canvas": PHONE}, "strokes[0][0][2] (t) is not a finite number"),
    ({"strokes": [[[1, "2", 3]]], "canvas": PHONE}, "strokes[0][0][1] (y) is not a number"),
    ({"strokes": [[[1, 2, 3, 4, 5]]], "canvas": PHONE}, "strokes[0][0] must be a list [x, y, t, pressure]"),
    ({"strokes": [[[1, 2, 3, 1.5]]], "canvas": PHONE}, "strokes[0][0][3] (pressure) must be between 0 and 1"),
    ({"strokes": [[[1e12, 2, 3]]], "canvas": PHONE}, "strokes[0][0][0] (x) is out of range"),
    ({"strokes": [{"points": [{"x": 1, "y": 2}, {"x": 1, "y": 2, "time": 5}, {"x": 1, "y": 2},
                              {"x": 1, "y": 2}, {"x": 1, "y": 2}, {"x": False, "y": 2}]}] * 3,
      "canvas": PHONE}, "strokes[0].points[5].x is not a number"),
    ({"strokes": [{"points": [{"y": 2}]}], "canvas": PHONE}, "strokes[0].points[0].x is missing"),
    ({"strokes": [{"points": ["x"]}], "canvas": PHONE}, "strokes[0].points[0] must be an object"),
])
def test_malformed_input_is_refused_with_where_it_is_wrong(raw, where):
    with pytest.raises(SignatureInputError) as caught:
        parse_signature(raw)
    assert caught.value.code == "signature_invalid"
    assert where in caught.value.message and str(caught.value) == caught.value.message


def test_too_many_points_is_refused_before_reading_them():
    stroke = [["not even checked"]] * (MAX_POINTS // 2 + 1)
    with pytest.raises(SignatureInputError) as caught:
        parse([stroke, stroke])
    assert caught.value.code == "signature_too_many_points"
    assert "20002 points" in caught.value.message


def test_too_many_strokes_is_refused():
    with pytest.raises(SignatureInputError, match=f"at most {MAX_STROKES}"):
        parse([[[1, 2, 3]]] * (MAX_STROKES + 1))


def test_signature_is_immutable(chinese_signature):
    sig = parse(chinese_signature["strokes"], chinese_signature["canvas"])
    with pytest.raises(AttributeError):
        sig.width = 1
    assert isinstance(sig, Signature)


# ---------------------------------------------------------------- genuine signatures pass
def test_genuine_chinese_and_latin_signatures_pass(chinese_signature, latin_signature):
    for item in (chinese_signature, latin_signature):
        for handwriting in ("basic", "strict"):
            verdict = of_item(item, handwriting)
            assert verdict.errors == () and "robotic_signature" not in verdict.anomalies


def test_epoch_timestamps_from_date_now_are_accepted(chinese_signature):
    epoch = 1_795_000_000_000
    strokes = [[[x, y, t + epoch] for x, y, t, *_ in stroke] for stroke in chinese_signature["strokes"]]
    verdict = check(strokes, chinese_signature["canvas"], signer_name=chinese_signature["signer_name"])
    assert verdict.errors == ()
    assert verdict.metrics["duration_ms"] == of_item(chinese_signature).metrics["duration_ms"]


def test_metrics_are_plain_json(chinese_signature):
    verdict = of_item(chinese_signature)
    text = json.dumps(verdict.metrics, allow_nan=False)
    metrics = json.loads(text)
    assert metrics["stroke_count"] == len(chinese_signature["strokes"])
    assert metrics["point_count"] == sum(map(len, chinese_signature["strokes"]))
    for key in ("ink_length", "bbox", "duration_ms", "pen_down_ms", "speed_mean_px_ms", "speed_p95_px_ms",
                "end_speed_ratio", "speed_cv", "interval_cv"):
        assert key in metrics


# ---------------------------------------------------------------- hard failures
@pytest.mark.parametrize("strokes", [[], [[]], [{"points": []}], [[], []]])
def test_no_strokes_is_empty(strokes):
    verdict = check(strokes)
    assert codes(verdict) == ["signature_empty"]


def test_a_few_points_are_too_few():
    verdict = check([[[50, 50, 0], [200, 120, 30], [120, 40, 60]], [[300, 150, 300], [80, 160, 330]]])
    assert "signature_too_few_points" in codes(verdict)


def test_a_tap_is_a_dot():
    verdict = check([[[100, 100, 0], [101, 100.5, 16], [100.5, 101, 33]]])
    assert "signature_dot" in codes(verdict)
    assert "signature_line" not in codes(verdict) and "signature_too_small" not in codes(verdict)


@pytest.mark.parametrize("dt", [16.0, 7.0])
def test_one_straight_stroke_is_a_line_whatever_its_timing(dt):
    n = 40
    u = np.linspace(0, 1, n) if dt == 7.0 else 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n))
    stroke = [[40 + 280 * a, 150 - 100 * a + 0.5 * math.sin(i), i * dt] for i, a in enumerate(u)]
    assert codes(check([stroke])) == ["signature_line"]


def test_a_wavy_single_stroke_is_not_a_line():
    assert "signature_line" not in codes(check([wave(60)]))


def test_a_tiny_scribble_is_too_small(chinese_signature):
    strokes = [[[20 + x * 0.08, 20 + y * 0.08, t] for x, y, t, *_ in s] for s in chinese_signature["strokes"]]
    assert codes(check(strokes, chinese_signature["canvas"])) == ["signature_too_small"]


def test_two_short_ticks_far_apart_have_too_little_ink():
    ticks = [[[10 + i, 10 + i, i * 16] for i in range(8)], [[330 + i, 180 - i, 500 + i * 16] for i in range(8)]]
    assert "signature_too_small" in codes(check(ticks))


def test_points_far_outside_the_canvas(chinese_signature):
    shifted = [[[x + 400, y, t] for x, y, t, *_ in s] for s in chinese_signature["strokes"]]
    assert codes(check(shifted, chinese_signature["canvas"])) == ["signature_out_of_canvas"]


def test_a_finger_slipping_over_the_edge_is_not_out_of_canvas():
    stroke = wave(60, x0=20, width=330, y0=190, height=20)   # dips ~10 px below a 200 px canvas
    assert "signature_out_of_canvas" not in codes(check([stroke]))


@pytest.mark.parametrize("change, reason", [
    (lambda s: [[p[:2] for p in stroke] for stroke in s], "missing"),
    (lambda s: [[[x, y, 1000] for x, y, *_ in stroke] for stroke in s], "equal"),
    (lambda s: [[[x, y, -t] for x, y, t, *_ in stroke] for stroke in s], "backwards"),
    (lambda s: [[[x, y, t / 100] for x, y, t, *_ in stroke] for stroke in s], "faster than a hand"),
    (lambda s: [[[x, y, t * 1000] for x, y, t, *_ in stroke] for stroke in s], "longer than any"),
    (lambda s: s[:1] + [[[x, y, t - 10_000] for x, y, t, *_ in stroke] for stroke in s[1:]], "backwards"),
])
def test_impossible_timing(chinese_signature, change, reason):
    strokes = change(copy.deepcopy(chinese_signature["strokes"]))
    verdict = check(strokes, chinese_signature["canvas"], signer_name=chinese_signature["signer_name"])
    assert codes(verdict) == ["signature_timing_invalid"]
    assert reason in dict(verdict.errors)["signature_timing_invalid"]


def test_one_missing_timestamp_fails_timing(chinese_signature):
    strokes = copy.deepcopy(chinese_signature["strokes"])
    strokes[1][2] = strokes[1][2][:2]
    assert "signature_timing_invalid" in codes(check(strokes, chinese_signature["canvas"]))


def test_a_three_character_name_in_100_ms_is_too_fast():
    strokes = [wave(12, x0=30 + 100 * k, width=80, t0=k * 40.0, dt=3.0) for k in range(3)]
    verdict = check(strokes, signer_name="王小明")
    assert "signature_timing_invalid" in codes(verdict)


def test_strict_handwriting_needs_a_stroke_and_some_ink_per_character():
    swoop = [wave(50, x0=30, width=300, height=50)]
    assert "signature_too_simple" not in codes(check(swoop, signer_name="王小明"))
    verdict = check(swoop, signer_name="王小明", handwriting="strict")
    assert "signature_too_simple" in codes(verdict)
    assert "the name needs 3 strokes" in dict(verdict.errors)["signature_too_simple"]


def test_strict_handwriting_counts_letters_of_latin_names():
    scribble = [wave(50, x0=30, width=120, height=60)]
    long_name = check(scribble, signer_name="Maximilian Oberhauser-Schmidt", handwriting="strict")
    assert "signature_too_simple" in codes(long_name)
    assert "signature_too_simple" not in codes(check(scribble, signer_name="Li", handwriting="strict"))


def test_strict_handwriting_without_a_name_checks_nothing_more():
    assert "signature_too_simple" not in codes(check([wave(50)], handwriting="strict"))


# ---------------------------------------------------------------- soft findings
def test_a_small_but_legible_signature_is_weak(chinese_signature):
    strokes = [[[40 + x * 0.2, 30 + y * 0.2, t] for x, y, t, *_ in s] for s in chinese_signature["strokes"]]
    verdict = check(strokes, chinese_signature["canvas"], signer_name=chinese_signature["signer_name"])
    assert verdict.errors == (), verdict.metrics
    assert verdict.anomalies == ("weak_signature",)


def test_constant_speed_on_a_regular_clock_is_robotic(chinese_signature):
    # the same glyph paths, driven at 0.5 px/ms and sampled every 16 ms
    strokes, t = [], 0.0
    for stroke in chinese_signature["strokes"]:
        path = np.array([p[:2] for p in stroke])
        along = np.concatenate([[0], np.cumsum(np.hypot(*np.diff(path, axis=0).T))])
        steps = np.arange(0, along[-1] + 1e-9, 8.0)
        xy = np.column_stack([np.interp(steps, along, path[:, 0]), np.interp(steps, along, path[:, 1])])
        strokes.append([[x, y, t + 16 * i] for i, (x, y) in enumerate(xy.tolist())])
        t += 16 * len(xy) + 100
    verdict = check(strokes, chinese_signature["canvas"], signer_name=chinese_signature["signer_name"])
    assert verdict.errors == ()
    assert "robotic_signature" in verdict.anomalies


def test_failed_signatures_get_no_anomalies():
    assert check([[[100, 100, 0]]]).anomalies == ()


# ---------------------------------------------------------------- the labelled corpus
def test_genuine_corpus_passes(genuine_signatures):
    hard = robotic = 0
    for item in genuine_signatures:
        verdict = of_item(item, "strict")
        hard += bool(verdict.errors)
        robotic += "robotic_signature" in verdict.anomalies
    assert hard <= 0.01 * len(genuine_signatures)
    assert robotic <= 0.02 * len(genuine_signatures)


def test_every_garbage_kind_is_caught_by_its_own_code(garbage_signatures):
    caught, total = collections.Counter(), collections.Counter()
    for item in garbage_signatures:
        verdict = of_item(item, item["handwriting"])
        total[item["kind"]] += 1
        caught[item["kind"]] += item["kind"] in codes(verdict)
    assert len(total) == 8   # signature_too_many_points is refused by parse_signature, tested above
    for kind in total:
        assert caught[kind] >= 0.99 * total[kind], kind


def test_robots_are_flagged(robot_signatures):
    verdicts = [of_item(item) for item in robot_signatures]
    assert all(v.errors == () for v in verdicts)
    flagged = sum("robotic_signature" in v.anomalies for v in verdicts)
    assert flagged >= 0.95 * len(robot_signatures)
