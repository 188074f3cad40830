"""Create an integrator's API key for a tenant and print it once, alone on the last line.

    manage.py create_api_key SLUG --name NAME [--scopes orders,coupons,points,master_data]

Only the key's hash is stored: save the printed key now. Scripts take the last line:
`KEY=$(manage.py create_api_key acme --name erp | tail -n 1)`.
"""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import ApiKeyScope, Tenant
from accounts.permissions import Actor
from accounts.services import api_key_create
from core.errors import DomainError

from .create_tenant import command_error


class Command(BaseCommand):
    help = "Create an API key for a tenant; prints the key alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The tenant's slug")
        parser.add_argument("--name", required=True, help="Who uses the key, e.g. erp-sync")
        parser.add_argument(
            "--scopes",
            default="",
            help=f"Comma-separated, of {', '.join(ApiKeyScope.values)}; default all",
        )

    def handle(self, *args, slug, name, scopes, **options):
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant “{slug}”. Create it with create_tenant first.")
        if not name.strip():
            raise CommandError("--name must not be empty.")
        wanted = [scope.strip() for scope in scopes.split(",") if scope.strip()]
        unknown = sorted(set(wanted) - set(ApiKeyScope.values))
        if unknown:
            raise CommandError(
                f"--scopes: unknown {', '.join(unknown)}; choose from {', '.join(ApiKeyScope.values)}."
            )
        try:
            api_key, key = api_key_create(
                tenant=tenant,
                actor=Actor.for_system(tenant),
                name=name.strip(),
                scopes=wanted or None,
            )
        except DomainError as exc:
            raise command_error(exc) from exc
        self.stdout.write(
            f"API key “{api_key.name}” for {tenant.slug}, scopes {', '.join(api_key.scopes)}. "
            "It is shown only now; use it as `Authorization: Api-Key <key>`:"
        )
        self.stdout.write(key)
