"""What the HTTP benchmarks share: a scratch database, the gunicorn server, the client threads
that load it, the summary of a measurement and the writer of a docs/benchmarks.md section.

Also the server's gunicorn config module (`-c python:http_load`, for `post_fork`).
"""

import http.client
import json
import os
import runpy
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 32
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
THREADS = int(os.environ.get("BENCH_THREADS", "8"))
SWITCH_INTERVAL = float(os.environ.get("BENCH_SWITCH_INTERVAL", "0.0005"))

# gunicorn reads its settings from this module (`-c python:http_load`): production's request-line
# and header limits (config/gunicorn.conf.py), so the measured server refuses what production does.
_PRODUCTION = runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))
limit_request_line = _PRODUCTION["limit_request_line"]
limit_request_fields = _PRODUCTION["limit_request_fields"]
limit_request_field_size = _PRODUCTION["limit_request_field_size"]


def django_env(database: str) -> None:
    """The settings a benchmark runs under, before Django is set up: `database` unless
    DATABASE_URL names another, no throttling (the load is the point)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{database}")
    os.environ.setdefault(
        "SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
    )
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ["THROTTLE_API_KEY"] = "100000000/min"
    os.environ.setdefault("LOG_LEVEL", "WARNING")


def ensure_database(url: str) -> None:
    """Drop and create the database `url` names: only a benchmark's own (pointsops_bench…), so
    an exported DATABASE_URL of a real database is refused, never dropped."""
    import psycopg2
    from psycopg2.extensions import ISOLATION_LEVEL_AUTOCOMMIT

    base, name = url.rsplit("/", 1)
    if not name.startswith("pointsops_bench"):
        raise SystemExit(f"Refusing to drop {name!r}: benchmarks use databases pointsops_bench…")
    conn = psycopg2.connect(f"{base}/postgres")
    conn.set_isolation_level(ISOLATION_LEVEL_AUTOCOMMIT)
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone():
            cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def port(default: int) -> int:
    """BENCH_PORT, so that two benchmarks (two engineers) can run at once."""
    return int(os.environ.get("BENCH_PORT", default))


def post_fork(server, worker):
    """Gunicorn hook: a short GIL switch interval, so a request thread that holds a row lock
    gets the GIL back right after each query instead of waiting out its siblings' 5 ms
    slices. Same server for every HTTP figure."""
    sys.setswitchinterval(SWITCH_INTERVAL)


def start_server(port: int) -> subprocess.Popen:
    """gunicorn (WORKERS x THREADS, gthread) on 127.0.0.1:port, once it answers an API route
    (a 401: no template, so no collected static files needed)."""
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.wsgi",
            *("-b", f"127.0.0.1:{port}", "-w", str(WORKERS), "-k", "gthread"),
            # Same server for every HTTP figure; BENCH_WORKERS/BENCH_THREADS to try others.
            *("--threads", str(THREADS), "--log-level", "warning", "-c", "python:http_load"),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'bench'}:{ROOT}"},
    )
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/api/v1/orders")
            conn.getresponse().read()
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not start")


class Client:
    """JSON calls to the server, each client thread on its own keep-alive connection."""

    def __init__(self, port: int, key: str):
        self.port = port
        self.headers = {"Authorization": f"Api-Key {key}", "Content-Type": "application/json"}
        self.local = threading.local()

    def call(self, method: str, path: str, body=None, expect: int = 200) -> tuple[bool, tuple]:
        """(whether the status is `expect`, (status, the answer's first 300 bytes))."""
        if not hasattr(self.local, "conn"):
            self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn = self.local.conn
        conn.request(method, path, json.dumps(body) if body is not None else None, self.headers)
        response = conn.getresponse()
        answer = response.read()
        return response.status == expect, (response.status, answer[:300])


def run_clients(seconds: float, work) -> tuple[list[float], list]:
    """CLIENTS threads calling work(i, n) -> (ok, detail) until the deadline or StopIteration;
    latencies in s and failures."""
    latencies: list[list[float]] = [[] for _ in range(CLIENTS)]
    failures: list = []
    deadline = time.perf_counter() + seconds

    def client(i: int):
        n = 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                ok, detail = work(i, n)
            except StopIteration:
                break
            latencies[i].append(time.perf_counter() - started)
            if not ok:
                if not failures:
                    print("first failure:", detail, file=sys.stderr)
                failures.append(detail)
            n += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [x for per in latencies for x in per], failures


def summary(name: str, latencies: list[float], failures: list, seconds: float) -> dict:
    ordered = sorted(latencies)
    return {
        "name": name,
        "count": len(ordered),
        "errors": len(failures),
        "per_second": len(ordered) / seconds,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[max(int(len(ordered) * 0.99) - 1, 0)] * 1000,
    }


def print_rows(rows: list[dict]) -> None:
    for row in rows:
        print(
            f"{row['name']:<34} {row['per_second']:8.0f}/s  p50 {row['p50_ms']:7.1f} ms  "
            f"p99 {row['p99_ms']:7.1f} ms  ({row['count']} requests, {row['errors']} errors)"
        )


def load_note(before: tuple) -> str:
    return (
        f"Load average (1 min) {before[0]:.1f} before the measurements, "
        f"{os.getloadavg()[0]:.1f} after."
    )


def replace_section(title: str, section: str) -> str:
    """Put `section` in place of the one starting with `title`, or append it; nothing else in
    the file changes (other benchmarks own their sections)."""
    path = ROOT / "docs" / "benchmarks.md"
    current = path.read_text() if path.exists() else "# Benchmarks\n\n"
    start = current.find(title)
    if start == -1:
        updated = current.rstrip("\n") + "\n\n" + section
    else:
        end = current.find("\n## ", start + len(title))
        updated = current[:start] + section + (current[end:] if end != -1 else "")
    path.write_text(updated)
    return str(path)
