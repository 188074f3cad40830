"""Orders received from integrators (SPEC §3.3) and their life cycle."""

from typing import TYPE_CHECKING

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import TenantScoped

if TYPE_CHECKING:
    from points.models import OrderAward


class OrderStatus(models.TextChoices):
    OPEN = "open", _("Open")
    COMPLETED = "completed", _("Completed")
    CLOSED = "closed", _("Closed")


class Order(TenantScoped):
    external_id = models.CharField(max_length=100)
    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.PROTECT, related_name="+")
    staff = models.ForeignKey("accounts.MerchantStaff", on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(
        "accounts.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.ForeignKey(
        "campaigns.Channel", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    placed_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.OPEN)
    completed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    device_fingerprint = models.CharField(max_length=128, blank=True)
    phone_fingerprint = models.CharField(max_length=128, blank=True)
    # Hash of the event as first received: a resend with the same facts is the same order,
    # one with other facts is a client bug we refuse (409 duplicate_order).
    payload_hash = models.CharField(max_length=64)
    # Not a column: order_place sets it on the order it returns to the awards just made, so
    # the response shows them without a second read (OrderSerializer.get_points).
    new_awards: "list[OrderAward]"

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "external_id"], name="order_external_id_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="order_amount_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "placed_at"]),  # the campaign simulation's window
            models.Index(fields=["tenant", "region", "placed_at"]),
            models.Index(fields=["tenant", "staff", "placed_at"]),
            models.Index(fields=["tenant", "merchant", "placed_at"]),
        ]

    def __str__(self):
        return self.external_id
