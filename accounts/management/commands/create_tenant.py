"""Create a tenant with its default channels and its first tenant admin (SPEC §8 command line).

    manage.py create_tenant SLUG --name NAME --admin-email E --admin-password P
                            [--time-zone Asia/Shanghai] [--currency CNY]

The admin logs in (console or POST /api/v1/auth/token) with the e-mail address and password.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from accounts.services import tenant_create
from core.errors import DomainError


def command_error(exc: DomainError) -> CommandError:
    """A service's refusal as one readable line per field."""
    lines = [exc.detail] + [
        f"  {field}: {' '.join(str(m) for m in messages)}" for field, messages in exc.fields.items()
    ]
    return CommandError("\n".join(lines))


class Command(BaseCommand):
    help = "Create a tenant, its default channels and its first tenant admin."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="Short name in URLs and API calls, e.g. acme")
        parser.add_argument("--name", required=True, help="Display name")
        parser.add_argument("--admin-email", required=True, help="The first admin logs in with it")
        parser.add_argument("--admin-password", required=True)
        parser.add_argument("--time-zone", default="", help="IANA name; default Asia/Shanghai")
        parser.add_argument("--currency", default="", help="ISO 4217 code; default CNY")

    def handle(self, *args, slug, name, admin_email, admin_password, time_zone, currency, **opts):
        try:
            validate_email(admin_email)
        except ValidationError as exc:
            raise CommandError(f"--admin-email: “{admin_email}” is not an e-mail address.") from exc
        currency = currency.strip().upper()
        if currency and not (len(currency) == 3 and currency.isalpha()):
            raise CommandError(f"--currency: “{currency}” is not a three-letter ISO 4217 code.")
        try:
            tenant = tenant_create(
                slug=slug,
                name=name,
                admin_email=admin_email,
                admin_password=admin_password,
                time_zone=time_zone,
                currency=currency,
            )
        except DomainError as exc:
            raise command_error(exc) from exc
        except ValidationError as exc:  # Tenant.full_clean: slug, time zone
            details = "\n".join(
                f"  {field}: {' '.join(messages)}" for field, messages in exc.message_dict.items()
            )
            raise CommandError(f"The tenant could not be created:\n{details}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Created tenant “{tenant.slug}” ({tenant.name}, {tenant.time_zone}, "
                f"{tenant.currency}); its admin logs in as {admin_email}."
            )
        )
