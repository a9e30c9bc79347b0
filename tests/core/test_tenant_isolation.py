"""Walks every API endpoint with another tenant's credentials: nothing of ours is reachable.

The table below must name every route under /api/v1; a new endpoint fails this test until
it is added here, so isolation is checked for it from the start.
"""
import io

import pytest

from tests.factories import waybill_payload

# (method, path template, body); {number}, {username}, {code}, {key_id}, {token},
# {receipt_id} and {photo_id} are our tenant's.
WALK = [
    ("GET", "/waybills/{number}", None),
    ("POST", "/waybills/{number}/reconcile", {"decision": "accepted"}),
    ("GET", "/waybills/{number}/timeline", None),
    ("POST", "/sign-links", {"waybills": ["{number}"]}),
    ("GET", "/sign-links/{token}/status", None),
    ("GET", "/sign-links/{token}/wxacode.png", None),
    ("POST", "/sign-links/{token}/photos", "photo"),
    ("DELETE", "/sign-links/{token}/photos/{photo_id}", None),
    ("GET", "/receipts/{receipt_id}", None),
    ("GET", "/receipts/{receipt_id}/pdf", None),
    ("GET", "/receipts/{receipt_id}/signature.png", None),
    ("GET", "/receipts/{receipt_id}/signature.svg", None),
    ("GET", "/receipts/{receipt_id}/photos/{photo_id}", None),
    ("GET", "/receipts/{receipt_id}/links", None),
    ("GET", "/receipts/{receipt_id}/views", None),
    ("POST", "/waybills/{number}/assign", {"courier": "courier1"}),
    ("POST", "/waybills/{number}/cancel", {"reason": "x"}),
    ("PUT", "/waybills/{number}/document", "pdf"),
    ("PATCH", "/users/{username}", {"active": False}),
    ("PATCH", "/doc-types/{code}", {"name": "x"}),
    ("DELETE", "/api-keys/{key_id}", None),
    ("DELETE", "/webhooks/{webhook_id}", None),
    ("GET", "/webhooks/{webhook_id}/deliveries", None),
    ("POST", "/webhooks/{webhook_id}/deliveries/{event_id}/redeliver", None),
    ("GET", "/webhooks/{webhook_id}", None),
    ("POST", "/webhooks/{webhook_id}/rotate-secret", {"overlap_s": 0}),
    ("POST", "/webhooks/{webhook_id}/enable", None),
    ("POST", "/waybills/{number}/consent-requests", {"options": ["guard"]}),
    ("GET", "/waybills/{number}/consent", None),
    ("POST", "/waybills/{number}/drop-photos", "multipart"),
    ("POST", "/waybills/{number}/drop", {"place": "guard", "photo_ids": [], "location": None}),
    ("POST", "/sign-links/{token}/send", {}),
]
# Collections: the other tenant gets 200 with only its own rows (checked below).
COLLECTIONS = ["/waybills", "/waybills/export", "/reports/summary", "/users", "/org-units", "/doc-types", "/api-keys", "/audit/verify", "/dev/sms-outbox",
               "/webhooks", "/reports/consent"]
# Endpoints with no tenant object in the path, checked in their own tests; the recipient's
# endpoints take the sign token as the credential, not a staff login (tests/signing).
NOT_TENANT_ADDRESSED = {"/auth/login", "/auth/logout", "/auth/wechat", "/auth/wechat/bind", "/waybills/batch",
                        "/waybills/import", "/waybills/reconcile", "/openapi.json",
                        "/sign/{token}", "/sign/{token}/otp", "/sign/{token}/otp/verify", "/sign/{token}/photos",
                        "/sign/{token}/submit", "/sign-links/{token}/qr.png", "/sign-links/{token}/qr.svg",
                        # The caller's own certificate and seal; verify is public (the upload is the subject).
                        "/tenant/certificate", "/tenant/seal", "/verify",
                        # The consignee's consent link: its token is the credential (tests/consent).
                        "/consent/{token}", "/consent/{token}/standing/revoke"}
# The caller's own tenant's chain head and anchors (tests/core/test_audit_anchors.py).
NOT_TENANT_ADDRESSED |= {"/audit/head", "/audit/anchors"}
# The caller's own notice; requests by phone number answer from the caller's tenant only
# (tests/privacy/test_subjects.py: lookup and erasure from another tenant find nothing).
NOT_TENANT_ADDRESSED |= {"/privacy/notice", "/privacy/subjects", "/privacy/subjects/export",
                         "/privacy/subjects/erase"}
# The caller's own tenant's settings (tests/reports/test_export_labels.py: another tenant's stay
# as they were), and the vocabulary, which is the same for everyone and needs no sign-in.
NOT_TENANT_ADDRESSED |= {"/tenant", "/labels"}


def _routes(app):
    out = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = rule.rule[len("/api/v1"):]
            path = path.replace("<number>", "{number}").replace("<username>", "{username}")
            path = path.replace("<code>", "{code}").replace("<key_id>", "{key_id}").replace("<token>", "{token}")
            path = path.replace("<receipt_id>", "{receipt_id}").replace("<photo_id>", "{photo_id}")
            path = path.replace("<webhook_id>", "{webhook_id}").replace("<event_id>", "{event_id}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                out.add((method, path))
    return out


def test_walk_covers_every_route(app):
    covered = {(m, p) for m, p, _ in WALK} | {("GET", p) for p in COLLECTIONS}
    missing = {(m, p) for m, p in _routes(app) if (m, p) not in covered and p not in NOT_TENANT_ADDRESSED
               and not (m == "POST" and p in COLLECTIONS)}
    assert missing == set(), f"add these routes to the isolation walk: {sorted(missing)}"


@pytest.mark.parametrize("method, template, body", WALK)
@pytest.mark.parametrize("intruder", ["admin", "api"])
def test_other_tenant_gets_404(world, other_world, make_door, method, template, body, intruder):
    door = make_door()
    webhook_id = world.post("/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["waybill.signed"]}).get_json()["id"]
    photo_id = door.upload().get_json()["photo_id"]
    receipt_id = door.submit(door.body(photo_ids=[photo_id])).get_json()["receipt_id"]
    event_id = world.get(f"/webhooks/{webhook_id}/deliveries").get_json()["items"][0]["event_id"]
    number = world.waybill()["number"]
    key_id = world.get("/api-keys").get_json()[0]["id"]
    # Names that exist in our tenant only (the factory gives both tenants courier1 and default).
    world.post("/users", {"username": "only-ours", "password": "long enough pw", "role": "courier"})
    world.post("/doc-types", {"code": "only-ours", "name": "x"})
    names = dict(number=number, username="only-ours", code="only-ours", key_id=key_id, token=door.token,
                 receipt_id=receipt_id, photo_id=photo_id, webhook_id=webhook_id, event_id=event_id)
    path = "/api/v1" + template.format(**names)
    kwargs = {"headers": other_world.auth(intruder)}
    if body == "pdf":
        kwargs.update(data=b"%PDF-1.4\n", content_type="application/pdf")
    elif body == "photo":
        kwargs.update(data={"file": (io.BytesIO(b"\xff\xd8\xff"), "p.jpg")}, content_type="multipart/form-data")
    elif body == "multipart":
        kwargs.update(data={"file": (io.BytesIO(b"\xff\xd8 not ours"), "x.jpg"), "kind": "scene"},
                      content_type="multipart/form-data")
    elif body is not None:
        kwargs["json"] = {k: [v.format(**names) for v in vs] if isinstance(vs, list) else vs for k, vs in body.items()}
    response = world.client.open(path, method=method, **kwargs)
    staff_only = ("/users", "/doc-types", "/api-keys", "/sign-links", "/waybills/{number}/reconcile",
                  "/waybills/{number}/drop")
    expected = 403 if intruder == "api" and template.startswith(staff_only) else 404
    assert response.status_code == expected, (path, response.get_json())
    # And our objects are untouched.
    assert world.get(f"/waybills/{number}").get_json()["status"] == "created"
    assert world.get(f"/receipts/{receipt_id}").status_code == 200
    assert world.get("/audit/verify").get_json()["ok"] is True
    assert [h["id"] for h in world.get("/webhooks").get_json()["items"]] == [webhook_id]


@pytest.mark.parametrize("path", COLLECTIONS)
def test_collections_show_only_own_rows(world, other_world, path):
    world.waybill()
    world.post("/users", {"username": "ours-only", "password": "long enough pw", "role": "courier"})
    world.post("/doc-types", {"code": "ours-only", "name": "x"})
    world.post("/org-units", {"code": "OURS-ONLY", "name": "x"})
    world.post("/webhooks", {"url": "http://127.0.0.1:9/ours-only", "events": ["waybill.signed"]})
    response = other_world.get(path)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "ours-only" not in text.lower()
    if path == "/waybills":
        assert response.get_json()["items"] == []


def test_same_waybill_number_in_two_tenants_is_independent(world, other_world):
    payload = waybill_payload()
    assert world.post("/waybills", payload).status_code == 201
    different = dict(payload, items=[{"name": "别的", "qty": 9}])
    assert other_world.post("/waybills", different).status_code == 201
    assert world.get(f"/waybills/{payload['number']}").get_json()["items"][0]["name"] == "三人位沙发"


def test_import_and_batch_stay_in_the_callers_tenant(world, other_world):
    payload = waybill_payload()
    world.post("/waybills/batch", {"waybills": [payload]})
    csv = ("number,consignee_name,consignee_phone,consignee_address,item_name,qty\n"
           f"{payload['number']},X,13800138000,Y,Z,1\n").encode()
    result = other_world.post("/waybills/import", data={"file": (io.BytesIO(csv), "a.csv")},
                              content_type="multipart/form-data").get_json()
    assert result["created"] == 1
    assert world.get(f"/waybills/{payload['number']}").get_json()["consignee"]["name"] == "李娜"
