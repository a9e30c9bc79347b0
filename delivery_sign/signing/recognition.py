"""Submit's handwriting-recognition step (policy ``handwriting: recognized``, issue 13).

Two calls from signing/submit.py: `read` in the read-only phase (the slow part: Zinnia and
the verifier, no lock held) and `settle` once the link row is locked (count the failed
attempt, decide between 422 ``signature_name_mismatch`` and, under ``recognition:
lenient``, accepting the third failed attempt with the anomaly ``name_not_recognized``).

A failed attempt must be counted although the request answers 422 and rolls back: the
submit handler commits when `attempt_counted()` says so. Nothing else is written before
the hard checks, so that commit holds only the counter.

`warm` (called by gunicorn.conf.py in each worker once the app is loaded) starts building the verifier's rival table (~3 s of CPU,
~24 MB per process) in a background thread when the recogniser is installed, so the
first recognised submit of a process does not pay for it.
"""
from dataclasses import replace

from flask import current_app, g

from ..core.errors import field_error
from ..evidence import zinnia
from ..evidence import handwriting
from ..evidence.handwriting import NameReading, recognize_name

LENIENT_ATTEMPTS = 3   # e签宝's lenient mode: after three failures keep the handwriting


def recognizer():
    return zinnia.recognizer(current_app.config["ZINNIA_LIBRARY"], current_app.config["ZINNIA_MODEL"])


def warm(app):
    """Build the rivals in the background in a serving process (RECOGNITION_WARM=False: on first use)."""
    if app.config.get("RECOGNITION_WARM", True) and zinnia.recognizer(
            app.config["ZINNIA_LIBRARY"], app.config["ZINNIA_MODEL"]) is not None:
        handwriting.warm_in_background()


def read(signature, body, policy) -> NameReading | None:
    """Read the name from the parsed strokes, or None when the policy does not ask for it."""
    if policy.get("handwriting") != "recognized":
        return None
    return recognize_name([s[:, :2] for s in signature.strokes], body["signer"]["name"].strip(),
                          body["signature"].get("boxes"), recognizer())


def settle(link, body, strokes):
    """Fold the reading into the measured strokes (submit.MeasuredStrokes): errors,
    anomalies and the evidence."""
    reading = strokes.reading
    if reading is None:
        return strokes
    boxes = body["signature"].get("boxes")
    errors = list(strokes.errors)
    expected = len(reading.chars) if reading.applicable else None
    if boxes is not None and expected is not None and len(boxes) != expected:
        errors.append(field_error("signature.boxes", "signature_boxes_invalid",
                                  f"Send one box per character of the name ({expected}), not {len(boxes)}."))
        return replace(strokes, errors=errors)
    if strokes.errors or not reading.applicable:
        # garbage strokes fail on their own; Latin names are not recognised
        return replace(strokes, handwriting=_evidence(reading, link, link.name_attempts or 0))
    anomalies, attempts = [], (link.name_attempts or 0) + 1
    if not reading.recognized:
        link.name_attempts = (link.name_attempts or 0) + 1
        g.name_attempt_counted = True
        if link.policy.get("recognition", "lenient") == "lenient" and link.name_attempts >= LENIENT_ATTEMPTS:
            anomalies.append("name_not_recognized")
        else:
            errors.extend(field_error(f"signature.boxes[{i}]", "signature_name_mismatch",
                                      f"第{i + 1}个字\u201c{reading.chars[i].expected}\u201d未能识别，请在框内工整重写")
                          for i in reading.failed)
    return replace(strokes, errors=errors, name_anomalies=anomalies, handwriting=_evidence(reading, link, attempts))


def attempt_counted() -> bool:
    return bool(g.get("name_attempt_counted"))


def _evidence(reading: NameReading, link, attempts: int) -> dict:
    """checks.handwriting of the evidence (and of submit's answer); `attempts` counts this
    submit and the failed ones before it."""
    return {
        "recognized": reading.recognized if reading.applicable else None,
        "mode": link.policy.get("recognition", "lenient"),
        "attempts": attempts,
        "segmentation": reading.segmentation,
        "engine": reading.engine,
        "chars": [{"expected": c.expected, "best": c.best, "rank": c.rank, "score": c.score,
                   "verified": c.verified, "status": c.status} for c in reading.chars],
    }
