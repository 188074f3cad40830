from django.db import models

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
