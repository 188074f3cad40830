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
