"""The sign page under `handwriting: recognized` (issue 13), in a phone browser: one box per
character of the name, the server's reading shown on the failing box, a rewrite per box, the
landscape pad keeping the boxes, and the courier's help offered when `strict` keeps saying no.

The handwriting is the recognition test cases' (tests/data/recognition/cases.json, written by
bench/make_recognition_corpus.py's hands over the Make Me a Hanzi medians), one box at a time,
placed into the page's boxes and sent as touch events."""
import json
import os

import numpy as np
import pytest
from playwright.sync_api import expect

from delivery_sign.evidence import zinnia
from delivery_sign.evidence.handwriting import recognize_name

from .axe import assert_accessible
from .phone import touch
from .test_recipient_page import choose, evidence, receipt_of, set_policy, sign_link, submits, to_sign  # noqa: F401

CASES_PATH = os.path.join(os.path.dirname(__file__), "..", "data", "recognition", "cases.json")

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(zinnia.recognizer() is None, reason=f"needs {zinnia.INSTALL_HINT}")]


@pytest.fixture(scope="module")
def cases():
    with open(CASES_PATH, encoding="utf-8") as fh:
        loaded = json.load(fh)
    # The first reading in a process builds the verifier's tables (about 20 s on a loaded
    # 2-core box, then well under a second). The live server runs in this process: build
    # them here, so the page's waits are for one reading, not for the tables.
    case = loaded["genuine_boxes"]
    recognize_name([np.array(s, dtype=float)[:, :2] for s in case["strokes"]], case["expected"], case["boxes"],
                   zinnia.recognizer())
    return loaded


# The server reads every box (Zinnia and the verifier) on a loaded 2-core box: wait for its
# answer longer than Playwright's default, never for a timing.
ANSWER_MS = 30_000


def per_box(case):
    """The case's strokes by the box most of their points fall in (the server's rule), as the
    compact [[x, y, t_ms, pressure]] the touch helper sends."""
    groups = [[] for _ in case["boxes"]]
    for stroke in case["strokes"]:
        inside = [sum(b["x"] <= p[0] <= b["x"] + b["width"] and b["y"] <= p[1] <= b["y"] + b["height"] for p in stroke)
                  for b in case["boxes"]]
        groups[inside.index(max(inside))].append([[p[0], p[1], p[2], 0.5] for p in stroke])
    return groups


def write_in_box(page, strokes, case_box, index):
    """Write one character's strokes into the page's box ``index``, scaled from the case's box."""
    box = page.get_by_test_id("pad-box").nth(index)
    expect(box).to_be_visible()   # back from the landscape pad, the boxes are laid out again
    target = box.bounding_box()
    k = target["width"] / case_box["width"]
    touch(page, strokes, lambda x, y: (target["x"] + (x - case_box["x"]) * k, target["y"] + (y - case_box["y"]) * k))


def box_states(page):
    return [b.get_attribute("data-state") for b in page.get_by_test_id("pad-box").all()]


def open_boxes(page, world, sign_link, mode):  # noqa: F811
    set_policy(world, photos_by="courier", photos_min=0, handwriting="recognized", recognition=mode)
    number, link = sign_link()
    page.goto(link["url"])
    choose(page, "self", "李明华")          # recognized: the name is typed, also for the consignee
    to_sign(page)
    expect(page.get_by_test_id("pad-box")).to_have_count(3)
    return number


def write_with_a_wrong_second_character(page, cases):
    genuine, other = cases["genuine_boxes"], cases["other_name_boxes"]   # 李明华, and 王建国 for box 2
    ours, theirs = per_box(genuine), per_box(other)
    write_in_box(page, ours[0], genuine["boxes"][0], 0)
    write_in_box(page, theirs[1], other["boxes"][1], 1)                # 建 where 明 belongs
    write_in_box(page, ours[2], genuine["boxes"][2], 2)
    return ours


def test_a_wrong_character_is_flagged_on_its_box_and_rewritten_alone(phone, world, sign_link, cases):  # noqa: F811
    page = phone.page
    number = open_boxes(page, world, sign_link, "strict")
    assert page.get_by_test_id("signature-hint").inner_text() == "请一格写一个字：李明华"
    # The landscape pad keeps the boxes, larger, inside the pad.
    small = page.get_by_test_id("pad-box").first.bounding_box()
    page.get_by_test_id("signature-fullscreen").click()
    expect(page.get_by_test_id("pad-box")).to_have_count(3)
    pad = page.get_by_test_id("signature-pad").bounding_box()
    boxes = [b.bounding_box() for b in page.get_by_test_id("pad-box").all()]
    assert boxes[0]["width"] > small["width"]
    assert all(pad["x"] <= b["x"] and b["x"] + b["width"] <= pad["x"] + pad["width"] + 1 for b in boxes)
    assert boxes[0]["x"] + boxes[0]["width"] <= boxes[1]["x"] + 1                      # side by side, in order
    page.locator("#signature-done").click()
    expect(page.get_by_test_id("pad-box")).to_have_count(3)

    ours = write_with_a_wrong_second_character(page, cases)
    page.get_by_test_id("submit").click()
    error = page.locator("[data-testid=error][data-for=signature]")
    expect(error).to_have_text("第2个字“明”未能识别，请在框内工整重写", timeout=ANSWER_MS)
    assert box_states(page) == ["", "failed", ""]
    assert page.get_by_test_id("assisted-offer").is_hidden()
    phone.screenshot("recipient-boxes-failed")
    assert_accessible(page, "sign with a box flagged")
    before = page.evaluate("() => DSR.pad.toData().length")

    # strict: no acceptance after three tries; the page offers the courier's help instead.
    for _ in range(2):
        page.get_by_test_id("submit").click()
        expect(page.get_by_test_id("submit")).to_be_enabled(timeout=ANSWER_MS)
    expect(page.get_by_test_id("assisted-offer")).to_be_visible(timeout=ANSWER_MS)
    assert len(submits(phone)) == 3

    page.get_by_test_id("pad-box-clear").nth(1).click()            # rewrite box 2 only
    assert box_states(page) == ["", "", ""] and error.is_hidden()
    assert page.evaluate("() => DSR.pad.toData().length") == before - len(per_box(cases["other_name_boxes"])[1])
    write_in_box(page, ours[1], cases["genuine_boxes"]["boxes"][1], 1)
    page.get_by_test_id("submit").click()
    page.get_by_test_id("done").wait_for(timeout=ANSWER_MS)
    stored = evidence(world, receipt_of(page))

    reading = stored["checks"]["handwriting"]
    assert reading["recognized"] is True and reading["mode"] == "strict" and reading["attempts"] == 4
    assert reading["segmentation"] == "boxes"                                   # the page sent its boxes
    assert [c["expected"] for c in reading["chars"]] == list("李明华")
    assert len(stored["signature"]["strokes"]) == sum(len(g) for g in ours)     # boxes 1 and 3 as first written
    assert world.get(f"/waybills/{number}").get_json()["status"] == "signed"


def test_lenient_keeps_the_handwriting_after_the_third_try(phone, world, sign_link, cases):  # noqa: F811
    page = phone.page
    open_boxes(page, world, sign_link, "lenient")
    write_with_a_wrong_second_character(page, cases)
    for attempt in (1, 2):
        page.get_by_test_id("submit").click()
        expect(page.locator("[data-testid=error][data-for=signature]")).to_contain_text("第2个字", timeout=ANSWER_MS)
        expect(page.get_by_test_id("submit")).to_be_enabled(timeout=ANSWER_MS)
        assert len(submits(phone)) == attempt
    page.get_by_test_id("submit").click()
    page.get_by_test_id("done").wait_for(timeout=ANSWER_MS)
    stored = evidence(world, receipt_of(page))
    assert stored["checks"]["handwriting"]["recognized"] is False
    assert "name_not_recognized" in stored["anomalies"]
    assert page.get_by_test_id("assisted-offer").is_hidden()
