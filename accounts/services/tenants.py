"""A new tenant, set up by every app, with its first tenant admin."""

from django.db import transaction
from django.utils.translation import gettext as _

from core.errors import ValidationFailed
from core.services import audit_record
from core.tenant_setup import tenant_setup_run

from ..models import Tenant
from ..permissions import Actor
from ..roles import Role
from .users import user_create


@transaction.atomic
def tenant_create(
    *,
    slug: str,
    name: str,
    admin_email: str,
    admin_password: str,
    time_zone: str = "",
    currency: str = "",
) -> Tenant:
    """A new tenant with what the apps set up for it (default channels …) and a first tenant admin who logs in by e-mail."""
    if Tenant.objects.filter(slug=slug).exists():
        raise ValidationFailed(_("Tenant “%s” already exists.") % slug, fields={"slug": ["taken"]})
    tenant = Tenant(slug=slug, name=name)
    if time_zone:
        tenant.time_zone = time_zone
    if currency:
        tenant.currency = currency
    tenant.full_clean()
    tenant.save()
    tenant_setup_run(tenant=tenant)  # default channels and whatever else apps register
    system = Actor.for_system(tenant)
    audit_record(tenant=tenant, actor=system, action="tenant.create", obj=tenant)
    user_create(
        tenant=tenant,
        actor=system,
        username=admin_email.lower(),
        email=admin_email,
        password=admin_password,
        role=Role.TENANT_ADMIN,
    )
    return tenant
