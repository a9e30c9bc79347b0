"""The sign-off request path of issue 16: few writes, and a photo decoded once.

The submit's rows go one statement per table (the audit chain, the receipt's lines, the
photos it claims, the fingerprint's band keys, the waybills' anomalies), and the upload's
own decode makes the thumbnail, so the PDF job reads bytes and never decodes a photo.
"""
import contextlib

import numpy as np
import psycopg
import pytest
from sqlalchemy import event, select

from delivery_sign.core import jobs
from delivery_sign.core.storage import get_storage
from delivery_sign.extensions import db
from delivery_sign.receipts.models import Photo, Receipt
from delivery_sign.receipts.services import derivative_key

SUBMIT_WRITES_MAX = 10   # issue 16 item 4 (no webhook subscriber: it adds its own rows)


def written_tables(sql: str) -> list[str]:
    """The tables an INSERT/UPDATE statement writes, each once per statement; a
    data-modifying CTE (``WITH a AS (UPDATE t1 …) INSERT INTO t2 …``, the audit append on
    PostgreSQL) writes both, and both are counted."""
    words = sql.replace("(", " ( ").split()
    upper = [word.upper() for word in words]
    if not upper or upper[0] not in ("INSERT", "UPDATE", "WITH"):
        return []
    return [words[i + 2] if word == "INSERT" else words[i + 1] for i, word in enumerate(upper[:-2])
            if (word == "INSERT" and upper[i + 1] == "INTO")
            or (word == "UPDATE" and (i == 0 or upper[i - 1] != "FOR"))]


@contextlib.contextmanager
def counted_writes(app, monkeypatch):
    """INSERT/UPDATE statements sent while the block runs, by table (a statement writing
    two tables names both)."""
    seen = []
    with write_statements(app, monkeypatch, seen.extend):
        yield seen


@contextlib.contextmanager
def write_statements(app, monkeypatch, written):
    """``written(tables)`` for each INSERT/UPDATE statement sent while the block runs; COPY
    (bulk rows on PostgreSQL, core/bulk.py) goes past SQLAlchemy's events, so it is seen
    at the cursor."""
    def statement(sql):
        tables = written_tables(sql)
        if tables:
            written(tables)

    real_copy = psycopg.Cursor.copy

    def copy(self, sql, *args, **kwargs):
        written([str(sql).split()[1]])
        return real_copy(self, sql, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "copy", copy)
    with sent_statements(app, statement):
        yield


@contextlib.contextmanager
def sent_statements(app, statement):
    """``statement(sql)`` for each statement SQLAlchemy sends while the block runs."""
    with app.app_context():
        engine = db.engine

    def before(conn, cursor, sql, parameters, context, executemany):
        statement(sql)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)


def test_a_view_reads_the_link_with_its_notice_then_the_waybills(app, door, world):
    """An opened link's view: two SELECTs (the link with its tenant, the courier's photo count
    and the current notice; then the waybills with their items), nothing written. The rate
    limit makes no token probe of its own (issue 16)."""
    assert door.view().status_code == 200                                   # opens the link
    published = world.post("/privacy/notice", {"text": "{handler} 保存签收数据 {days} 天。"})
    assert published.status_code in (200, 201), published.get_json()
    sent = []
    with sent_statements(app, lambda sql: sent.append(" ".join(sql.split()[:2]).upper())):
        view = door.view()
    assert view.status_code == 200
    privacy = view.get_json()["privacy"]
    assert privacy["version"] == published.get_json()["version"] and privacy["text"].endswith("保存签收数据 1095 天。")
    assert [s for s in sent if s.startswith("SELECT")] == ["SELECT SIGN_LINKS.ID,", "SELECT WAYBILLS.ID,"], sent
    assert not [s for s in sent if s.startswith(("INSERT", "UPDATE", "WITH"))], sent


def test_a_recipients_call_looks_its_token_up_once(app, door):
    # The rate limits need no lookup of their own before the view; only the view's (issue 16).
    sent = []
    with sent_statements(app, sent.append):
        assert door.view().status_code == 200
    assert sum("token_hash" in sql for sql in sent) == 1, sent

def test_a_submit_writes_one_statement_per_table(app, door, monkeypatch):
    photo_ids = [door.upload().get_json()["photo_id"], door.upload(kind="scene").get_json()["photo_id"]]
    body = door.body(photo_ids=photo_ids)
    with counted_writes(app, monkeypatch) as seen:
        response = door.submit(body)
    assert response.status_code == 201, response.get_json()
    # With no subscriber the webhook emit writes no row. On PostgreSQL it is still the one
    # statement that would (webhooks.services._emit_pg: it replaces the subscribers' read),
    # naming both webhook tables, and nothing else names them; on SQLite only the read is
    # sent. That statement is left out of the count, and no event row is there after.
    webhook_tables = [table for table in seen if table.startswith("webhook_")]
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
    assert sorted(webhook_tables) == (["webhook_deliveries", "webhook_events"] if postgres else []), seen
    assert len(seen) - len(webhook_tables) <= SUBMIT_WRITES_MAX, seen
    with app.app_context():
        from delivery_sign.webhooks.models import WebhookEvent

        assert db.session.execute(select(WebhookEvent.id).where(
            WebhookEvent.tenant_id == door.world.tenant_id)).first() is None
    # two photos, the fingerprint's band keys, two audit events: still one statement each
    for table in ("photos", "signature_fingerprints", "audit_events", "receipt_lines"):
        assert seen.count(table) == 1, (table, seen)
    with app.app_context():
        receipt = db.session.execute(select(Receipt).where(Receipt.public_id == response.get_json()["receipt_id"])
                                     ).scalar_one()
        claimed = db.session.execute(select(Photo.public_id).where(Photo.receipt_id == receipt.id)).scalars()
        assert sorted(claimed) == sorted(photo_ids)
        assert len(receipt.lines) == 2
    assert door.world.get("/audit/verify").get_json()["ok"] is True


def test_a_sign_off_is_ten_write_statements_on_postgresql(app, door, monkeypatch):
    """Issue 16 item 4, the whole sign-off: view, two photos, submit. On PostgreSQL a
    link's opening, a photo's row and hash chunks, and the link's use each go in the
    statement that appends their audit event (``audit.record_with``), and the receipt
    claims its photos in its own INSERT; SQLite, with no data-modifying CTEs, writes each
    table on its own. Either way the rows are all there and the chain verifies."""
    statements = []
    with write_statements(app, monkeypatch, lambda tables: statements.append(sorted(tables))):
        assert door.view().status_code == 200
        photo_ids = [door.upload().get_json()["photo_id"], door.upload(kind="scene").get_json()["photo_id"]]
        response = door.submit(door.body(photo_ids=photo_ids))
    assert response.status_code == 201, response.get_json()
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
    event, photo = ["audit_events", "audit_heads"], ["photo_hash_chunks", "photos"]
    if postgres:
        assert statements == [
            sorted(event + ["sign_links"]),                     # view: the opening and link.opened
            sorted(event + photo), sorted(event + photo),       # each photo and photo.uploaded
            ["waybills"],
            sorted(event + ["sign_links"]),                     # the events and the link's use
            ["photos", "receipts"],                             # the receipt claims its photos
            ["receipt_lines"], ["signature_fingerprints"],      # COPY each
            ["webhook_deliveries", "webhook_events"],           # the emit (no subscriber: no row)
            ["jobs"],
        ], statements
    else:
        assert len(statements) == 20 and all(len(tables) == 1 for tables in statements), statements
    receipt_id = response.get_json()["receipt_id"]
    with app.app_context():
        from delivery_sign.core.audit import AuditEvent
        from delivery_sign.signing.models import SignLink

        receipt = db.session.execute(select(Receipt).where(Receipt.public_id == receipt_id)).scalar_one()
        link = db.session.get(SignLink, receipt.link_id)
        assert link.opened_at is not None and link.used_at is not None and link.opened_at <= link.used_at
        claimed = db.session.execute(select(Photo.public_id).where(Photo.receipt_id == receipt.id)).scalars()
        assert sorted(claimed) == sorted(photo_ids)
        events = db.session.execute(select(AuditEvent.event_type, AuditEvent.data).where(
            AuditEvent.tenant_id == door.world.tenant_id, AuditEvent.subject == f"link:{link.id}")
            .order_by(AuditEvent.seq)).all()
    assert [e.event_type for e in events] == ["link.created", "link.opened", "photo.uploaded", "photo.uploaded"]
    assert [e.data["photo_id"] for e in events[2:]] == photo_ids
    assert door.world.get("/audit/verify").get_json()["ok"] is True


def test_with_a_webhook_subscriber_the_jobs_are_one_statement(app, door, world, monkeypatch):
    """The PDF job and the webhook deliveries' jobs go in one INSERT (jobs.one_insert)."""
    assert world.post("/webhooks", {"url": "https://hooks.example.com/in", "events": ["waybill.signed"]}
                      ).status_code == 201
    body = door.body(photo_ids=[door.upload().get_json()["photo_id"]])
    with counted_writes(app, monkeypatch) as seen:
        response = door.submit(body)
    assert response.status_code == 201, response.get_json()
    assert seen.count("jobs") == 1, seen
    assert seen.count("webhook_deliveries") == 1 and seen.count("receipts") == 1, seen
    with app.app_context():
        kinds = list(db.session.execute(select(jobs.Job.kind).where(jobs.Job.tenant_id == world.tenant_id)).scalars())
        assert kinds.count("receipt.render_pdf") == 1 and kinds.count("webhook.deliver") == 1, kinds


def test_a_photo_upload_writes_its_hash_chunks_in_one_statement(app, door, monkeypatch):
    with counted_writes(app, monkeypatch) as seen:
        assert door.upload().status_code == 201
    # each table once: on PostgreSQL both in one statement (the photo's INSERT … RETURNING
    # inside the chunks' INSERT … SELECT), on SQLite the photo, then the chunks in one INSERT
    assert [table for table in seen if "photo" in table] == ["photos", "photo_hash_chunks"], seen
    photo_id = door.upload().get_json()["photo_id"]
    with app.app_context():
        from delivery_sign.evidence.photo_hash import stored_chunks
        from delivery_sign.receipts.models import PhotoHashChunk

        photo = db.session.execute(select(Photo).where(Photo.public_id == photo_id)).scalar_one()
        chunks = db.session.execute(select(PhotoHashChunk).where(PhotoHashChunk.photo_id == photo.id)).scalars().all()
        assert sorted(c.chunk for c in chunks) == sorted(stored_chunks(photo.phash & ((1 << 64) - 1)))
        assert {(c.tenant_id, c.phash, c.created_at) for c in chunks} == {(photo.tenant_id, photo.phash,
                                                                          photo.created_at)}


def _thumb_key(app, photo_id):
    with app.app_context():
        photo = db.session.execute(select(Photo).where(Photo.public_id == photo_id)).scalar_one()
        return photo.storage_key, derivative_key(photo.tenant_id, photo.sha256, "thumb")


def test_the_pdf_job_reads_the_thumbnail_the_upload_made(app, world, door, monkeypatch):
    from delivery_sign.evidence import photos

    photo_id = door.upload().get_json()["photo_id"]
    _, thumb_key = _thumb_key(app, photo_id)
    with app.app_context():
        thumbnail = get_storage().get(thumb_key)
    assert thumbnail[:2] == b"\xff\xd8"
    receipt_id = door.submit(door.body(photo_ids=[photo_id])).get_json()["receipt_id"]

    def no_decoding(*args, **kwargs):
        raise AssertionError("the PDF job decoded a photo")

    monkeypatch.setattr(photos, "make_derivative", no_decoding)
    monkeypatch.setattr(photos, "inspect_photo", no_decoding)
    assert jobs.run_due(app, tenant_id=world.tenant_id) >= 1
    pdf = world.get(f"/receipts/{receipt_id}/pdf")
    assert pdf.status_code == 200 and thumbnail in pdf.data


def test_a_photo_stored_without_a_thumbnail_still_gets_one_in_the_pdf(app, world, door):
    photo_id = door.upload().get_json()["photo_id"]
    _, thumb_key = _thumb_key(app, photo_id)
    with app.app_context():
        get_storage().delete(thumb_key)     # as photos uploaded before issue 16 are
    receipt_id = door.submit(door.body(photo_ids=[photo_id])).get_json()["receipt_id"]
    jobs.run_due(app, tenant_id=world.tenant_id)
    pdf = world.get(f"/receipts/{receipt_id}/pdf")
    assert pdf.status_code == 200
    with app.app_context():
        made = get_storage().get(thumb_key)
    assert made[:2] == b"\xff\xd8" and made in pdf.data


@pytest.mark.parametrize("size", [(4000, 3000), (1920, 1080), (1200, 1600)])
def test_the_upload_thumbnail_is_the_derivative_a_reader_expects(size):
    import io

    from PIL import Image

    from delivery_sign.evidence.photos import THUMBNAIL_LONG_SIDE, inspect_photo, make_derivative
    from tests.evidence.photo_fixtures import jpeg, scene

    data = jpeg(scene(3, *size), quality=85)
    report = inspect_photo(data, thumbnail=True)
    made, lazy = Image.open(io.BytesIO(report.thumbnail)), Image.open(io.BytesIO(make_derivative(data, "thumb")))
    assert made.format == "JPEG" and made.size == lazy.size and max(made.size) == THUMBNAIL_LONG_SIDE
    assert not made.getexif() and made.mode == "RGB"
    # the same picture: a few grey levels apart at most, from decodes at different scales
    difference = np.abs(np.asarray(made.convert("L"), dtype=np.int16) - np.asarray(lazy.convert("L"), dtype=np.int16))
    assert difference.mean() < 4
    assert inspect_photo(data).thumbnail is None and inspect_photo(data).checks == report.checks


def test_a_receipt_claims_only_its_own_tenants_photos(app, door, other_world, signature, photo_jpeg):
    """``create_receipt`` claims photos by id within the receipt's tenant: an id of another
    tenant's photo, were a caller ever to pass one, stays unclaimed (both databases' paths)."""
    import uuid

    from delivery_sign.core.clock import utcnow
    from delivery_sign.receipts.services import create_receipt
    from tests.factories import Door

    mine = door.upload().get_json()["photo_id"]
    theirs = Door(other_world, signature, photo_jpeg).upload().get_json()["photo_id"]
    with app.app_context():
        photos = {p.public_id: p for p in db.session.execute(
            select(Photo).where(Photo.public_id.in_([mine, theirs]))).scalars()}
        receipt = create_receipt(Receipt(
            public_id=uuid.uuid4().hex, tenant_id=door.world.tenant_id, link_id=photos[mine].link_id,
            submission_id=str(uuid.uuid4()), outcome="signed", signer_name="王小明", signer_relation="self",
            evidence={}, evidence_hash="0" * 64, audit_seq=1, anomalies=[], response={}, created_at=utcnow(),
        ), lines=[], photos=list(photos.values()))
        assert photos[theirs].receipt_id is None      # the entity in hand says what was written
        db.session.expire_all()
        claimed = dict(db.session.execute(select(Photo.public_id, Photo.receipt_id)
                                          .where(Photo.public_id.in_([mine, theirs]))).all())
        db.session.rollback()
    assert claimed == {mine: receipt.id, theirs: None}


def test_a_receipt_code_already_taken_is_drawn_again(make_door, monkeypatch):
    # The code drawn before the link's locked read is asked about in that read; taken, the
    # submit draws again (and asks again) rather than meeting the unique index.
    from delivery_sign.signing import submit

    first = make_door()
    photo = first.upload().get_json()["photo_id"]
    taken = first.submit(first.body(photo_ids=[photo])).get_json()["receipt_code"]
    draws = iter([taken, taken, "7" * len(taken)])
    monkeypatch.setattr(submit, "new_receipt_code", lambda: next(draws))
    second = make_door()
    photo = second.upload().get_json()["photo_id"]
    signed = second.submit(second.body(photo_ids=[photo]))
    assert signed.status_code == 201, signed.get_json()
    assert signed.get_json()["receipt_code"] == "7" * len(taken)
