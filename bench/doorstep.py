"""The doorstep in seconds (issue 12): taps, seconds and bytes at the door, as a phone sees them.

Headless Debian Chromium, a 390×844 phone with touch input, the network throttled through
the DevTools protocol (Network.emulateNetworkConditions: 1.6 Mbps down, 750 kbps up,
150 ms round trip). Prints, for flows (a) the consignee signing for everything, (b) a
family member reporting one damaged item, (c) a doorman signing with his own 12-MP
camera photo: taps besides the handwriting and seconds from opening the sign URL to the
done screen (since issue 19 each flow ticks the handwriting consent beside the pad, and
(a') is (a) sharing the location through its consent line), the handwriting replayed at the pace it was written. Then upload time and
bytes of a 12-MP camera photo, page weight, and axe-core violations per screen.
It asserts nothing.

    /work/venv/bin/python bench/doorstep.py          (npm ci first, for axe-core)
"""
import os
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from werkzeug.serving import make_server  # noqa: E402

from tests.evidence.photo_fixtures import exif_bytes, jpeg, scene  # noqa: E402
from tests.factories import World, photo_file  # noqa: E402
from tests.pages.axe import violations  # noqa: E402
from tests.pages.phone import PHONE, draw  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FOUR_G = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8, "uploadThroughput": 750_000 / 8}
TARGETS = {"upload_s": 3.0, "upload_kib": 500, "page_kib": 150, "axe": 0, "taps_a": 4}


def start_app(tmp):
    os.environ.setdefault("INSTANCE_PATH", os.path.join(tmp, "instance"))
    from flask_migrate import upgrade

    from delivery_sign import create_app
    from delivery_sign.config import _engine_options

    url = f"sqlite:///{tmp}/bench.db"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(url, {}),
                      "STORAGE_URL": f"file://{tmp}/media", "DEMO_TENANT": False, "SECRET_KEY": "bench",
                      "PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_KIB": 1024, "WORKER": "off",
                      "SMS_BACKEND": "outbox", "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_BASE_URL"] = origin
    return app, server, origin


def signature_sample():
    import json

    with open(os.path.join(ROOT, "tests", "data", "signatures", "genuine.json"), encoding="utf-8") as fh:
        genuine = json.load(fh)
    return next(s for s in genuine if len(s["signer_name"]) == 3 and 250 <= sum(map(len, s["strokes"])) <= 600)


class Door:
    """One phone at one door: throttled, counting taps, bytes sent and received."""

    def __init__(self, browser, origin, geolocation=True):
        options = dict(PHONE, base_url=origin)
        if geolocation:
            options.update(geolocation={"latitude": 31.2304, "longitude": 121.4737, "accuracy": 12},
                           permissions=["geolocation"])
        self.context = browser.new_context(**options)
        self.context.set_default_timeout(60_000)
        self.page = self.context.new_page()
        self.cdp = self.context.new_cdp_session(self.page)
        self.cdp.send("Network.enable")
        self.cdp.send("Network.emulateNetworkConditions", FOUR_G)
        self.taps = 0
        self.received = 0
        self.cdp.on("Network.loadingFinished", lambda e: setattr(self, "received", self.received + e["encodedDataLength"]))

    def tap(self, locator):
        locator.tap()
        self.taps += 1

    def sign(self, strokes):
        # Human speed: the hand took this long. The replay sends the events with their
        # written timestamps; whatever of that time the replay itself did not use is waited.
        began = time.perf_counter()
        draw(self.page, strokes)
        written = (strokes[-1][-1][2] - strokes[0][0][2]) / 1000
        time.sleep(max(0.0, written - (time.perf_counter() - began)))

    def done(self):
        self.page.get_by_test_id("done").wait_for()

    def close(self):
        self.context.close()


def main():
    from playwright.sync_api import sync_playwright

    tmp = tempfile.mkdtemp(prefix="bench-doorstep-")
    app, server, origin = start_app(tmp)
    client = app.test_client()
    world = World.create(app, client)
    sig = signature_sample()
    camera = jpeg(scene(12, 4000, 3000), quality=92, exif=exif_bytes(
        orientation=6, datetime_original="2026:12:01 10:02:03", gps=(31.2304, 121.4737), make="Xiaomi", model="Redmi"))
    camera_path = os.path.join(tmp, "IMG_20261201_100203.jpg")
    with open(camera_path, "wb") as fh:
        fh.write(camera)
    goods = jpeg(scene(5, 1600, 1200), quality=88)

    def link(photos_by, **policy):
        world.patch("/doc-types/default", {"policy": {"photos_by": photos_by, **policy}})
        number = world.waybill(courier="courier1", org_unit="EAST-1")["number"]
        made = world.post("/sign-links", {"waybills": [number]}, who="courier1").get_json()
        if photos_by == "courier":
            world.post(f"/sign-links/{made['token']}/photos", who="courier1", data={"file": photo_file(goods)},
                       content_type="multipart/form-data")
        return made["url"]

    rows, axe_rows = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])

        # (a) the consignee, everything received; the courier took the photo (default policy);
        # (a') the same, sharing the location (its consent line asks the phone)
        for name, share_location in (("(a) consignee, all received", False), ("(a') same, location shared", True)):
            door = Door(browser, origin)
            url = link("courier")
            start = time.perf_counter()
            door.page.goto(url)
            door.page.get_by_test_id("item-row").first.wait_for()
            if share_location:
                door.tap(door.page.get_by_test_id("consent-location"))
            door.tap(door.page.locator("[data-testid=signer-relation] input[value=self]"))
            door.tap(door.page.get_by_test_id("next"))
            door.tap(door.page.get_by_test_id("consent-handwriting"))
            door.sign(sig["strokes"])
            door.tap(door.page.get_by_test_id("submit"))
            door.done()
            rows.append((name, door.taps, time.perf_counter() - start, door.received))
            if not share_location:
                axe_rows.append(("recipient done", len(violations(door.page))))
            door.close()

        # axe on the screens of (a), outside the timed run
        door = Door(browser, origin)
        door.page.goto(link("courier"))
        door.page.get_by_test_id("item-row").first.wait_for()
        axe_rows.append(("recipient confirm", len(violations(door.page))))
        door.page.locator("[data-testid=signer-relation] input[value=self]").check()
        door.page.get_by_test_id("next").click()
        axe_rows.append(("recipient sign", len(violations(door.page))))
        page_weight = None
        door.close()

        # page weight: a cold load of the sign page (HTML + CSS + JS + the view JSON), unthrottled
        door = Door(browser, origin)
        door.cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                           "uploadThroughput": -1})
        door.page.goto(link("courier"))
        door.page.get_by_test_id("item-row").first.wait_for()
        door.page.wait_for_load_state("networkidle")
        page_weight = door.received
        door.close()

        # (b) a family member: one item damaged, name typed, location refused (optional)
        door = Door(browser, origin, geolocation=False)
        url = link("courier")
        start = time.perf_counter()
        door.page.goto(url)
        door.page.get_by_test_id("item-row").first.wait_for()
        door.tap(door.page.get_by_test_id("problem"))
        damaged = door.page.get_by_test_id("item-row").first.get_by_test_id("item-damaged")
        door.tap(damaged)
        damaged.fill("1")                     # typing, like the handwriting, is not counted as taps
        door.tap(door.page.locator("[data-testid=signer-relation] input[value=family]"))
        door.tap(door.page.get_by_test_id("signer-name"))
        door.page.get_by_test_id("signer-name").fill(sig["signer_name"])
        door.tap(door.page.get_by_test_id("next"))
        door.tap(door.page.get_by_test_id("consent-handwriting"))
        door.sign(sig["strokes"])
        door.tap(door.page.get_by_test_id("submit"))
        door.done()
        rows.append(("(b) family, one item damaged", door.taps, time.perf_counter() - start, door.received))
        door.close()

        # (c) a doorman, recipient photos policy: his 12-MP photo, his name
        door = Door(browser, origin)
        url = link("recipient")
        start = time.perf_counter()
        door.page.goto(url)
        door.page.get_by_test_id("item-row").first.wait_for()
        upload = {}
        door.page.on("request", lambda r: upload.setdefault("t0", time.perf_counter())
                     if r.url.endswith("/photos") else None)
        door.page.on("requestfinished", lambda r: upload.update(
            t1=time.perf_counter(), bytes=int(r.all_headers().get("content-length", 0)))
            if r.url.endswith("/photos") else None)
        door.taps += 1                        # the camera button opens the camera
        picked = time.perf_counter()
        door.page.get_by_test_id("photo-input").set_input_files(camera_path)
        door.page.locator("[data-testid=photo-thumb][data-status=done]").wait_for()
        ready = time.perf_counter()
        door.tap(door.page.locator("[data-testid=signer-relation] input[value=guard]"))
        door.tap(door.page.get_by_test_id("signer-name"))
        door.page.get_by_test_id("signer-name").fill(sig["signer_name"])
        door.tap(door.page.get_by_test_id("next"))
        door.tap(door.page.get_by_test_id("consent-handwriting"))
        door.sign(sig["strokes"])
        door.tap(door.page.get_by_test_id("submit"))
        door.done()
        rows.append(("(c) doorman, own 12-MP photo", door.taps, time.perf_counter() - start, door.received))
        door.close()

        # the denied-location screen and the courier's screens, for axe
        door = Door(browser, origin, geolocation=False)
        world.patch("/doc-types/default", {"policy": {"location": "required"}})
        door.page.goto(link("recipient"))
        door.page.get_by_test_id("consent-location").check()
        door.page.get_by_test_id("location-help").wait_for()
        axe_rows.append(("recipient location denied", len(violations(door.page))))
        door.page.get_by_test_id("problem").click()
        door.page.get_by_test_id("photo-input").set_input_files(camera_path)
        door.page.locator("[data-testid=photo-thumb]:not([data-status=uploading]):not([data-status=preparing])").wait_for()
        axe_rows.append(("recipient problem + photo", len(violations(door.page))))
        world.patch("/doc-types/default", {"policy": {"location": "optional"}})
        door.page.goto("/s/not-a-token")
        axe_rows.append(("recipient unknown link", len(violations(door.page))))
        door.page.goto(f"/courier?tenant={world.slug}")
        axe_rows.append(("courier login", len(violations(door.page))))
        door.page.get_by_test_id("login-username").fill("courier1")
        door.page.get_by_test_id("login-password").fill("correct horse battery")
        door.page.get_by_test_id("login-submit").click()
        world.patch("/doc-types/default", {"policy": {"photos_by": "courier", "photos_min": 1}})
        world.waybill(courier="courier1", org_unit="EAST-1")
        door.page.get_by_test_id("waybill-row").first.wait_for()
        axe_rows.append(("courier list", len(violations(door.page))))
        door.page.get_by_test_id("waybill-select").first.check()
        door.page.get_by_test_id("make-qr").click()
        door.page.get_by_test_id("qr-photos").wait_for()
        axe_rows.append(("courier photos first", len(violations(door.page))))
        door.page.get_by_test_id("courier-photo-input").set_input_files(camera_path)
        door.page.locator("[data-testid=courier-photo]:not([data-status=uploading])").wait_for()
        door.page.get_by_test_id("show-qr").click()
        door.page.get_by_test_id("qr").wait_for()
        axe_rows.append(("courier QR", len(violations(door.page))))
        door.close()
        browser.close()
    server.shutdown()

    print("bench/doorstep.py — Chromium 390×844 touch, 4G via CDP (1.6 Mbps down, 750 kbps up, 150 ms RTT)")
    print("figures from a shared, loaded 2-core machine; handwriting replayed at its written pace\n")
    print(f"{'flow':34} {'taps':>5} {'seconds':>8} {'KiB down':>9}")
    for name, taps, seconds, received in rows:
        print(f"{name:34} {taps:5d} {seconds:8.1f} {received / 1024:9.1f}")
    print(f"\n(a) target: ≤ {TARGETS['taps_a']} taps besides the handwriting; handwriting itself "
          f"{(sig['strokes'][-1][-1][2] - sig['strokes'][0][0][2]) / 1000:.1f} s")
    print(f"\n12-MP camera photo ({len(camera) / 1024:.0f} KiB, 4000×3000, EXIF orientation 6):")
    print(f"  uploaded bytes      {upload.get('bytes', 0) / 1024:7.1f} KiB   (target ≤ {TARGETS['upload_kib']} KiB)")
    print(f"  upload request      {upload.get('t1', 0) - upload.get('t0', 0):7.2f} s     (target ≤ {TARGETS['upload_s']} s)")
    print(f"  pick → thumbnail ok {ready - picked:7.2f} s     (shrinking on the phone included)")
    print(f"\npage weight, cold load of /s/<token> (HTML+CSS+JS+view JSON, as transferred): "
          f"{page_weight / 1024:.1f} KiB (target ≤ {TARGETS['page_kib']} KiB)")
    print("\naxe-core violations (WCAG 2.1 A/AA + best practice), target 0:")
    for name, count in axe_rows:
        print(f"  {name:28} {count}")


if __name__ == "__main__":
    main()
