"""Consent fixtures: a courier's open waybill, the consignee's SMS link read from the outbox."""
import re

import pytest

from delivery_sign.core import jobs
from tests.factories import photo_file
from tests.fakes import FakeSmsProvider

NEAR = {"lat": 31.2304, "lng": 121.4737, "accuracy": 10, "coord_system": "gcj02", "source": "gps"}
FAR = {"lat": 31.3304, "lng": 121.4737, "accuracy": 10, "coord_system": "gcj02", "source": "gps"}


def drain(world, now=None):
    return jobs.run_due(world.app, tenant_id=world.tenant_id, now=now)


def outbox(world):
    return world.get("/dev/sms-outbox").get_json()["items"]


def last_token(world, path="c"):
    """The token of the newest SMS link to ``/<path>/<token>``."""
    for message in outbox(world):
        found = re.search(rf"/{path}/([A-Za-z0-9_-]+)", message["text"])
        if found:
            return found.group(1)
    raise AssertionError("no link in the outbox")


class Parcel:
    """A waybill of courier1 nobody is home for."""

    def __init__(self, world, photo, number=None, **overrides):
        self.world, self.client, self.photo = world, world.client, photo
        self.number = number or world.waybill(courier="courier1", org_unit="EAST-1", **overrides)["number"]

    def ask(self, options=("locker", "station", "guard", "reschedule"), who="courier1", **extra):
        return self.world.post(f"/waybills/{self.number}/consent-requests", {"options": list(options), **extra},
                               who=who)

    def asked(self, **kw):
        response = self.ask(**kw)
        assert response.status_code == 201, response.get_json()
        return last_token(self.world)

    def answer(self, token, **body):
        return self.client.post(f"/api/v1/consent/{token}", json=body)

    def photo_id(self, data=None, kind="scene"):
        response = self.world.post(f"/waybills/{self.number}/drop-photos", who="courier1",
                                   data={"file": photo_file(data or self.photo), "kind": kind},
                                   content_type="multipart/form-data")
        assert response.status_code == 201, response.get_json()
        return response.get_json()["photo_id"]

    def drop(self, place="station", photo_ids=None, location=NEAR, **extra):
        body = {"place": place, "photo_ids": photo_ids if photo_ids is not None else [self.photo_id()],
                "location": location, **extra}
        return self.world.post(f"/waybills/{self.number}/drop", body, who="courier1")

    def status(self):
        return self.world.get(f"/waybills/{self.number}").get_json()["status"]


@pytest.fixture
def parcel(world, photo_jpeg):
    return Parcel(world, photo_jpeg)


@pytest.fixture
def make_parcel(world, photo_jpeg):
    return lambda **kw: Parcel(world, photo_jpeg, **kw)


@pytest.fixture
def http_sms(app):
    saved = {k: app.config[k] for k in ("SMS_BACKEND", "SMS_HTTP_URL", "SMS_HTTP_KEY")}
    providers = []

    def start(fail_with=None):
        provider = FakeSmsProvider(fail_with)
        providers.append(provider)
        app.config.update(SMS_BACKEND="http", SMS_HTTP_URL=provider.url + "/send", SMS_HTTP_KEY="k")
        return provider

    yield start
    app.config.update(saved)
    for provider in providers:
        provider.close()


@pytest.fixture
def move_clock(monkeypatch):
    """``move_clock(timedelta)``: every ``core.clock.utcnow()`` reads that much later from now on
    (the rate limiter's own clock does not move)."""
    from datetime import datetime

    from delivery_sign.core import clock

    def move(by):
        class Moved(datetime):
            @classmethod
            def now(cls, tz=None):
                return datetime.now(tz) + by     # a plain datetime, as the drivers expect
        monkeypatch.setattr(clock, "datetime", Moved)

    return move
