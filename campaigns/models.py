from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import TenantScoped

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
