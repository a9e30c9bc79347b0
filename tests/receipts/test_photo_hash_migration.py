"""Migration c16p00000002: photo hash chunks carry their photo's whole hash.

On a database with sign-offs in it (photos with their chunk rows, written as the code
before it wrote them): the upgrade fills ``phash`` from each row's photo, the lookup index
is ``(tenant_id, chunk)`` with ``phash`` and ``photo_id`` included on PostgreSQL, the
probe finds the stored photos again, and the schema is what the models say; the
downgrade drops the column and brings the old index back, rows kept. Both databases.
"""
from types import SimpleNamespace

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from delivery_sign.extensions import db
from delivery_sign.evidence.photo_hash import stored_chunks
from delivery_sign.receipts.photos import near_photo, signed64

from ..factories import Door, World
from ..revisions import before, schema_diff

REVISION = "c16p00000002"


def _lookup_index():
    """(key columns, included columns) of ix_photo_hash_chunks_lookup."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        definition = connection.execute(text("SELECT pg_get_indexdef('ix_photo_hash_chunks_lookup'::regclass)")).scalar()
        keys, _, included = definition.partition(" INCLUDE ")
        return ([c.strip() for c in keys.rsplit("(", 1)[1].rstrip(")").split(",")],
                [c.strip() for c in included.strip("()").split(",")] if included else [])
    index = next(i for i in inspect(connection).get_indexes("photo_hash_chunks")
                 if i["name"] == "ix_photo_hash_chunks_lookup")
    return index["column_names"], []


def test_upgrade_fills_the_hash_from_each_photo_and_the_probe_finds_them(fresh_app, signature, photo_jpeg):
    with fresh_app.app_context():
        upgrade()
    world = World.create(fresh_app, fresh_app.test_client())
    for _ in range(2):
        assert Door(world, signature, photo_jpeg).submit().status_code == 201
    postgresql = fresh_app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    with fresh_app.app_context():
        downgrade(revision=before(REVISION))
        columns = {c["name"] for c in inspect(db.session.connection()).get_columns("photo_hash_chunks")}
        assert "phash" not in columns
        assert _lookup_index() == (["tenant_id", "chunk", "photo_id"], [])
        # One photo with its top bit set (a negative BIGINT), as the old code stored it.
        first = db.session.execute(text("SELECT min(id) FROM photos WHERE tenant_id = :t"),
                                   {"t": world.tenant_id}).scalar_one()
        top = 0xAA55_F00F_1234_C3C3
        db.session.execute(text("UPDATE photos SET phash = :h WHERE id = :id"), {"h": signed64(top), "id": first})
        chunk_ids = db.session.execute(text("SELECT id FROM photo_hash_chunks WHERE photo_id = :id ORDER BY chunk"),
                                       {"id": first}).scalars().all()
        for chunk_id, chunk in zip(chunk_ids, stored_chunks(top)):
            db.session.execute(text("UPDATE photo_hash_chunks SET chunk = :c WHERE id = :id"),
                               {"c": chunk, "id": chunk_id})
        db.session.commit()
        before_rows = db.session.execute(text("SELECT id, photo_id FROM photo_hash_chunks ORDER BY id")).all()
        assert len(before_rows) == 8
        db.session.remove()

        upgrade()
        rows = db.session.execute(text(
            "SELECT c.id, c.photo_id, c.phash, p.phash FROM photo_hash_chunks c JOIN photos p ON p.id = c.photo_id "
            "ORDER BY c.id")).all()
        assert [(r[0], r[1]) for r in rows] == [tuple(r) for r in before_rows]
        assert all(chunk_hash == photo_hash for _, _, chunk_hash, photo_hash in rows)
        assert any(chunk_hash < 0 for _, _, chunk_hash, _ in rows)
        nullable = {c["name"]: c["nullable"] for c in inspect(db.session.connection()).get_columns("photo_hash_chunks")}
        assert nullable["phash"] is False
        assert _lookup_index() == ((["tenant_id", "chunk"], ["phash", "photo_id"]) if postgresql
                                   else (["tenant_id", "chunk"], []))
        photos = db.session.execute(text("SELECT public_id, phash FROM photos WHERE tenant_id = :t ORDER BY id"),
                                    {"t": world.tenant_id}).all()
        another_sign_off = SimpleNamespace(id=-1, tenant_id=world.tenant_id)
        for public_id, stored in photos:
            assert near_photo(another_sign_off, stored & ((1 << 64) - 1)) == public_id
        db.session.rollback()
        db.session.remove()
        assert schema_diff() == []

        downgrade(revision=before(REVISION))
        assert "phash" not in {c["name"] for c in inspect(db.session.connection()).get_columns("photo_hash_chunks")}
        assert _lookup_index() == (["tenant_id", "chunk", "photo_id"], [])
        assert db.session.execute(text("SELECT count(*) FROM photo_hash_chunks")).scalar_one() == 8
        db.session.remove()
        upgrade()
        db.session.remove()
