"""Issue 15.8 and 15.9: a dispatcher's reach is their org unit's subtree, and nothing without one."""
from tests.factories import PASSWORD


def _login(world, username):
    response = world.client.post("/api/v1/auth/login",
                                 json={"tenant": world.slug, "username": username, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_dispatcher_cannot_assign_outside_their_subtree(world):
    world.post("/users", {"username": "courier_w", "password": PASSWORD, "role": "courier", "org_unit": "WEST"})
    number = world.waybill(org_unit="EAST-1")["number"]
    refused = world.post(f"/waybills/{number}/assign", {"courier": "courier_w"}, who="disp_east")
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["field"] == "courier"
    assert world.get(f"/waybills/{number}").get_json()["status"] == "created"
    # Inside the subtree it works, and an admin may still assign across units.
    assert world.post(f"/waybills/{number}/assign", {"courier": "courier1"}, who="disp_east").status_code == 200
    other = world.waybill(org_unit="EAST-1")["number"]
    assert world.post(f"/waybills/{other}/assign", {"courier": "courier_w"}).status_code == 200
    # Naming an outside courier at creation is refused the same way.
    created = world.post("/waybills", {**_payload(), "org_unit": "EAST-1", "courier": "courier_w"}, who="disp_east")
    assert created.status_code == 422


def _payload():
    from tests.factories import waybill_payload

    return waybill_payload()


def test_a_link_may_not_bundle_waybills_of_two_units(world):
    east = world.waybill(org_unit="EAST-1", courier="courier1")["number"]
    west = world.waybill(org_unit="WEST", courier="courier1")["number"]
    response = world.post("/sign-links", {"waybills": [east, west]}, who="courier1")
    assert response.status_code == 422
    assert "org_unit_mismatch" in {e["code"] for e in response.get_json()["errors"]}
    # Nothing happened: both waybills are still merely assigned.
    assert {world.get(f"/waybills/{n}").get_json()["status"] for n in (east, west)} == {"assigned"}
    # The west dispatcher never sees the east consignee through a shared link.
    assert world.get(f"/waybills/{east}", who="disp_west").status_code == 404


def test_dispatcher_without_org_unit_sees_nothing(world):
    world.waybill(org_unit="EAST-1")
    world.waybill()
    created = world.post("/users", {"username": "loose", "password": PASSWORD, "role": "dispatcher"})
    assert created.status_code == 201, created.get_json()
    headers = _login(world, "loose")
    listing = world.client.get("/api/v1/waybills", headers=headers)
    assert listing.status_code == 200 and listing.get_json()["items"] == []
    assert world.client.get("/api/v1/users", headers=headers).get_json() == []
    assert world.client.get("/api/v1/org-units", headers=headers).get_json() == []
    summary = world.client.get("/api/v1/reports/summary", headers=headers)
    assert summary.status_code == 200
    assert all(not row.get("total") for row in summary.get_json().get("rows", []))
    # And it cannot create waybills nowhere in particular either.
    made = world.client.post("/api/v1/waybills", json=_payload(), headers=headers)
    assert made.status_code == 422
