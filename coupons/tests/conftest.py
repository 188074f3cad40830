"""A Celery worker a test owns (and may kill), on a queue of its own."""

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

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class OwnWorker:
    """Start `celery worker` processes on one private queue; stop or SIGKILL them."""

    def __init__(self, log_dir: Path):
        self.queue = f"coupons-test-{uuid.uuid4().hex[:8]}"
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen] = []

    def start(self, **env) -> subprocess.Popen:
        parts = urlsplit(os.environ["DATABASE_URL"])
        database_url = urlunsplit(
            parts._replace(path="/" + quote(connection.settings_dict["NAME"]))
        )
        hostname = f"{self.queue}-{len(self.processes)}@pointsops"
        log = self.log_dir / f"worker-{len(self.processes)}.log"
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo"),
                *("-Q", self.queue, "-n", hostname, "--loglevel=INFO"),
                *("--without-gossip", "--without-mingle", "--without-heartbeat"),
            ],
            cwd=PROJECT_ROOT,
            env={
                **os.environ,
                "DATABASE_URL": database_url,
                "DJANGO_SETTINGS_MODULE": "config.settings",
                **{k: str(v) for k, v in env.items()},
            },
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        deadline = time.monotonic() + 60
        while not celery_app.control.ping(destination=[hostname], timeout=1):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Celery worker did not start:\n{log.read_text()[-3000:]}")
        return process

    def stop_all(self):
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@pytest.fixture
def own_worker(tmp_path, monkeypatch):
    """Jobs enqueued during the test go to this fixture's queue, not the shared worker's."""
    if not settings.REDIS_URL or settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.fail("The worker tests need REDIS_URL (Celery on Redis, not eager).")
    from coupons import tasks

    worker = OwnWorker(tmp_path)
    task = tasks.issuance_job_run
    monkeypatch.setattr(task, "delay", lambda *args: task.apply_async(args, queue=worker.queue))
    try:
        yield worker
    finally:
        worker.stop_all()
