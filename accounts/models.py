"""Tenants, users and their memberships, and the master data every other app refers to."""

import hashlib
import secrets
import zoneinfo
from datetime import timedelta

from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import TenantScoped

from .roles import Role

TIME_ZONE_CHOICES = sorted((tz, tz) for tz in zoneinfo.available_timezones())


class Tenant(models.Model):
    """One company on the platform. Tenants never see each other's data."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    time_zone = models.CharField(max_length=64, default="Asia/Shanghai", choices=TIME_ZONE_CHOICES)
    currency = models.CharField(max_length=3, default="CNY")
    is_active = models.BooleanField(default=True)
    # Personal API tokens die after this many days; a password or role change kills them sooner.
    token_lifetime_days = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("Days a personal API token stays valid after it is issued."),
    )
    # A manual points adjustment larger than this (either way) is refused (points_adjust).
    max_points_adjustment = models.PositiveIntegerField(
        default=100_000,
        validators=[MinValueValidator(1)],
        help_text=_("The most points one manual adjustment may add or take."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class User(AbstractUser):
    """A person. What they may do lives on their memberships, one per tenant."""

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="user_email_unique_ci",
                condition=~models.Q(email=""),
            )
        ]


class BusinessUnit(TenantScoped):
    code = models.CharField(max_length=50)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="business_unit_code_unique")
        ]

    def __str__(self):
        return f"{self.code} {self.name}"


class Region(TenantScoped):
    code = models.CharField(max_length=50)
    name = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="region_code_unique")
        ]
        permissions = [("operate_region", "Operate campaigns and data of this region")]

    def __str__(self):
        return f"{self.code} {self.name}"


class Merchant(TenantScoped):
    code = models.CharField(max_length=50)
    name = models.CharField(max_length=200)
    region = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, related_name="merchants"
    )
    # The merchant as the platform's customer: a coupon prize its staff redeem is issued to this
    # record (SPEC §4), so the reward serves the merchant who pays for the orders.
    customer = models.ForeignKey(
        "Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="merchant_code_unique")
        ]
        permissions = [("manage_merchant", "Administer this merchant in the portal")]

    def __str__(self):
        return f"{self.code} {self.name}"


class MerchantStaff(TenantScoped):
    """A merchant's customer-service staff member; earns points on their own account."""

    code = models.CharField(max_length=50)
    name = models.CharField(max_length=200)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="staff")
    phone = models.CharField(max_length=32, blank=True)
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="staff_profiles"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "merchant staff"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="staff_code_unique"),
            models.UniqueConstraint(
                fields=["tenant", "user"],
                name="staff_user_unique",
                condition=models.Q(user__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"


class Customer(TenantScoped):
    code = models.CharField(max_length=64)
    name = models.CharField(max_length=200, blank=True)
    registered_on = models.DateField(null=True, blank=True)
    region = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, related_name="customers"
    )
    tags = models.JSONField(default=list, blank=True)
    last_order_on = models.DateField(null=True, blank=True)
    # Fingerprints for fraud limits: many accounts on one phone or device are one person.
    phone_fingerprint = models.CharField(max_length=128, blank=True)
    device_fingerprint = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="customer_code_unique")
        ]
        indexes = [
            models.Index(fields=["tenant", "device_fingerprint"]),
            models.Index(fields=["tenant", "phone_fingerprint"]),
            models.Index(fields=["tenant", "region"]),
        ]

    def __str__(self):
        return self.code


class Membership(TenantScoped):
    """A user's one role in one tenant (SPEC §7). Never Django's global groups."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=32, choices=Role.choices)
    business_unit = models.ForeignKey(
        BusinessUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    merchant = models.ForeignKey(
        Merchant, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["user__username"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique"),
            models.CheckConstraint(
                condition=~models.Q(role=Role.BU_ADMIN) | models.Q(business_unit__isnull=False),
                name="membership_bu_admin_has_unit",
            ),
            models.CheckConstraint(
                condition=~models.Q(role__in=[Role.MERCHANT_ADMIN, Role.MERCHANT_STAFF])
                | models.Q(merchant__isnull=False),
                name="membership_merchant_role_has_merchant",
            ),
        ]

    def __str__(self):
        return f"{self.user} @ {self.tenant_id}: {self.role}"


def _digest(secret: str) -> str:
    # Keys and tokens are 256-bit random strings, so a fast hash is enough to make a leaked
    # table useless; a slow password hash would only slow down every API call.
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeyScope(models.TextChoices):
    ORDERS = "orders", _("Orders")
    COUPONS = "coupons", _("Coupons")
    POINTS = "points", _("Points")
    MASTER_DATA = "master_data", _("Master data")


class ApiKey(TenantScoped):
    """An integrator's key. Only its hash is stored; the key itself is shown once."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def new_secret() -> tuple[str, str]:
        """(prefix, full key). The prefix finds the row; the rest is checked against the hash."""
        prefix = secrets.token_hex(4)
        return prefix, f"pk_{prefix}_{secrets.token_urlsafe(32)}"

    @staticmethod
    def digest(key: str) -> str:
        return _digest(key)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class PersonalToken(TenantScoped):
    """A console user's API token, bound to one membership (SPEC §10 Tokens)."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="tokens")
    prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"token {self.prefix}… of {self.membership}"

    @staticmethod
    def expiry_for(tenant: Tenant):
        return timezone.now() + timedelta(days=tenant.token_lifetime_days)

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @staticmethod
    def new_secret() -> tuple[str, str]:
        prefix = secrets.token_hex(4)
        return prefix, f"pt_{prefix}_{secrets.token_urlsafe(32)}"

    @staticmethod
    def digest(key: str) -> str:
        return _digest(key)
