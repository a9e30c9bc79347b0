"""Faults the service must ride out: full disk, database gone, database restarted."""
import errno
import os
import shutil
import subprocess
import threading
import time

import pytest
from sqlalchemy import func, select

from delivery_sign import create_app
from delivery_sign.core.audit import AuditEvent
from delivery_sign.extensions import db
from delivery_sign.receipts.models import Photo


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def _counts(app, tenant_id):
    with app.app_context():
        photos = db.session.execute(select(func.count(Photo.id)).where(Photo.tenant_id == tenant_id)).scalar_one()
        events = db.session.execute(
            select(func.count(AuditEvent.id)).where(AuditEvent.tenant_id == tenant_id)).scalar_one()
        return photos, events


def test_full_disk_is_503_and_leaves_nothing_behind(door, app, world, monkeypatch):
    media = app.config["STORAGE_URL"][len("file://"):]
    before = _counts(app, world.tenant_id)
    files_before = sum(len(f) for _, _, f in os.walk(media))
    monkeypatch.setattr(os, "fsync", _disk_full)
    photo = door.upload(data=door.photo + b"different bytes")
    assert photo.status_code == 503 and photo.headers["Retry-After"]
    assert photo.mimetype == "application/problem+json" and "stored" in photo.get_json()["detail"]
    pdf = world.put(f"/waybills/{door.number}/document", data=b"%PDF-1.4\n" + b"0" * 10,
                    content_type="application/pdf")
    assert pdf.status_code in (422, 503)
    monkeypatch.undo()
    assert _counts(app, world.tenant_id) == before
    files_after = sum(len(f) for _, _, f in os.walk(media))
    assert files_after == files_before, "a half-written file was left in the media folder"
    assert door.upload().status_code == 201          # and it recovers once the disk has room


def test_database_unreachable_fails_fast_with_503(tmp_path):
    from tests.conftest import test_config

    url = "postgresql+psycopg://postgres@127.0.0.1:9/none"
    app = create_app(test_config(url, tmp_path))
    client = app.test_client()
    started = time.perf_counter()
    ready = client.get("/readyz")
    login = client.post("/api/v1/auth/login", json={"tenant": "t", "username": "u", "password": "p"})
    assert time.perf_counter() - started < 12
    assert ready.status_code == 503 and ready.headers["Retry-After"]
    assert login.status_code == 503 and login.headers["Retry-After"]
    assert login.mimetype == "application/problem+json"
    with app.app_context():
        db.engine.dispose()


def _drop_dead_connections(app):
    """The restart killed every pooled connection; close what is left of them here, so
    their ResourceWarnings do not surface in whichever test runs next."""
    import gc
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        gc.collect()


def _can_restart_postgres(database_url):
    return (database_url.startswith("postgresql") and shutil.which("pg_ctlcluster") and os.geteuid() == 0
            and os.path.isdir("/etc/postgresql"))


def test_postgres_restart_under_load(app, world, database_url):
    """Requests during a PostgreSQL restart get 503 + Retry-After (never 500), then it recovers."""
    if not _can_restart_postgres(database_url):
        pytest.skip("restarts the local PostgreSQL cluster: runs in the PostgreSQL pass as root")
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    statuses, stop = [], threading.Event()

    def load():
        client = app.test_client()
        while not stop.is_set():
            response = client.get("/api/v1/waybills", headers=world.auth())
            statuses.append((response.status_code, response.headers.get("Retry-After")))
            time.sleep(0.02)

    thread = threading.Thread(target=load)
    thread.start()
    time.sleep(0.3)
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True,
                   capture_output=True, timeout=60)
    deadline = time.time() + 30
    while time.time() < deadline and (not statuses or statuses[-1][0] != 200):
        time.sleep(0.1)
    time.sleep(0.3)
    stop.set()
    thread.join()
    _drop_dead_connections(app)
    codes = {code for code, _ in statuses}
    assert codes <= {200, 503}, statuses
    assert all(retry for code, retry in statuses if code == 503)
    assert statuses[-1][0] == 200
    assert world.get("/audit/verify").get_json()["ok"] is True
