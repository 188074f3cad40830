"""Tenant API keys (SPEC §7, §8): hashed at rest, scoped, revocable, integration endpoints only,
and rate limits per API key and per user."""

import pytest
from django.apps import apps
from django.db import models
from django.db.models.functions import Cast
from rest_framework.test import APIClient

from accounts.models import ApiKey, ApiKeyScope, Region
from accounts.roles import Role
from accounts.services import api_key_create
from core.testing import throttle_rates

pytestmark = pytest.mark.django_db


def key_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def create_key(world, **body) -> dict:
    response = world.client(Role.TENANT_ADMIN).post(
        "/api/v1/api-keys", {"name": "erp", **body}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def rows_containing(text: str) -> list[str]:
    """Every table and text column (JSON included) that holds `text` anywhere."""
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if not isinstance(field, models.CharField | models.TextField | models.JSONField):
                continue
            hits = (
                model._base_manager.annotate(_text=Cast(field.name, models.TextField()))
                .filter(_text__contains=text)
                .count()
            )
            if hits:
                found.append(f"{model._meta.label}.{field.name}")
    return found


class TestHashedAtRest:
    def test_key_is_shown_once_and_stored_only_hashed(self, world):
        created = create_key(world)
        key = created["key"]
        assert key.startswith(f"pk_{created['prefix']}_")
        secret = key.split("_", 2)[2]
        assert rows_containing(secret) == []
        assert "accounts.ApiKey.prefix" in rows_containing(created["prefix"])  # the scan works
        row = ApiKey.objects.for_tenant(world.tenant).get(pk=created["id"])
        assert row.key_hash == ApiKey.digest(key) != key
        listed = world.client(Role.TENANT_ADMIN).get("/api/v1/api-keys").json()["results"]
        assert all("key" not in item for item in listed)
        assert secret not in str(listed)

    def test_the_key_authenticates_and_records_last_use(self, world):
        created = create_key(world)
        assert created["last_used_at"] is None
        response = key_client(created["key"]).get("/api/v1/regions")
        assert response.status_code == 200
        assert {r["code"] for r in response.json()["results"]} == {
            world.region.code,
            world.other_region.code,
        }
        row = ApiKey.objects.for_tenant(world.tenant).get(pk=created["id"])
        assert row.last_used_at is not None

    def test_scopes_default_to_all(self, world):
        assert sorted(create_key(world)["scopes"]) == sorted(ApiKeyScope.values)
        assert create_key(world, scopes=["orders"])["scopes"] == ["orders"]

    def test_unknown_scope_is_400(self, world):
        response = world.client(Role.TENANT_ADMIN).post(
            "/api/v1/api-keys", {"name": "x", "scopes": ["everything"]}, format="json"
        )
        assert response.status_code == 400
        assert "scopes.0" in response.json()["fields"]


class TestRejected:
    def test_revoked_key_is_401(self, world):
        created = create_key(world)
        client = key_client(created["key"])
        assert client.get("/api/v1/regions").status_code == 200
        revoked = world.client(Role.TENANT_ADMIN).post(f"/api/v1/api-keys/{created['id']}/revoke")
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
        response = client.get("/api/v1/regions")
        assert response.status_code == 401
        assert response.json()["code"] == "authentication_failed"

    @pytest.mark.parametrize(
        "mangle",
        [
            lambda key: key[:-2] + ("AA" if not key.endswith("AA") else "BB"),  # wrong secret
            lambda key: "pk_ffffffff_" + key.split("_", 2)[2],  # unknown prefix
            lambda key: key.split("_", 2)[2],  # no prefix at all
        ],
    )
    def test_wrong_key_is_401(self, world, mangle):
        key = create_key(world)["key"]
        response = key_client(mangle(key)).get("/api/v1/regions")
        assert response.status_code == 401
        assert response.json()["code"] == "authentication_failed"

    def test_key_of_inactive_tenant_is_401(self, world):
        key = create_key(world)["key"]
        world.tenant.is_active = False
        world.tenant.save()
        assert key_client(key).get("/api/v1/regions").status_code == 401


class TestScopes:
    def test_key_without_master_data_cannot_touch_master_data(self, world):
        client = key_client(create_key(world, scopes=["orders", "coupons", "points"])["key"])
        response = client.put("/api/v1/regions/x", {"name": "X"}, format="json")
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
        assert client.get("/api/v1/merchants").status_code == 403
        assert not Region.objects.for_tenant(world.tenant).filter(code="x").exists()

    def test_key_with_master_data_upserts_in_its_own_tenant(self, world, other_world):
        client = key_client(create_key(world, scopes=["master_data"])["key"])
        assert client.put("/api/v1/regions/x", {"name": "X"}, format="json").status_code == 201
        assert Region.objects.for_tenant(world.tenant).filter(code="x").exists()
        assert not Region.objects.for_tenant(other_world.tenant).filter(code="x").exists()

    @pytest.mark.parametrize(
        ("method", "url", "body"),
        [
            ("post", "/api/v1/users", {"username": "u", "password": "Long-enough-42"}),
            ("get", "/api/v1/users", None),
            ("post", "/api/v1/business-units", {"code": "x", "name": "X"}),
            ("get", "/api/v1/api-keys", None),
            ("post", "/api/v1/api-keys", {"name": "more"}),
            ("get", "/api/v1/audit-log", None),
        ],
    )
    def test_keys_are_refused_on_management_endpoints(self, world, method, url, body):
        client = world.key_client()
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"

    @pytest.mark.parametrize("role", [Role.BU_ADMIN, Role.AUDITOR, Role.OPERATOR, Role.FINANCE])
    def test_only_tenant_admins_create_keys(self, world, role):
        response = world.client(role).post("/api/v1/api-keys", {"name": "x"}, format="json")
        assert response.status_code == 403
        assert not ApiKey.objects.for_tenant(world.tenant).exists()

    def test_auditor_reads_keys_bu_admin_does_not(self, world):
        create_key(world)
        assert world.client(Role.AUDITOR).get("/api/v1/api-keys").status_code == 200
        assert world.client(Role.BU_ADMIN).get("/api/v1/api-keys").status_code == 403

    def test_key_of_tenant_a_cannot_revoke_a_key_of_tenant_b(self, world, other_world):
        theirs, _key = api_key_create(tenant=other_world.tenant, actor=other_world.system, name="b")
        response = world.client(Role.TENANT_ADMIN).post(f"/api/v1/api-keys/{theirs.pk}/revoke")
        assert response.status_code == 404
        theirs.refresh_from_db()
        assert theirs.revoked_at is None


class TestThrottling:
    def test_per_api_key(self, world):
        first, second = world.key_client(), world.key_client()
        with throttle_rates(api_key="3/min", user="1000/min"):
            assert [first.get("/api/v1/regions").status_code for _ in range(3)] == [200] * 3
            response = first.get("/api/v1/regions")
            assert response.status_code == 429
            assert response.json()["code"] == "throttled"
            assert int(response["Retry-After"]) >= 1
            # Another key of the same tenant has its own budget.
            assert second.get("/api/v1/regions").status_code == 200

    def test_per_user(self, world):
        admin, operator = world.client(Role.TENANT_ADMIN), world.client(Role.OPERATOR)
        with throttle_rates(user="2/min", api_key="1000/min"):
            assert [admin.get("/api/v1/regions").status_code for _ in range(2)] == [200, 200]
            assert admin.get("/api/v1/regions").status_code == 429
            # A second token of the same user shares the user's budget.
            assert world.client(Role.TENANT_ADMIN).get("/api/v1/regions").status_code == 429
            assert operator.get("/api/v1/regions").status_code == 200
            # API keys are limited per key, not by the user rate.
            key = world.key_client()
            assert [key.get("/api/v1/regions").status_code for _ in range(3)] == [200] * 3
