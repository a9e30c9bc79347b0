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


def test_a_courier_without_an_org_unit_photographs_their_own_link(world, photo_jpeg):
    # Couriers reach their own waybills and links, org unit or not (found by the kill test:
    # the unit-less courier's photo was 404 once dispatchers without a unit failed closed).
    world.post("/users", {"username": "rider", "password": PASSWORD, "role": "courier"})
    number = world.waybill(courier="rider")["number"]
    headers = _login(world, "rider")
    link = world.client.post("/api/v1/sign-links", json={"waybills": [number]}, headers=headers)
    assert link.status_code == 201, link.get_json()
    token = link.get_json()["token"]
    from tests.factories import photo_file

    photo = world.client.post(f"/api/v1/sign-links/{token}/photos", headers=headers,
                              data={"kind": "goods", "file": photo_file(photo_jpeg)},
                              content_type="multipart/form-data")
    assert photo.status_code == 201, photo.get_json()
    assert world.client.get(f"/api/v1/sign-links/{token}/status", headers=headers).status_code == 200
