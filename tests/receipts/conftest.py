"""Receipt fixtures: a signed-off door whose PDF the job rendered, a key of someone else."""
import pytest

from delivery_sign.core import jobs


def drain(world):
    """Run the tenant's due jobs, as the worker would."""
    return jobs.run_due(world.app, tenant_id=world.tenant_id)


@pytest.fixture
def signed(world, door):
    """``(receipt_id, pdf bytes)`` of a sign-off with two photos, after the PDF job ran."""
    photo_ids = [door.upload().get_json()["photo_id"], door.upload(kind="scene").get_json()["photo_id"]]
    receipt_id = door.submit(door.body(photo_ids=photo_ids)).get_json()["receipt_id"]
    drain(world)
    response = world.get(f"/receipts/{receipt_id}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return receipt_id, response.data, photo_ids
