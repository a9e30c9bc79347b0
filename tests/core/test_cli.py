"""The operator's commands."""
import uuid

from tests.factories import PASSWORD


def test_create_tenant_and_user(runner, client):
    slug = f"cli{uuid.uuid4().hex[:8]}"
    result = runner.invoke(args=["create-tenant", slug, "--name", "顺丰测试", "--admin-user", "boss",
                                 "--admin-password", PASSWORD])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["create-user", slug, "kuai", "--password", PASSWORD, "--role", "courier",
                                 "--org-unit", "HQ"])
    assert result.exit_code == 0, result.output
    for username in ("boss", "kuai"):
        response = client.post("/api/v1/auth/login", json={"tenant": slug, "username": username, "password": PASSWORD})
        assert response.status_code == 200
    duplicate = runner.invoke(args=["create-tenant", slug, "--name", "x", "--admin-user", "a",
                                    "--admin-password", PASSWORD])
    assert duplicate.exit_code != 0
    assert runner.invoke(args=["create-user", "no-such-tenant", "x", "--password", PASSWORD,
                               "--role", "courier"]).exit_code != 0
