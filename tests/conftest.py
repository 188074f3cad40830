"""Cross-app fixtures: a real Celery worker for job tests (ARCHITECTURE §4, §8)."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _test_database_url() -> str:
    """DATABASE_URL of the test database pytest-django created (test_<name>[_gwN])."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + quote(connection.settings_dict["NAME"])))


class CeleryWorker:
    def __init__(self, process: subprocess.Popen, hostname: str, queue: str):
        self.process = process
        self.hostname = hostname
        self.queue = queue

    def alive(self) -> bool:
        return self.process.poll() is None


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real `celery worker` on Redis against the test database, for the whole session.

    Tests that use it need `transaction=True` (the worker sees committed rows only) and
    `xdist_group("concurrency")` so one process owns the queue.
    """
    if not settings.REDIS_URL or settings.CELERY_TASK_ALWAYS_EAGER or not settings.IS_POSTGRES:
        pytest.fail("The worker tests need REDIS_URL and a PostgreSQL DATABASE_URL.")
    with django_db_blocker.unblock():
        database_url = _test_database_url()
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    hostname = f"pytest-{uuid.uuid4().hex[:8]}@pointsops"
    log = tmp_path_factory.mktemp("celery") / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_QUEUE": queue,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo"),
                *("-Q", queue, "-n", hostname, "--loglevel=INFO"),
                *("--without-gossip", "--without-mingle", "--without-heartbeat"),
                "--purge",  # drop tasks earlier tests enqueued for rows that are gone
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    worker = CeleryWorker(process, hostname, queue)
    try:
        deadline = time.monotonic() + 60
        while not celery_app.control.ping(destination=[worker.hostname], timeout=1):
            if not worker.alive() or time.monotonic() > deadline:
                pytest.fail(f"Celery worker did not start:\n{log.read_text()[-3000:]}")
        yield worker
    finally:
        if worker.alive():
            process.send_signal(signal.SIGTERM)  # warm shutdown: finish the task, close the DB
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def pytest_collection_modifyitems(config, items):
    """A test that uses the worker must run in the one xdist process that owns the queue."""
    for item in items:
        if "celery_worker" not in getattr(item, "fixturenames", ()):
            continue
        group = item.get_closest_marker("xdist_group")
        name = group and (group.args[0] if group.args else group.kwargs.get("name"))
        if name != "concurrency" or item.get_closest_marker("worker") is None:
            raise pytest.UsageError(
                f"{item.nodeid} uses celery_worker: mark it pytest.mark.worker and "
                'pytest.mark.xdist_group("concurrency").'
            )
