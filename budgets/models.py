"""Budgets, their adjustments and the entry table of every money movement (SPEC §2.1)."""

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.models import MONEY, TenantScoped

ZERO = Decimal("0.00")


class BudgetPurpose(models.TextChoices):
    COUPONS = "coupons", _("Coupon subsidy")
    POINTS = "points", _("Points rewards")


class BudgetStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CLOSED = "closed", _("Closed")


class Budget(TenantScoped):
    """A business unit's money for one period and purpose.

    `reserved` and `spent` are caches of the sums of the budget's entries, changed only by the
    money services in the same transaction as the entry; `check_budgets` verifies them.
    """

    business_unit = models.ForeignKey(
        "accounts.BusinessUnit", on_delete=models.PROTECT, related_name="budgets"
    )
    name = models.CharField(max_length=200)
    purpose = models.CharField(max_length=16, choices=BudgetPurpose.choices)
    amount = models.DecimalField(**MONEY)
    reserved = models.DecimalField(**MONEY, default=ZERO)
    spent = models.DecimalField(**MONEY, default=ZERO)
    starts_on = models.DateField()
    ends_on = models.DateField()
    status = models.CharField(
        max_length=16, choices=BudgetStatus.choices, default=BudgetStatus.DRAFT
    )
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    submit_note = models.TextField(blank=True)
    approved_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    rejected_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rejected_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)  # why it was approved or rejected
    closed_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_on", "-id"]
        indexes = [models.Index(fields=["tenant", "status"])]
        # The invariant of SPEC §2.1, held by the database so no bug or race can break it.
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="budget_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(reserved__gte=0), name="budget_reserved_not_negative"
            ),
            models.CheckConstraint(condition=Q(spent__gte=0), name="budget_spent_not_negative"),
            models.CheckConstraint(
                condition=Q(amount__gte=F("reserved") + F("spent")),
                name="budget_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="budget_period_ordered"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def available(self) -> Decimal:
        return self.amount - self.reserved - self.spent


class AdjustmentStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class BudgetAdjustment(TenantScoped):
    """A change of an approved budget's amount; finance approves it like the budget itself."""

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="adjustments")
    amount_delta = models.DecimalField(**MONEY)
    reason = models.TextField()
    status = models.CharField(
        max_length=16, choices=AdjustmentStatus.choices, default=AdjustmentStatus.PENDING
    )
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount_delta=0), name="budget_adjustment_not_zero")
        ]

    def __str__(self):
        return f"{self.budget} {self.amount_delta:+}"


class EntryKind(models.TextChoices):
    APPROVE = "approve", _("Approved amount")
    ADJUST = "adjust", _("Adjustment")
    RESERVE = "reserve", _("Reserve")
    RELEASE = "release", _("Release")
    SPEND = "spend", _("Spend")
    REFUND = "refund", _("Refund")
    CLOSE = "close", _("Close")


class BudgetEntry(TenantScoped):
    """One money movement. Append-only: a correction is a new entry, never an edit.

    The deltas say what the movement did to each figure, so the budget's amount, reserved and
    spent are the sums of its entries. `reference` is the caller's name for the movement
    (`coupon:123:redeem`); unique per budget and kind, so a retried call is a no-op.
    """

    budget = models.ForeignKey(Budget, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    amount = models.DecimalField(**MONEY)  # the size of the movement, always positive
    amount_delta = models.DecimalField(**MONEY, default=ZERO)
    reserved_delta = models.DecimalField(**MONEY, default=ZERO)
    spent_delta = models.DecimalField(**MONEY, default=ZERO)
    reference = models.CharField(max_length=200)
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="budget_entries",
    )
    source = models.CharField(max_length=100, blank=True)  # e.g. "coupon_batch:12"
    actor_user = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "budget entries"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "budget", "kind", "reference"], name="budget_entry_reference"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="budget_entry_amount"),
        ]
        indexes = [models.Index(fields=["tenant", "budget", "-created_at"])]

    def save(self, *args, **kwargs):
        # Append-only, like the points ledger (ARCHITECTURE §3); the database refuses it too.
        if self.pk is not None and not self._state.adding:
            raise RuntimeError("Budget entries are immutable.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("Budget entries are immutable.")

    def __str__(self):
        return f"{self.kind} {self.amount} ({self.reference})"
