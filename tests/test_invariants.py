"""Invariants every model of the project keeps, read from `apps.get_models()` and `_meta`, so a
model added later is checked without editing this file (ARCHITECTURE §2, §3).

- Every unique key of a tenant-owned table starts with `tenant`: one tenant's values never
  collide with another's (nor tell them apart), and the key's index serves the tenant's queries.
- Every table of the project's apps has a `tenant` column, unless it is a platform table.
- The append-only tables refuse UPDATE and DELETE in the database itself.
"""

from decimal import Decimal

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, models, transaction
from django.db.models.expressions import F

from accounts.models import Tenant
from budgets.models import BudgetEntry
from budgets.tests.factories import approved_budget
from core.models import TenantScoped
from points.models import Holder, LedgerEntry, PointsAccount, PointsProgram

PROJECT_APPS = {
    "accounts",
    "budgets",
    "campaigns",
    "coupons",
    "core",
    "orders",
    "points",
    "redemption",
    "reports",
    "web",
}

# (model, constraint or field, why it is unique across every tenant)
PLATFORM_WIDE_UNIQUE = {
    ("accounts.ApiKey", "prefix"): "authentication finds the key by its prefix before it knows "
    "the tenant, so the prefix names one key on the whole platform",
    ("accounts.PersonalToken", "prefix"): "as an API key's: the prefix finds the token first",
}

# Tables of the project's apps without a tenant column: (model) → why.
PLATFORM_TABLES = {
    "accounts.Tenant": "the tenants themselves",
    "accounts.User": "a login of the platform; its tenants are its memberships",
}


def _project_models(*, include_auto_created=False):
    return [
        model
        for model in apps.get_models(include_auto_created=include_auto_created)
        if model._meta.app_label in PROJECT_APPS
    ]


def _tenant_models():
    return [model for model in _project_models() if issubclass(model, TenantScoped)]


def _is_one_to_one_to_a_tenant_row(field) -> bool:
    """A one-to-one field names one row of a tenant-owned table (or the tenant itself) by its
    primary key, unique across the table: two tenants cannot collide on it."""
    return isinstance(field, models.OneToOneField) and (
        # related_model is a class once the apps are loaded ("self" only before).
        isinstance(field.related_model, type)
        and (issubclass(field.related_model, TenantScoped) or field.related_model is Tenant)
    )


def _unique_keys(model):
    """(name, first field) of every unique key of `model` but its primary key."""
    meta = model._meta
    for constraint in meta.constraints:
        if isinstance(constraint, models.UniqueConstraint):
            if constraint.fields:
                first = constraint.fields[0]
            else:  # an expression key: Lower("code") does not start with the tenant
                expression = constraint.expressions[0]
                first = expression.name if isinstance(expression, F) else repr(expression)
            yield constraint.name, first
    for field in meta.local_concrete_fields:
        if field.unique and not field.primary_key and not _is_one_to_one_to_a_tenant_row(field):
            yield field.name, field.name
    for fields in meta.unique_together:
        yield "unique_together " + ", ".join(fields), fields[0]


def _uniques_not_led_by_tenant(model) -> list[str]:
    label = model._meta.label
    return [
        name
        for name, first in _unique_keys(model)
        if first not in ("tenant", "tenant_id") and (label, name) not in PLATFORM_WIDE_UNIQUE
    ]


@pytest.mark.parametrize("model", _tenant_models(), ids=lambda model: model._meta.label)
def test_every_unique_key_of_a_tenant_table_starts_with_the_tenant(model):
    assert _uniques_not_led_by_tenant(model) == [], (
        f"{model._meta.label}: put `tenant` first in these keys, or list them in "
        "PLATFORM_WIDE_UNIQUE with the reason they are unique across tenants"
    )


def test_the_platform_wide_allowlist_names_existing_keys():
    for label, name in PLATFORM_WIDE_UNIQUE:
        names = {key for key, _first in _unique_keys(apps.get_model(label))}
        assert name in names, f"{label}.{name} is no unique key any more: drop it from the list"


@pytest.mark.parametrize("model", _project_models(), ids=lambda model: model._meta.label)
def test_every_table_has_a_tenant_column_or_is_a_platform_table(model):
    label = model._meta.label
    if label in PLATFORM_TABLES:
        assert not issubclass(model, TenantScoped), f"{label} is tenant-scoped: unlist it"
        return
    assert issubclass(model, TenantScoped), (
        f"{label} holds no tenant column: subclass core.models.TenantScoped, or list it in "
        "PLATFORM_TABLES with the reason it is the platform's"
    )
    tenant = model._meta.get_field("tenant")
    assert tenant.concrete and tenant.related_model is Tenant


def test_implicit_join_tables_link_tenant_rows_only():
    """Django's own many-to-many tables have no tenant column (their rows belong to the tenant
    of the rows they join); each side must be a tenant table or a platform one."""
    for model in _project_models(include_auto_created=True):
        if not model._meta.auto_created:
            continue
        for field in model._meta.concrete_fields:
            if field.primary_key:
                continue
            target = field.related_model
            platform = target._meta.label in PLATFORM_TABLES or (
                target._meta.app_label not in PROJECT_APPS  # auth's groups and permissions
            )
            assert issubclass(target, TenantScoped) or platform, (
                f"{model._meta.label}.{field.name} joins {target._meta.label}"
            )


# --- append-only tables ------------------------------------------------------------------------


def _budget_entry(world):
    approved_budget(world)  # its approval is the budget's first entry
    return BudgetEntry.objects.for_tenant(world.tenant).get(kind="approve")


def _ledger_entry(world):
    program = PointsProgram.objects.create(
        tenant=world.tenant, name="Staff points", holder=Holder.STAFF, point_value=Decimal("0.01")
    )
    account = PointsAccount.objects.create(tenant=world.tenant, program=program, staff=world.staff)
    return LedgerEntry.objects.create(
        tenant=world.tenant,
        account=account,
        kind="adjust",
        bucket="usable",
        points=5,
        usable_delta=5,
        balance_after=5,
        pending_after=0,
        reference="invariants:1",
    )


APPEND_ONLY = [
    pytest.param(
        _ledger_entry, "UPDATE {table} SET reason = 'edited' WHERE id = %s", id="ledger-update"
    ),
    pytest.param(
        _ledger_entry,
        "DELETE FROM {table} WHERE id = %s",
        id="ledger-delete",
    ),
    pytest.param(
        _budget_entry, "UPDATE {table} SET note = 'edited' WHERE id = %s", id="budget-update"
    ),
    pytest.param(_budget_entry, "DELETE FROM {table} WHERE id = %s", id="budget-delete"),
]


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the triggers are PostgreSQL's")
@pytest.mark.parametrize(("make", "sql"), APPEND_ONLY)
def test_append_only_tables_refuse_update_and_delete_in_the_database(world, make, sql):
    entry = make(world)
    table = connection.ops.quote_name(entry._meta.db_table)
    refused = False
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql.format(table=table), [entry.pk])
    except DatabaseError as error:
        refused = "immutable" in str(error)
    assert refused, f"the database let {sql.split()[0]} through on {entry._meta.db_table}"
    assert type(entry).objects.for_tenant(world.tenant).filter(pk=entry.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("make", [_ledger_entry, _budget_entry], ids=["ledger", "budget"])
def test_append_only_models_refuse_save_and_delete(world, make):
    entry = make(world)
    with pytest.raises(RuntimeError, match="immutable"):
        entry.save()
    with pytest.raises(RuntimeError, match="immutable"):
        entry.delete()
