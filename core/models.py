"""What every app leans on: the tenant-scoped base model and manager, the audit log, idempotency keys."""

from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

# Every money column: up to 999,999,999,999.99 in the tenant's currency.
MONEY: dict[str, Any] = {"max_digits": 14, "decimal_places": 2}


class UnscopedQueryError(RuntimeError):
    """A tenant-owned table was queried without narrowing it to one tenant."""


class TenantScopedQuerySet(models.QuerySet):
    """A queryset that refuses to run until it is narrowed to a tenant.

    Narrowing happens through `for_tenant(tenant)`, a `filter(tenant=…)`, a related manager of a
    row that already belongs to a tenant, or, for platform-wide jobs (beat tasks that walk every
    tenant, the superuser admin), an explicit `unscoped()`. Anything else raises, so a forgotten
    filter fails loudly in tests instead of leaking another tenant's rows.
    """

    _tenant_scoped = False

    def for_tenant(self, tenant):
        return self.filter(tenant=tenant)

    def unscoped(self):
        qs = self._chain()
        qs._tenant_scoped = True
        return qs

    def _clone(self):
        clone = super()._clone()
        clone._tenant_scoped = self._tenant_scoped
        return clone

    def _filter_or_exclude(self, negate, args, kwargs):
        clone = super()._filter_or_exclude(negate, args, kwargs)
        if not negate and ({"tenant", "tenant_id", "tenant__in", "tenant_id__in"} & kwargs.keys()):
            clone._tenant_scoped = True
        return clone

    def _require_scope(self):
        if not self._tenant_scoped:
            raise UnscopedQueryError(
                f"{self.model.__name__} queried without a tenant: use .for_tenant(tenant)."
            )

    def _fetch_all(self):
        if self._result_cache is None:
            self._require_scope()
        super()._fetch_all()

    def iterator(self, *args, **kwargs):
        self._require_scope()
        return super().iterator(*args, **kwargs)

    def count(self):
        self._require_scope()
        return super().count()

    def exists(self):
        self._require_scope()
        return super().exists()

    def aggregate(self, *args, **kwargs):
        self._require_scope()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs):
        self._require_scope()
        return super().update(**kwargs)

    def delete(self):
        self._require_scope()
        return super().delete()


# A module-level name, so django-stubs can see the queryset's methods on the manager.
_TenantScopedManagerBase = models.Manager.from_queryset(TenantScopedQuerySet)


class TenantScopedManager(_TenantScopedManagerBase):
    def get_queryset(self):
        qs = super().get_queryset()
        # Related managers (merchant.staff.all()) carry the parent row, which is already scoped.
        if getattr(self, "instance", None) is not None:
            qs._tenant_scoped = True
        return qs


class TenantScoped(models.Model):
    """Abstract base of every tenant-owned table (ARCHITECTURE §2)."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantScopedManager()

    class Meta:
        abstract = True


class AuditEntry(TenantScoped):
    """Who changed what, when, with the object before and after. Written by services only."""

    actor_user = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_api_key = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"]),
            models.Index(fields=["tenant", "object_type", "object_id"]),
        ]

    def __str__(self):
        return f"{self.actor_label} {self.action} {self.object_type}:{self.object_id}"


class IdempotencyKey(TenantScoped):
    """One integrator write, keyed by the client's Idempotency-Key (ARCHITECTURE §3).

    The row is inserted (committed) before the write runs, so a second request with the same
    key finds it and either waits for the response or replays it; it never runs the write again.
    """

    principal = models.CharField(
        max_length=64
    )  # "key:<id>" or "user:<id>": keys never collide across callers
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "principal", "key"], name="idempotency_key_unique"
            )
        ]

    def __str__(self):
        return self.key
