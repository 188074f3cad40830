"""Prove the points ledger: for every account, balance = Σ usable entries = Σ open lots and
pending = Σ pending entries = Σ pending lots. Exits 1 on any mismatch."""

import sys

from django.core.management.base import BaseCommand

from points.services import ledger_mismatches


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options):
        problems = ledger_mismatches()
        for problem in problems:
            self.stderr.write(f"account {problem['account']}: {'; '.join(problem['problems'])}")
        if problems:
            self.stderr.write(self.style.ERROR(f"{len(problems)} account(s) do not add up."))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS("Ledger clean: every account adds up."))
