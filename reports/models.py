"""Settlements (SPEC §5): finance closes a period of coupon redemptions for a scope (all, or
one merchant). A second finance user approves it; its figures are then frozen here and never
change: a rollback that arrives later counts in the period it happens in."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import TenantScoped


class SettlementStatus(models.TextChoices):
    PREPARED = "prepared", _("Prepared")  # its figures are live until it is closed
    CLOSED = "closed", _("Closed")
    DISCARDED = "discarded", _("Discarded")


class Settlement(TenantScoped):
    merchant = models.ForeignKey(
        "accounts.Merchant", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )  # None: every merchant
    first_day = models.DateField()
    last_day = models.DateField()  # inclusive, in the tenant's days
    status = models.CharField(
        max_length=10, choices=SettlementStatus.choices, default=SettlementStatus.PREPARED
    )
    prepared_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    # Frozen on closing: the reconciliation's totals and rows as they were (JSON, money as text).
    totals = models.JSONField(default=dict, blank=True)
    rows = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-first_day", "-id"]
        indexes = [models.Index(fields=["tenant", "status", "first_day"])]

    def __str__(self):
        scope = self.merchant.code if self.merchant_id else "all"
        return f"{scope} {self.first_day}..{self.last_day}"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ExportJob(TenantScoped):
    """A download too big for one request: written to a file by a Celery job that reports its
    progress, then fetched by the one who asked (with the data scope they had)."""

    requested_by = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    report = models.CharField(max_length=32)  # a name of reports.exports.EXPORTABLE
    params = models.JSONField(default=dict)  # the report's filters, as the page sent them
    fmt = models.CharField(max_length=4)
    status = models.CharField(
        max_length=8, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="exports/", blank=True)
    filename = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=300, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
