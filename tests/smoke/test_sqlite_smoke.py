"""The newcomer's path on the embedded default, inside the PostgreSQL run of `make test`.

In subprocesses with a temporary SQLite file and neither DATABASE_URL nor REDIS_URL (so SQLite
and eager Celery, exactly like `make run`): migrate, seed_demo at its default size,
create_api_key, then `rundemo` (dev server + periodic loop) and the main API flows over HTTP.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.smoke

ROOT = Path(__file__).resolve().parents[2]
ADMIN = ("admin@demo.example.com", "double11-demo")


@pytest.fixture
def sqlite_env(tmp_path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "CELERY_QUEUE"}
    }
    env.update(
        DEBUG="1",
        SQLITE_PATH=str(tmp_path / "smoke.sqlite3"),
        PYTHONUNBUFFERED="1",
        SECRET_KEY="smoke-test-only-secret",
    )
    return env


def manage(env: dict, *args: str, timeout: int = 180) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, (
        f"manage.py {' '.join(args)} exited {done.returncode}\n"
        f"--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}"
    )
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Http:
    def __init__(self, base: str):
        self.base = base

    def call(self, method: str, path: str, body=None, auth: str = "", headers=None):
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        if auth:
            request.add_header("Authorization", auth)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null"), response.headers
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null"), error.headers


def wait_until_serving(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"rundemo exited {server.returncode}:\n{log.read_text()}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answers; the status is the flows' business
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"rundemo did not answer within 60 s:\n{log.read_text()}")


def test_make_run_path_on_sqlite(sqlite_env, tmp_path):
    manage(sqlite_env, "migrate", "--noinput")
    started = time.monotonic()
    seeded = manage(sqlite_env, "seed_demo")
    assert time.monotonic() - started < 120, (
        "seed_demo at the demo size should take about a minute at most"
    )
    assert "demo-regional" in seeded and "/portal/" in seeded
    key = manage(sqlite_env, "create_api_key", "demo", "--name=smoke").splitlines()[-1]
    manage(sqlite_env, "run_periodic", "--once")

    port = free_port()
    log = tmp_path / "rundemo.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "rundemo", f"127.0.0.1:{port}", "--interval=1"],
            cwd=ROOT,
            env=sqlite_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(f"{base}/console/login/", server, log)
        api_flows(Http(f"{base}/api/v1"), key)
        with urllib.request.urlopen(f"{base}/console/login/", timeout=10) as page:
            assert page.status == 200
    except BaseException:
        print(log.read_text())
        raise
    finally:
        server.terminate()
        server.wait(timeout=20)
    printed = log.read_text()
    assert "demo-staff" in printed and "Periodic tasks:" in printed


def api_flows(http: Http, key: str) -> None:
    api_key = f"Api-Key {key}"

    # A console user's token, then who am I.
    status, body, _ = http.call("POST", "/auth/token", {"username": ADMIN[0], "password": ADMIN[1]})
    assert status == 200, body
    user_token = f"Token {body['token']}"
    status, me, _ = http.call("GET", "/me", auth=user_token)
    assert (status, me["role"], me["tenant"]) == (200, "tenant_admin", "demo"), me

    # Master data upserts by code with the integrator's key: create, then update.
    status, body, _ = http.call(
        "PUT", "/regions/SMOKE-R", {"name": "Smoke zone", "parent": "GD"}, auth=api_key
    )
    assert (status, body["parent"]) == (201, "GD"), body
    status, body, _ = http.call(
        "PUT", "/regions/SMOKE-R", {"name": "Smoke zone 2", "parent": "GD"}, auth=api_key
    )
    assert (status, body["name"]) == (200, "Smoke zone 2"), body
    merchant = {"name": "Smoke repair", "region": "SMOKE-R"}
    status, body, _ = http.call("PUT", "/merchants/SMOKE-M", merchant, auth=api_key)
    assert status == 201, body
    staff = {"name": "Smoke staff", "merchant": "SMOKE-M", "phone": "13800000000"}
    status, body, _ = http.call("PUT", "/staff/SMOKE-S", staff, auth=api_key)
    assert status == 201, body
    customer = {
        "name": "Smoke customer",
        "region": "SMOKE-R",
        "registered_on": "2026-11-01",
        "tags": ["vip", "new"],
        "phone": "13900000000",
    }
    status, body, _ = http.call(
        "PUT", "/customers/SMOKE-C", customer, auth=api_key, headers={"Idempotency-Key": "smoke-1"}
    )
    assert (status, body["tags"]) == (201, ["new", "vip"]), body
    status, replay, headers = http.call(
        "PUT", "/customers/SMOKE-C", customer, auth=api_key, headers={"Idempotency-Key": "smoke-1"}
    )
    assert (status, replay, headers.get("Idempotent-Replayed")) == (201, body, "true")

    # Read them back, with the key and with the user's token.
    for path, field, value in [
        ("/regions/SMOKE-R", "name", "Smoke zone 2"),
        ("/merchants/SMOKE-M", "region", "SMOKE-R"),
        ("/staff/SMOKE-S", "merchant", "SMOKE-M"),
        ("/customers/SMOKE-C", "region", "SMOKE-R"),
    ]:
        for auth in (api_key, user_token):
            status, body, _ = http.call("GET", path, auth=auth)
            assert (status, body.get(field)) == (200, value), (path, body)
    status, page, _ = http.call("GET", "/regions?search=SMOKE", auth=api_key)
    assert (status, page["count"]) == (200, 1), page
    status, page, _ = http.call("GET", "/customers?page_size=1", auth=user_token)
    all_customers = page["count"]
    assert status == 200 and all_customers > 1000, page

    # The regional operator sees their provinces' customers only (the new one is in GD).
    status, body, _ = http.call(
        "POST", "/auth/token", {"username": "demo-regional", "password": ADMIN[1]}
    )
    assert status == 200, body
    regional = f"Token {body['token']}"
    status, page, _ = http.call("GET", "/customers?page_size=1", auth=regional)
    assert status == 200 and 0 < page["count"] < all_customers, page
    assert http.call("GET", "/customers/SMOKE-C", auth=regional)[0] == 200

    # The error shape, and an API key kept away from management endpoints.
    status, body, _ = http.call("GET", "/regions/NOPE", auth=api_key)
    assert (status, body["code"]) == (404, "not_found"), body
    status, body, _ = http.call("GET", "/users", auth=api_key)
    assert (status, body["code"]) == (403, "permission_denied"), body
    status, body, _ = http.call("GET", "/regions")
    assert (status, body["code"]) == (401, "not_authenticated"), body
