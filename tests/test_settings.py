"""Settings from the environment (issue 3 item 2), each checked in a fresh interpreter.

Settings are read once per process, so every case runs `manage.py` or a short script in a
subprocess with exactly the environment it describes.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What the cases set themselves; DJANGO_ALLOW_ASYNC_UNSAFE is the test run's, never production's.
SERVICE_VARS = {
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "SQLITE_PATH",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}

SHOW_SETTINGS = """
import json, django
django.setup()
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"],
    "name": str(db["NAME"]),
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "broker": settings.CELERY_BROKER_URL,
    "cache": settings.CACHES["default"]["BACKEND"],
    "debug": settings.DEBUG,
}))
"""


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env.update(values)
    return env


def run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def settings_seen(**values: str) -> dict:
    done = run(["-c", SHOW_SETTINGS], clean_env(**values))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def production_env(tmp_path) -> dict[str, str]:
    return clean_env(
        SECRET_KEY=secrets.token_urlsafe(50)[:50],
        ALLOWED_HOSTS="example.com",
        DEBUG="0",
        SQLITE_PATH=str(tmp_path / "deploy.sqlite3"),
    )


def test_deploy_security_checks_pass_with_debug_off_and_real_secrets(tmp_path):
    done = run(
        ["manage.py", "check", "--deploy", "--tag", "security", "--fail-level", "WARNING"],
        production_env(tmp_path),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_check_deploy_reports_nothing(tmp_path):
    """Every check, not only security: the schema, the models and the URLs too."""
    done = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues (0 silenced)." in done.stdout


def test_debug_off_without_a_secret_key_refuses_to_serve():
    done = run(["-c", "import config.wsgi"], clean_env(DEBUG="0"))
    assert done.returncode != 0
    assert "SECRET_KEY must be set" in done.stderr


def test_management_commands_run_without_a_secret_key(tmp_path):
    done = run(
        ["manage.py", "makemigrations", "--check", "--dry-run"],
        clean_env(SQLITE_PATH=str(tmp_path / "x.sqlite3")),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No changes detected" in done.stdout


def test_check_deploy_flags_the_placeholder_secret_key(tmp_path):
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    done = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert done.returncode != 0
    assert "security.W009" in done.stdout + done.stderr


def test_no_database_url_means_sqlite_and_no_redis_url_means_eager_celery(tmp_path):
    seen = settings_seen(DEBUG="1", SQLITE_PATH=str(tmp_path / "x.sqlite3"))
    assert seen["engine"] == "django.db.backends.sqlite3"
    assert seen["name"] == str(tmp_path / "x.sqlite3")
    assert seen["eager"] is True
    assert seen["broker"] == "memory://"
    assert seen["cache"].endswith("LocMemCache")


def test_database_url_and_redis_url_switch_to_postgres_and_a_real_broker():
    seen = settings_seen(
        DEBUG="1",
        DATABASE_URL="postgres://app:pw@db.internal:5432/pointsops",
        REDIS_URL="redis://cache.internal:6379/2",
    )
    assert seen["engine"] == "django.db.backends.postgresql"
    assert seen["name"] == "pointsops"
    assert seen["eager"] is False
    assert seen["broker"] == "redis://cache.internal:6379/2"
    assert seen["cache"].endswith("RedisCache")
