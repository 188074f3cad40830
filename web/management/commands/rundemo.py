"""The server of `make run`: the periodic loop in a background thread, then the dev server.

    manage.py rundemo [ADDR]        (default 127.0.0.1:8000)

On the embedded default (SQLite, Celery eager) nothing else runs the periodic services, so this
runs them beside the web server (SPEC §10 Time). The logins of the demo tenant are printed
before the server starts.
"""

import threading

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from accounts.demo import demo_logins, demo_tenant_get

from .run_periodic import PeriodicRunner
from .seed_demo import logins_table


class Command(BaseCommand):
    help = "Serve the demo: periodic tasks in a background thread plus runserver (no reloader)."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--interval", type=float, default=5.0)

    def handle(self, *args, addrport, interval, **options):
        host, _, port = addrport.rpartition(":")
        url = f"http://{host or '127.0.0.1'}:{port or addrport}"
        tenant = demo_tenant_get()
        if tenant is None:
            self.stdout.write("No demo tenant yet: run `manage.py seed_demo` for one.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Demo tenant “{tenant.slug}”, logins:"))
            self.stdout.write(logins_table(demo_logins(tenant), url=url))
            self.stdout.write(f"(Also in the README under “Demo logins”.) Open {url}/console/\n")

        # The loop prints only failures and tasks that did something, so the server log stays readable.
        runner = PeriodicRunner(settings.PERIODIC_TASKS, log=self.stdout.write, verbose=False)
        stop = threading.Event()
        thread = threading.Thread(
            target=runner.loop,
            kwargs={"interval": interval, "stop": stop},
            name="periodic",
            daemon=True,
        )
        thread.start()
        self.stdout.write(
            f"Periodic tasks: {', '.join(runner.tasks) or 'none'} (every check {interval:g} s)."
        )
        try:
            # No autoreloader: it would fork a second process with a second periodic loop.
            call_command("runserver", addrport, use_reloader=False)
        finally:
            stop.set()
