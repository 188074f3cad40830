"""docker-compose.yml and its Dockerfile (Docker itself cannot run on the test machines)."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def command(service: dict) -> str:
    value = service["command"]
    return value if isinstance(value, str) else " ".join(value)


def test_the_stack_has_its_five_services_and_a_migration_step(services):
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    assert command(services["migrate"]) == "python manage.py migrate --noinput"


def test_each_service_runs_what_it_is_named_for(services):
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert command(services["web"]).startswith(
        "gunicorn config.wsgi:application --bind=0.0.0.0:8000"
    )
    assert command(services["worker"]).startswith("celery -A config worker")
    assert command(services["beat"]).startswith("celery -A config beat")
    for name in ("web", "worker", "beat", "migrate"):
        assert services[name]["build"] == "."


def test_every_long_running_service_has_a_health_check(services):
    tests = {
        name: " ".join(services[name]["healthcheck"]["test"])
        for name in services
        if name != "migrate"
    }
    assert "pg_isready" in tests["postgres"]
    assert "redis-cli ping" in tests["redis"]
    assert "scripts/healthcheck.py web" in tests["web"]
    assert "inspect ping" in tests["worker"]
    assert "scripts/healthcheck.py beat" in tests["beat"]
    assert (ROOT / "scripts" / "healthcheck.py").exists()


def test_app_services_wait_for_healthy_backends_and_the_migrations(services):
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_app_services_run_on_postgres_and_redis_with_debug_off_and_a_required_secret(services):
    for name in ("web", "worker", "beat", "migrate"):
        env = services[name]["environment"]
        assert (
            env["DATABASE_URL"].startswith("postgres://")
            and "@postgres:5432/" in env["DATABASE_URL"]
        )
        assert env["REDIS_URL"].startswith("redis://redis:6379")
        assert env["DEBUG"] == "0"
        assert env["SECRET_KEY"].startswith(
            "${SECRET_KEY:?"
        )  # compose refuses to start without one


def test_dockerfile_builds_from_pyproject_and_npm_and_runs_unprivileged():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.M)
    assert "COPY pyproject.toml" in dockerfile and "pip install ." in dockerfile
    assert "npm ci" in dockerfile and "package-lock.json" in dockerfile
    assert "collectstatic --noinput" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "node_modules", ".git"} <= set(ignored)
