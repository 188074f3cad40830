"""config/gunicorn.conf.py (issue 12 item 8): the request-line and header limits, as documented,
are what the image, compose and the benchmarks run with, and what a running gunicorn enforces."""

import runpy
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml
from gunicorn.config import Config

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "config" / "gunicorn.conf.py"
LIMITS = {"limit_request_line": 8190, "limit_request_fields": 100, "limit_request_field_size": 8190}


def test_the_config_sets_the_documented_limits():
    loaded = runpy.run_path(str(CONF))
    assert {name: loaded[name] for name in LIMITS} == LIMITS
    config = Config()
    for name, value in LIMITS.items():
        config.set(name, value)  # gunicorn accepts them (its validators)
        assert getattr(config, name) == value
    operations = (ROOT / "docs" / "operations.md").read_text()
    assert "config/gunicorn.conf.py" in operations
    assert (
        "| request line (method, path and query string, version) | 8190 bytes | 414" in operations
    )


def test_image_compose_and_benchmarks_run_gunicorn_with_it():
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = next(line for line in dockerfile.splitlines() if line.startswith("CMD "))
    assert '"--config", "config/gunicorn.conf.py"' in cmd
    web = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"]
    assert "--config=config/gunicorn.conf.py" in web["command"]
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import http_load
    finally:
        sys.path.remove(str(ROOT / "bench"))
    assert {name: getattr(http_load, name) for name in LIMITS} == LIMITS


def test_the_api_docs_state_the_limits(settings):
    description = settings.SPECTACULAR_SETTINGS["DESCRIPTION"]
    assert "8190 bytes gets 414" in description and "100 header fields" in description


APP = """
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def status_of(port: int, raw: bytes) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """gunicorn with the config, serving a stub app: the limits apply before any app runs."""
    folder = tmp_path_factory.mktemp("gunicorn")
    (folder / "stub_app.py").write_text(APP)
    port = free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "-c", str(CONF)),
            *("-b", f"127.0.0.1:{port}", "-w", "1", "--pythonpath", str(folder)),
            *("--log-level", "warning", "stub_app:app"),
        ],
        cwd=folder,
    )
    try:
        for _ in range(100):
            try:
                status_of(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def request(path: str = "/", headers: Sequence[str] = ()) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: x", "Connection: close", *headers, "", ""]
    return "\r\n".join(lines).encode()


def test_a_running_gunicorn_enforces_them(server):
    line = len("GET  HTTP/1.1")
    assert status_of(server, request()) == 200
    # Up to the limit it passes (gunicorn's default line limit, 4094, would refuse this one).
    assert status_of(server, request("/" + "a" * (8190 - line - 1))) == 200
    assert status_of(server, request("/" + "a" * 8190)) == 414
    assert status_of(server, request(headers=[f"X-H{i}: v" for i in range(98)])) == 200
    assert status_of(server, request(headers=[f"X-H{i}: v" for i in range(101)])) == 431
    assert status_of(server, request(headers=["X-Long: " + "v" * 8000])) == 200
    assert status_of(server, request(headers=["X-Long: " + "v" * 8190])) == 431
