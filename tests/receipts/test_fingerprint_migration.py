"""Migration b21r0000009d and the re-index job: receipts signed before the upgrade (rows
of fingerprint version 1, written as the old code wrote them) are found by the lookup
before, during and after their recompute; on SQLite and PostgreSQL alike."""
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text
from sqlalchemy.orm import load_only

from delivery_sign.core import jobs
from delivery_sign.evidence.replay import band_keys, legacy_fingerprint
from delivery_sign.extensions import db
from delivery_sign.receipts import fingerprints
from delivery_sign.receipts.models import Receipt
from delivery_sign.receipts.services import signature_of

from ..factories import Door, World
from ..revisions import before


def _sign(world, item, photo):
    door = Door(world, item, photo)
    response = door.submit(door.body(signer={"name": item["signer_name"], "relation": "self"}))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _rows():
    return db.session.execute(text("SELECT receipt_id, version, fingerprint FROM signature_fingerprints "
                                   "ORDER BY receipt_id, id")).all()


def test_upgrade_keeps_old_fingerprints_findable_and_the_job_recomputes_them(fresh_app, genuine, photo_jpeg):
    with fresh_app.app_context():
        upgrade()
    world = World.create(fresh_app, fresh_app.test_client())
    originals = genuine[40:45]
    answers = [_sign(world, item, photo_jpeg) for item in originals]
    with fresh_app.app_context():
        ids = [db.session.execute(select(Receipt.id).where(Receipt.public_id == a["receipt_id"])).scalar_one()
               for a in answers]
        db.session.commit()
        downgrade(revision=before("b21r0000009d"))
        # what the old code wrote for the first four receipts: version-1 fingerprints under
        # version-1 keys, in a table without the column; the fifth keeps its version-2 rows
        for receipt_id in ids[:4]:
            # Only the columns this revision's receipts table has (later ones add more).
            old = legacy_fingerprint(signature_of(db.session.get(
                Receipt, receipt_id, options=[load_only(Receipt.outcome, Receipt.evidence)])))
            db.session.execute(text("DELETE FROM signature_fingerprints WHERE receipt_id = :r"), {"r": receipt_id})
            db.session.execute(text("INSERT INTO signature_fingerprints (tenant_id, band_key, receipt_id, fingerprint) "
                                    "VALUES (:t, :k, :r, :f)"),
                               [{"t": world.tenant_id, "k": key, "r": receipt_id, "f": old} for key in band_keys(old)])
        db.session.commit()
        upgrade()
        versions = {(receipt_id, version) for receipt_id, version, _ in _rows()}
        assert versions == {(i, 1) for i in ids[:4]} | {(ids[4], 2)}
        assert fingerprints.legacy_rows_exist(world.tenant_id)
        # the upgrade enqueued the first job of the re-index chain, at the first legacy receipt
        queued = db.session.execute(select(jobs.Job.payload, jobs.Job.status)
                                    .where(jobs.Job.kind == fingerprints.REINDEX)).all()
        assert queued == [({"tenant": world.tenant_id, "after": ids[0] - 1}, jobs.PENDING)]
        # the migration enqueued the re-index: the same first job
        assert fingerprints.ensure_reindex()
        db.session.commit()
        db.session.remove()

    # during: an exact replay of a not yet re-indexed receipt is found through the old keys
    replay = _sign(world, originals[0], photo_jpeg)
    assert replay["checks"]["replay_of"] == answers[0]["receipt_id"]
    with fresh_app.app_context():
        # one batch only: two receipts converted, two still version 1, both found
        last, done, kept = fingerprints.reindex_batch((0, 0), limit=2)
        assert (done, kept) == (2, 0) and last == (world.tenant_id, ids[1])
        db.session.commit()
        db.session.remove()
    for item, answer in zip(originals[1:3], answers[1:3]):
        assert _sign(world, item, photo_jpeg)["checks"]["replay_of"] == answer["receipt_id"]

    # the job finishes the rest; then every receipt has version-2 rows and only them
    assert jobs.run_due(fresh_app, kinds=(fingerprints.REINDEX,)) >= 2
    with fresh_app.app_context():
        rows = _rows()
        assert {version for _, version, _ in rows} == {2}
        assert {receipt_id for receipt_id, _, _ in rows} >= set(ids)
        assert all(fp[0] == 2 for _, _, fp in rows)
        assert not fingerprints.legacy_rows_exist()
        assert db.session.execute(select(jobs.Job.status).where(jobs.Job.kind == fingerprints.REINDEX)).scalars().all()
        assert set(db.session.execute(select(jobs.Job.status).where(jobs.Job.kind == fingerprints.REINDEX))
                   .scalars()) == {jobs.DONE}
        db.session.remove()
    # after: re-sampled replays of the recomputed receipts are caught, which version 1 missed
    for item, answer in zip(originals[2:4], answers[2:4]):
        halved = [stroke[::2] + ([stroke[-1]] if len(stroke) % 2 == 0 else []) for stroke in item["strokes"]]
        again = _sign(world, dict(item, strokes=halved), photo_jpeg)
        assert again["checks"]["replay_of"] == answer["receipt_id"]
