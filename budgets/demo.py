"""Budgets of the demo tenant (SPEC §9): an approved Double Eleven budget and one waiting for
finance. Everything goes through the services, so the audit log and the maker-checker rule show
in the demo exactly as they work: demo-finance drafts, demo-finance2 approves."""

from datetime import timedelta
from decimal import Decimal

from accounts.models import BusinessUnit, Membership, User
from accounts.permissions import Actor
from accounts.roles import Role
from accounts.services import user_create
from core.demo import DemoContext, DemoLogin, demo_step

from . import services
from .models import Budget

MAKER = "demo-finance"
CHECKER = "demo-finance2"
DOUBLE_ELEVEN = "Double Eleven"
WAITING = "Spring Festival"


def _member(ctx: DemoContext, username: str) -> Actor:
    membership = Membership.objects.for_tenant(ctx.tenant).get(user__username=username)
    return Actor(tenant=ctx.tenant, membership=membership)


def _checker(ctx: DemoContext) -> Actor:
    """A second finance user: nobody approves a budget they drafted themselves."""
    from accounts.demo import DEMO_PASSWORD

    if not User.objects.filter(username=CHECKER).exists():
        user_create(
            tenant=ctx.tenant,
            actor=ctx.actor,
            username=CHECKER,
            email=f"{CHECKER}@demo.example.com",
            password=DEMO_PASSWORD,
            role=Role.FINANCE,
            first_name="Finance (checker)",
        )
    ctx.logins.append(
        DemoLogin(
            CHECKER, DEMO_PASSWORD, Role.FINANCE, "console", "approves demo-finance's budgets"
        )
    )
    return _member(ctx, CHECKER)


@demo_step(order=30)
def seed_budgets(ctx: DemoContext) -> str:
    tenant = ctx.tenant
    maker, checker = _member(ctx, MAKER), _checker(ctx)
    unit = BusinessUnit.objects.for_tenant(tenant).get(code="AFTERSALES")
    existing = set(Budget.objects.for_tenant(tenant).values_list("name", flat=True))
    created = []
    if DOUBLE_ELEVEN not in existing:
        budget = services.budget_create(
            tenant=tenant,
            actor=maker,
            business_unit=unit,
            name=DOUBLE_ELEVEN,
            purpose="coupons",
            amount=Decimal("2000000.00"),
            starts_on=ctx.today - timedelta(days=30),
            ends_on=ctx.today + timedelta(days=45),
        )
        budget = services.budget_submit(
            tenant=tenant, actor=maker, budget=budget, note="Coupons and points for 11.11."
        )
        services.budget_approve(
            tenant=tenant, actor=checker, budget=budget, note="Within the annual plan."
        )
        created.append(DOUBLE_ELEVEN)
    if WAITING not in existing:
        budget = services.budget_create(
            tenant=tenant,
            actor=maker,
            business_unit=unit,
            name=WAITING,
            purpose="points",
            amount=Decimal("800000.00"),
            starts_on=ctx.today + timedelta(days=50),
            ends_on=ctx.today + timedelta(days=110),
        )
        services.budget_submit(
            tenant=tenant, actor=maker, budget=budget, note="Staff rewards over the holiday."
        )
        created.append(WAITING)
    return f"budgets: {len(created)} created, {2 - len(created)} already there"
