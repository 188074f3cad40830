"""Fixtures every app's tests share: two tenants, a member of each role, API clients."""

import uuid

import pytest
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from accounts.models import ApiKeyScope
from accounts.permissions import REGION_PERMISSION, Actor
from accounts.roles import Role
from accounts.services import api_key_create, personal_token_create
from accounts.tests.factories import (
    BusinessUnitFactory,
    MembershipFactory,
    MerchantFactory,
    RegionFactory,
    StaffFactory,
    TenantFactory,
)
from campaigns.services import channels_create_defaults


class TenantWorld:
    """A tenant with a business unit, two regions, a merchant with staff, and one member per role."""

    def __init__(self, slug: str):
        self.tenant = TenantFactory(slug=slug)
        channels_create_defaults(tenant=self.tenant)
        self.unit = BusinessUnitFactory(tenant=self.tenant, code=f"{slug}-bu")
        self.other_unit = BusinessUnitFactory(tenant=self.tenant, code=f"{slug}-bu2")
        self.region = RegionFactory(tenant=self.tenant, code=f"{slug}-north")
        self.other_region = RegionFactory(tenant=self.tenant, code=f"{slug}-south")
        self.merchant = MerchantFactory(tenant=self.tenant, region=self.region)
        self.staff = StaffFactory(tenant=self.tenant, merchant=self.merchant)
        self.members = {}
        for role in Role.values:
            membership = MembershipFactory(
                tenant=self.tenant,
                user__username=f"{slug}-{role}",
                role=role,
                business_unit=self.unit if role == Role.BU_ADMIN else None,
                merchant=self.merchant
                if role in (Role.MERCHANT_ADMIN, Role.MERCHANT_STAFF)
                else None,
            )
            self.members[role] = membership
        assign_perm(REGION_PERMISSION, self.members[Role.REGIONAL_OPERATOR].user, self.region)
        self.staff.user = self.members[Role.MERCHANT_STAFF].user
        self.staff.save()

    def actor(self, role: str) -> Actor:
        return Actor(tenant=self.tenant, membership=self.members[role])

    @property
    def system(self) -> Actor:
        return Actor.for_system(self.tenant)

    def client(self, role: str) -> APIClient:
        """An API client holding a personal token of this role's member."""
        _token, key = personal_token_create(membership=self.members[role])
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    def key_client(self, scopes=tuple(ApiKeyScope.values)) -> APIClient:
        _api_key, key = api_key_create(
            tenant=self.tenant, actor=self.system, name="integration", scopes=list(scopes)
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        return client


@pytest.fixture(autouse=True)
def _test_settings(settings):
    """Production settings redirect to HTTPS; the test client speaks plain HTTP. A fast hasher
    keeps the many test users cheap (password hashing is not what these tests are about)."""
    settings.SECURE_SSL_REDIRECT = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Cache keys (throttle counters) of one test never count in another test, or in another
    # test process on the same Redis.
    default = {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    settings.CACHES = {**settings.CACHES, "default": default}


@pytest.fixture
def world(db) -> TenantWorld:
    return TenantWorld("alpha")


@pytest.fixture
def other_world(db) -> TenantWorld:
    return TenantWorld("beta")
