"""The accounts API as integrators and console users call it (SPEC §8, §10)."""

import pytest

from accounts.models import Customer, Membership
from accounts.roles import Role
from accounts.tests.factories import RegionFactory
from core.fingerprints import fingerprint
from core.models import AuditEntry
from tests.test_error_shape import assert_error

pytestmark = pytest.mark.django_db


class TestMasterDataUpsert:
    @pytest.mark.parametrize(
        ("noun", "first", "second", "changed"),
        [
            ("regions", {"name": "Pudong"}, {"name": "Pudong New Area"}, "name"),
            ("merchants", {"name": "Fixit"}, {"name": "Fixit", "is_active": False}, "is_active"),
            ("customers", {"name": "Li"}, {"name": "Li", "tags": ["vip"]}, "tags"),
        ],
    )
    def test_put_creates_then_updates_and_get_reads_one(self, world, noun, first, second, changed):
        client = world.key_client()
        url = f"/api/v1/{noun}/X-1"
        created = client.put(url, first, format="json")
        assert created.status_code == 201, created.content
        assert created.json()["code"] == "X-1"
        updated = client.put(url, second, format="json")
        assert updated.status_code == 200
        assert updated.json()[changed] == second[changed]
        assert client.get(url).json() == updated.json()

    def test_staff_upsert_by_merchant_code(self, world):
        client = world.key_client()
        body = {"name": "Wang", "merchant": world.merchant.code, "phone": "139"}
        response = client.put("/api/v1/staff/ST-1", body, format="json")
        assert response.status_code == 201
        assert response.json() == {
            "code": "ST-1",
            "name": "Wang",
            "merchant": world.merchant.code,
            "phone": "139",
            "is_active": True,
            "portal_user": None,
        }

    def test_references_by_code_of_own_tenant_only(self, world, other_world):
        client = world.key_client()
        response = client.put(
            "/api/v1/merchants/M-9",
            {"name": "M", "region": other_world.region.code},
            format="json",
        )
        assert response.status_code == 400
        assert response.json()["code"] == "does_not_exist"
        assert set(response.json()["fields"]) == {"region"}

    def test_customer_phone_and_device_are_kept_as_fingerprints(self, world):
        client = world.key_client()
        body = {
            "registered_on": "2026-11-01",
            "region": world.region.code,
            "phone": "13800000000",
            "device_id": "dev-1",
            "tags": ["b", "a", "b"],
        }
        response = client.put("/api/v1/customers/C-1", body, format="json")
        assert response.status_code == 201
        data = response.json()
        assert "phone" not in data and "device_id" not in data
        assert data["tags"] == ["a", "b"] and data["registered_on"] == "2026-11-01"
        customer = Customer.objects.for_tenant(world.tenant).get(code="C-1")
        assert customer.phone_fingerprint == fingerprint("13800000000")
        assert customer.device_fingerprint == fingerprint("dev-1")

    def test_region_parent_by_code(self, world):
        client = world.key_client()
        body = {"name": "Child", "parent": world.region.code}
        response = client.put("/api/v1/regions/child", body, format="json")
        assert response.json()["parent"] == world.region.code
        cycle = client.put(
            f"/api/v1/regions/{world.region.code}", {"name": "N", "parent": "child"}, format="json"
        )
        assert cycle.status_code == 400 and "parent" in cycle.json()["fields"]


class TestLists:
    def test_pagination(self, world):
        for n in range(5):
            RegionFactory(tenant=world.tenant, code=f"p-{n}")
        client = world.key_client()
        first = client.get("/api/v1/regions?page_size=3").json()
        assert set(first) == {"count", "next", "previous", "results"}
        assert first["count"] == 7 and len(first["results"]) == 3
        assert first["previous"] is None and "page=2" in first["next"]
        last = client.get("/api/v1/regions?page_size=3&page=3").json()
        assert len(last["results"]) == 1 and last["next"] is None
        codes = [r["code"] for r in first["results"]]
        assert codes == sorted(codes)

    def test_page_out_of_range_is_404(self, world):
        response = world.key_client().get("/api/v1/regions?page=99")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"

    def test_search_by_code_or_name(self, world):
        RegionFactory(tenant=world.tenant, code="sh-01", name="Shanghai")
        RegionFactory(tenant=world.tenant, code="bj-01", name="Beijing")
        client = world.key_client()
        by_name = client.get("/api/v1/regions?search=shang").json()["results"]
        assert [r["code"] for r in by_name] == ["sh-01"]
        by_code = client.get("/api/v1/regions?search=BJ-").json()["results"]
        assert [r["code"] for r in by_code] == ["bj-01"]

    def test_filters(self, world):
        client = world.key_client()
        client.put("/api/v1/merchants/south-m", {"name": "S", "region": world.other_region.code})
        merchants = client.get(f"/api/v1/merchants?region={world.other_region.code}").json()
        assert [m["code"] for m in merchants["results"]] == ["south-m"]
        staff = client.get(f"/api/v1/staff?merchant={world.merchant.code}").json()
        assert [s["code"] for s in staff["results"]] == [world.staff.code]


class TestUsers:
    def post(self, world, **body):
        body = {"username": "neo", "password": "Long-enough-42", **body}
        return world.client(Role.TENANT_ADMIN).post("/api/v1/users", body, format="json")

    @pytest.mark.parametrize(
        ("role", "extra"),
        [
            (Role.TENANT_ADMIN, {}),
            (Role.BU_ADMIN, {"business_unit": "UNIT"}),
            (Role.OPERATOR, {}),
            (Role.REGIONAL_OPERATOR, {"regions": ["REGION", "OTHER_REGION"]}),
            (Role.FINANCE, {}),
            (Role.AUDITOR, {}),
            (Role.MERCHANT_ADMIN, {"merchant": "MERCHANT"}),
            (Role.MERCHANT_STAFF, {"merchant": "MERCHANT"}),
        ],
    )
    def test_each_role(self, world, role, extra):
        codes = {
            "UNIT": world.unit.code,
            "REGION": world.region.code,
            "OTHER_REGION": world.other_region.code,
            "MERCHANT": world.merchant.code,
        }
        extra = {
            k: [codes[c] for c in v] if isinstance(v, list) else codes[v] for k, v in extra.items()
        }
        response = self.post(world, role=role, email="neo@example.test", **extra)
        assert response.status_code == 201, response.content
        data = response.json()
        assert data["role"] == role and data["username"] == "neo"
        assert "password" not in data
        assert data["business_unit"] == extra.get("business_unit")
        assert data["merchant"] == extra.get("merchant")
        assert data["regions"] == sorted(extra.get("regions", []))
        entry = AuditEntry.objects.for_tenant(world.tenant).get(action="user.create")
        assert entry.after["role"] == role

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"role": Role.BU_ADMIN}, "business_unit"),
            ({"role": Role.REGIONAL_OPERATOR}, "regions"),
            ({"role": Role.REGIONAL_OPERATOR, "regions": ["nowhere"]}, "regions.0"),
            ({"role": Role.MERCHANT_ADMIN}, "merchant"),
            ({"role": Role.MERCHANT_STAFF}, "merchant"),
            ({"role": "king"}, "role"),
            ({"role": Role.OPERATOR, "password": "short"}, "password"),
            ({"role": Role.OPERATOR, "username": "alpha-operator"}, "username"),
            ({"role": Role.OPERATOR, "email": "not-an-email"}, "email"),
            ({}, "role"),
        ],
    )
    def test_validation(self, world, body, field):
        response = self.post(world, **body)
        assert response.status_code == 400, response.content
        assert field in response.json()["fields"], response.json()
        assert not Membership.objects.for_tenant(world.tenant).filter(user__username="neo")

    def test_list_search_and_role_filter(self, world):
        client = world.client(Role.TENANT_ADMIN)
        everyone = client.get("/api/v1/users").json()
        assert everyone["count"] == len(Role.values)
        finance = client.get("/api/v1/users?role=finance").json()["results"]
        assert [m["username"] for m in finance] == ["alpha-finance"]
        found = client.get("/api/v1/users?search=auditor").json()["results"]
        assert [m["role"] for m in found] == [Role.AUDITOR]

    def test_patch_changes_role_and_grants(self, world):
        client = world.client(Role.TENANT_ADMIN)
        member = world.members[Role.OPERATOR]
        response = client.patch(
            f"/api/v1/users/{member.pk}",
            {"role": Role.REGIONAL_OPERATOR, "regions": [world.other_region.code]},
            format="json",
        )
        assert response.status_code == 200
        assert response.json()["regions"] == [world.other_region.code]
        entry = AuditEntry.objects.for_tenant(world.tenant).get(action="membership.update")
        assert entry.before["role"] == Role.OPERATOR
        assert entry.after["regions"] == [world.other_region.code]


class TestBusinessUnits:
    def test_post_and_list(self, world):
        client = world.client(Role.TENANT_ADMIN)
        response = client.post("/api/v1/business-units", {"code": "east", "name": "East"})
        assert response.status_code == 201
        assert response.json() == {"code": "east", "name": "East"}
        codes = [u["code"] for u in client.get("/api/v1/business-units").json()["results"]]
        assert "east" in codes
        duplicate = client.post("/api/v1/business-units", {"code": "east", "name": "Again"})
        assert duplicate.status_code == 400 and "code" in duplicate.json()["fields"]

    def test_bad_code_is_400(self, world):
        response = world.client(Role.TENANT_ADMIN).post(
            "/api/v1/business-units", {"code": "no spaces", "name": "X"}
        )
        assert response.status_code == 400 and "code" in response.json()["fields"]


class TestAuditLog:
    def test_entries_with_actor_and_filters(self, world):
        client = world.client(Role.TENANT_ADMIN)
        client.post("/api/v1/business-units", {"code": "east", "name": "East"})
        key_client = world.key_client()  # audited as api_key.create by the system
        key_client.put("/api/v1/regions/r-1", {"name": "R"}, format="json")

        auditor = world.client(Role.AUDITOR)
        units = auditor.get("/api/v1/audit-log?action=business_unit.").json()["results"]
        assert [(e["action"], e["actor"]) for e in units] == [
            ("business_unit.create", "alpha-tenant_admin")
        ]
        regions = auditor.get("/api/v1/audit-log?object_type=accounts.region").json()["results"]
        assert [(e["action"], e["actor"]) for e in regions] == [
            ("region.upsert", "api-key:integration")
        ]
        assert regions[0]["before"] is None and regions[0]["after"]["name"] == "R"
        by_actor = auditor.get("/api/v1/audit-log?actor=api-key").json()["results"]
        assert {e["action"] for e in by_actor} == {"region.upsert"}

    def test_bu_admin_sees_own_units_entries_only(self, world):
        world.client(Role.TENANT_ADMIN).post("/api/v1/business-units", {"code": "e", "name": "E"})
        bu = world.client(Role.BU_ADMIN)
        bu.post(
            "/api/v1/users",
            {"username": "bu-made", "password": "Long-enough-42", "role": "bu_admin"},
            format="json",
        )
        actions = [e["action"] for e in bu.get("/api/v1/audit-log").json()["results"]]
        assert actions == ["user.create"]


class TestMe:
    def test_me_for_a_user_and_a_key(self, world):
        me = world.client(Role.FINANCE).get("/api/v1/me").json()
        assert me["role"] == Role.FINANCE and me["tenant"] == world.tenant.slug
        key = world.key_client().get("/api/v1/me").json()
        assert key == {"api_key": "integration", "tenant": world.tenant.slug}


class TestListFilters:
    def test_a_junk_filter_value_is_400_naming_it_and_the_console_page_still_loads(self, world):
        api = world.client(Role.TENANT_ADMIN).get("/api/v1/users?role=nobody")
        body = assert_error(api, 400, "invalid", fields={"role"})
        assert body["detail"] == "Check the filters."
        console = world.console_client(Role.TENANT_ADMIN).get("/console/users/?role=nobody")
        assert console.status_code == 200

    def test_a_missing_or_empty_value_filters_nothing(self, world):
        client = world.client(Role.TENANT_ADMIN)
        everyone = client.get("/api/v1/users").json()["count"]
        assert client.get("/api/v1/users?role=&search=").json()["count"] == everyone
        key = world.key_client()
        assert key.get("/api/v1/merchants?region=").json()["count"] == 1
        assert key.get("/api/v1/staff?merchant=&search=").json()["count"] == 1

    def test_staff_search_matches_the_phone_and_an_unknown_region_finds_nothing(self, world):
        client = world.key_client()
        client.put(
            "/api/v1/staff/ST-9",
            {"name": "Zhao", "merchant": world.merchant.code, "phone": "13900001234"},
            format="json",
        )
        found = client.get("/api/v1/staff?search=0001234").json()["results"]
        assert [s["code"] for s in found] == ["ST-9"]
        assert client.get("/api/v1/customers?region=no-such-region").json()["count"] == 0
