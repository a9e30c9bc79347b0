"""The issue-14 contract is in the OpenAPI document and the policy vocabulary."""


def test_openapi_documents_consent_drops_and_assisted(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    for path, method in (("/api/v1/waybills/{number}/consent-requests", "post"), ("/api/v1/consent/{token}", "get"),
                         ("/api/v1/consent/{token}", "post"), ("/api/v1/consent/{token}/standing/revoke", "post"),
                         ("/api/v1/waybills/{number}/drop-photos", "post"), ("/api/v1/waybills/{number}/drop", "post"),
                         ("/api/v1/sign-links/{token}/send", "post"), ("/api/v1/waybills/{number}/consent", "get")):
        assert method in paths[path], path
    schemas = spec["components"]["schemas"]
    assert set(schemas["ConsentAnswerIn"]["properties"]) == {"choice", "place", "standing", "day", "client"}
    assert {"platform", "user_agent"} <= set(schemas["AnsweredOn"]["properties"])
    assert "closed" in schemas["LinkStatus"]["properties"]
    assert {"place", "place_code", "photo_ids", "location"} <= set(schemas["DropIn"]["properties"])
    assert {"receipt_id", "status", "outcome", "consent"} <= set(schemas["DropOut"]["properties"])
    assert "assisted" in schemas["SignLinkIn"]["properties"]
    assert "phone" in schemas["OtpSend"]["properties"]
    policy = schemas["Policy"]["properties"]
    assert policy["assisted"]["enum"] == ["forbidden", "otp_required"]
    assert policy["drop_without_consent"]["enum"] == ["refuse", "record"]
    assert (policy["sign_later_ttl_s"]["minimum"], policy["sign_later_ttl_s"]["maximum"]) == (60, 7 * 24 * 3600)
    drop_photo = paths["/api/v1/waybills/{number}/drop-photos"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in drop_photo


def test_new_doc_types_get_the_issue_14_defaults(world):
    created = world.post("/doc-types", {"code": "furniture", "name": "家具"}).get_json()
    assert created["policy"]["assisted"] == "otp_required" and created["policy"]["drop_without_consent"] == "refuse"
    assert world.get("/webhooks").status_code == 200
    hook = world.post("/webhooks", {"url": "http://127.0.0.1:9/h", "events": ["waybill.dropped"]})
    assert hook.status_code == 201
