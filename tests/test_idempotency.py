"""Idempotency-Key on writes (SPEC §8): replay, conflict, concurrency, a 5xx frees the key."""

import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.api import BusinessUnitListView  # the view binds its create service
from accounts.models import BusinessUnit
from accounts.roles import Role
from core.models import AuditEntry, IdempotencyKey
from core.services import IDEMPOTENCY_ABANDONED_AFTER
from core.testing import run_at_once

UNITS = "/api/v1/business-units"


def _units(tenant, code):
    return BusinessUnit.objects.for_tenant(tenant).filter(code=code)


def _audit(tenant, action):
    return AuditEntry.objects.for_tenant(tenant).filter(action=action)


@pytest.mark.django_db
class TestReplay:
    def test_same_key_and_body_replays_the_first_response(self, world):
        client = world.client(Role.TENANT_ADMIN)
        body = {"code": "east", "name": "East"}
        first = client.post(UNITS, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        second = client.post(UNITS, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

        assert first.status_code == second.status_code == 201
        assert second.json() == first.json()
        assert second["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first
        assert _units(world.tenant, "east").count() == 1
        assert _audit(world.tenant, "business_unit.create").count() == 1
        # Without the key the same request really runs again and is refused.
        assert client.post(UNITS, body, format="json").status_code == 400

    def test_replay_of_an_upsert_does_not_run_it_again(self, world):
        client = world.key_client()
        url = "/api/v1/regions/r-new"
        first = client.put(url, {"name": "New"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
        second = client.put(url, {"name": "New"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
        assert first.status_code == second.status_code == 201  # a second run would say 200
        assert _audit(world.tenant, "region.upsert").count() == 1

    def test_other_body_is_409(self, world):
        client = world.client(Role.TENANT_ADMIN)
        client.post(UNITS, {"code": "a", "name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
        response = client.post(
            UNITS, {"code": "b", "name": "B"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
        )
        assert response.status_code == 409
        assert response.json()["code"] == "idempotency_conflict"
        assert not _units(world.tenant, "b").exists()

    def test_other_path_with_the_same_key_is_409(self, world):
        client = world.key_client()
        client.put("/api/v1/regions/r1", {"name": "X"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
        response = client.put(
            "/api/v1/regions/r2", {"name": "X"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
        )
        assert response.json()["code"] == "idempotency_conflict"

    def test_other_query_string_with_the_same_key_is_409(self, world):
        client = world.key_client()
        url = "/api/v1/regions/r1"
        client.put(url, {"name": "X"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
        response = client.put(f"{url}?v=2", {"name": "X"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
        assert response.json()["code"] == "idempotency_conflict"

    def test_keys_are_per_caller(self, world):
        body = {"code": "c1", "name": "C"}
        admin = world.client(Role.TENANT_ADMIN)
        assert admin.post(UNITS, body, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201
        other_admin = services.user_create(
            tenant=world.tenant,
            actor=world.system,
            username="admin2",
            password="Long-enough-42",
            role=Role.TENANT_ADMIN,
        )
        client = APIClient()
        key = services.personal_token_create(membership=other_admin)[1]
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        # Another caller's identical key is a new request (here refused: the code is taken).
        assert client.post(UNITS, body, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 400

    def test_a_refusal_is_replayed_too(self, world):
        client = world.client(Role.TENANT_ADMIN)
        body = {"code": world.unit.code, "name": "dup"}
        first = client.post(UNITS, body, format="json", HTTP_IDEMPOTENCY_KEY="k")
        second = client.post(UNITS, body, format="json", HTTP_IDEMPOTENCY_KEY="k")
        assert first.status_code == second.status_code == 400
        assert second.json() == first.json()

    def test_server_error_frees_the_key(self, world, monkeypatch):
        client = world.client(Role.TENANT_ADMIN)
        real = services.business_unit_create

        def broken(**kwargs):
            raise RuntimeError("bug")

        monkeypatch.setattr(BusinessUnitListView, "create", staticmethod(broken))
        body = {"code": "west", "name": "West"}
        failed = client.post(UNITS, body, format="json", HTTP_IDEMPOTENCY_KEY="k-5")
        assert failed.status_code == 500
        assert not IdempotencyKey.objects.for_tenant(world.tenant).filter(key="k-5").exists()

        monkeypatch.setattr(BusinessUnitListView, "create", staticmethod(real))
        retried = client.post(UNITS, body, format="json", HTTP_IDEMPOTENCY_KEY="k-5")
        assert retried.status_code == 201
        assert "Idempotent-Replayed" not in retried
        assert _units(world.tenant, "west").count() == 1

    def test_a_claim_abandoned_by_a_dead_process_is_taken_over(self, world):
        client = world.client(Role.TENANT_ADMIN)
        body = {"code": "south", "name": "South"}
        claim = client.post(UNITS, body, format="json", HTTP_IDEMPOTENCY_KEY="k-6")
        assert claim.status_code == 201
        keys = IdempotencyKey.objects.for_tenant(world.tenant).filter(key="k-6")
        # As if the process had died after claiming: no response, and long ago.
        keys.update(
            completed_at=None,
            response_status=None,
            updated_at=timezone.now() - IDEMPOTENCY_ABANDONED_AFTER - timedelta(seconds=1),
        )
        _units(world.tenant, "south").delete()  # its transaction never committed
        retried = client.post(UNITS, body, format="json", HTTP_IDEMPOTENCY_KEY="k-6")
        assert retried.status_code == 201 and "Idempotent-Replayed" not in retried
        assert keys.get().completed_at is not None

    @override_settings(IDEMPOTENCY_WAIT_SECONDS=0.1)
    def test_a_recent_claim_without_response_is_in_progress(self, world):
        client = world.client(Role.TENANT_ADMIN)
        body = {"code": "south", "name": "South"}
        client.post(UNITS, body, format="json", HTTP_IDEMPOTENCY_KEY="k-7")
        IdempotencyKey.objects.for_tenant(world.tenant).filter(key="k-7").update(completed_at=None)
        response = client.post(UNITS, body, format="json", HTTP_IDEMPOTENCY_KEY="k-7")
        assert response.status_code == 409
        assert response.json()["code"] == "idempotency_in_progress"

    def test_reads_ignore_the_key(self, world):
        client = world.key_client()
        client.get("/api/v1/regions", HTTP_IDEMPOTENCY_KEY="k")
        assert not IdempotencyKey.objects.for_tenant(world.tenant).exists()

    def test_created_api_key_is_not_kept_for_a_replay(self, world):
        client = world.client(Role.TENANT_ADMIN)
        first = client.post(
            "/api/v1/api-keys", {"name": "erp"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
        )
        second = client.post(
            "/api/v1/api-keys", {"name": "erp"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
        )
        secret = first.json()["key"]
        assert second.status_code == 201 and "key" not in second.json()
        assert second.json()["id"] == first.json()["id"]
        row = IdempotencyKey.objects.for_tenant(world.tenant).get(key="k")
        assert secret not in str(row.response_body)


# --- two requests with one key at the same time, real threads and connections ----------------------


def _concurrent_posts(world, monkeypatch, *, hold: float):
    """Two threads POST the same key and body; the service of the first holds for `hold` s."""
    real = services.business_unit_create
    runs = []

    def slow(**kwargs):
        runs.append(kwargs["code"])
        time.sleep(hold)
        return real(**kwargs)

    monkeypatch.setattr(BusinessUnitListView, "create", staticmethod(slow))
    token = services.personal_token_create(membership=world.members[Role.TENANT_ADMIN])[1]

    def call():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return client.post(
            UNITS, {"code": "north", "name": "N"}, format="json", HTTP_IDEMPOTENCY_KEY="same"
        )

    results = run_at_once([call, call])
    assert len(results) == 2
    return runs, sorted(results, key=lambda r: r.has_header("Idempotent-Replayed"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.xdist_group("concurrency")
class TestConcurrent:
    @override_settings(IDEMPOTENCY_WAIT_SECONDS=10)
    def test_second_waits_and_replays(self, world, monkeypatch):
        runs, (first, second) = _concurrent_posts(world, monkeypatch, hold=0.5)
        assert runs == ["north"]  # exactly one execution
        assert first.status_code == second.status_code == 201
        assert second["Idempotent-Replayed"] == "true"
        assert second.json() == first.json()
        assert _units(world.tenant, "north").count() == 1
        assert _audit(world.tenant, "business_unit.create").count() == 1

    @override_settings(IDEMPOTENCY_WAIT_SECONDS=0.2)
    def test_second_gets_409_in_progress_when_the_first_takes_long(self, world, monkeypatch):
        runs, results = _concurrent_posts(world, monkeypatch, hold=1.5)
        assert runs == ["north"]
        statuses = sorted(r.status_code for r in results)
        assert statuses == [201, 409]
        refused = next(r for r in results if r.status_code == 409)
        assert refused.json()["code"] == "idempotency_in_progress"
        assert _units(world.tenant, "north").count() == 1
