"""The login brake (issue 12 item 6): django-axes on the console, admin and token logins, keyed by
username and client address, audited; and the client address taken from trusted proxies only."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.roles import Role
from accounts.tests.factories import PASSWORD, MembershipFactory
from core.client_ip import client_ip
from core.models import AuditEntry
from core.testing import throttle_rates

pytestmark = pytest.mark.django_db
TOKEN = "/api/v1/auth/token"
CONSOLE_LOGIN = reverse("accounts:login")
ADMIN_LOGIN = "/admin/login/"
ATTACKER = "203.0.113.7"
ELSEWHERE = "198.51.100.20"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_anonymous_limit():
    # Fifty guesses from one address would meet the anonymous API rate limit first; the brake
    # under test is axes'. The rate limit has its own tests below.
    with throttle_rates(anon="100000/min"):
        yield


def console_login(username, password, ip=ATTACKER, **extra):
    client = Client(REMOTE_ADDR=ip, **extra)
    return client, client.post(CONSOLE_LOGIN, {"username": username, "password": password})


def admin_login(username, password, ip=ATTACKER):
    client = Client(REMOTE_ADDR=ip)
    return client, client.post(
        ADMIN_LOGIN, {"username": username, "password": password, "next": "/admin/"}
    )


def token(username, password, ip=ATTACKER, **extra):
    return APIClient(REMOTE_ADDR=ip).post(
        TOKEN, {"username": username, "password": password}, format="json", **extra
    )


def lock_audits(user):
    return AuditEntry.objects.unscoped().filter(action="user.locked_out", object_id=str(user.pk))


def test_defaults_come_from_the_environment_settings():
    # config/settings.py: LOGIN_FAILURE_LIMIT=10, LOGIN_COOLOFF_MINUTES=15 unless set.
    assert settings.AXES_ENABLED
    assert settings.AXES_FAILURE_LIMIT == 10
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesBackend"
    assert "guardian.backends.ObjectPermissionBackend" in settings.AUTHENTICATION_BACKENDS


def test_the_environment_sets_limit_cool_off_and_trusted_proxies():
    script = (
        "from config import settings as s; "
        "print(s.AXES_FAILURE_LIMIT, int(s.AXES_COOLOFF_TIME.total_seconds()), "
        "s.REST_FRAMEWORK['NUM_PROXIES'])"
    )
    env = {
        **os.environ,
        "LOGIN_FAILURE_LIMIT": "4",
        "LOGIN_COOLOFF_MINUTES": "2",
        "TRUSTED_PROXIES": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["4", "120", "1"]


class TestConsoleLogin:
    def test_fifty_wrong_passwords_lock_that_address_out_and_not_another(self, world):
        user = world.members[Role.OPERATOR].user
        for _ in range(50):
            _client, response = console_login(user.username, "wrong-password")
        client, response = console_login(user.username, PASSWORD)
        assert response.status_code == 429
        page = response.content.decode()
        # The login page with a message, not axes' bare text.
        assert 'name="username"' in page and "Too many failed logins" in page
        assert "_auth_user_id" not in client.session

        client, response = console_login(user.username, PASSWORD, ip=ELSEWHERE)
        assert response.status_code == 302
        assert client.session["_auth_user_id"] == str(user.pk)

    def test_the_message_is_translated(self, world):
        user = world.members[Role.OPERATOR].user
        for _ in range(settings.AXES_FAILURE_LIMIT):
            console_login(user.username, "wrong-password")
        _client, response = console_login(user.username, PASSWORD, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert response.status_code == 429
        assert "登录失败次数过多" in response.content.decode()

    def test_the_lock_counts_the_account_however_it_is_spelled(self, world):
        user = world.members[Role.OPERATOR].user
        spellings = [user.username, user.email, user.email.upper(), user.email.title()]
        for i in range(settings.AXES_FAILURE_LIMIT):
            console_login(spellings[i % len(spellings)], "wrong-password")
        _client, response = console_login(user.email.swapcase(), PASSWORD)
        assert response.status_code == 429

    def test_below_the_limit_the_right_password_works_and_clears_the_count(self, world):
        user = world.members[Role.OPERATOR].user
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            _client, response = console_login(user.username, "wrong-password")
            assert response.status_code == 200
            assert "Wrong username, e-mail or password." in response.content.decode()
        assert console_login(user.username, PASSWORD)[1].status_code == 302
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            console_login(user.username, "wrong-password")
        assert console_login(user.username, PASSWORD)[1].status_code == 302

    def test_the_lock_is_audited_once_in_each_tenant_of_the_user(self, world, other_world):
        user = world.members[Role.OPERATOR].user
        MembershipFactory(tenant=other_world.tenant, user=user, role=Role.AUDITOR)
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            console_login(user.username, "wrong-password")
        assert not lock_audits(user).exists()
        for _ in range(settings.AXES_FAILURE_LIMIT + 5):  # the lock, then refused attempts
            console_login(user.username, "wrong-password")
        console_login(user.username, PASSWORD)

        entries = list(lock_audits(user))
        assert {e.tenant_id for e in entries} == {world.tenant.pk, other_world.tenant.pk}
        assert len(entries) == 2  # one lock, one entry per tenant
        entry = entries[0]
        assert entry.actor_label == "system" and entry.object_type == "accounts.user"
        assert entry.after["username"] == user.username
        assert entry.after["ip_address"] == ATTACKER
        assert entry.after["failures"] == settings.AXES_FAILURE_LIMIT
        assert entry.after["path"] == CONSOLE_LOGIN

    def test_an_unknown_username_locks_but_audits_nothing(self, world):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            console_login("nobody-at-all", "wrong-password")
        assert console_login("nobody-at-all", "x")[1].status_code == 429
        assert not AuditEntry.objects.unscoped().filter(action="user.locked_out").exists()


class TestAdminLogin:
    def test_fifty_wrong_passwords_lock_that_address_out_and_not_another(self, db):
        root = get_user_model().objects.create_superuser("root", "root@example.test", PASSWORD)
        for _ in range(50):
            admin_login(root.username, "wrong-password")
        client, response = admin_login(root.username, PASSWORD)
        assert response.status_code == 429
        page = response.content.decode()
        assert 'name="username"' in page and "Too many failed logins" in page
        assert "_auth_user_id" not in client.session

        client, response = admin_login(root.username, PASSWORD, ip=ELSEWHERE)
        assert response.status_code == 302 and response["Location"] == "/admin/"
        assert client.get("/admin/").status_code == 200


class TestTokenLogin:
    def test_fifty_wrong_passwords_lock_that_address_out_and_not_another(self, world):
        user = world.members[Role.OPERATOR].user
        for _ in range(50):
            response = token(user.username, "wrong-password")
            assert response.status_code in (401, 429)
        response = token(user.username, PASSWORD)
        assert response.status_code == 429
        body = response.json()
        assert set(body) == {"code", "detail", "fields"} and body["code"] == "locked_out"
        assert body["detail"] and body["fields"] == {}
        assert int(response["Retry-After"]) == 15 * 60

        response = token(user.username, PASSWORD, ip=ELSEWHERE)
        assert response.status_code == 200 and response.json()["token"]
        assert lock_audits(user).filter(tenant=world.tenant).count() == 1

    def test_below_the_limit_a_wrong_password_is_still_401(self, world):
        user = world.members[Role.OPERATOR].user
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            response = token(user.username, "wrong-password")
            assert response.status_code == 401
            assert response.json()["code"] == "authentication_failed"
        assert token(user.username, PASSWORD).status_code == 200

    def test_console_and_token_count_the_same_pair(self, world):
        user = world.members[Role.OPERATOR].user
        for _ in range(settings.AXES_FAILURE_LIMIT):
            console_login(user.username, "wrong-password")
        assert token(user.username, PASSWORD).json()["code"] == "locked_out"

    def test_api_keys_and_tokens_are_not_affected_by_a_lock(self, world):
        user = world.members[Role.OPERATOR].user
        issued = token(user.username, PASSWORD).json()["token"]
        for _ in range(settings.AXES_FAILURE_LIMIT):
            token(user.username, "wrong-password")
        assert token(user.username, PASSWORD).status_code == 429
        holder = APIClient(REMOTE_ADDR=ATTACKER)
        holder.credentials(HTTP_AUTHORIZATION=f"Token {issued}")
        assert holder.get("/api/v1/me").status_code == 200
        assert world.key_client().get("/api/v1/regions").status_code == 200

    def test_the_locked_out_code_is_in_the_schema(self, db):
        schema = APIClient().get("/api/schema/?format=json").json()
        assert (
            "locked_out"
            in schema["components"]["schemas"]["Error"]["properties"]["code"]["x-codes"]
        )


# --- the client address: X-Forwarded-For only from trusted proxies ---------------------------------


def proxies(n: int):
    return override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "NUM_PROXIES": n})


def anonymous_call(ip=ATTACKER, forwarded=None):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    # No body: a 400 from the view, once the throttle let the call through.
    return APIClient(REMOTE_ADDR=ip).post(TOKEN, {}, format="json", **headers)


def test_spoofed_forwarded_for_does_not_escape_the_anonymous_limit(db):
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0  # the default: no proxy is trusted
    with throttle_rates(anon="3/min"):
        for i in range(3):
            assert anonymous_call(forwarded=f"10.0.0.{i}").status_code == 400
        response = anonymous_call(forwarded="10.0.0.99")
        assert response.status_code == 429 and response.json()["code"] == "throttled"
        assert anonymous_call(ip=ELSEWHERE).status_code == 400


def test_behind_one_proxy_its_forwarded_address_is_the_client(db):
    proxy = "10.1.1.1"
    with proxies(1), throttle_rates(anon="3/min"):
        for i in range(3):
            # Whatever the client put before the proxy's own entry is not believed.
            call = anonymous_call(ip=proxy, forwarded=f"6.6.6.{i}, {ATTACKER}")
            assert call.status_code == 400
        assert anonymous_call(ip=proxy, forwarded=ATTACKER).status_code == 429
        assert anonymous_call(ip=proxy, forwarded=ELSEWHERE).status_code == 400


def test_axes_uses_the_same_client_address(world):
    user = world.members[Role.OPERATOR].user
    with proxies(0):
        for i in range(settings.AXES_FAILURE_LIMIT):
            console_login(user.username, "wrong", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}")
        _client, response = console_login(user.username, PASSWORD, HTTP_X_FORWARDED_FOR="1.2.3.4")
        assert response.status_code == 429
    proxy = "10.1.1.1"
    with proxies(1):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            console_login(user.username, "wrong", ip=proxy, HTTP_X_FORWARDED_FOR=ATTACKER)
        refused = console_login(user.username, PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR=ATTACKER)
        assert refused[1].status_code == 429
        allowed = console_login(user.username, PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR=ELSEWHERE)
        assert allowed[1].status_code == 302


@pytest.mark.parametrize(
    ("num_proxies", "forwarded", "expected"),
    [
        (0, "1.1.1.1", "192.0.2.1"),
        (1, None, "192.0.2.1"),
        (1, "1.1.1.1, 2.2.2.2", "2.2.2.2"),
        (2, "1.1.1.1, 2.2.2.2", "1.1.1.1"),
        (3, "2.2.2.2", "2.2.2.2"),
        (1, "not-an-address", "192.0.2.1"),
        (1, " 2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_client_ip(num_proxies, forwarded, expected):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.1", **headers)
    with proxies(num_proxies):
        assert client_ip(request) == expected
