"""Migration c16u00000001: photo hash chunks partitioned by tenant, no foreign key to photos.

On a database with sign-offs in it: the upgrade keeps every chunk row, on PostgreSQL in the
one hash partition of its tenant under the primary key ``(tenant_id, id)``, drops the
foreign key to ``photos`` on both databases, and leaves the schema the models describe; the
probe still finds the stored photos. The downgrade brings back month partitions and the key,
rows kept. And the chunk rows of deleted photos go by their keys, exactly theirs.
"""
from types import SimpleNamespace

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from delivery_sign.core import partitions
from delivery_sign.evidence.photo_hash import CHUNK_BITS, stored_chunks
from delivery_sign.extensions import db
from delivery_sign.receipts.photos import delete_chunks, near_photo, signed64

from ..factories import Door, World
from ..revisions import before, schema_diff

REVISION = "c16u00000001"
TABLE = "photo_hash_chunks"


def _postgresql():
    return db.engine.dialect.name == "postgresql"


def _chunk_rows(tenant_id):
    return db.session.execute(text(f"SELECT id, chunk, photo_id, phash FROM {TABLE} WHERE tenant_id = :t ORDER BY id"),
                              {"t": tenant_id}).all()


def _foreign_keys():
    return {fk["referred_table"] for fk in inspect(db.session.connection()).get_foreign_keys(TABLE)}


def _partitions_holding(tenant_id):
    return db.session.execute(text(f"SELECT DISTINCT tableoid::regclass::text FROM {TABLE} WHERE tenant_id = :t"),
                              {"t": tenant_id}).scalars().all()


def test_upgrade_and_downgrade_with_sign_offs_in_place(fresh_app, signature, photo_jpeg):
    with fresh_app.app_context():
        upgrade()
    world = World.create(fresh_app, fresh_app.test_client())
    for _ in range(2):
        assert Door(world, signature, photo_jpeg).submit().status_code == 201
    tenant = world.tenant_id
    with fresh_app.app_context():
        downgrade(revision=before(REVISION))
        assert _foreign_keys() == {"tenants", "photos"}
        rows = _chunk_rows(tenant)
        assert len(rows) == 8
        if _postgresql():
            assert all(name.startswith(f"{TABLE}_p") for name in _partitions_holding(tenant))
        db.session.remove()

        upgrade()
        assert _chunk_rows(tenant) == rows
        assert _foreign_keys() == {"tenants"}
        if _postgresql():
            (home,) = _partitions_holding(tenant)
            assert home.startswith(f"{TABLE}_h")
            assert db.session.execute(text(
                f"SELECT count(*) FROM pg_inherits WHERE inhparent = '{TABLE}'::regclass")).scalar_one() \
                == partitions.TENANT_PARTITIONS[TABLE]
            assert inspect(db.session.connection()).get_pk_constraint(TABLE)["constrained_columns"] == ["tenant_id", "id"]
        # The probe finds a stored photo from its own hash (another sign-off's link).
        photo = db.session.execute(text("SELECT public_id, phash FROM photos WHERE tenant_id = :t ORDER BY id"),
                                   {"t": tenant}).first()
        assert near_photo(SimpleNamespace(id=0, tenant_id=tenant), photo.phash & ((1 << 64) - 1)) == photo.public_id
        # New rows take ids after the old ones (the sequence passed to the new table).
        assert Door(world, signature, photo_jpeg).submit().status_code == 201
        assert min(r.id for r in _chunk_rows(tenant)[8:]) > max(r.id for r in rows)
        db.session.remove()
        assert schema_diff() == []

        downgrade(revision=before(REVISION))
        assert _foreign_keys() == {"tenants", "photos"}
        assert len(_chunk_rows(tenant)) == 12
        if _postgresql():
            assert all(name.startswith(f"{TABLE}_p") for name in _partitions_holding(tenant))
        db.session.remove()
        upgrade()
        assert len(_chunk_rows(tenant)) == 12
        db.session.remove()


def test_a_photos_chunks_go_by_their_keys_and_no_one_elses(app, world):
    """Two photos of a tenant sharing a chunk value, and a photo of another tenant with the
    same hash: deleting the first photo's chunks leaves every other row."""
    other = World.create(app, app.test_client())
    first = 0x1234_5678_9ABC_DEF0
    second = first ^ (1 << (CHUNK_BITS * 3))   # chunks 0-2 the same as the first's
    photos = [SimpleNamespace(id=10_001, tenant_id=world.tenant_id, phash=signed64(first)),
              SimpleNamespace(id=10_002, tenant_id=world.tenant_id, phash=signed64(second)),
              SimpleNamespace(id=10_003, tenant_id=other.tenant_id, phash=signed64(first))]
    with app.app_context():
        for photo in photos:
            for chunk in stored_chunks(photo.phash & ((1 << 64) - 1)):
                db.session.execute(text(f"INSERT INTO {TABLE} (tenant_id, chunk, photo_id, phash, created_at) "
                                        "VALUES (:t, :c, :p, :h, CURRENT_TIMESTAMP)"),
                                   {"t": photo.tenant_id, "c": chunk, "p": photo.id, "h": photo.phash})

        def left():
            return db.session.execute(text(f"SELECT photo_id, count(*) FROM {TABLE} WHERE photo_id > 10000 "
                                           "GROUP BY photo_id ORDER BY photo_id")).all()

        assert left() == [(10_001, 4), (10_002, 4), (10_003, 4)]
        delete_chunks(photos[:1])
        assert left() == [(10_002, 4), (10_003, 4)]
        delete_chunks(photos[1:])
        assert left() == []
        db.session.rollback()
