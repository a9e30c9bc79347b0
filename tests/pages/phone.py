"""A phone in a browser for the page tests: the context, and a hand that writes with touch."""
import os
import time
import weakref
from urllib.parse import urlsplit

ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "artifacts")
CONSIGNEE = {"latitude": 31.2304, "longitude": 121.4737, "accuracy": 12}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True,
         "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}


class Phone:
    """A phone-shaped browser page that remembers every host it asked for."""

    def __init__(self, browser, origin, *, geolocation=True, locale="zh-CN"):
        options = dict(PHONE, base_url=origin, locale=locale)
        if geolocation:
            options.update(geolocation=CONSIGNEE, permissions=["geolocation"])
        self.context = browser.new_context(**options)
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.origin = origin
        self.requests = []
        self.page.on("request", lambda request: self.requests.append(request.url))

    def offsite_requests(self):
        host = urlsplit(self.origin).netloc
        return [url for url in self.requests
                if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).netloc != host]

    def screenshot(self, name):
        os.makedirs(ARTIFACTS, exist_ok=True)
        self.page.screenshot(path=os.path.join(ARTIFACTS, f"{name}.png"))

    def close(self):
        self.context.close()


_pen_clock = weakref.WeakKeyDictionary()   # page → the last touch timestamp sent


def draw(page, strokes, *, frame=None, box_fraction=0.8):
    """Write ``strokes`` (compact ``[[x, y, t_ms, pressure], ...]``) on the signature pad as
    real touch input, timed as written: CDP touch events carry the original timestamps, so
    the page sees the hand's rhythm without the test waiting for it. ``frame`` (default:
    ``strokes``) is the whole signature the strokes are placed by, to rewrite one stroke."""
    pad = page.get_by_test_id("signature-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    xs = [p[0] for s in frame or strokes for p in s]
    ys = [p[1] for s in frame or strokes for p in s]
    width, height = (max(xs) - min(xs)) or 1, (max(ys) - min(ys)) or 1
    k = min(box["width"] * box_fraction / width, box["height"] * box_fraction / height)
    left = box["x"] + (box["width"] - width * k) / 2
    top = box["y"] + (box["height"] - height * k) / 2
    touch(page, strokes, lambda x, y: (left + (x - min(xs)) * k, top + (y - min(ys)) * k))


def touch(page, strokes, to_screen):
    """Send ``strokes`` (compact, as for `draw`) as CDP touch events at ``to_screen(x, y)``."""
    cdp = page.context.new_cdp_session(page)
    # Timestamps run ahead of the wall clock while replaying; the next drawing starts after.
    start = max(time.time(), _pen_clock.get(page, 0) + 0.3)
    t0 = strokes[0][0][2]
    try:
        for stroke in strokes:
            for i, (x, y, t, pressure) in enumerate(stroke):
                sx, sy = to_screen(x, y)
                point = {"x": sx, "y": sy, "force": pressure, "radiusX": 3, "radiusY": 3, "id": 1}
                cdp.send("Input.dispatchTouchEvent", {"type": "touchStart" if i == 0 else "touchMove",
                                                      "touchPoints": [point], "timestamp": start + (t - t0) / 1000})
            cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": [],
                                                  "timestamp": start + (stroke[-1][2] - t0 + 8) / 1000})
    finally:
        _pen_clock[page] = start + (strokes[-1][-1][2] - t0 + 8) / 1000
        cdp.detach()
