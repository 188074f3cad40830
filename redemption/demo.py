"""Prizes of the demo tenant (SPEC §9): phone top-ups and an e-card, every one priced
at the program's value of a point (0.20 CNY), a climax lottery whose draw returns fewer points
than it costs, and a few redemptions and draws by staff who earned enough in the demo month —
all through the services, so stock, points and ledger are the real ones."""

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.demo import PORTAL_MERCHANT, PORTAL_STAFF
from accounts.models import Membership, MerchantStaff
from accounts.permissions import Actor
from accounts.services import customer_upsert, merchant_upsert
from core.demo import DemoContext, demo_step
from coupons.demo import OPERATOR
from coupons.models import CouponBatch
from points import services as points_services
from points.demo import PROGRAM
from points.models import PointsAccount, PointsProgram

from . import services
from .models import Lottery, LotteryDraw, LotteryStatus, Prize, PrizeRedemption

# name, kind, money value (CNY), stock: points cost = value / 0.20 CNY a point
PRIZES = [
    ("Phone top-up 10 CNY", "virtual", "10.00", 500),
    ("Phone top-up 30 CNY", "virtual", "30.00", 300),
    # The top prize is what one staff member can earn in the month: 50 a week (the campaign
    # check refuses a prize nobody can reach; the review's 10,000-point iPhone was one).
    ("JD e-card 40 CNY", "virtual", "40.00", 200),
]
LOTTERY = "Double Eleven climax lottery"
REDEMPTIONS = {"tiny": 5, "demo": 40, "full": 400}  # staff who spend points
STAR_BONUS = 100


def _prizes(ctx: DemoContext, program: PointsProgram) -> dict[str, Prize]:
    existing = {p.name: p for p in Prize.objects.for_tenant(ctx.tenant)}
    for name, kind, value, stock in PRIZES:
        if name not in existing:
            existing[name] = services.prize_create(
                tenant=ctx.tenant,
                actor=ctx.actor,
                program=program,
                name=name,
                kind=kind,
                value=Decimal(value),
                points_cost=int(Decimal(value) / program.point_value),
                stock=stock,
                per_holder_limit=5 if kind == "virtual" else 1,
            )
    return existing


def _lottery(ctx: DemoContext, program: PointsProgram, top_up: Prize) -> Lottery:
    lottery = Lottery.objects.for_tenant(ctx.tenant).filter(name=LOTTERY).first()
    if lottery is None:
        # A draw costs 20 points and returns 7.5 on average (50 x 0.1 + a 50-point prize x 0.05).
        lottery = services.lottery_create(
            tenant=ctx.tenant,
            actor=ctx.actor,
            program=program,
            name=LOTTERY,
            cost_points=20,
            outcomes=[
                {"kind": "points", "points": 50, "probability": Decimal("0.10"), "inventory": 100},
                {"kind": "prize", "prize": top_up, "probability": Decimal("0.05")},
                {"kind": "nothing", "probability": Decimal("0.85")},
            ],
        )
    if lottery.status == LotteryStatus.DRAFT:
        lottery = services.lottery_activate(tenant=ctx.tenant, actor=ctx.actor, lottery=lottery)
    return lottery


@demo_step(order=70)
@transaction.atomic  # all or nothing: a rerun sees redemptions or none
def seed_prizes(ctx: DemoContext) -> str:
    tenant = ctx.tenant
    program = PointsProgram.objects.for_tenant(tenant).get(name=PROGRAM)
    prizes = _prizes(ctx, program)
    lottery = _lottery(ctx, program, prizes["Phone top-up 10 CNY"])
    if (
        PrizeRedemption.objects.for_tenant(tenant).exists()
        or LotteryDraw.objects.for_tenant(tenant).exists()
    ):
        return f"prizes: {len(PRIZES)} prizes and a lottery, redemptions already there"
    rng = ctx.rng("prize-redemptions")
    top_up = prizes["Phone top-up 10 CNY"]
    # The month's service stars get a bonus from the operator (an audited adjustment), then
    # spend points the way staff would in the portal: a top-up, or a draw.
    accounts = list(
        PointsAccount.objects.for_tenant(tenant)
        .filter(program=program, lifetime_earned__gt=0)
        .select_related("staff")
        .order_by("-lifetime_earned", "pk")[: REDEMPTIONS.get(ctx.size.name, 40)]
    )
    redeemed = drawn = 0
    for account in accounts:
        points_services.points_adjust(
            tenant=tenant,
            actor=ctx.actor,
            account=account,
            points=STAR_BONUS,
            reason="November service star",
        )
        if rng.random() < 0.6:
            services.prize_redeem(tenant=tenant, actor=ctx.actor, staff=account.staff, prize=top_up)
            redeemed += 1
        else:
            services.lottery_draw(
                tenant=tenant, actor=ctx.actor, lottery=lottery, staff=account.staff
            )
            drawn += 1
    return f"prizes: {len(PRIZES)} prizes and a lottery; {redeemed} redemptions, {drawn} draws"


@demo_step(order=74)  # after the portal merchant's orders (points/demo.py)
@transaction.atomic
def seed_portal_redemption(ctx: DemoContext) -> str:
    """demo-staff's account has spent points too: the operator's service-star bonus, then a
    phone top-up redeemed the way the portal does it. Once: a redemption by them stays."""
    tenant = ctx.tenant
    staff = MerchantStaff.objects.for_tenant(tenant).get(code=PORTAL_STAFF)
    if PrizeRedemption.objects.for_tenant(tenant).filter(staff=staff).exists():
        return f"{PORTAL_STAFF} redemption: already there"
    program = PointsProgram.objects.for_tenant(tenant).get(name=PROGRAM)
    top_up = Prize.objects.for_tenant(tenant).get(name="Phone top-up 10 CNY")
    account = points_services.account_for_holder(tenant=tenant, program=program, holder=staff)
    points_services.points_adjust(
        tenant=tenant,
        actor=ctx.actor,
        account=account,
        points=STAR_BONUS,
        reason="November service star",
    )
    services.prize_redeem(tenant=tenant, actor=ctx.actor, staff=staff, prize=top_up)
    return f"{PORTAL_STAFF} redemption: 1 {top_up.name}"


# What the portal shows on its first visit (issue 14): a coupon prize that issues a real
# coupon to the shop's own customer record, and a physical prize already in fulfilment.
SHOP_CUSTOMER = f"SHOP-{PORTAL_MERCHANT}"
COUPON_PRIZE = ("Repair voucher 20 CNY", "Apology vouchers", "20.00", 60)
PHYSICAL_PRIZE = ("Power bank 10,000 mAh", "39.00", 40)
TOP_REVIEWER_BONUS = 295  # the voucher (100) and the power bank (195)


def _portal_prizes(ctx: DemoContext, program: PointsProgram) -> tuple[Prize, Prize]:
    name, batch_name, value, stock = COUPON_PRIZE
    coupon = Prize.objects.for_tenant(ctx.tenant).filter(name=name).first()
    if coupon is None:
        coupon = services.prize_create(
            tenant=ctx.tenant, actor=ctx.actor, program=program, name=name, kind="coupon",
            value=Decimal(value), points_cost=int(Decimal(value) / program.point_value),
            stock=stock, per_holder_limit=1,
            coupon_batch=CouponBatch.objects.for_tenant(ctx.tenant).get(name=batch_name),
        )  # fmt: skip
    name, value, stock = PHYSICAL_PRIZE
    physical = Prize.objects.for_tenant(ctx.tenant).filter(name=name).first()
    if physical is None:
        physical = services.prize_create(
            tenant=ctx.tenant, actor=ctx.actor, program=program, name=name, kind="physical",
            value=Decimal(value), points_cost=int(Decimal(value) / program.point_value),
            stock=stock, per_holder_limit=1,
        )  # fmt: skip
    return coupon, physical


@demo_step(order=76)  # after demo-staff's top-up (seed_portal_redemption)
@transaction.atomic
def seed_portal_fulfilment(ctx: DemoContext) -> str:
    """The portal merchant is linked to its customer record; demo-staff, the month's top
    reviewer, takes the repair voucher (its code shows in the portal) and a power bank that the
    operator has shipped; a colleague's power bank waits in the fulfilment queue. Balances end
    where they were (the bonus pays for both). Once: a power bank redeemed by demo-staff stays."""
    tenant = ctx.tenant
    program = PointsProgram.objects.for_tenant(tenant).get(name=PROGRAM)
    coupon_prize, power_bank = _portal_prizes(ctx, program)
    staff = (
        MerchantStaff.objects.for_tenant(tenant).select_related("merchant").get(code=PORTAL_STAFF)
    )
    if PrizeRedemption.objects.for_tenant(tenant).filter(staff=staff, prize=power_bank).exists():
        return "portal prizes: already there"
    merchant = staff.merchant
    customer, _created = customer_upsert(
        tenant=tenant, actor=ctx.actor, code=SHOP_CUSTOMER, name=merchant.name,
        region=merchant.region, registered_on=timezone.localdate() - timedelta(days=400),
    )  # fmt: skip
    merchant_upsert(
        tenant=tenant, actor=ctx.actor, code=merchant.code, name=merchant.name,
        region=merchant.region, customer=customer, is_active=merchant.is_active,
    )  # fmt: skip
    staff.merchant.refresh_from_db(fields=["customer"])  # where the voucher goes
    operator = Actor(
        tenant=tenant, membership=Membership.objects.for_tenant(tenant).get(user__username=OPERATOR)
    )
    colleague = (
        MerchantStaff.objects.for_tenant(tenant)
        .filter(merchant=merchant)
        .exclude(pk=staff.pk)
        .order_by("code")
        .first()
    )
    address = f"{merchant.name}, service desk, {merchant.region.name if merchant.region else ''}"
    for holder, bonus in ((staff, TOP_REVIEWER_BONUS), (colleague, power_bank.points_cost)):
        account = points_services.account_for_holder(tenant=tenant, program=program, holder=holder)
        points_services.points_adjust(
            tenant=tenant, actor=operator, account=account, points=bonus,
            reason="Double Eleven top reviewer",
        )  # fmt: skip
    services.prize_redeem(tenant=tenant, actor=ctx.actor, staff=staff, prize=coupon_prize)
    mine = services.prize_redeem(
        tenant=tenant, actor=ctx.actor, staff=staff, prize=power_bank, shipping_address=address
    )
    services.redemption_ship(
        tenant=tenant, actor=operator, redemption=mine, carrier="SF Express",
        tracking_number="SF1403926617455",
    )  # fmt: skip
    services.prize_redeem(
        tenant=tenant, actor=ctx.actor, staff=colleague, prize=power_bank, shipping_address=address
    )
    return (
        f"portal prizes: {merchant.code} linked to {SHOP_CUSTOMER}; {PORTAL_STAFF} took a "
        f"{coupon_prize.name} and a shipped {power_bank.name}; {colleague.code}'s waits to ship"
    )
