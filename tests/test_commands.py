"""The command-line set-up of SPEC §8 and the demo/periodic commands of `make run`."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from celery import shared_task
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings
from guardian.shortcuts import get_objects_for_user
from rest_framework.test import APIClient

from accounts.demo import DEMO_PASSWORD, DEMO_USERS, PORTAL_TEAM, REGION_COUNT
from accounts.models import (
    ApiKey,
    BusinessUnit,
    Customer,
    Membership,
    Merchant,
    MerchantStaff,
    Region,
    Tenant,
    User,
)
from accounts.permissions import REGION_PERMISSION, Actor
from accounts.roles import Role
from campaigns.models import DEFAULT_CHANNELS, Channel
from config.celery import beat_schedule
from core.demo import SIZES
from core.models import AuditEntry
from web.management.commands.run_periodic import PeriodicRunner

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # seed_demo and the world fixture hash a dozen passwords; the real hasher takes seconds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run(*args, **options) -> str:
    out = StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


def token(username: str, password: str, tenant: str = "") -> tuple[int, dict]:
    body = {"username": username, "password": password}
    if tenant:
        body["tenant"] = tenant
    response = APIClient().post("/api/v1/auth/token", body, format="json")
    return response.status_code, response.json()


# --- create_tenant -------------------------------------------------------------------------------


def test_create_tenant_makes_channels_and_an_admin_who_logs_in_with_the_email():
    out = run(
        "create_tenant",
        "acme",
        "--name=Acme After-Sales",
        "--admin-email=Boss@Acme.test",
        "--admin-password=Sturdy-pass-42",
        "--time-zone=Europe/Berlin",
        "--currency=eur",
    )
    assert "Created tenant “acme”" in out
    tenant = Tenant.objects.get(slug="acme")
    assert (tenant.name, tenant.time_zone, tenant.currency) == (
        "Acme After-Sales",
        "Europe/Berlin",
        "EUR",
    )
    assert set(Channel.objects.for_tenant(tenant).values_list("code", flat=True)) == {
        code for code, _ in DEFAULT_CHANNELS
    }
    status, body = token("boss@acme.test", "Sturdy-pass-42")
    assert status == 200, body
    assert (body["tenant"], body["role"]) == ("acme", Role.TENANT_ADMIN)
    assert token("boss@acme.test", "wrong-password")[0] == 401


def test_create_tenant_defaults_to_shanghai_and_cny():
    run(
        "create_tenant", "dflt", "--name=D", "--admin-email=a@d.test", "--admin-password=Sturdy-42x"
    )
    tenant = Tenant.objects.get(slug="dflt")
    assert (tenant.time_zone, tenant.currency) == ("Asia/Shanghai", "CNY")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["acme", "--admin-email=not-an-email"], "is not an e-mail address"),
        (["acme", "--currency=EURO"], "three-letter"),
        (["bad slug"], "slug"),
        (["acme", "--time-zone=Mars/Olympus"], "time_zone"),
        (["acme", "--admin-password=123"], "password"),
    ],
)
def test_create_tenant_refuses_bad_input_plainly(args, message):
    defaults = ["--name=Acme", "--admin-email=boss@acme.test", "--admin-password=Sturdy-pass-42"]
    given = {arg.split("=")[0] for arg in args}
    with pytest.raises(CommandError, match=message):
        run("create_tenant", *args, *[d for d in defaults if d.split("=")[0] not in given])
    assert not Tenant.objects.filter(slug="acme").exists()
    assert not User.objects.filter(email__iexact="boss@acme.test").exists()


def test_create_tenant_refuses_a_taken_slug():
    run(
        "create_tenant", "acme", "--name=A", "--admin-email=a@a.test", "--admin-password=Sturdy-42x"
    )
    with pytest.raises(CommandError, match="already exists"):
        run(
            "create_tenant",
            "acme",
            "--name=B",
            "--admin-email=b@a.test",
            "--admin-password=Sturdy-42x",
        )
    assert Tenant.objects.filter(slug="acme").count() == 1


# --- create_api_key ----------------------------------------------------------------------------


def test_create_api_key_prints_the_key_alone_on_the_last_line_and_it_authenticates(world):
    out = run("create_api_key", world.tenant.slug, "--name=erp-sync")
    key = out.rstrip("\n").splitlines()[-1]
    assert key.startswith("pk_") and " " not in key
    api_key = ApiKey.objects.for_tenant(world.tenant).get(name="erp-sync")
    assert api_key.key_hash == ApiKey.digest(key) and key not in api_key.key_hash
    assert sorted(api_key.scopes) == sorted(["orders", "coupons", "points", "master_data"])

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    response = client.put("/api/v1/regions/CLI-1", {"name": "From the CLI"}, format="json")
    assert response.status_code == 201, response.json()
    assert client.get("/api/v1/regions/CLI-1").json()["name"] == "From the CLI"
    assert AuditEntry.objects.for_tenant(world.tenant).filter(action="api_key.create").exists()


def test_create_api_key_limits_scopes(world):
    out = run("create_api_key", world.tenant.slug, "--name=orders-only", "--scopes=orders")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {out.splitlines()[-1]}")
    response = client.get("/api/v1/regions")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_create_api_key_refuses_bad_input(world):
    with pytest.raises(CommandError, match="No tenant “nope”"):
        run("create_api_key", "nope", "--name=x")
    with pytest.raises(CommandError, match="unknown bogus"):
        run("create_api_key", world.tenant.slug, "--name=x", "--scopes=orders,bogus")
    assert not ApiKey.objects.for_tenant(world.tenant).exists()


# --- seed_demo -----------------------------------------------------------------------------------


def demo_counts(tenant) -> dict[str, int]:
    counts = {
        model.__name__: model.objects.for_tenant(tenant).count()
        for model in (BusinessUnit, Region, Merchant, MerchantStaff, Customer, Membership, Channel)
    }
    counts["users"] = User.objects.count()
    counts["tenants"] = Tenant.objects.count()
    return counts


def test_seed_demo_loads_every_kind_and_a_second_run_adds_nothing():
    first = run("seed_demo", "--size=tiny")
    tenant = Tenant.objects.get(slug="demo")
    counts = demo_counts(tenant)
    size = SIZES["tiny"]
    assert counts["Region"] == REGION_COUNT == 1_111
    assert counts["Merchant"] == size.merchants
    assert counts["Customer"] == size.customers + 1  # and the portal shop's own record
    low, high = size.staff_per_merchant
    # the portal merchant's team is topped up to PORTAL_TEAM whatever the size drew for it
    most = high * size.merchants + max(PORTAL_TEAM - low, 0)
    assert low * size.merchants <= counts["MerchantStaff"] <= most
    assert MerchantStaff.objects.for_tenant(tenant).filter(merchant__code="M00001").count() >= (
        PORTAL_TEAM
    )
    members = dict(Membership.objects.for_tenant(tenant).values_list("user__username", "role"))
    assert {username: role for username, role, _ in DEMO_USERS}.items() <= members.items()
    assert {role for _, role, _ in DEMO_USERS} == set(Role.values)  # one login per role
    assert counts["Channel"] == len(DEFAULT_CHANNELS)

    regions = Region.objects.for_tenant(tenant)
    provinces = regions.filter(parent__isnull=True)
    assert provinces.count() == 31
    assert regions.filter(parent__parent__parent__isnull=True, parent__parent__isnull=False).count()
    customers = Customer.objects.for_tenant(tenant)
    assert not customers.filter(registered_on__isnull=True).exists()
    assert customers.exclude(tags=[]).exists() and customers.exclude(phone_fingerprint="").exists()

    # The logins are printed, one per role, with where to sign in.
    for username, role, _ in DEMO_USERS:
        assert username in first and role in first
    assert "http://127.0.0.1:8000/portal/" in first

    second = run("seed_demo", "--size=tiny")
    assert demo_counts(tenant) == counts
    assert "already there" in second and "0 created" in second


def test_seed_demo_users_log_in_with_their_role_and_scope():
    run("seed_demo", "--size=tiny")
    tenant = Tenant.objects.get(slug="demo")
    for username, role, _ in DEMO_USERS:
        status, body = token(username, DEMO_PASSWORD)
        assert status == 200, (username, body)
        assert body["role"] == role

    regional = Membership.objects.for_tenant(tenant).get(role=Role.REGIONAL_OPERATOR)
    granted = get_objects_for_user(
        regional.user,
        REGION_PERMISSION,
        klass=Region.objects.for_tenant(tenant),
        accept_global_perms=False,
    )
    assert sorted(granted.values_list("code", flat=True)) == ["GD", "ZJ"]
    actor = Actor(tenant=tenant, membership=regional)
    assert 2 < len(actor.region_ids) < REGION_COUNT  # the provinces and everything below them

    staff_member = Membership.objects.for_tenant(tenant).get(role=Role.MERCHANT_STAFF)
    staff = MerchantStaff.objects.for_tenant(tenant).get(user=staff_member.user)
    assert staff.merchant_id == staff_member.merchant_id
    assert (
        Membership.objects.for_tenant(tenant).get(role=Role.BU_ADMIN).business_unit.code
        == "AFTERSALES"
    )


# --- run_periodic and the beat schedule ---------------------------------------------------------

TICKS: list[str] = []


@shared_task(name="tests.test_commands.tick")
def tick() -> int:
    TICKS.append("tick")
    return 1


@shared_task(name="tests.test_commands.explode")
def explode() -> None:
    raise RuntimeError("boom")


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_periodic_runner_runs_each_task_when_its_time_has_come():
    TICKS.clear()
    clock = Clock()
    lines = []
    runner = PeriodicRunner(
        {"tick": {"task": "tests.test_commands.tick", "seconds": 60}}, log=lines.append, clock=clock
    )
    assert runner.run_due() == {"tick": True}  # every task is due at start
    clock.now += 30
    assert runner.run_due() == {}
    clock.now += 30
    assert runner.run_due() == {"tick": True}
    assert TICKS == ["tick", "tick"]


def test_periodic_runner_logs_a_failure_and_keeps_going():
    TICKS.clear()
    lines = []
    runner = PeriodicRunner(
        {
            "explode": {"task": "tests.test_commands.explode", "seconds": 5},
            "tick": {"task": "tests.test_commands.tick", "seconds": 5},
        },
        log=lines.append,
    )
    assert runner.run_due() == {"explode": False, "tick": True}
    assert TICKS == ["tick"]
    assert any("explode FAILED" in line and "boom" in line for line in lines)


def test_run_periodic_once_runs_the_configured_tasks():
    TICKS.clear()
    with override_settings(
        PERIODIC_TASKS={"tick": {"task": "tests.test_commands.tick", "seconds": 9}}
    ):
        out = run("run_periodic", "--once")
    assert TICKS == ["tick"] and "tick done" in out


def test_run_periodic_once_runs_the_projects_own_tasks():
    run("run_periodic", "--once")


def test_run_periodic_refuses_an_unknown_task():
    with (
        override_settings(PERIODIC_TASKS={"x": {"task": "no.such.task", "seconds": 9}}),
        pytest.raises(CommandError, match=r"no\.such\.task"),
    ):
        run("run_periodic", "--once")


def test_beat_runs_the_same_table():
    table = {"tick": {"task": "tests.test_commands.tick", "seconds": 90}}
    assert beat_schedule(table) == {"tick": {"task": "tests.test_commands.tick", "schedule": 90.0}}

    # What beat itself sees: a fresh process, the app configured from the real settings.
    script = (
        "import json, django; django.setup(); from config.celery import app; "
        "print(json.dumps(app.conf.beat_schedule, sort_keys=True))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == beat_schedule(settings.PERIODIC_TASKS)
    assert seen, "settings.PERIODIC_TASKS is empty: beat would have nothing to run"
