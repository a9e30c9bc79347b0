"""Migration b14c0000009f on a database with sign-offs in it: down and up again keep every
link, photo and receipt, and old links read as ordinary, undeclared sign links."""
from flask_migrate import downgrade, upgrade
from sqlalchemy import select

from delivery_sign.extensions import db
from delivery_sign.signing.models import SignLink
from tests.factories import Door, World
from tests.revisions import before


def test_down_and_up_with_sign_offs_in_the_database(fresh_app, signature, photo_jpeg):
    with fresh_app.app_context():
        upgrade()
    world = World.create(fresh_app, fresh_app.test_client())
    door = Door(world, signature, photo_jpeg)
    assert door.submit().status_code == 201
    with fresh_app.app_context():
        downgrade(revision=before("b14c0000009f"))
        upgrade()
        link = db.session.execute(select(SignLink)).scalar_one()
        assert (link.purpose, link.assisted, link.used_at is not None) == ("sign", False, True)
        db.session.remove()
    assert world.get(f"/waybills/{door.number}").get_json()["status"] == "signed"
