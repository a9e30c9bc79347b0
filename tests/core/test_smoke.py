def test_login_and_create(world, client):
    r = client.post("/api/v1/auth/login", json={"tenant": world.slug, "username": "admin", "password": "correct horse battery"})
    assert r.status_code == 200, r.get_json()
    wb = world.waybill()
    assert wb["consignee"]["phone"] == "138****8000"
