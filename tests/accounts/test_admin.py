"""Org units, users and document types as a tenant admin manages them."""
from delivery_sign.accounts.doc_types import DEFAULT_POLICY


def test_org_unit_tree_and_dispatcher_subtree(world):
    assert world.post("/org-units", {"code": "EAST-2", "name": "张江站", "parent": "EAST"}).status_code == 201
    everything = {u["code"] for u in world.get("/org-units").get_json()}
    assert everything == {"HQ", "EAST", "EAST-1", "EAST-2", "WEST"}
    east = {u["code"] for u in world.get("/org-units", who="disp_east").get_json()}
    assert east == {"EAST", "EAST-1", "EAST-2"}


def test_org_unit_errors(world):
    assert world.post("/org-units", {"code": "EAST", "name": "dup"}).status_code == 409
    missing_parent = world.post("/org-units", {"code": "X1", "name": "x", "parent": "NOPE"})
    assert missing_parent.status_code == 422
    assert missing_parent.get_json()["errors"][0]["field"] == "parent"
    assert world.post("/org-units", {"code": "X2", "name": "x"}, who="disp_east").status_code == 403


def test_create_list_and_patch_users(world):
    created = world.post("/users", {"username": "zhou", "password": "long enough pw", "role": "courier",
                                    "org_unit": "EAST-1", "display_name": "周师傅", "phone": "+86 139 1234 5678"})
    assert created.status_code == 201
    assert created.get_json() == {"username": "zhou", "role": "courier", "org_unit": "EAST-1",
                                  "display_name": "周师傅", "phone": "139****5678", "active": True}
    patched = world.patch("/users/zhou", {"role": "dispatcher", "org_unit": "WEST"}).get_json()
    assert (patched["role"], patched["org_unit"]) == ("dispatcher", "WEST")
    assert "zhou" in {u["username"] for u in world.get("/users").get_json()}


def test_user_validation(world):
    cases = [
        ({"username": "a", "password": "long enough pw", "role": "courier"}, "username"),
        ({"username": "abc", "password": "short", "role": "courier"}, "password"),
        ({"username": "abc", "password": "long enough pw", "role": "king"}, "role"),
        ({"username": "abc", "password": "long enough pw", "role": "courier", "phone": "12345"}, "phone"),
        ({"username": "abc", "password": "long enough pw", "role": "courier", "org_unit": "NOPE"}, "org_unit"),
        ({"username": "abc", "password": "long enough pw", "role": "courier", "extra": 1}, "extra"),
    ]
    for body, field in cases:
        response = world.post("/users", body)
        assert response.status_code == 422, body
        assert field in {e["field"] for e in response.get_json()["errors"]}, body
    assert world.post("/users", {"username": "admin", "password": "long enough pw",
                                 "role": "courier"}).status_code == 409
    assert world.patch("/users/ghost", {"active": False}).status_code == 404


def test_only_admins_manage_users(world):
    for who in ("disp_east", "courier1"):
        assert world.post("/users", {"username": "x1", "password": "long enough pw",
                                     "role": "courier"}, who=who).status_code == 403


def test_tenant_starts_with_default_doc_type(world):
    doc_types = world.get("/doc-types").get_json()
    # The test world switches photos_by to recipient (tests/factories.py); the rest is the default.
    assert doc_types == [{"code": "default", "name": "送货签收单", "policy": {**DEFAULT_POLICY, "photos_by": "recipient"}}]
    assert DEFAULT_POLICY["photos_by"] == "courier" and DEFAULT_POLICY["photo_upload"] == "resized"


def test_create_and_patch_doc_type(world):
    created = world.post("/doc-types", {"code": "furniture", "name": "家具签收单",
                                        "policy": {"signer": "consignee_only", "otp": "required",
                                                   "handwriting": "strict", "photos_min": 2}})
    assert created.status_code == 201
    policy = created.get_json()["policy"]
    assert policy["signer"] == "consignee_only" and policy["photos_min"] == 2
    assert policy["link_ttl_s"] == DEFAULT_POLICY["link_ttl_s"]
    patched = world.patch("/doc-types/furniture", {"policy": {"location": "required"}}).get_json()
    assert patched["policy"]["location"] == "required" and patched["policy"]["otp"] == "required"


def test_doc_type_policy_is_validated_field_by_field(world):
    bad = {"signer": "nobody", "otp": "maybe", "handwriting": "fancy", "photos_min": 10, "photos_max": 0,
           "location": "sometimes", "geofence_m": -1, "link_ttl_s": 5, "allow_partial": "perhaps",
           "allow_refuse": [], "auto_seal": {}, "colour": "red"}
    response = world.post("/doc-types", {"code": "bad", "name": "bad", "policy": bad})
    assert response.status_code == 422
    fields = {e["field"] for e in response.get_json()["errors"]}
    assert fields == {f"policy.{k}" for k in bad}


def test_photo_bounds_checked_after_merge(world):
    world.post("/doc-types", {"code": "p", "name": "p", "policy": {"photos_min": 3, "photos_max": 5}})
    response = world.patch("/doc-types/p", {"policy": {"photos_max": 2}})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "policy.photos_max"
