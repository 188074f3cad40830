"""Run the periodic services in-process, for a machine without Celery beat (SPEC §10 Time).

    manage.py run_periodic [--once] [--interval N]

Every `--interval` seconds it runs each task of `settings.PERIODIC_TASKS`
(`{"name": {"task": "dotted.celery.task", "seconds": N}}`) whose time has come; at start every
task is due. `--once` runs each task one time and exits. In production Celery beat runs the
same table (config/celery.py builds its schedule from it); `make run` runs this loop beside the
web server through `rundemo`, so campaigns start and points expire on SQLite too.
"""

import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections


def _did_something(result) -> bool:
    """A task's return value says so: a non-zero count, or a dict of counts with one non-zero."""
    return any(result.values()) if isinstance(result, dict) else bool(result)


class PeriodicRunner:
    """Which tasks are due and running them; the clock is injectable so tests need not sleep."""

    def __init__(
        self,
        periodic_tasks: dict[str, dict],
        *,
        log: Callable[[str], None] = print,
        verbose: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ):
        from config.celery import app

        app.loader.import_default_modules()  # every app's tasks.py, as a worker would load them
        unknown = sorted(
            spec["task"] for spec in periodic_tasks.values() if spec["task"] not in app.tasks
        )
        if unknown:
            raise CommandError(f"PERIODIC_TASKS names unknown Celery tasks: {', '.join(unknown)}")
        self.tasks = {
            name: (app.tasks[spec["task"]], spec["seconds"])
            for name, spec in periodic_tasks.items()
        }
        self.clock = clock
        self.log = log
        self.verbose = verbose
        self.next_due = dict.fromkeys(self.tasks, clock())

    def due(self) -> list[str]:
        now = self.clock()
        return [name for name, when in self.next_due.items() if when <= now]

    def run_due(self) -> dict[str, bool]:
        """Run every due task once, in-process; a failing task is logged, the others still run."""
        outcome = {}
        for name in self.due():
            task, seconds = self.tasks[name]
            self.next_due[name] = self.clock() + seconds
            started = time.monotonic()
            result = task.apply(throw=False)  # a failure is logged, never ends the loop
            elapsed = time.monotonic() - started
            outcome[name] = not result.failed()
            if result.failed():
                self.log(f"[periodic] {name} FAILED after {elapsed:.2f} s:\n{result.traceback}")
            elif self.verbose or _did_something(result.result):
                self.log(f"[periodic] {name} done in {elapsed:.2f} s: {result.result!r}")
        return outcome

    def loop(self, *, interval: float, stop: threading.Event) -> None:
        while not stop.is_set():
            # Like a request: drop connections that broke or outlived CONN_MAX_AGE between rounds.
            close_old_connections()
            self.run_due()
            close_old_connections()
            stop.wait(interval)


class Command(BaseCommand):
    help = "Run settings.PERIODIC_TASKS in-process in a loop (or once): beat for make run."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run every task once and exit.")
        parser.add_argument(
            "--interval", type=float, default=5.0, help="Seconds between checks (default 5)."
        )

    def handle(self, *args, once, interval, **options):
        if interval <= 0:
            raise CommandError("--interval must be positive.")
        runner = PeriodicRunner(settings.PERIODIC_TASKS, log=self.stdout.write)
        if once:
            outcome = runner.run_due()
            if not all(outcome.values()):
                failed = ", ".join(name for name, ok in outcome.items() if not ok)
                raise CommandError(f"Failed: {failed}")
            return
        self.stdout.write(
            f"Running {len(runner.tasks)} periodic task(s), checking every {interval:g} s. "
            "Ctrl-C stops."
        )
        try:
            runner.loop(interval=interval, stop=threading.Event())
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
