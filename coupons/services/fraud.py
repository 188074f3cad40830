"""Fraud limits ("wool party": many accounts, one device) and the blocklist."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import scope as data_scope
from accounts.models import Customer, Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from campaigns.models import Campaign
from core.errors import PermissionDeniedError, ValidationFailed
from core.services import audit_record

from .. import locks
from ..models import (
    BlockedCustomer,
    CampaignRedemptionLimit,
    CouponRedemption,
    Event,
    FraudSettings,
)
from ..rules import FraudLimit
from ..selectors import tenant_fraud_settings


def fraud_limit_text(limit: str) -> str:
    """What an operator or integrator reads for a `fraud_limit` refusal."""
    return {
        FraudLimit.CUSTOMER_DAILY: _("Limit reached: the customer's redemptions per day."),
        FraudLimit.DEVICE: _("Limit reached: customers served by this device today."),
        FraudLimit.PHONE: _("Limit reached: customers served by this phone today."),
        FraudLimit.CAMPAIGN: _("Limit reached: the customer's redemptions in this campaign."),
        FraudLimit.BATCH_PER_CUSTOMER: _("Limit reached: the batch's coupons per customer."),
        FraudLimit.BATCH_FREQUENCY_CAP: _("Limit reached: the batch's frequency cap."),
    }[FraudLimit(limit)]


def customer_blocked(*, tenant: Tenant, customer: Customer) -> bool:
    return BlockedCustomer.objects.for_tenant(tenant).filter(customer=customer).exists()


def _fingerprint_customers(model, tenant: Tenant, field: str, value: str, since) -> set[int]:
    return set(
        model.objects.for_tenant(tenant)
        .filter(**{field: value, "created_at__gte": since})
        .values_list("customer_id", flat=True)
        .distinct()
    )


def _fraud_limit_hit(
    tenant: Tenant,
    customer: Customer,
    device: str,
    phone: str,
    *,
    campaign_id: int | None = None,
    lock: bool = False,
) -> str | None:
    """The first of the tenant's fraud limits the customer's next redemption (or event issue)
    would break, or None: their redemptions today; other customers the order's device or phone
    served today; their live redemptions of the campaign, when it has a limit. Under `lock`
    (redeem) the customer's row and the fingerprints are locked before counting, so redemptions
    racing for the last place under a limit are counted one after the other."""
    limits = tenant_fraud_settings(tenant)
    if lock:
        locks.lock_customer(tenant, customer)
        locks.lock_fingerprints(tenant, device, phone)
    since = timezone.now() - timedelta(days=1)
    live = CouponRedemption.objects.for_tenant(tenant).filter(
        customer=customer, rolled_back_at__isnull=True
    )
    if live.filter(redeemed_at__gte=since).count() >= limits.customer_daily:
        return FraudLimit.CUSTOMER_DAILY
    for limit, field, value in (
        (FraudLimit.DEVICE, "device_fingerprint", device),
        (FraudLimit.PHONE, "phone_fingerprint", phone),
    ):
        if value:
            others = _fingerprint_customers(CouponRedemption, tenant, field, value, since)
            others |= _fingerprint_customers(Event, tenant, field, value, since)
            others.discard(customer.pk)
            if len(others) >= limits.fingerprint_customers:
                return limit
    if campaign_id is not None:
        cap = (
            CampaignRedemptionLimit.objects.for_tenant(tenant)
            .filter(campaign_id=campaign_id)
            .values_list("max_per_customer", flat=True)
            .first()
        )
        if cap is not None and live.filter(batch__campaign_id=campaign_id).count() >= cap:
            return FraudLimit.CAMPAIGN
    return None


FRAUD_FIELDS = ("customer_daily", "fingerprint_customers")


def _fraud_snapshot(tenant: Tenant) -> dict:
    row = tenant_fraud_settings(tenant)
    limits = CampaignRedemptionLimit.objects.for_tenant(tenant).order_by("campaign_id")
    return {
        **{field: getattr(row, field) for field in FRAUD_FIELDS},
        "campaign_limits": {str(lim.campaign_id): lim.max_per_customer for lim in limits},
    }


def fraud_settings_changeable(actor: Actor) -> bool:
    """Campaign managers without a region or business-unit scope (SPEC §7): the limits bind
    every campaign of the tenant."""
    return (
        actor.can(Action.CAMPAIGNS_MANAGE)
        and actor.region_ids is None
        and actor.business_unit_id is None
    )


@transaction.atomic
def fraud_settings_update(
    *,
    tenant: Tenant,
    actor: Actor,
    customer_daily: int,
    fingerprint_customers: int,
    campaign_limits: dict[Campaign, int],
) -> FraudSettings:
    """Replace the tenant's fraud limits, per-campaign limits included (a campaign left out has
    none). Tenant-wide settings: changed by campaign managers whose scope is the whole tenant."""
    actor.require(Action.CAMPAIGNS_MANAGE)
    if not fraud_settings_changeable(actor):
        raise PermissionDeniedError(_("Fraud limits are tenant-wide; your role is not."))
    errors: dict[str, list[str]] = {}
    for field, value in (
        ("customer_daily", customer_daily),
        ("fingerprint_customers", fingerprint_customers),
    ):
        if not isinstance(value, int) or value < 1:
            errors[field] = [_("A whole number, at least 1.")]
    for campaign, cap in campaign_limits.items():
        if campaign.tenant_id != tenant.pk:
            errors.setdefault("campaign_limits", []).append(_("Unknown campaign."))
        elif not isinstance(cap, int) or cap < 1:
            errors.setdefault("campaign_limits", []).append(
                _("%(campaign)s: a whole number, at least 1.") % {"campaign": campaign.name}
            )
    if errors:
        raise ValidationFailed(_("Check the fraud limits."), fields=errors)
    row, _created = locks.lock_fraud_settings(tenant)
    before = _fraud_snapshot(tenant)
    row.customer_daily, row.fingerprint_customers = customer_daily, fingerprint_customers
    row.save()
    CampaignRedemptionLimit.objects.for_tenant(tenant).delete()
    CampaignRedemptionLimit.objects.bulk_create(
        CampaignRedemptionLimit(tenant=tenant, campaign=campaign, max_per_customer=cap)
        for campaign, cap in campaign_limits.items()
    )
    after = _fraud_snapshot(tenant)
    if after != before:
        audit_record(
            tenant=tenant,
            actor=actor,
            action="fraud_settings.update",
            obj=row,
            before=before,
            after=after,
        )
    return row


@transaction.atomic
def customer_block(*, tenant: Tenant, actor: Actor, customer: Customer, reason: str = "") -> None:
    actor.require(Action.COUPONS_SUPPORT)
    data_scope.require_customer(actor, customer)
    _, created = BlockedCustomer.objects.get_or_create(
        tenant=tenant, customer=customer, defaults={"reason": reason, "created_by": actor.user}
    )
    if created:
        audit_record(
            tenant=tenant,
            actor=actor,
            action="customer.block",
            obj=customer,
            after={"blocked": True, "reason": reason},
        )


@transaction.atomic
def customer_unblock(*, tenant: Tenant, actor: Actor, customer: Customer) -> bool:
    """Take the customer off the blocklist; False when they were not on it."""
    actor.require(Action.COUPONS_SUPPORT)
    data_scope.require_customer(actor, customer)
    deleted, _rows = BlockedCustomer.objects.for_tenant(tenant).filter(customer=customer).delete()
    if deleted:
        audit_record(tenant=tenant, actor=actor, action="customer.unblock", obj=customer, after={})
    return bool(deleted)
