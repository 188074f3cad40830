"""Fixtures every app's tests share: test settings, two tenants with a member of each role,
API and console clients, and the Playwright launch options for Debian's Chromium."""

import os
import uuid

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.test.utils import override_settings
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from accounts.authentication import SESSION_TENANT_KEY
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

    def console_client(self, role: str) -> Client:
        """A browser-like client logged in to the console with this tenant chosen."""
        membership = self.members[role]
        client = Client()
        client.force_login(membership.user)
        session = client.session
        session[SESSION_TENANT_KEY] = membership.tenant_id
        session.save()
        return client

    def key_client(self, scopes=tuple(ApiKeyScope.values)) -> APIClient:
        _api_key, key = api_key_create(
            tenant=self.tenant, actor=self.system, name="integration", scopes=list(scopes)
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        return client


@pytest.fixture(scope="session", autouse=True)
def _session_settings():
    """Settings that must hold before the live server loads its middleware (once per session).

    Tests run with DEBUG off, as production does, but speak plain HTTP (no HTTPS redirect) and
    render pages without `collectstatic` (no manifest storage). A fast hasher keeps the many
    test users cheap: password hashing is not what these tests are about.
    """
    with override_settings(
        SECURE_SSL_REDIRECT=False,
        STORAGES={
            **django_settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    ):
        yield


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # `playwright install` cannot download a browser here; Debian's package is used instead.
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(autouse=True)
def _per_test_cache(settings):
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
