"""Migration b12d0000009c on a database with sign-offs in it: rows survive both ways, and
doc types that existed before it keep today's photo behaviour."""
from flask_migrate import downgrade, upgrade
from sqlalchemy import select

from delivery_sign.accounts.models import DocType
from delivery_sign.extensions import db
from delivery_sign.receipts.models import Photo, Receipt

from ..factories import Door, World
from ..revisions import before


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
