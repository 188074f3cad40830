"""Load the demo tenant of SPEC §9 and print its logins.

    manage.py seed_demo [--size tiny|demo|full] [--url http://127.0.0.1:8000]

The tenant `demo` is created first (with its default channels and first admin, through
`accounts.services.tenant_create`); then every registered seed step runs in order. Steps live
in each app's `demo.py` and register with `core.demo.demo_step` — see core/demo.py for how a
later app adds its data (budgets, campaigns, coupons, orders, points, prizes). Running the
command again creates only what is missing and says what was already there.

Sizes: `demo` (default, what `make run` loads, about a minute at most on SQLite), `full`
(SPEC §9 at full scale, for PostgreSQL) and `tiny` (a few rows of each kind, for tests).
"""

import time

from django.core.management.base import BaseCommand

from accounts.demo import demo_tenant_ensure
from accounts.permissions import Actor
from core.demo import SIZES, DemoContext, DemoLogin, demo_steps, demo_today


def logins_table(logins: list[DemoLogin], *, url: str) -> str:
    """The logins as a plain-text table; console and portal users get their own address."""
    base = url.rstrip("/")
    rows = [("username", "password", "role", "sign in at", "scope")]
    seen = set()
    for login in logins:
        if login.username in seen:  # a step may report a user another step already listed
            continue
        seen.add(login.username)
        rows.append(
            (login.username, login.password, login.role, f"{base}/{login.where}/", login.note)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines.append("")
    lines.append(
        f"API: POST {base}/api/v1/auth/token with a username and password; docs at {base}/api/docs/"
    )
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Load the demo tenant (SPEC §9); safe to run again. Prints the logins at the end."

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=sorted(SIZES), default="demo")
        parser.add_argument(
            "--url",
            default="http://127.0.0.1:8000",
            help="Where the server runs, for the printed logins.",
        )

    def handle(self, *args, size, url, **options):
        started = time.monotonic()
        tenant, created = demo_tenant_ensure()
        self.stdout.write(
            f"Demo tenant “{tenant.slug}” ({tenant.name}): "
            + ("created" if created else "already there, adding what is missing")
        )
        ctx = DemoContext(
            tenant=tenant,
            actor=Actor.for_system(tenant),
            size=SIZES[size],
            today=demo_today(tenant),
            log=self.stdout.write,
        )
        for step in demo_steps():
            step_started = time.monotonic()
            report = step.func(ctx)
            self.stdout.write(f"  {report} ({time.monotonic() - step_started:.1f} s)")
        self.stdout.write(
            self.style.SUCCESS(f"Demo ready in {time.monotonic() - started:.1f} s. Logins:")
        )
        self.stdout.write(logins_table(ctx.logins, url=url))
