"""POST /auth/token and how tokens and sessions bind a caller to one tenant (SPEC §8, §10)."""

import pytest
from rest_framework.test import APIClient

from accounts.models import PersonalToken
from accounts.roles import Role
from accounts.services import membership_update
from accounts.tests.factories import PASSWORD, MembershipFactory

pytestmark = pytest.mark.django_db
TOKEN = "/api/v1/auth/token"


def token_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def ask(**body):
    return APIClient().post(TOKEN, body, format="json")


@pytest.fixture
def two_tenant_user(world, other_world):
    """alpha's operator is also an auditor in beta."""
    user = world.members[Role.OPERATOR].user
    MembershipFactory(tenant=other_world.tenant, user=user, role=Role.AUDITOR)
    return user


class TestToken:
    def test_by_username(self, world):
        user = world.members[Role.OPERATOR].user
        response = ask(username=user.username, password=PASSWORD)
        assert response.status_code == 200
        body = response.json()
        assert body["tenant"] == world.tenant.slug and body["role"] == Role.OPERATOR
        me = token_client(body["token"]).get("/api/v1/me").json()
        assert me["username"] == user.username and me["tenant"] == world.tenant.slug

    def test_by_email_in_any_case(self, world):
        user = world.members[Role.FINANCE].user
        response = ask(username=user.email.upper(), password=PASSWORD)
        assert response.status_code == 200
        assert response.json()["role"] == Role.FINANCE

    @pytest.mark.parametrize("username", ["alpha-operator", "nobody", "nobody@example.test"])
    def test_wrong_password_or_user_is_401(self, world, username):
        response = ask(username=username, password="wrong-password")
        assert response.status_code == 401
        assert response.json()["code"] == "authentication_failed"

    def test_missing_fields_are_400(self, db):
        response = ask(username="x")
        assert response.status_code == 400
        assert set(response.json()["fields"]) == {"password"}

    def test_only_a_hash_is_stored_and_several_tokens_are_allowed(self, world):
        user = world.members[Role.OPERATOR].user
        first = ask(username=user.username, password=PASSWORD).json()["token"]
        second = ask(username=user.username, password=PASSWORD).json()["token"]
        assert first != second
        tokens = PersonalToken.objects.for_tenant(world.tenant).filter(
            membership=world.members[Role.OPERATOR]
        )
        assert {t.key_hash for t in tokens} == {
            PersonalToken.digest(first),
            PersonalToken.digest(second),
        }
        for token in (first, second):
            assert token_client(token).get("/api/v1/me").status_code == 200

    def test_user_of_two_tenants_must_name_one(self, two_tenant_user):
        response = ask(username=two_tenant_user.username, password=PASSWORD)
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "tenant_required"
        assert "tenant" in body["fields"]

    def test_token_is_bound_to_the_named_membership(self, world, other_world, two_tenant_user):
        response = ask(username=two_tenant_user.username, password=PASSWORD, tenant="beta")
        assert response.status_code == 200
        assert response.json() == {
            "token": response.json()["token"],
            "tenant": "beta",
            "role": Role.AUDITOR,
        }
        client = token_client(response.json()["token"])
        me = client.get("/api/v1/me").json()
        assert me["tenant"] == "beta" and me["role"] == Role.AUDITOR
        # The auditor role of beta, not the operator role of alpha: no master data writes.
        assert client.put("/api/v1/regions/x", {"name": "X"}, format="json").status_code == 403
        codes = {r["code"] for r in client.get("/api/v1/regions").json()["results"]}
        assert codes == {other_world.region.code, other_world.other_region.code}

    def test_tenant_the_user_is_not_in_is_401(self, world, other_world):
        user = world.members[Role.OPERATOR].user
        response = ask(username=user.username, password=PASSWORD, tenant="beta")
        assert response.status_code == 401

    def test_token_of_tenant_a_cannot_read_tenant_b(self, world, other_world):
        user = world.members[Role.TENANT_ADMIN].user
        client = token_client(ask(username=user.username, password=PASSWORD).json()["token"])
        for url in (
            f"/api/v1/regions/{other_world.region.code}",
            f"/api/v1/merchants/{other_world.merchant.code}",
            f"/api/v1/staff/{other_world.staff.code}",
            f"/api/v1/users/{other_world.members[Role.OPERATOR].pk}",
        ):
            response = client.get(url)
            assert response.status_code == 404, url
            assert response.json()["code"] == "not_found"
        listed = client.get("/api/v1/regions").json()["results"]
        assert other_world.region.code not in {r["code"] for r in listed}


class TestTokenLifetime:
    def test_deactivated_membership_loses_its_tokens(self, world):
        membership = world.members[Role.OPERATOR]
        client = world.client(Role.OPERATOR)
        assert client.get("/api/v1/me").status_code == 200
        membership_update(
            tenant=world.tenant,
            actor=world.actor(Role.TENANT_ADMIN),
            membership=membership,
            role=Role.OPERATOR,
            is_active=False,
        )
        response = client.get("/api/v1/me")
        assert response.status_code == 401
        assert ask(username=membership.user.username, password=PASSWORD).status_code == 401

    def test_inactive_user_token_is_401(self, world):
        client = world.client(Role.OPERATOR)
        user = world.members[Role.OPERATOR].user
        user.is_active = False
        user.save()
        assert client.get("/api/v1/me").status_code == 401


class TestSession:
    def test_session_of_a_single_tenant_user_reaches_the_api(self, world):
        client = APIClient()
        client.force_login(world.members[Role.OPERATOR].user)
        assert client.get("/api/v1/regions").status_code == 200

    def test_session_of_a_two_tenant_user_must_pick_a_tenant(self, world, two_tenant_user):
        client = APIClient()
        client.force_login(two_tenant_user)
        response = client.get("/api/v1/regions")
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
        session = client.session
        session["tenant_id"] = world.tenant.pk
        session.save()
        assert client.get("/api/v1/me").json()["tenant"] == world.tenant.slug
