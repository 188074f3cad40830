"""Prize catalog and prize redemptions (SPEC §4). Redemptions spend points through the points
ledger and move no budget money (SPEC §2.1): the points were paid for when they became usable."""

from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.models import MONEY, TenantScoped


class PrizeKind(models.TextChoices):
    VIRTUAL = "virtual", _("Virtual (top-up, e-voucher)")
    COUPON = "coupon", _("Coupon from a batch")
    PHYSICAL = "physical", _("Physical (shipped)")


class Prize(TenantScoped):
    program = models.ForeignKey(
        "points.PointsProgram", on_delete=models.PROTECT, related_name="prizes"
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=PrizeKind.choices)
    # A product group such as "Phone top-up": prizes of one program, kind and group are of the
    # same kind (a blank group is the kind's general group), and the campaign check compares
    # their value per point with each other only.
    group = models.CharField(max_length=100, blank=True)
    points_cost = models.PositiveBigIntegerField()
    value = models.DecimalField(**MONEY, default=Decimal("0.00"))  # what one costs the tenant
    stock = models.PositiveIntegerField(default=0)  # still available
    redeemed = models.PositiveIntegerField(default=0)  # taken by redemptions not cancelled
    per_holder_limit = models.PositiveIntegerField(null=True, blank=True)
    available_from = models.DateTimeField(null=True, blank=True)
    available_until = models.DateTimeField(null=True, blank=True)
    coupon_batch = models.ForeignKey(
        "coupons.CouponBatch", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(points_cost__gte=1), name="prize_points_cost"),
            models.CheckConstraint(condition=Q(value__gte=0), name="prize_value"),
            models.CheckConstraint(
                condition=~Q(kind="coupon") | Q(coupon_batch__isnull=False),
                name="prize_coupon_batch",
            ),
            models.CheckConstraint(
                condition=Q(available_from__isnull=True)
                | Q(available_until__isnull=True)
                | Q(available_until__gt=F("available_from")),
                name="prize_window",
            ),
        ]

    def __str__(self):
        return self.name


class RedemptionStatus(models.TextChoices):
    REDEEMED = "redeemed", _("Redeemed")
    CANCELLED = "cancelled", _("Cancelled")


class FulfilmentStatus(models.TextChoices):
    NOT_NEEDED = "", _("Not shipped")
    PENDING = "pending", _("To ship")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")


class PrizeRedemption(TenantScoped):
    prize = models.ForeignKey(Prize, on_delete=models.PROTECT, related_name="redemptions")
    account = models.ForeignKey("points.PointsAccount", on_delete=models.PROTECT, related_name="+")
    staff = models.ForeignKey("accounts.MerchantStaff", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    points = models.PositiveBigIntegerField()
    spend_entry = models.OneToOneField(
        "points.LedgerEntry", on_delete=models.PROTECT, related_name="+"
    )
    refund_entry = models.OneToOneField(
        "points.LedgerEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=RedemptionStatus.choices, default=RedemptionStatus.REDEEMED
    )
    # The client's key for this redemption (a portal form's hidden field): a double tap or a
    # retry with the same key returns the first redemption instead of spending twice.
    request_key = models.CharField(max_length=64, blank=True)
    coupon = models.ForeignKey(
        "coupons.Coupon", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )  # what a coupon prize issued to the holder's linked customer
    shipping_address = models.TextField(blank=True)
    fulfilment_status = models.CharField(
        max_length=16, choices=FulfilmentStatus.choices, blank=True, default=""
    )
    carrier = models.CharField(max_length=100, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    operator_label = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="prize_redemption_qty"),
            models.UniqueConstraint(
                fields=["tenant", "account", "request_key"],
                condition=~Q(request_key=""),
                name="prize_redemption_request_key",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "prize", "account"]),
            models.Index(
                fields=["tenant", "fulfilment_status", "-id"],
                name="prize_redemption_to_fulfil",
                condition=~Q(fulfilment_status=""),
            ),
        ]

    def __str__(self):
        return f"{self.prize} x {self.quantity}"

    @property
    def holder_may_cancel(self) -> bool:
        """A holder takes back a physical prize until it ships; a virtual prize is delivered
        and a coupon issued at once, so only an operator undoes those (SPEC §4)."""
        return (
            self.status == RedemptionStatus.REDEEMED
            and self.fulfilment_status == FulfilmentStatus.PENDING
        )

    @property
    def operator_may_cancel(self) -> bool:
        """Anything not yet delivered: a parcel lost in transit is refunded too."""
        return (
            self.status == RedemptionStatus.REDEEMED
            and self.fulfilment_status != FulfilmentStatus.DELIVERED
        )


class LotteryStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    ENDED = "ended", _("Ended")


class Lottery(TenantScoped):
    program = models.ForeignKey(
        "points.PointsProgram", on_delete=models.PROTECT, related_name="lotteries"
    )
    name = models.CharField(max_length=200)
    cost_points = models.PositiveBigIntegerField()
    status = models.CharField(
        max_length=16, choices=LotteryStatus.choices, default=LotteryStatus.DRAFT
    )

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "lotteries"
        constraints = [
            models.CheckConstraint(condition=Q(cost_points__gte=1), name="lottery_cost"),
        ]

    def __str__(self):
        return self.name


class OutcomeKind(models.TextChoices):
    POINTS = "points", _("Points")
    PRIZE = "prize", _("Prize")
    COUPON = "coupon", _("Coupon")
    NOTHING = "nothing", _("Nothing")


PROBABILITY: dict[str, Any] = {"max_digits": 7, "decimal_places": 6}


class LotteryOutcome(TenantScoped):
    lottery = models.ForeignKey(Lottery, on_delete=models.CASCADE, related_name="outcomes")
    kind = models.CharField(max_length=16, choices=OutcomeKind.choices)
    points = models.PositiveBigIntegerField(null=True, blank=True)
    prize = models.ForeignKey(
        Prize, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    batch = models.ForeignKey(
        "coupons.CouponBatch", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    probability = models.DecimalField(**PROBABILITY)
    inventory = models.PositiveIntegerField(null=True, blank=True)  # None: unlimited
    won = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(probability__gt=0) & Q(probability__lte=1),
                name="lottery_outcome_probability",
            ),
            # The inventory is never overdrawn, whatever a draw does.
            models.CheckConstraint(
                condition=Q(inventory__isnull=True) | Q(won__lte=F("inventory")),
                name="lottery_outcome_inventory",
            ),
        ]

    def __str__(self):
        return f"{self.kind} ({self.probability})"

    @property
    def percent(self) -> str:
        """The probability as people read it: 0.050000 → "5", 0.125000 → "12.5"."""
        return format((self.probability * 100).normalize(), "f")


class LotteryDraw(TenantScoped):
    lottery = models.ForeignKey(Lottery, on_delete=models.PROTECT, related_name="draws")
    account = models.ForeignKey("points.PointsAccount", on_delete=models.PROTECT, related_name="+")
    staff = models.ForeignKey("accounts.MerchantStaff", on_delete=models.PROTECT, related_name="+")
    outcome = models.ForeignKey(
        LotteryOutcome, null=True, blank=True, on_delete=models.PROTECT, related_name="draws"
    )  # None: nothing won (the table has no "nothing" row)
    spend_entry = models.OneToOneField(
        "points.LedgerEntry", on_delete=models.PROTECT, related_name="+"
    )
    award_entry = models.OneToOneField(
        "points.LedgerEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    coupon = models.ForeignKey(
        "coupons.Coupon", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )  # a coupon win, issued to the holder's linked customer
    request_key = models.CharField(max_length=64, blank=True)  # as PrizeRedemption's
    operator_label = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "account", "request_key"],
                condition=~Q(request_key=""),
                name="lottery_draw_request_key",
            ),
        ]

    def __str__(self):
        return f"{self.lottery} draw {self.pk}"
