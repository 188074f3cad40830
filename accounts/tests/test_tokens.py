"""Personal API tokens die (issue 12 item 7): they expire, a password or role change revokes them,
their owner lists and revokes them, and a user manager revokes anybody's in their scope."""

from datetime import timedelta

import pytest
from django.contrib.auth.forms import SetPasswordForm
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import Membership, PersonalToken
from accounts.roles import Role
from accounts.tests.factories import PASSWORD
from core.models import AuditEntry

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "Another-horse-43"


def token_client(membership) -> tuple[PersonalToken, APIClient]:
    token, key = services.personal_token_create(membership=membership)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return token, client


def revocations(tenant) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.for_tenant(tenant).filter(action="personal_token.revoke").order_by("id")
    )


class TestExpiry:
    def test_a_token_lives_the_tenants_lifetime(self, world):
        world.tenant.token_lifetime_days = 7
        world.tenant.save()
        token, client = token_client(world.members[Role.OPERATOR])
        lifetime = token.expires_at - token.created_at
        assert timedelta(days=7) - timedelta(seconds=5) < lifetime <= timedelta(days=7)
        assert client.get("/api/v1/me").status_code == 200

    def test_an_expired_token_is_401(self, world):
        token, client = token_client(world.members[Role.OPERATOR])
        PersonalToken.objects.for_tenant(world.tenant).filter(pk=token.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        response = client.get("/api/v1/me")
        assert response.status_code == 401
        assert response.json()["code"] == "authentication_failed"

    def test_default_lifetime_is_30_days(self, world):
        assert world.tenant.token_lifetime_days == 30


class TestPasswordChange:
    def test_console_password_change_revokes_the_tokens(self, world):
        membership = world.members[Role.OPERATOR]
        _token, client = token_client(membership)
        console = world.console_client(Role.OPERATOR)
        response = console.post(
            "/console/password/",
            {
                "old_password": PASSWORD,
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        )
        assert response.status_code == 302
        assert client.get("/api/v1/me").status_code == 401
        [entry] = revocations(world.tenant)
        assert entry.note == "password changed"
        assert entry.before["user"] == membership.user.username

    def test_any_password_change_revokes_tokens_in_every_tenant(self, world, other_world):
        user = world.members[Role.OPERATOR].user
        # The same person is a member of the other tenant too.
        second = Membership.objects.create(tenant=other_world.tenant, user=user, role=Role.AUDITOR)
        _a, client_a = token_client(world.members[Role.OPERATOR])
        _b, client_b = token_client(second)
        form = SetPasswordForm(user, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
        assert form.is_valid()
        form.save()  # the admin's and `changepassword`'s way: set_password() and save()
        assert client_a.get("/api/v1/me").status_code == 401
        assert client_b.get("/api/v1/me").status_code == 401
        assert len(revocations(world.tenant)) == len(revocations(other_world.tenant)) == 1

    def test_other_saves_of_the_user_keep_the_tokens(self, world):
        membership = world.members[Role.OPERATOR]
        _token, client = token_client(membership)
        user = membership.user
        user.first_name = "Renamed"
        user.save()
        user.last_login = timezone.now()
        user.save(update_fields=["last_login"])
        assert client.get("/api/v1/me").status_code == 200


class TestRoleChange:
    def update(self, world, membership, **kwargs):
        return services.membership_update(
            tenant=world.tenant,
            actor=world.actor(Role.TENANT_ADMIN),
            membership=membership,
            **kwargs,
        )

    def test_a_role_change_revokes_the_tokens(self, world):
        membership = world.members[Role.OPERATOR]
        _token, client = token_client(membership)
        self.update(world, membership, role=Role.AUDITOR)
        assert client.get("/api/v1/me").status_code == 401
        [entry] = revocations(world.tenant)
        assert entry.note == "role changed"
        assert entry.actor_user == world.members[Role.TENANT_ADMIN].user

    def test_same_role_keeps_the_tokens(self, world):
        membership = world.members[Role.REGIONAL_OPERATOR]
        _token, client = token_client(membership)
        self.update(world, membership, role=Role.REGIONAL_OPERATOR, regions=[world.other_region])
        assert client.get("/api/v1/me").status_code == 200

    def test_deactivation_is_audited(self, world):
        membership = world.members[Role.OPERATOR]
        token_client(membership)
        self.update(world, membership, role=Role.OPERATOR, is_active=False)
        assert [e.note for e in revocations(world.tenant)] == ["membership deactivated"]


class TestOwnTokens:
    def test_list_shows_own_live_tokens_without_secrets(self, world):
        membership = world.members[Role.FINANCE]
        mine, client = token_client(membership)
        token_client(world.members[Role.OPERATOR])  # somebody else's
        dead, _ = token_client(membership)
        PersonalToken.objects.for_tenant(world.tenant).filter(pk=dead.pk).update(
            expires_at=timezone.now()
        )
        body = client.get("/api/v1/auth/tokens").json()
        assert [t["id"] for t in body["results"]] == [mine.pk]
        assert set(body["results"][0]) == {
            "id",
            "prefix",
            "username",
            "created_at",
            "last_used_at",
            "expires_at",
        }

    def test_revoke_own_token(self, world):
        membership = world.members[Role.FINANCE]
        spare, _ = token_client(membership)
        _current, client = token_client(membership)
        assert client.delete(f"/api/v1/auth/tokens/{spare.pk}").status_code == 204
        assert not PersonalToken.objects.for_tenant(world.tenant).filter(pk=spare.pk).exists()
        assert client.get("/api/v1/me").status_code == 200
        [entry] = revocations(world.tenant)
        assert entry.before["prefix"] == spare.prefix
        assert entry.actor_user == membership.user

    def test_revoking_the_token_in_use_logs_out(self, world):
        current, client = token_client(world.members[Role.FINANCE])
        assert client.delete(f"/api/v1/auth/tokens/{current.pk}").status_code == 204
        assert client.get("/api/v1/me").status_code == 401

    @pytest.mark.parametrize("role", [Role.OPERATOR, Role.FINANCE, Role.AUDITOR])
    def test_others_tokens_are_404_without_user_management(self, world, role):
        theirs, _ = token_client(world.members[Role.MERCHANT_ADMIN])
        response = world.client(role).delete(f"/api/v1/auth/tokens/{theirs.pk}")
        assert response.status_code in (403, 404)
        assert PersonalToken.objects.for_tenant(world.tenant).filter(pk=theirs.pk).exists()

    def test_api_keys_have_no_personal_tokens(self, world):
        assert world.key_client().get("/api/v1/auth/tokens").status_code == 403


class TestManagersRevoke:
    def test_tenant_admin_lists_and_revokes_anyones_tokens(self, world):
        member = world.members[Role.OPERATOR]
        one, member_client = token_client(member)
        token_client(member)
        admin = world.client(Role.TENANT_ADMIN)
        listed = admin.get(f"/api/v1/users/{member.pk}/tokens").json()["results"]
        assert len(listed) == 2
        assert admin.delete(f"/api/v1/auth/tokens/{one.pk}").status_code == 204
        assert member_client.get("/api/v1/me").status_code == 401
        assert admin.delete(f"/api/v1/users/{member.pk}/tokens").status_code == 204
        assert not PersonalToken.objects.for_tenant(world.tenant).filter(membership=member).exists()
        assert len(revocations(world.tenant)) == 2

    def test_bu_admin_revokes_within_what_they_may_change(self, world):
        colleague = services.user_create(
            tenant=world.tenant,
            actor=world.system,
            username="colleague",
            password=PASSWORD,
            role=Role.BU_ADMIN,
            business_unit=world.unit,
        )
        labelled = services.user_create(
            tenant=world.tenant,
            actor=world.system,
            username="labelled",
            password=PASSWORD,
            role=Role.FINANCE,
            business_unit=world.unit,
        )
        colleague_token, _ = token_client(colleague)
        labelled_token, _ = token_client(labelled)
        outsider_token, _ = token_client(world.members[Role.OPERATOR])
        bu = world.client(Role.BU_ADMIN)
        assert bu.delete(f"/api/v1/auth/tokens/{colleague_token.pk}").status_code == 204
        # Visible in their unit, but a tenant-wide role: theirs to see, not to change.
        refused = bu.delete(f"/api/v1/auth/tokens/{labelled_token.pk}")
        assert refused.status_code == 403
        assert refused.json()["code"] == "role_not_grantable"
        assert bu.delete(f"/api/v1/auth/tokens/{outsider_token.pk}").status_code == 404
        assert bu.delete(f"/api/v1/users/{labelled.pk}/tokens").status_code == 403
        live = PersonalToken.objects.for_tenant(world.tenant)
        assert set(live.values_list("pk", flat=True)) >= {labelled_token.pk, outsider_token.pk}

    def test_another_tenants_token_is_404(self, world, other_world):
        theirs, _ = token_client(other_world.members[Role.OPERATOR])
        response = world.client(Role.TENANT_ADMIN).delete(f"/api/v1/auth/tokens/{theirs.pk}")
        assert response.status_code == 404
        assert PersonalToken.objects.for_tenant(other_world.tenant).filter(pk=theirs.pk).exists()
