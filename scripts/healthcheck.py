"""Container health checks of docker-compose.yml: `healthcheck.py web` or `healthcheck.py beat`.

web:  the console's login page answers 200 through gunicorn (templates, settings and
      middleware all work). It asks as the proxy would, for an allowed host over HTTPS, so
      neither ALLOWED_HOSTS nor the HTTPS redirect turn the check away.
beat: beat has stored every task of settings.PERIODIC_TASKS in its database schedule, so it
      started, reached the database and loaded the table.
"""

import http.client
import os
import sys


def check_web() -> bool:
    hosts = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
    host = next((h.lstrip(".") for h in hosts if h != "*"), "localhost")
    port = int(os.environ.get("PORT", "8000"))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request(
        "GET", "/console/login/", headers={"Host": host, "X-Forwarded-Proto": "https"}
    )
    status = connection.getresponse().status
    if status != 200:
        print(f"GET /console/login/ answered {status}")
    return status == 200


def check_beat() -> bool:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django_celery_beat.models import PeriodicTask

    missing = set(settings.PERIODIC_TASKS) - set(
        PeriodicTask.objects.filter(enabled=True).values_list("name", flat=True)
    )
    if missing:
        print(f"beat has not scheduled: {', '.join(sorted(missing))}")
    return not missing


if __name__ == "__main__":
    checks = {"web": check_web, "beat": check_beat}
    if len(sys.argv) != 2 or sys.argv[1] not in checks:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(checks)}")
    try:
        healthy = checks[sys.argv[1]]()
    except Exception as exc:  # any failure to check is unhealthy, with the reason in the log
        print(f"{sys.argv[1]} unhealthy: {exc!r}")
        healthy = False
    sys.exit(0 if healthy else 1)
