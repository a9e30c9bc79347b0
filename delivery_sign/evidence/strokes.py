"""Handwritten signature strokes: parsing, hard checks and soft findings (SPEC §5).

Pure functions over plain data: `parse_signature` turns the pad's JSON into a
`Signature` (or raises `SignatureInputError` before any maths), and `check_signature`
judges it, returning the hard-failure codes, the soft anomalies (`weak_signature`,
`robotic_signature`) and plain metrics stored as evidence.

Coordinates are CSS pixels of the signing canvas, times are milliseconds (any origin).
Every threshold below was chosen from the labelled corpus in tests/data/signatures/
(bench/bench_strokes.py prints the measurements); "genuine" there means synthesised from
real character stroke data with human-like kinematics, see its README.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

# ---------------------------------------------------------------- input limits
MAX_POINTS = 20_000          # SPEC §5: over 20,000 points is signature_too_many_points
MAX_STROKES = 500            # a 4-character name has < 80 strokes; 500 leaves room for dotty hands
MIN_CANVAS_PX, MAX_CANVAS_PX = 1.0, 10_000.0   # CSS px; larger than any screen is a forged canvas
MIN_DPR, MAX_DPR = 0.5, 6.0  # devicePixelRatio of real browsers lies in 0.5 (zoomed out) .. 5
MAX_ABS_COORDINATE = 1e7     # CSS px; keeps every later sum far from float overflow
MAX_ABS_TIME_MS = 1e14       # pads send Date.now() (~1.8e12); 1e14 is the year 5138
DEFAULT_PRESSURE = 0.5       # what signature_pad reports for mice and most fingers

# ---------------------------------------------------------------- hard checks
# Fewest points in a real mark. Genuine corpus minimum is 83 points (a 2-character cursive
# name at 60 Hz with signature_pad's 5 px minDistance); below 10 no character can be drawn.
# (Single taps of 1-9 points also get signature_dot.)
MIN_POINTS = 10
# A dot: everything within this many CSS px (corpus taps wobble <= 4.3 px; the smallest
# genuine signature spans > 60 px).
DOT_MAX_EXTENT_PX = 6.0
# A line: one stroke whose points spread across its main direction by less than this
# fraction of their spread along it (sqrt of the covariance eigenvalue ratio). Hand-drawn
# straight lines in the corpus stay <= 0.04 (p50 0.01); the flattest single cursive swoop
# (the too_simple garbage) is 0.18, and genuine names have several strokes.
LINE_MAX_THICKNESS_RATIO = 0.06
# Too small: the bounding box covers less than this fraction of the canvas width and of
# its height (corpus: genuine >= 0.42 of one side, shrunk scribbles <= 0.12) ...
SMALL_BOX_FRACTION = 0.15
# ... or the ink is shorter than this fraction of the canvas diagonal (genuine >= 1.23,
# two short ticks <= 0.05, straight lines 0.12-0.82).
SMALL_INK_FRACTION = 0.5
# Out of canvas: a point is "far outside" beyond this fraction of the canvas size (pads
# keep tracking a finger that slips a little over the edge) ...
OUT_OF_CANVAS_MARGIN_FRACTION = 0.1
# ... and the signature fails when more than this share of its points are far outside
# (corpus: genuine 0, out-of-canvas garbage >= 0.57; a stray slip stays well below 5 %).
OUT_OF_CANVAS_MAX_SHARE = 0.05

# Timing. The fastest genuine corpus signature took 475 ms per character, and the issue
# puts the human floor for a 3-character name at ~150 ms: 50 ms per character (a Latin
# name counts a character per 4 letters) is a bound no hand beats.
MIN_MS_PER_CHARACTER = 50.0
MIN_TOTAL_MS = 50.0
# Mean pen speed over pen-down time. Fast human strokes peak near 1 m/s (~6 CSS px/ms on
# a phone); the fastest genuine corpus signature averages 1.3 px/ms.
MAX_MEAN_PEN_SPEED = 8.0
# Longer than anyone spends on one signature (pauses included): a clock error.
MAX_TOTAL_MS = 10 * 60 * 1000.0
# Browsers may stamp two events in the same millisecond (coalesced events, throttle 0);
# more than this share of zero intervals means the timestamps are not real. The corpus
# has none; 0.3 leaves room for 240 Hz pens on a 1 ms clock.
MAX_ZERO_INTERVAL_SHARE = 0.3

# strict handwriting (signature_too_simple). A Chinese character needs at least one
# stroke: cursive (行书/草书) joins the strokes of a character but almost always lifts the
# pen between characters, and even the simplest characters of names (一, 丁, 人) draw a
# character-height of ink. So a name of n characters needs n strokes and n heights of
# ink, the height being the signature's own bounding-box height. Genuine corpus: >= 1.0
# stroke (fully cursive characters) and >= 2.9 heights of ink per Chinese character.
# Latin script is often written in one stroke, so only ink counts: this many heights per
# letter (corpus >= 1.4 per letter; one cursive letter is about one x-height wide and
# tall, ~0.4 of a signature's height with capitals and descenders).
STRICT_STROKES_PER_HANZI = 1.0
STRICT_INK_HEIGHTS_PER_HANZI = 1.0
STRICT_INK_HEIGHTS_PER_LETTER = 0.4

# ---------------------------------------------------------------- soft findings
# weak_signature: passes the hard checks but within this factor of one of their limits
# (size, ink, points, straightness, strokes per character). 1.5 marks 2 of the 360
# genuine corpus signatures: the dispatcher sees the marginal ones, not every one.
WEAK_MARGIN = 1.5
# robotic_signature: counted over strokes with at least this many points (fewer gives
# too few segments for a speed profile; at 6, a fast robot with only short strokes
# escaped, at 4 genuine end ratios reached 0.41).
ROBOT_MIN_STROKE_POINTS = 5
# Tell 1, constant speed: median over strokes of the segment speeds' coefficient of
# variation. Lognormal pulses swing from rest to peak and back (genuine corpus >= 0.39);
# constant-speed scripts stay low even with integer-ms clocks (those robots <= 0.22).
ROBOT_CONSTANT_SPEED_CV = 0.25
# Tell 2, no acceleration at stroke ends: median over strokes of the first and last
# segment speeds against the stroke's mean speed. Human strokes start and end slowly
# (genuine corpus <= 0.34); constant-speed motion sits at 1 and linear interpolation
# between glyph points >= 0.44; 0.4 lies between.
ROBOT_END_SPEED_RATIO = 0.4
# Tell 3, perfectly regular sampling: the intervals' coefficient of variation. Real
# devices jitter by >= 0.5 ms, but integer-ms clocks at 125 Hz can look regular, so this
# tell alone never flags (genuine corpus >= 0.11; scripted clocks 0).
ROBOT_REGULAR_INTERVAL_CV = 0.01
# Two of the three tells make a robot: no genuine corpus signature shows even one, every
# scripted one shows two or three.
ROBOT_TELLS_NEEDED = 2


class SignatureInputError(ValueError):
    """Malformed signature input, found before any maths (the API answers 422)."""

    def __init__(self, message: str, code: str = "signature_invalid"):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, eq=False)
class Signature:
    strokes: tuple  # of (n, 4) float64 arrays: x, y, t_ms (NaN when missing), pressure
    width: float
    height: float
    dpr: float


@dataclass(frozen=True)
class StrokeVerdict:
    errors: tuple     # ((code, message), ...) hard failures, SPEC §5 codes
    anomalies: tuple  # soft findings: "weak_signature", "robotic_signature"
    metrics: dict     # plain JSON-able numbers, stored as evidence


# ---------------------------------------------------------------- parsing
def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(value, where: str, limit: float = MAX_ABS_COORDINATE) -> float:
    if not _is_number(value):
        raise SignatureInputError(f"{where} is not a number")
    number = float(value)
    if not math.isfinite(number):
        raise SignatureInputError(f"{where} is not a finite number")
    if abs(number) > limit:
        raise SignatureInputError(f"{where} is out of range (more than {limit:g} in size)")
    return number


def _canvas(raw) -> tuple[float, float, float]:
    if not isinstance(raw, dict):
        raise SignatureInputError("canvas must be an object with width, height and dpr")
    sizes = []
    for key in ("width", "height"):
        if key not in raw:
            raise SignatureInputError(f"canvas.{key} is missing")
        value = _number(raw[key], f"canvas.{key}")
        if not MIN_CANVAS_PX <= value <= MAX_CANVAS_PX:
            raise SignatureInputError(f"canvas.{key} must be between {MIN_CANVAS_PX:g} and {MAX_CANVAS_PX:g} CSS px")
        sizes.append(value)
    dpr = _number(raw.get("dpr", 1.0), "canvas.dpr")
    if not MIN_DPR <= dpr <= MAX_DPR:
        raise SignatureInputError(f"canvas.dpr must be between {MIN_DPR:g} and {MAX_DPR:g}")
    return sizes[0], sizes[1], dpr


def _stroke_points(stroke, index: int):
    """Return (points list, format) of one stroke, checking only its container types."""
    if isinstance(stroke, dict):
        points = stroke.get("points")
        if not isinstance(points, list):
            raise SignatureInputError(f"strokes[{index}].points must be a list")
        return points, "pad"
    if isinstance(stroke, list):
        return stroke, "compact"
    raise SignatureInputError(f"strokes[{index}] must be an object with points or a list of points")


def _parse_pad_point(point, where: str, row: list) -> None:
    if not isinstance(point, dict):
        raise SignatureInputError(f"{where} must be an object with x, y, time, pressure")
    for key in ("x", "y"):
        if key not in point:
            raise SignatureInputError(f"{where}.{key} is missing")
        row.append(_number(point[key], f"{where}.{key}"))
    time = point.get("time")
    row.append(math.nan if time is None else _number(time, f"{where}.time", MAX_ABS_TIME_MS))
    pressure = point.get("pressure")
    row.append(DEFAULT_PRESSURE if pressure is None else _pressure(pressure, f"{where}.pressure"))


def _parse_compact_point(point, where: str, row: list) -> None:
    if not isinstance(point, list) or not 2 <= len(point) <= 4:
        raise SignatureInputError(f"{where} must be a list [x, y, t, pressure] (t and pressure optional)")
    row.append(_number(point[0], f"{where}[0] (x)"))
    row.append(_number(point[1], f"{where}[1] (y)"))
    time = point[2] if len(point) > 2 else None
    row.append(math.nan if time is None else _number(time, f"{where}[2] (t)", MAX_ABS_TIME_MS))
    pressure = point[3] if len(point) > 3 else None
    row.append(DEFAULT_PRESSURE if pressure is None else _pressure(pressure, f"{where}[3] (pressure)"))


def _pressure(value, where: str) -> float:
    pressure = _number(value, where)
    if not 0.0 <= pressure <= 1.0:
        raise SignatureInputError(f"{where} must be between 0 and 1")
    return pressure


# What a stroke and a point may carry into the evidence: signature_pad's toData() keys
# (PointGroup: points plus its pen options) and nothing else. Anything more is dropped
# before it is stored, so a client cannot stuff the evidence and the signed PDF with junk.
POINT_KEYS = ("x", "y", "time", "pressure")
STROKE_OPTION_KEYS = ("penColor", "dotSize", "minWidth", "maxWidth", "velocityFilterWeight",
                      "compositeOperation")
_MAX_OPTION_TEXT = 32     # "rgb(11, 27, 63)", "source-over": short words


def _documented_option(value) -> bool:
    if isinstance(value, str):
        # CSS colours and composite operations are short printable ASCII; anything else
        # (controls, bidi overrides, lone surrogates) is not a pen option.
        return len(value) <= _MAX_OPTION_TEXT and value.isascii() and value.isprintable()
    return type(value) in _NUMBER_TYPES


def documented_strokes(strokes):
    """A copy of the pad's strokes with only the documented keys (``POINT_KEYS`` in points,
    ``points`` and ``STROKE_OPTION_KEYS`` in strokes); a pen option that is not a number or
    a short printable ASCII word is dropped too, so no text but those words is left. Shapes that are not strokes at all are returned unchanged,
    for ``parse_signature`` to name what is wrong with them."""
    if not isinstance(strokes, list):
        return strokes
    out = []
    for stroke in strokes:
        if isinstance(stroke, dict) and isinstance(stroke.get("points"), list):
            kept = {k: stroke[k] for k in STROKE_OPTION_KEYS if k in stroke and _documented_option(stroke[k])}
            kept["points"] = [{k: p[k] for k in POINT_KEYS if k in p} if isinstance(p, dict) else p
                              for p in stroke["points"]]
            out.append(kept)
        else:
            out.append(stroke)
    return out


def parse_signature(raw: dict) -> Signature:
    """Validate the pad's JSON and return a Signature; raise SignatureInputError.

    `raw` is {"strokes": [...], "canvas": {"width", "height", "dpr"}} with strokes in
    signature_pad's toData() form ([{"points": [{"x", "y", "time", "pressure"}]}], extra
    keys ignored) or compact form ([[[x, y, t, pressure], ...], ...]). A missing time
    becomes NaN so that check_signature reports signature_timing_invalid.
    """
    if not isinstance(raw, dict):
        raise SignatureInputError("signature must be an object with strokes and canvas")
    width, height, dpr = _canvas(raw.get("canvas"))
    strokes = raw.get("strokes")
    if not isinstance(strokes, list):
        raise SignatureInputError("strokes must be a list")
    if len(strokes) > MAX_STROKES:
        raise SignatureInputError(f"{len(strokes)} strokes, at most {MAX_STROKES} allowed")
    point_lists = [_stroke_points(stroke, i) for i, stroke in enumerate(strokes)]
    total = sum(len(points) for points, _ in point_lists)
    if total > MAX_POINTS:
        raise SignatureInputError(f"{total} points, at most {MAX_POINTS} allowed",
                                  code="signature_too_many_points")
    fast = _fast_strokes(point_lists)
    if fast is not None:
        return Signature(strokes=fast, width=width, height=height, dpr=dpr)
    # something is off: read point by point to say what and where
    parsed = []
    for i, (points, form) in enumerate(point_lists):
        rows: list = []
        parse_point = _parse_pad_point if form == "pad" else _parse_compact_point
        prefix = f"strokes[{i}].points" if form == "pad" else f"strokes[{i}]"
        for j, point in enumerate(points):
            parse_point(point, f"{prefix}[{j}]", rows)
        parsed.append(np.array(rows, dtype=np.float64).reshape(-1, 4))
    return Signature(strokes=tuple(parsed), width=width, height=height, dpr=dpr)


_NUMBER_TYPES = {int, float}


def _fast_strokes(point_lists: list):
    """The common case in bulk: one format, every point complete, every value a plain
    number in range. Returns the strokes, or None to let the point-by-point reader find
    and name the problem (about 3x slower)."""
    forms = {form for _, form in point_lists}
    if len(forms) != 1:
        return None if forms else ()
    try:
        if forms == {"pad"}:
            rows = [(p["x"], p["y"], p["time"], p.get("pressure", DEFAULT_PRESSURE))
                    for points, _ in point_lists for p in points]
            columns = 4
        else:
            rows = [p for points, _ in point_lists for p in points]
            columns = len(rows[0]) if rows and type(rows[0]) is list else 3
            if any(type(p) is not list or len(p) != columns for p in rows):
                return None
    except (KeyError, TypeError, AttributeError):
        return None
    if columns not in (3, 4) or not {type(value) for row in rows for value in row} <= _NUMBER_TYPES:
        return None
    values = np.array(rows, dtype=np.float64).reshape(-1, columns)
    if len(values) and not (np.isfinite(values).all()
                            and np.abs(values[:, :2]).max() <= MAX_ABS_COORDINATE
                            and np.abs(values[:, 2]).max() <= MAX_ABS_TIME_MS):
        return None
    if columns == 3:
        values = np.column_stack((values, np.full(len(values), DEFAULT_PRESSURE)))
    elif len(values) and (values[:, 3].min() < 0.0 or values[:, 3].max() > 1.0):
        return None
    return tuple(np.split(values, np.cumsum([len(points) for points, _ in point_lists])[:-1]))


# ---------------------------------------------------------------- checks
_HANZI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_LETTER = re.compile(r"[^\W\d_]")


def name_requirements(signer_name: str) -> tuple[int, int]:
    """(Chinese characters, other letters) in the signer's name."""
    hanzi = len(_HANZI.findall(signer_name))
    letters = len(_LETTER.findall(signer_name)) - hanzi
    return hanzi, max(letters, 0)


def _round(value: float, digits: int = 3):
    return None if not math.isfinite(value) else round(float(value), digits)


def check_signature(sig: Signature, *, signer_name: str = "", handwriting: str = "basic") -> StrokeVerdict:
    """Judge a parsed signature: hard failures (SPEC §5 codes), soft anomalies, metrics."""
    strokes = [s for s in sig.strokes if len(s)]
    if not strokes:
        return StrokeVerdict((("signature_empty", "the signature has no strokes"),), (),
                             {"stroke_count": 0, "point_count": 0})
    points = np.concatenate(strokes) if len(strokes) > 1 else strokes[0]
    n = len(points)
    counts = np.fromiter((len(s) for s in strokes), dtype=np.intp, count=len(strokes))
    starts = np.zeros(len(strokes), dtype=np.intp)
    np.cumsum(counts[:-1], out=starts[1:])
    ends = starts + counts - 1
    errors: list = []
    xy = points[:, :2]
    lo = xy.min(axis=0)
    hi = xy.max(axis=0)
    box_w, box_h = float(hi[0] - lo[0]), float(hi[1] - lo[1])

    # segments inside strokes (not the pen-up jumps between them)
    deltas = np.diff(points, axis=0)
    inside = np.ones(n - 1, dtype=bool)
    inside[ends[:-1]] = False
    spacing = np.hypot(deltas[:, 0], deltas[:, 1])
    spacing[~inside] = 0.0
    ink = float(spacing.sum())
    canvas_diagonal = math.hypot(sig.width, sig.height)
    metrics = {
        "stroke_count": len(strokes), "point_count": n, "ink_length": _round(ink, 1),
        "bbox": [_round(lo[0], 1), _round(lo[1], 1), _round(hi[0], 1), _round(hi[1], 1)],
        "canvas": [sig.width, sig.height, sig.dpr],
    }

    if n < MIN_POINTS:
        errors.append(("signature_too_few_points", f"{n} points, a signature needs at least {MIN_POINTS}"))
    is_dot = max(box_w, box_h) <= DOT_MAX_EXTENT_PX
    if is_dot:
        errors.append(("signature_dot", f"all points lie within {max(box_w, box_h):.1f} px"))
    thickness = math.inf   # measured for single-stroke signatures only
    if not is_dot and len(strokes) == 1 and n >= 2:
        centred = xy - xy.mean(axis=0)
        cov = centred.T @ centred
        trace, det = cov[0, 0] + cov[1, 1], cov[0, 0] * cov[1, 1] - cov[0, 1] ** 2
        root = math.sqrt(max(trace * trace / 4 - det, 0.0))
        major, minor = trace / 2 + root, max(trace / 2 - root, 0.0)
        thickness = math.sqrt(minor / major) if major > 0 else 0.0
        metrics["line_thickness_ratio"] = _round(thickness, 4)
        if thickness < LINE_MAX_THICKNESS_RATIO:
            errors.append(("signature_line", "a single near-straight stroke"))
    box_share = max(box_w / sig.width, box_h / sig.height)
    ink_share = ink / canvas_diagonal
    metrics["bbox_share"] = _round(box_share, 4)
    metrics["ink_share"] = _round(ink_share, 4)
    if not is_dot and (box_share < SMALL_BOX_FRACTION or ink_share < SMALL_INK_FRACTION):
        errors.append(("signature_too_small",
                       f"covers {box_share:.0%} of the canvas with ink {ink_share:.2f}x its diagonal"))

    margin_x = OUT_OF_CANVAS_MARGIN_FRACTION * sig.width
    margin_y = OUT_OF_CANVAS_MARGIN_FRACTION * sig.height
    if (lo[0] < -margin_x or lo[1] < -margin_y or hi[0] > sig.width + margin_x
            or hi[1] > sig.height + margin_y):
        outside = ((xy[:, 0] < -margin_x) | (xy[:, 0] > sig.width + margin_x)
                   | (xy[:, 1] < -margin_y) | (xy[:, 1] > sig.height + margin_y))
        share = float(outside.mean())
        metrics["outside_share"] = _round(share, 4)
        if share > OUT_OF_CANVAS_MAX_SHARE:
            errors.append(("signature_out_of_canvas", f"{share:.0%} of the points lie far outside the canvas"))

    hanzi, letters = name_requirements(signer_name)
    timing = _check_timing(points, deltas, inside, starts, ends, ink, max(hanzi + letters // 4, 1), metrics)
    if timing:
        errors.append(("signature_timing_invalid", timing))

    if handwriting == "strict" and (hanzi or letters):
        needed_strokes = math.ceil(STRICT_STROKES_PER_HANZI * hanzi)
        needed_ink = (STRICT_INK_HEIGHTS_PER_HANZI * hanzi + STRICT_INK_HEIGHTS_PER_LETTER * letters) * box_h
        metrics["ink_heights"] = _round(ink / box_h if box_h > 0 else 0.0, 2)
        if len(strokes) < needed_strokes or ink < needed_ink:
            errors.append(("signature_too_simple",
                           f"{len(strokes)} strokes and {metrics['ink_heights']} heights of ink; "
                           f"the name needs {needed_strokes} strokes and "
                           f"{needed_ink / box_h if box_h > 0 else 0:.1f} heights"))

    anomalies = []
    if not errors:
        if (n < MIN_POINTS * WEAK_MARGIN or box_share < SMALL_BOX_FRACTION * WEAK_MARGIN
                or ink_share < SMALL_INK_FRACTION * WEAK_MARGIN
                or thickness < LINE_MAX_THICKNESS_RATIO * WEAK_MARGIN
                or (hanzi and len(strokes) < hanzi * STRICT_STROKES_PER_HANZI * WEAK_MARGIN)):
            anomalies.append("weak_signature")
        if _robot_tells(deltas, spacing, inside, starts, counts, metrics) >= ROBOT_TELLS_NEEDED:
            anomalies.append("robotic_signature")
    return StrokeVerdict(tuple(errors), tuple(anomalies), metrics)


def _check_timing(points, deltas, inside, starts, ends, ink, characters, metrics) -> str:
    """Return why the timestamps are impossible, or '' (and fill timing metrics)."""
    t = points[:, 2]
    if np.isnan(t).any():
        return "timestamps are missing"
    if len(t) > 1 and t[0] == t[-1] and (t == t[0]).all():
        return "all timestamps are equal"
    dt = deltas[:, 2]
    if (dt < 0).any():
        return "timestamps go backwards"
    duration = float(t[-1] - t[0])
    pen_down = float((t[ends] - t[starts]).sum())
    metrics["duration_ms"] = _round(duration, 1)
    metrics["pen_down_ms"] = _round(pen_down, 1)
    inner_dt = dt[inside]
    if len(inner_dt):
        zero_share = float((inner_dt == 0).mean())
        if zero_share > MAX_ZERO_INTERVAL_SHARE:
            return f"{zero_share:.0%} of the sample intervals are zero"
    if duration > MAX_TOTAL_MS:
        return f"took {duration / 1000:.0f} s, longer than any signature"
    minimum = max(MIN_TOTAL_MS, MIN_MS_PER_CHARACTER * characters)
    if duration < minimum:
        return f"took {duration:.0f} ms, faster than a hand can write it"
    if pen_down <= 0 < ink:
        return "the pen moved while no time passed"
    mean_speed = ink / pen_down if pen_down > 0 else 0.0
    metrics["mean_speed_px_ms"] = _round(mean_speed, 3)
    if mean_speed > MAX_MEAN_PEN_SPEED:
        return f"pen speed {mean_speed:.1f} px/ms, faster than a hand"
    return ""


def _robot_tells(deltas, spacing, inside, starts, counts, metrics) -> int:
    """Count the tells of scripted input: constant speed, no speed-up or slow-down at
    stroke ends, a perfectly regular clock."""
    long_strokes = counts >= ROBOT_MIN_STROKE_POINTS
    if not long_strokes.any():
        return 0
    dt = deltas[:, 2]
    usable = inside & (dt > 0)
    speed = np.zeros_like(spacing)
    np.divide(spacing, dt, out=speed, where=usable)
    s = starts[long_strokes]
    segments = counts[long_strokes] - 1
    # per-stroke mean and spread of the segment speeds, from running sums
    running = np.concatenate(([0.0], np.cumsum(speed)))
    running_sq = np.concatenate(([0.0], np.cumsum(speed * speed)))
    mean = (running[s + segments] - running[s]) / segments
    mean_sq = (running_sq[s + segments] - running_sq[s]) / segments
    spread = np.sqrt(np.maximum(mean_sq - mean * mean, 0.0))
    positive = mean > 0
    if not positive.any():
        return 0
    speed_cv = float(np.median(spread[positive] / mean[positive]))
    ends = (speed[s] + speed[s + segments - 1])[positive] / (2.0 * mean[positive])
    end_ratio = float(np.median(ends))
    inner_dt = dt[usable]
    interval_cv = float(inner_dt.std() / inner_dt.mean()) if len(inner_dt) > 1 else math.nan
    moving = speed[usable]
    metrics.update(speed_cv=_round(speed_cv, 4), end_speed_ratio=_round(end_ratio, 4),
                   interval_cv=_round(interval_cv, 4),
                   speed_mean_px_ms=_round(float(moving.mean()), 4),
                   speed_p95_px_ms=_round(float(np.percentile(moving, 95)), 4))
    return ((speed_cv <= ROBOT_CONSTANT_SPEED_CV) + (end_ratio >= ROBOT_END_SPEED_RATIO)
            + (interval_cv == interval_cv and interval_cv <= ROBOT_REGULAR_INTERVAL_CV))
