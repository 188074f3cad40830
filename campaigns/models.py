from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import MONEY, TenantScoped

# Every new tenant starts with these (SPEC §2.2); the list is the tenant's to edit.
DEFAULT_CHANNELS = [
    ("app", "App"),
    ("web", "Web"),
    ("wechat", "WeChat"),
    ("weibo", "Weibo"),
    ("partner", "Partner"),
    ("sms", "SMS"),
    ("push", "Push notification"),
    ("offline", "Offline (posters, in-store)"),
]


class Channel(TenantScoped):
    """Where a campaign reaches customers; every coupon, entry and order is attributed to one."""

    code = models.CharField(max_length=50)
    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="channel_code_unique")
        ]

    def __str__(self):
        return self.code


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    ENDED = "ended", _("Ended")


# SPEC §10: every other move is 409 invalid_transition.
CAMPAIGN_MOVES: dict[str, frozenset[str]] = {
    CampaignStatus.DRAFT: frozenset({CampaignStatus.SCHEDULED}),
    CampaignStatus.SCHEDULED: frozenset({CampaignStatus.RUNNING, CampaignStatus.ENDED}),
    CampaignStatus.RUNNING: frozenset({CampaignStatus.PAUSED, CampaignStatus.ENDED}),
    CampaignStatus.PAUSED: frozenset({CampaignStatus.RUNNING, CampaignStatus.ENDED}),
    CampaignStatus.ENDED: frozenset(),
}


class Campaign(TenantScoped):
    """A campaign under one budget; its business unit is the budget's (SPEC §2.2)."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    business_unit = models.ForeignKey(
        "accounts.BusinessUnit", on_delete=models.PROTECT, related_name="campaigns"
    )
    budget = models.ForeignKey("budgets.Budget", on_delete=models.PROTECT, related_name="campaigns")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    channels = models.ManyToManyField(Channel, blank=True, related_name="campaigns")
    regions = models.ManyToManyField("accounts.Region", related_name="campaigns")
    owner = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    scheduled_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "status"]),
            # The advance task looks for due starts and ends across tenants.
            models.Index(fields=["status", "starts_at"]),
            models.Index(fields=["status", "ends_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="campaign_period_ordered",
            )
        ]

    def __str__(self):
        return self.name


class SimulationStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class SimulationKind(models.TextChoices):
    PAST = "past", _("Past orders")
    SHADOW = "shadow", _("Shadow run on live orders")


class CampaignSimulation(TenantScoped):
    """A replay of orders through a campaign's design (campaigns.simulation).

    `past`: the check's replay of past orders, kept per version: the same rules, programs,
    prizes, budget figure and window give the same result, so a repeated check reads it.
    `shadow`: one per scheduled campaign, the live orders since it was scheduled, replayed
    again by the periodic task; its awards are ShadowAward rows, never paid.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="simulations")
    kind = models.CharField(
        max_length=8, choices=SimulationKind.choices, default=SimulationKind.PAST
    )
    version = models.CharField(max_length=64)  # sha256 of what the result depends on; "shadow"
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=SimulationStatus.choices, default=SimulationStatus.QUEUED
    )
    total = models.PositiveIntegerField(default=0)  # orders in the window
    done = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "campaign", "version"], name="campaign_simulation_version"
            )
        ]


class ShadowAward(TenantScoped):
    """What a scheduled campaign's rules would have given a live order, had it been running:
    computed by the award code (points.engine) in its shadow run, never paid, never in a
    balance, and dropped when the campaign starts or ends."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey("points.PointsRule", on_delete=models.CASCADE, related_name="+")
    holder_id = models.BigIntegerField()  # the staff, merchant or customer, as the program says
    region = models.ForeignKey("accounts.Region", on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveBigIntegerField(null=True, blank=True)
    requested = models.BigIntegerField(default=0)
    points = models.BigIntegerField(default=0)
    money = models.DecimalField(**MONEY, default=Decimal("0.00"))
    outcome = models.CharField(max_length=16)
    placed_at = models.DateTimeField()
    closed = models.BooleanField(default=False)

    class Meta:
        ordering = ["placed_at", "id"]
        indexes = [models.Index(fields=["tenant", "campaign", "placed_at"])]
