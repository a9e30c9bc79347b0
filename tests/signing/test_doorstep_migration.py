"""Migration b12d0000009c on a database with sign-offs in it: rows survive both ways, and
doc types that existed before it keep today's photo behaviour."""
import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select

from delivery_sign import create_app
from delivery_sign.accounts.models import DocType
from delivery_sign.extensions import db
from delivery_sign.receipts.models import Photo, Receipt

from ..conftest import _drop_postgres, _fresh_postgres
from ..conftest import test_config as config_for
from ..factories import Door, World
from ..revisions import before


@pytest.fixture
def fresh_app(database_url, tmp_path):
    dropped = None
    if database_url.startswith("postgresql"):
        url, *dropped = _fresh_postgres(database_url)
    else:
        url = f"sqlite:///{tmp_path / 'migrated.db'}"
    app = create_app(config_for(url, tmp_path))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if dropped:
        _drop_postgres(*dropped)


def test_down_and_up_with_receipts_and_photos_in_place(fresh_app, signature, photo_jpeg):
    with fresh_app.app_context():
        upgrade()
    world = World.create(fresh_app, fresh_app.test_client())
    door = Door(world, signature, photo_jpeg)
    assert door.submit().status_code == 201
    with fresh_app.app_context():
        downgrade(revision=before("b12d0000009c"))
        policy = db.session.execute(select(DocType.policy).where(DocType.tenant_id == world.tenant_id)).scalar_one()
        assert "photos_by" not in policy
        db.session.commit()
        upgrade()
        policy = db.session.execute(select(DocType.policy).where(DocType.tenant_id == world.tenant_id)).scalar_one()
        # An existing doc type keeps today's behaviour, not the new defaults.
        assert (policy["photos_by"], policy["photo_upload"], policy["photo_quality"]) == ("recipient", "original", "warn")
        receipt = db.session.execute(select(Receipt).where(Receipt.tenant_id == world.tenant_id)).scalar_one()
        assert receipt.receipt_code is None            # made before: no code invented
        [photo] = db.session.execute(select(Photo).where(Photo.receipt_id == receipt.id)).scalars()
        assert photo.taken_by == "recipient"
        db.session.remove()
