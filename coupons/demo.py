"""Coupon batches of the demo tenant (SPEC §9): the Double Eleven stages as batches — warm-up
new-user coupons, the opening coupon pack, apology vouchers — activated (budget reserved) and
issued to customers through the same jobs the console starts."""

from datetime import timedelta
from decimal import Decimal

from accounts.models import Customer, Membership, Merchant, Region
from accounts.permissions import Actor
from campaigns.models import Campaign
from core.demo import DemoContext, demo_step
from core.errors import DomainError

from . import services
from .models import (
    BatchStatus,
    Coupon,
    CouponBatch,
    CouponRedemption,
    CouponStatus,
    EventType,
    IssuanceRule,
    Segment,
)
from .selectors import segment_customers

OPERATOR = "demo-operator"


def _batches(campaign: Campaign) -> list[dict]:
    return [
        {
            "name": "Warm-up new-user coupons",
            "kind": "amount_off",
            "value": Decimal("10.00"),
            "threshold": Decimal("50.00"),
            "valid_days": 7,
            "quantity": 5000,
            "claimable": True,
            "code_prefix": "NEW",
        },
        {
            "name": "Opening coupon pack",
            "kind": "percent_off",
            "value": Decimal("15"),
            "max_discount": Decimal("30.00"),
            "threshold": Decimal("99.00"),
            "valid_until": campaign.ends_at,
            "quantity": 3000,
            "per_customer_limit": 2,
            "frequency_cap_count": 1,
            "frequency_cap_days": 1,
            "scope_categories": ["screen repair", "battery"],
        },
        {
            "name": "Apology vouchers",
            "kind": "cash",
            "value": Decimal("20.00"),
            "valid_days": 30,
            "extend_past_campaign": True,
            "quantity": 500,
            "per_customer_limit": 3,
            "code_prefix": "SORRY",
        },
    ]


def _issue(ctx, actor, batch, **source) -> int:
    job = services.issuance_job_create(tenant=ctx.tenant, actor=actor, batch=batch, **source)
    # Run it here (a worker or the eager mode would find it done and skip every chunk).
    return services.issuance_job_run(tenant=ctx.tenant, job_id=job.pk).done


@demo_step(order=45)
def seed_coupons(ctx: DemoContext) -> str:
    tenant = ctx.tenant
    campaign = Campaign.objects.for_tenant(tenant).filter(name="Double Eleven").first()
    if campaign is None:
        return "coupons: no Double Eleven campaign, nothing to do"
    membership = Membership.objects.for_tenant(tenant).get(user__username=OPERATOR)
    actor = Actor(tenant=tenant, membership=membership)
    existing = set(
        CouponBatch.objects.for_tenant(tenant)
        .filter(campaign=campaign)
        .values_list("name", flat=True)
    )
    rng = ctx.rng("coupons")
    customers = list(
        Customer.objects.for_tenant(tenant).order_by("pk").values_list("code", flat=True)
    )
    created = issued = 0
    for fields in _batches(campaign):
        if fields["name"] in existing:
            continue
        batch = services.batch_create(tenant=tenant, actor=actor, campaign=campaign, **fields)
        batch = services.batch_activate(tenant=tenant, actor=actor, batch=batch)
        created += 1
        if not customers:
            continue
        if batch.name.startswith("Warm-up"):
            picked = rng.sample(customers, min(len(customers), max(10, len(customers) // 20)))
            issued += _issue(ctx, actor, batch, customers=picked)
        elif batch.name.startswith("Opening"):
            segment = Segment.objects.for_tenant(tenant).filter(name="Recent buyers").first()
            if segment is None:
                segment = services.segment_create(
                    tenant=tenant,
                    actor=actor,
                    name="Recent buyers",
                    filters={"last_order_after": ctx.today - timedelta(days=30)},
                )
            if segment_customers(tenant=tenant, actor=actor, segment=segment).exists():
                issued += _issue(ctx, actor, batch, segment=segment)
            job = services.generation_job_create(tenant=tenant, actor=actor, batch=batch, count=200)
            issued += services.issuance_job_run(tenant=tenant, job_id=job.pk).done
        else:
            picked = rng.sample(customers, min(len(customers), 40))
            issued += _issue(ctx, actor, batch, customers=picked)
    return (
        f"coupons: {created} batches created, {3 - created} already there, "
        f"{issued} coupons issued or generated"
    )


@demo_step(order=46)
def seed_redemptions(ctx: DemoContext) -> str:
    """Redemptions across the stages (some rolled back, as cancelled orders are) and a
    registration rule that gives new customers the warm-up coupon."""
    tenant = ctx.tenant
    if CouponRedemption.objects.for_tenant(tenant).exists():
        return "coupon redemptions: already there"
    membership = Membership.objects.for_tenant(tenant).get(user__username=OPERATOR)
    actor = Actor(tenant=tenant, membership=membership)
    batches = list(
        CouponBatch.objects.for_tenant(tenant).filter(status=BatchStatus.ACTIVE).order_by("pk")
    )
    merchants = list(Merchant.objects.for_tenant(tenant).order_by("pk"))
    if not batches or not merchants:
        return "coupon redemptions: no active batches or merchants, nothing to do"
    rng = ctx.rng("coupon-redemptions")
    warm_up = next((b for b in batches if b.name.startswith("Warm-up")), None)
    if warm_up is not None and not IssuanceRule.objects.for_tenant(tenant).exists():
        services.issuance_rule_create(
            tenant=tenant, actor=actor, batch=warm_up, event=EventType.REGISTRATION
        )
    # A customer redeems at a merchant of their own province, so a regional operator's pages
    # show whole redemptions (customer, merchant and order all theirs).
    parent_of = dict(Region.objects.for_tenant(tenant).values_list("pk", "parent_id"))

    def province(region_id):
        while parent_of.get(region_id) is not None:
            region_id = parent_of[region_id]
        return region_id

    nearby: dict[int, list] = {}
    for merchant in merchants:
        nearby.setdefault(province(merchant.region_id), []).append(merchant)
    redeemed = rolled_back = 0
    for batch in batches:
        coupons = list(
            Coupon.objects.for_tenant(tenant)
            .filter(batch=batch, status=CouponStatus.ISSUED, customer__isnull=False)
            .select_related("customer")
            .order_by("pk")[:30]
        )
        # Customers with a shop in their province first: they are the ones who redeem.
        coupons.sort(key=lambda c: province(c.customer.region_id) not in nearby)
        floor = batch.threshold or Decimal("0")
        for n, coupon in enumerate(coupons[:20]):
            order = f"DEMO-CPN-{batch.pk}-{n:03d}"
            try:
                services.coupon_redeem(
                    tenant=tenant,
                    actor=actor,
                    code=coupon.code or batch.shared_code,
                    customer=coupon.customer,
                    order=order,
                    amount=floor + Decimal(rng.randint(10, 300)),
                    merchant=rng.choice(
                        nearby.get(province(coupon.customer.region_id)) or merchants
                    ),
                    categories=batch.scope_categories[:1],
                )
            except DomainError:
                continue  # a demo coupon that does not apply (e.g. a fraud limit) is skipped
            redeemed += 1
            if n % 5 == 4:
                services.coupon_rollback(
                    tenant=tenant, actor=actor, code=coupon.code or batch.shared_code, order=order
                )
                rolled_back += 1
    return f"coupon redemptions: {redeemed} redeemed, {rolled_back} of them rolled back"
