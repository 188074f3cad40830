"""Points programs, accounts, the append-only ledger, lots and rules (SPEC §3).

Invariants (each backed by a constraint where the database can hold it, and proven for every
account by `manage.py check_ledger`):
- account.pending = Σ entry.pending_delta = Σ remaining of its pending lots;
- account.balance = Σ entry.usable_delta; Σ remaining of its open lots = max(balance, 0), and a
  negative balance (allow_negative programs) has no open lots: new points repay the debt first;
- an entry is never updated or deleted (a correction is a new entry); its reference is unique,
  so a retried award, activation or reversal is a no-op.
"""

from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.models import MONEY, TenantScoped

POINT_VALUE: dict[str, Any] = {"max_digits": 12, "decimal_places": 6}
POINT_VALUE_STEP = Decimal("0.000001")  # the smallest point value the columns hold
DEFAULT_RANGE = Decimal("0.2")  # a program's default range of value per point: ± 20 %


def default_point_value_range(point_value) -> tuple[Decimal, Decimal]:
    """The money per point a prize may give when the program names no range: its point value
    ± 20 %, to six places (and never down to zero)."""
    value = Decimal(str(point_value))
    low = max((value * (1 - DEFAULT_RANGE)).quantize(POINT_VALUE_STEP), POINT_VALUE_STEP)
    return low, (value * (1 + DEFAULT_RANGE)).quantize(POINT_VALUE_STEP)


class Holder(models.TextChoices):
    STAFF = "staff", _("Merchant staff")
    MERCHANT = "merchant", _("Merchant")
    CUSTOMER = "customer", _("Customer")


class ExpiryPolicy(models.TextChoices):
    NONE = "none", _("Never")
    DAYS = "days", _("N days after earning")
    PERIOD_END = "period_end", _("At the end of the period")


class ExpiryPeriod(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")


class PendingPolicy(models.TextChoices):
    UNTIL_COMPLETED = "until_completed", _("Until the order completes")
    DAYS = "days", _("For N days")


class TierBasis(models.TextChoices):
    LIFETIME = "lifetime", _("Lifetime points")
    ROLLING_12M = "rolling_12m", _("Points of the last 12 months")


class PointsProgram(TenantScoped):
    """One independent kind of points (staff task points are not the merchant's points)."""

    name = models.CharField(max_length=200)
    holder = models.CharField(max_length=16, choices=Holder.choices, default=Holder.STAFF)
    point_value = models.DecimalField(**POINT_VALUE)  # money per point, e.g. 0.010000
    # The money per point a prize may give (value / points_cost), e.g. 0.008000 to 0.012000. A
    # range, not a fraction around point_value: a catalogue whose value per point rises with the
    # price is a legitimate design, and the campaign check judges the curve (SPEC §6, §8).
    point_value_min = models.DecimalField(**POINT_VALUE)
    point_value_max = models.DecimalField(**POINT_VALUE)
    expiry_policy = models.CharField(
        max_length=16, choices=ExpiryPolicy.choices, default=ExpiryPolicy.NONE
    )
    expiry_days = models.PositiveIntegerField(null=True, blank=True)
    expiry_period = models.CharField(max_length=8, choices=ExpiryPeriod.choices, blank=True)
    pending_policy = models.CharField(
        max_length=16, choices=PendingPolicy.choices, default=PendingPolicy.UNTIL_COMPLETED
    )
    pending_days = models.PositiveIntegerField(null=True, blank=True)
    weekly_cap = models.PositiveBigIntegerField(null=True, blank=True)
    monthly_cap = models.PositiveBigIntegerField(null=True, blank=True)
    allow_negative = models.BooleanField(default=False)
    transferable = models.BooleanField(default=False)
    transfer_per_transfer = models.PositiveBigIntegerField(null=True, blank=True)
    transfer_per_month = models.PositiveBigIntegerField(null=True, blank=True)
    tiers = models.JSONField(default=list, blank=True)  # [{name, threshold, multiplier}]
    tier_basis = models.CharField(
        max_length=16, choices=TierBasis.choices, default=TierBasis.LIFETIME
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="points_program_name_unique"),
            models.CheckConstraint(condition=Q(point_value__gt=0), name="points_program_value"),
            models.CheckConstraint(
                condition=Q(point_value_min__gt=0)
                & Q(point_value_min__lte=F("point_value"))
                & Q(point_value_max__gte=F("point_value")),
                name="points_program_value_range",
            ),
            models.CheckConstraint(
                condition=~Q(expiry_policy="days") | Q(expiry_days__gt=0),
                name="points_program_expiry_days",
            ),
            models.CheckConstraint(
                condition=~Q(expiry_policy="period_end") | ~Q(expiry_period=""),
                name="points_program_expiry_period",
            ),
            models.CheckConstraint(
                condition=~Q(pending_policy="days") | Q(pending_days__gte=0),
                name="points_program_pending_days",
            ),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        # A program made straight through the ORM (benchmarks, fixtures) gets the default range;
        # program_create and program_update always name both ends.
        if self.point_value_min is None or self.point_value_max is None:
            low, high = default_point_value_range(self.point_value)
            self.point_value_min = low if self.point_value_min is None else self.point_value_min
            self.point_value_max = high if self.point_value_max is None else self.point_value_max
        super().save(*args, **kwargs)

    @property
    def holder_field(self) -> str:
        """The column of an account (and of an order) that names this program's holder."""
        fields: dict[str, str] = {
            Holder.STAFF: "staff",
            Holder.MERCHANT: "merchant",
            Holder.CUSTOMER: "customer",
        }
        return fields[self.holder]


class PointsAccount(TenantScoped):
    """A holder's account in one program, created on first use."""

    program = models.ForeignKey(PointsProgram, on_delete=models.PROTECT, related_name="accounts")
    staff = models.ForeignKey(
        "accounts.MerchantStaff", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    merchant = models.ForeignKey(
        "accounts.Merchant", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    customer = models.ForeignKey(
        "accounts.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    balance = models.BigIntegerField(default=0)  # usable; negative only under allow_negative
    pending = models.BigIntegerField(default=0)
    lifetime_earned = models.BigIntegerField(default=0)
    shortfall = models.BigIntegerField(default=0)  # reversed points that were already spent
    tier = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(staff__isnull=False, merchant__isnull=True, customer__isnull=True)
                    | Q(staff__isnull=True, merchant__isnull=False, customer__isnull=True)
                    | Q(staff__isnull=True, merchant__isnull=True, customer__isnull=False)
                ),
                name="points_account_one_holder",
            ),
            models.UniqueConstraint(
                fields=["tenant", "program", "staff"],
                condition=Q(staff__isnull=False),
                name="points_account_staff_unique",
            ),
            models.UniqueConstraint(
                fields=["tenant", "program", "merchant"],
                condition=Q(merchant__isnull=False),
                name="points_account_merchant_unique",
            ),
            models.UniqueConstraint(
                fields=["tenant", "program", "customer"],
                condition=Q(customer__isnull=False),
                name="points_account_customer_unique",
            ),
            models.CheckConstraint(condition=Q(pending__gte=0), name="points_account_pending"),
            models.CheckConstraint(
                condition=Q(lifetime_earned__gte=0), name="points_account_lifetime"
            ),
            models.CheckConstraint(condition=Q(shortfall__gte=0), name="points_account_shortfall"),
        ]

    @property
    def holder(self):
        return self.staff or self.merchant or self.customer

    def __str__(self):
        return f"{self.program} · {self.holder}"


class RuleKind(models.TextChoices):
    PER_ORDER = "per_order", _("Fixed points per order")
    PER_AMOUNT = "per_amount", _("Points per amount")
    REGION_FIRST_N = "region_first_n", _("First N orders in a region, in tiers")
    MILESTONE = "milestone", _("Milestone of completed orders")


class PointsRule(TenantScoped):
    """Turns orders into points while its campaign runs (SPEC §3.3)."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.PROTECT, related_name="points_rules"
    )
    program = models.ForeignKey(PointsProgram, on_delete=models.PROTECT, related_name="rules")
    name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=16, choices=RuleKind.choices)
    points = models.PositiveBigIntegerField(null=True, blank=True)
    per_amount = models.DecimalField(**MONEY, null=True, blank=True)
    min_amount = models.DecimalField(**MONEY, null=True, blank=True)
    regions = models.ManyToManyField("accounts.Region", blank=True, related_name="+")
    tiers = models.JSONField(default=list, blank=True)  # [{from, to, points}] by rank
    milestone = models.JSONField(default=dict, blank=True)  # {count, period, points}
    cap_total = models.PositiveBigIntegerField(null=True, blank=True)
    cap_per_holder_week = models.PositiveBigIntegerField(null=True, blank=True)
    cap_per_region = models.PositiveBigIntegerField(null=True, blank=True)
    # Points awarded and not cancelled or reversed: what cap_total is measured against. Kept
    # only for rules with a total cap (its row lock would otherwise serialize every order).
    awarded = models.BigIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(awarded__gte=0), name="points_rule_awarded"),
            models.CheckConstraint(
                condition=Q(cap_total__isnull=True) | Q(awarded__lte=F("cap_total")),
                name="points_rule_cap_total",
            ),
        ]

    def __str__(self):
        return self.name or f"{self.get_kind_display()} #{self.pk}"


class RuleRegionCounter(TenantScoped):
    """The order count and awarded points of one rule in one region.

    The row is locked to hand out ranks: two orders can never both be the k-th, and a rank once
    given is never reused (a closed order keeps it).
    """

    rule = models.ForeignKey(PointsRule, on_delete=models.CASCADE, related_name="counters")
    region = models.ForeignKey("accounts.Region", on_delete=models.CASCADE, related_name="+")
    orders = models.BigIntegerField(default=0)
    awarded = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "rule", "region"], name="points_rule_region_unique"
            ),
            models.CheckConstraint(
                condition=Q(orders__gte=0) & Q(awarded__gte=0), name="points_rule_region_counts"
            ),
        ]


class AwardOutcome(models.TextChoices):
    AWARDED = "awarded", _("Awarded")
    PARTIAL = "partial", _("Partly awarded (cap reached)")
    CAPPED = "capped", _("Nothing: cap reached")
    BUDGET_REFUSED = "budget_refused", _("Refused: budget exhausted")
    NO_TIER = "no_tier", _("Nothing: rank beyond the tiers")
    NO_HOLDER = "no_holder", _("Nothing: the order has no holder for this program")


class AwardStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    CANCELLED = "cancelled", _("Cancelled")
    REVERSED = "reversed", _("Reversed")


class OrderAward(TenantScoped):
    """What one rule did with one order: points, rank, or why nothing (the refusal record).

    Unique per (order, rule): an order never earns twice from a rule.
    """

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="awards")
    rule = models.ForeignKey(PointsRule, on_delete=models.PROTECT, related_name="awards")
    account = models.ForeignKey(
        PointsAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="awards"
    )
    region = models.ForeignKey(
        "accounts.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rank = models.PositiveBigIntegerField(null=True, blank=True)  # region_first_n only
    requested = models.BigIntegerField(default=0)  # points before caps and budget
    points = models.BigIntegerField(default=0)  # points earned
    outcome = models.CharField(max_length=16, choices=AwardOutcome.choices)
    status = models.CharField(
        max_length=16, choices=AwardStatus.choices, default=AwardStatus.ACTIVE
    )
    note = models.CharField(max_length=300, blank=True)
    placed_at = models.DateTimeField()  # the order's, for cap windows
    lot = models.ForeignKey(
        "Lot", null=True, blank=True, on_delete=models.PROTECT, related_name="awards"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "order", "rule"], name="order_award_unique"),
            models.CheckConstraint(
                condition=Q(points__gte=0) & Q(points__lte=F("requested")),
                name="order_award_points",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "account", "placed_at"])]


class EntryKind(models.TextChoices):
    EARN = "earn", _("Earned (pending)")
    ACTIVATE = "activate", _("Activated")
    CANCEL = "cancel", _("Cancelled")
    REVERSE = "reverse", _("Reversed")
    SPEND = "spend", _("Spent")
    REFUND = "refund", _("Refunded")
    EXPIRE = "expire", _("Expired")
    TRANSFER_OUT = "transfer_out", _("Transferred out")
    TRANSFER_IN = "transfer_in", _("Transferred in")
    ADJUST = "adjust", _("Adjusted")


class Bucket(models.TextChoices):
    PENDING = "pending", _("Pending")
    USABLE = "usable", _("Usable")


class LedgerEntry(TenantScoped):
    """One immutable change of an account, with what caused it."""

    account = models.ForeignKey(PointsAccount, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    bucket = models.CharField(max_length=8, choices=Bucket.choices)
    points = models.BigIntegerField()  # the size of the change, always positive
    pending_delta = models.BigIntegerField(default=0)
    usable_delta = models.BigIntegerField(default=0)
    balance_after = models.BigIntegerField()
    pending_after = models.BigIntegerField()
    money = models.DecimalField(**MONEY, default=Decimal("0.00"))  # budget money it moved
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rule = models.ForeignKey(
        PointsRule, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    counterpart = models.ForeignKey(
        PointsAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )  # the other side of a transfer
    source = models.CharField(max_length=100, blank=True)  # e.g. "prize_redemption:12"
    operator = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    operator_label = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)
    reference = models.CharField(max_length=200)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "reference"], name="ledger_reference_unique"),
            models.CheckConstraint(condition=Q(points__gt=0), name="ledger_points_positive"),
            models.CheckConstraint(condition=Q(pending_after__gte=0), name="ledger_pending_after"),
        ]
        indexes = [
            models.Index(fields=["tenant", "account", "-id"]),
            models.Index(fields=["tenant", "order"]),
            # the reports' periods: the window's entries, not every account's whole history
            models.Index(fields=["tenant", "created_at"], name="ledger_tenant_created"),
        ]

    def save(self, *args, **kwargs):
        # Append-only (ARCHITECTURE §3): a correction is a new entry.
        if self.pk is not None and not self._state.adding:
            raise RuntimeError("Ledger entries are immutable.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("Ledger entries are immutable.")

    def __str__(self):
        return f"{self.kind} {self.points} ({self.reference})"


class LotStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    OPEN = "open", _("Usable")
    USED = "used", _("Used up")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")
    REVERSED = "reversed", _("Reversed")


class Lot(TenantScoped):
    """Points earned together: spent and expired first-in, first-out."""

    account = models.ForeignKey(PointsAccount, on_delete=models.PROTECT, related_name="lots")
    entry = models.ForeignKey(
        LedgerEntry, on_delete=models.PROTECT, related_name="created_lots"
    )  # the entry that brought the points in (earn, transfer_in, adjust)
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    points = models.BigIntegerField()
    remaining = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=LotStatus.choices)
    earned_at = models.DateTimeField()
    activates_at = models.DateTimeField(null=True, blank=True)  # pending "days" policy
    expires_at = models.DateTimeField(null=True, blank=True)
    money = models.DecimalField(**MONEY, default=Decimal("0.00"))  # budget money behind it

    class Meta:
        ordering = ["earned_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="lot_points_positive"),
            models.CheckConstraint(
                condition=Q(remaining__gte=0) & Q(remaining__lte=F("points")),
                name="lot_remaining_in_range",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["used", "expired", "cancelled", "reversed"])
                | Q(remaining=0),
                name="lot_closed_is_empty",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "account", "status", "earned_at"]),
            models.Index(fields=["expires_at"], name="lot_open_due", condition=Q(status="open")),
            models.Index(
                fields=["activates_at"], name="lot_pending_due", condition=Q(status="pending")
            ),
        ]

    def __str__(self):
        return f"lot {self.pk}: {self.remaining}/{self.points}"


class LotMovement(TenantScoped):
    """Which lot an entry took points from (spend, expire, reverse, transfer, adjust)."""

    entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="movements")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="movements")
    points = models.BigIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="lot_movement_points"),
        ]


class Transfer(TenantScoped):
    """Points moved from one holder to another in a transferable program."""

    program = models.ForeignKey(PointsProgram, on_delete=models.PROTECT, related_name="+")
    from_account = models.ForeignKey(PointsAccount, on_delete=models.PROTECT, related_name="+")
    to_account = models.ForeignKey(PointsAccount, on_delete=models.PROTECT, related_name="+")
    points = models.BigIntegerField()
    out_entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="+")
    in_entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="+")
    operator_label = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="transfer_points_positive"),
            models.CheckConstraint(
                condition=~Q(from_account=F("to_account")), name="transfer_other_account"
            ),
        ]


class AdjustmentRequestStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class PointsAdjustmentRequest(TenantScoped):
    """A correction above the tenant's max_points_adjustment: it applies only when a second
    person with the right to adjust approves it (maker-checker, SPEC §7)."""

    account = models.ForeignKey(
        PointsAccount, on_delete=models.PROTECT, related_name="adjustment_requests"
    )
    points = models.BigIntegerField()  # signed, like the adjustment it asks for
    reason = models.TextField()
    status = models.CharField(
        max_length=16,
        choices=AdjustmentRequestStatus.choices,
        default=AdjustmentRequestStatus.PENDING,
    )
    requested_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_label = models.CharField(max_length=200, blank=True)
    decided_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    entry = models.OneToOneField(
        LedgerEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )  # the adjustment it became once approved

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(points=0), name="points_adjustment_request_not_zero"
            ),
            models.CheckConstraint(
                condition=Q(entry__isnull=True) | Q(status="approved"),
                name="points_adjustment_request_entry_when_approved",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "status", "-created_at"])]

    def __str__(self):
        return f"{self.account} {self.points:+} ({self.status})"
