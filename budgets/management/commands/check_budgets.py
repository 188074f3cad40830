from django.core.management.base import BaseCommand, CommandError

from accounts.models import Tenant
from budgets.services import budgets_verify


class Command(BaseCommand):
    help = "Rebuild every budget's amount, reserved and spent from its entries; report mismatches."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="Only this tenant (slug).")

    def handle(self, *args, tenant=None, **options):
        scope = None
        if tenant:
            scope = Tenant.objects.filter(slug=tenant).first()
            if scope is None:
                raise CommandError(f"No tenant “{tenant}”.")
        mismatches = budgets_verify(tenant=scope)
        for m in mismatches:
            self.stderr.write(
                f"budget {m.budget_id} (tenant {m.tenant_id}): {m.field} is {m.stored}, "
                f"its entries say {m.rebuilt}"
            )
        if mismatches:
            raise CommandError(f"{len(mismatches)} mismatch(es) between budgets and entries.")
        self.stdout.write(self.style.SUCCESS("Every budget agrees with its entries."))
