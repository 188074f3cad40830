"""Coupon batches, coupons, holdings, segments and issuance jobs (SPEC §2.3, §2.4)."""

from decimal import Decimal
from typing import cast

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.models import MONEY, TenantScoped

from .errors import issue_row_reason_text

ZERO = Decimal("0.00")


class BatchKind(models.TextChoices):
    AMOUNT_OFF = "amount_off", _("Amount off above a threshold")
    PERCENT_OFF = "percent_off", _("Percentage off with a cap")
    CASH = "cash", _("Cash voucher")
    FREE_SHIPPING = "free_shipping", _("Free shipping")


class BatchStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    ENDED = "ended", _("Ended")


# SPEC §10: every other move is 409 invalid_transition.
BATCH_MOVES: dict[str, frozenset[str]] = {
    BatchStatus.DRAFT: frozenset({BatchStatus.ACTIVE}),
    BatchStatus.ACTIVE: frozenset({BatchStatus.PAUSED, BatchStatus.ENDED}),
    BatchStatus.PAUSED: frozenset({BatchStatus.ACTIVE, BatchStatus.ENDED}),
    BatchStatus.ENDED: frozenset(),
}


class CodeMode(models.TextChoices):
    UNIQUE = "unique", _("Unique random codes")
    SHARED = "shared", _("One shared public code")


class CouponBatch(TenantScoped):
    """One kind of coupon within a campaign.

    `issued` counts every coupon row of the batch (given to a holder or generated unassigned) and
    never passes `quantity`; it moves only by a conditional UPDATE or under the row's lock.
    `reserved_amount` is what activation reserved from the campaign's budget, `released_amount`
    what ending gave back.
    """

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.PROTECT, related_name="coupon_batches"
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=BatchKind.choices)
    # amount_off/cash: money off; percent_off: percent (0-100]; free_shipping: what shipping costs us
    value = models.DecimalField(**MONEY)
    threshold = models.DecimalField(**MONEY, null=True, blank=True)
    max_discount = models.DecimalField(**MONEY, null=True, blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    valid_days = models.PositiveIntegerField(null=True, blank=True)
    extend_past_campaign = models.BooleanField(default=False)
    scope_merchants = models.ManyToManyField("accounts.Merchant", blank=True, related_name="+")
    scope_regions = models.ManyToManyField("accounts.Region", blank=True, related_name="+")
    scope_categories = models.JSONField(default=list, blank=True)
    quantity = models.PositiveIntegerField()
    per_customer_limit = models.PositiveIntegerField(default=1)
    frequency_cap_count = models.PositiveIntegerField(null=True, blank=True)
    frequency_cap_days = models.PositiveIntegerField(null=True, blank=True)
    stackable = models.BooleanField(default=False)
    claimable = models.BooleanField(default=False)
    code_mode = models.CharField(max_length=8, choices=CodeMode.choices, default=CodeMode.UNIQUE)
    code_length = models.PositiveSmallIntegerField(default=10)
    code_prefix = models.CharField(max_length=16, blank=True)
    shared_code = models.CharField(max_length=32, null=True, blank=True)
    issued = models.PositiveIntegerField(default=0)
    claimed = models.PositiveIntegerField(default=0)
    redeemed = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=8, choices=BatchStatus.choices, default=BatchStatus.DRAFT)
    reserved_amount = models.DecimalField(**MONEY, default=ZERO)
    released_amount = models.DecimalField(**MONEY, default=ZERO)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    activated_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "status"])]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="batch_quantity_positive"),
            models.CheckConstraint(
                condition=Q(issued__lte=F("quantity")), name="batch_issued_le_qty"
            ),
            models.CheckConstraint(
                condition=Q(claimed__lte=F("issued")), name="batch_claimed_le_issued"
            ),
            models.CheckConstraint(
                condition=Q(redeemed__lte=F("issued")), name="batch_redeemed_le_issued"
            ),
            models.CheckConstraint(condition=Q(value__gt=0), name="batch_value_positive"),
            models.CheckConstraint(
                condition=~Q(kind=BatchKind.PERCENT_OFF)
                | (Q(value__lte=100) & Q(max_discount__isnull=False)),
                name="batch_percent_capped",
            ),
            models.CheckConstraint(
                condition=Q(per_customer_limit__gte=1), name="batch_limit_positive"
            ),
            models.CheckConstraint(
                condition=Q(released_amount__lte=F("reserved_amount")),
                name="batch_release_le_reserve",
            ),
            models.CheckConstraint(
                condition=~Q(code_mode=CodeMode.SHARED) | Q(shared_code__isnull=False),
                name="batch_shared_has_code",
            ),
            models.UniqueConstraint(
                fields=["tenant", "shared_code"],
                condition=Q(shared_code__isnull=False),
                name="batch_shared_code_unique",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def stock(self) -> int:
        return self.quantity - self.issued

    @property
    def unit_cost(self) -> Decimal:
        """The most one coupon can cost the budget (SPEC §2.1)."""
        if self.kind == BatchKind.PERCENT_OFF:
            return cast(Decimal, self.max_discount)  # never null here: batch_percent_capped
        return self.value


class CouponStatus(models.TextChoices):
    UNASSIGNED = "unassigned", _("Unassigned")
    ISSUED = "issued", _("Issued")
    REDEEMED = "redeemed", _("Redeemed")
    EXPIRED = "expired", _("Expired")
    VOIDED = "voided", _("Voided")


class Coupon(TenantScoped):
    """One coupon. Unique-code batches: `code` unique in the tenant. Shared-code batches: `code`
    is empty (the code lives on the batch) and a coupon is (batch, customer, seq).

    Millions of rows arrive by COPY, so the table keeps only the indexes its readers need, and
    instead of a foreign key per row (a lookup each, checked at commit: as slow as the COPY
    itself) the migration installs on PostgreSQL a statement-level trigger that checks each
    insert's distinct (tenant, batch) pairs in one query: a coupon is always in an existing
    batch of its own tenant. A batch that has coupons cannot be deleted (trigger and PROTECT).
    The job is provenance only. The batch's index is a BRIN index (also made by the migration):
    a job writes a batch's coupons in long runs, so it finds them cheaply and costs little
    on insert.
    """

    tenant = models.ForeignKey(
        "accounts.Tenant",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    batch = models.ForeignKey(
        CouponBatch,
        on_delete=models.PROTECT,
        related_name="coupons",
        db_index=False,
        db_constraint=False,
    )
    code = models.CharField(max_length=64, null=True, blank=True)
    customer = models.ForeignKey(
        "accounts.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    seq = models.PositiveIntegerField(null=True, blank=True)  # the holder's n-th of this batch
    status = models.CharField(
        max_length=12, choices=CouponStatus.choices, default=CouponStatus.ISSUED
    )
    issued_at = models.DateTimeField(null=True, blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    job = models.ForeignKey(
        "IssuanceJob",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["tenant", "customer", "status"],
                condition=Q(customer__isnull=False),
                name="coupon_customer_status",
            ),
            # The expiry task's scan: only coupons still held, by when they lapse.
            models.Index(
                fields=["valid_until"],
                condition=Q(status="issued"),
                name="coupon_issued_due",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "code"],
                condition=Q(code__isnull=False),
                name="coupon_code_unique",
            ),
            models.UniqueConstraint(
                fields=["tenant", "batch", "customer", "seq"],
                condition=Q(customer__isnull=False),
                name="coupon_holder_seq_unique",
            ),
            models.CheckConstraint(
                condition=Q(customer__isnull=False) | Q(status=CouponStatus.UNASSIGNED),
                name="coupon_holder_unless_unassigned",
            ),
            models.CheckConstraint(
                condition=Q(customer__isnull=True) | Q(seq__isnull=False),
                name="coupon_holder_has_seq",
            ),
        ]

    def __str__(self):
        return self.code or f"{self.batch_id}/{self.customer_id}/{self.seq}"

    @property
    def code_to_show(self) -> str:
        """What the holder types at checkout: the coupon's code, or its batch's shared code."""
        return self.code or self.batch.shared_code or ""


class CouponHolding(TenantScoped):
    """How many coupons of a batch one customer has received: the row every issuance to that
    customer locks, so the per-customer limit holds under concurrency (claims, jobs, rules)."""

    batch = models.ForeignKey(CouponBatch, on_delete=models.CASCADE, related_name="holdings")
    customer = models.ForeignKey("accounts.Customer", on_delete=models.CASCADE, related_name="+")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "batch", "customer"], name="holding_unique"),
        ]


class Segment(TenantScoped):
    """A saved filter over customers (SPEC §2.4)."""

    name = models.CharField(max_length=200)
    filters = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class JobKind(models.TextChoices):
    ISSUE = "issue", _("Issue to customers")
    GENERATE = "generate", _("Generate unassigned codes")


class JobSource(models.TextChoices):
    LIST = "list", _("List of customers")
    FILE = "file", _("Uploaded file")
    SEGMENT = "segment", _("Segment")
    GENERATE = "generate", _("Generated codes")


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class IssuanceJob(TenantScoped):
    """A bulk issuance or generation. Its input is fixed at creation (`customer_codes`; a
    segment is resolved then), so a re-run after a crash works on the same rows."""

    batch = models.ForeignKey(CouponBatch, on_delete=models.PROTECT, related_name="jobs")
    kind = models.CharField(max_length=10, choices=JobKind.choices)
    source = models.CharField(max_length=10, choices=JobSource.choices)
    segment = models.ForeignKey(
        Segment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_name = models.CharField(max_length=255, blank=True)
    customer_codes = models.JSONField(default=list, blank=True)
    # A regional operator's job issues only to customers of their regions; None = any.
    customer_region_ids = models.JSONField(null=True, blank=True)
    chunk_size = models.PositiveIntegerField()
    status = models.CharField(max_length=8, choices=JobStatus.choices, default=JobStatus.QUEUED)
    total = models.PositiveIntegerField()
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "heartbeat_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(done__lte=F("total")) & Q(failed__lte=F("done")),
                name="job_progress_bounded",
            ),
        ]

    def __str__(self):
        return f"{self.kind} #{self.pk}"

    @property
    def chunk_count(self) -> int:
        return -(-self.total // self.chunk_size)


class IssuanceChunk(TenantScoped):
    """Marker of a finished chunk, written in the chunk's own transaction: a re-run skips it."""

    job = models.ForeignKey(IssuanceJob, on_delete=models.CASCADE, related_name="chunks")
    chunk_no = models.PositiveIntegerField()
    issued = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "job", "chunk_no"], name="issuance_chunk_unique"
            )
        ]


class IssuanceError(TenantScoped):
    """One row of a job's error report: which input row failed and why."""

    job = models.ForeignKey(IssuanceJob, on_delete=models.CASCADE, related_name="errors")
    row_no = models.PositiveIntegerField()  # 1-based position in the job's input
    value = models.CharField(max_length=255, blank=True)
    reason = models.CharField(max_length=32)
    detail = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["row_no"]
        indexes = [models.Index(fields=["job", "row_no"])]

    @property
    def reason_text(self) -> str:
        """The reason in words, for people; `reason` stays the code, for the report's readers."""
        return issue_row_reason_text(self.reason)


class CouponRedemption(TenantScoped):
    """One use of a coupon on an order, kept for finance's reconciliation (SPEC §2.5).

    A rollback stamps `rolled_back_at` and leaves the row: the coupon may be redeemed again
    later (a new row), so at most one row per coupon is live, and per (coupon, order) the live
    row is what a retried redeem returns.
    """

    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions")
    batch = models.ForeignKey(CouponBatch, on_delete=models.PROTECT, related_name="redemptions")
    customer = models.ForeignKey("accounts.Customer", on_delete=models.PROTECT, related_name="+")
    merchant = models.ForeignKey(
        "accounts.Merchant", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    region = models.ForeignKey(
        "accounts.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    order_ref = models.CharField(max_length=100)  # the order's external id
    order_amount = models.DecimalField(**MONEY)
    discount = models.DecimalField(**MONEY)
    reserved = models.DecimalField(**MONEY)  # what the coupon reserved when it was redeemed
    # Hashed device id and phone of the order: fraud limits count customers per fingerprint.
    device_fingerprint = models.CharField(max_length=128, blank=True)
    phone_fingerprint = models.CharField(max_length=128, blank=True)
    redeemed_at = models.DateTimeField()
    rolled_back_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-redeemed_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "order_ref"], name="redemption_order"),
            models.Index(fields=["tenant", "redeemed_at"], name="redemption_time"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "coupon"],
                condition=Q(rolled_back_at__isnull=True),
                name="redemption_one_live_per_coupon",
            ),
            models.CheckConstraint(
                condition=Q(discount__gte=0) & Q(discount__lte=F("reserved")),
                name="redemption_discount_within_reserve",
            ),
        ]

    def __str__(self):
        return f"{self.coupon_id} on {self.order_ref}"


class EventType(models.TextChoices):
    REGISTRATION = "registration", _("Registration")
    REFERRAL = "referral", _("Referral")
    REAL_NAME_VERIFIED = "real_name_verified", _("Real-name verification")
    BANK_CARD_BOUND = "bank_card_bound", _("Bank card bound")
    ORDER_PAID = "order_paid", _("Order paid")
    SHARE = "share", _("Page shared")


class IssuanceRule(TenantScoped):
    """Issue a batch's coupon when an event arrives (SPEC §2.4 Automatic). A referral issues to
    both the invitee and the inviter. The frequency cap counts this rule's coupons per customer."""

    batch = models.ForeignKey(CouponBatch, on_delete=models.CASCADE, related_name="rules")
    event = models.CharField(max_length=24, choices=EventType.choices)
    frequency_cap_count = models.PositiveIntegerField(null=True, blank=True)
    frequency_cap_days = models.PositiveIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["event", "id"]
        indexes = [models.Index(fields=["tenant", "event", "active"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(frequency_cap_count__isnull=True, frequency_cap_days__isnull=True)
                | Q(frequency_cap_count__gte=1, frequency_cap_days__gte=1),
                name="rule_cap_complete",
            ),
        ]

    def __str__(self):
        return f"{self.event} → {self.batch}"


class Event(TenantScoped):
    """An event an integrator sent; its `event_id` makes a resend a no-op."""

    event_id = models.CharField(max_length=100)
    type = models.CharField(max_length=24, choices=EventType.choices)
    customer = models.ForeignKey("accounts.Customer", on_delete=models.PROTECT, related_name="+")
    inviter = models.ForeignKey(
        "accounts.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    device_fingerprint = models.CharField(max_length=128, blank=True)
    phone_fingerprint = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "event_id"], name="event_id_unique"),
        ]

    def __str__(self):
        return self.event_id


class EventIssue(TenantScoped):
    """What one rule did for one customer of an event: the coupon, or why none."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="issues")
    rule = models.ForeignKey(IssuanceRule, on_delete=models.CASCADE, related_name="issues")
    customer = models.ForeignKey("accounts.Customer", on_delete=models.PROTECT, related_name="+")
    coupon = models.ForeignKey(
        Coupon, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=32)  # "issued" or the refusal's code

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["rule", "customer", "created_at"])]


class BlockedCustomer(TenantScoped):
    """A customer on the blocklist: no coupon applies to them (reason `blocked`)."""

    customer = models.ForeignKey("accounts.Customer", on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "customer"], name="blocked_customer_unique"),
        ]


class FraudSettings(TenantScoped):
    """The tenant's fraud limits ("wool party": many accounts, one device). A tenant without a
    row has the defaults of the fields."""

    tenant = models.OneToOneField(
        "accounts.Tenant", on_delete=models.CASCADE, related_name="fraud_settings"
    )
    # Redemptions one customer may make in 24 hours, across every batch.
    customer_daily = models.PositiveIntegerField(default=10)
    # Other customers one device or phone fingerprint may serve in 24 hours (redemptions and
    # event issuance alike) before the next one is refused.
    fingerprint_customers = models.PositiveIntegerField(default=3)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(customer_daily__gte=1) & Q(fingerprint_customers__gte=1),
                name="fraud_settings_positive",
            ),
        ]


class CampaignRedemptionLimit(TenantScoped):
    """At most `max_per_customer` live redemptions of one campaign's coupons (all its batches)
    per customer. Kept with the fraud settings, so the campaign itself stays as it is."""

    campaign = models.OneToOneField(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="+"
    )
    max_per_customer = models.PositiveIntegerField()

    class Meta:
        ordering = ["campaign_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_per_customer__gte=1), name="campaign_limit_positive"
            ),
        ]
