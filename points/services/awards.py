"""Awards from orders (SPEC §3.3): the rules an order placed or completed earns by, their ranks,
caps and budget reservations, and milestone bonuses. Called by the orders app inside the
transaction of the order event; the lock order is the one of `points.locks`."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from django.db import transaction
from django.db.models import BooleanField, F, IntegerField, Q, Sum
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Tenant
from accounts.regions import region_path
from budgets import services as money
from campaigns.models import CampaignStatus
from core.errors import ConflictError

from .. import engine, locks
from ..engine import points_money
from ..errors import BudgetRefused
from ..models import (
    AwardOutcome,
    AwardStatus,
    EntryKind,
    Holder,
    Lot,
    LotStatus,
    OrderAward,
    PendingPolicy,
    PointsAccount,
    PointsProgram,
    PointsRule,
    RuleKind,
    RuleRegionCounter,
)
from ..periods import lot_expires_at, month_start, week_start
from ._common import keeps_region_counts
from .ledger import (
    Links,
    _activate_lot,
    _entry,
    _entry_exists,
    _locked_holder_accounts,
    _new_lot,
    _recompute_tier,
    account_for_holder,
)

_RULE_FIELDS = [f.name for f in PointsRule._meta.concrete_fields]


def _rules_for(tenant: Tenant, order, kinds) -> list[PointsRule]:
    """Active rules of running campaigns whose period covers the order's placing, each with
    `named_region_id`: the region of the rule the order counts in (None for a rule that names no
    region).

    A rule naming a region covers that region and everything below it, and keeps one first-N
    counter (and one per-region cap) per region it names: an order placed in a zone counts in
    the nearest region at or above the zone that the rule names (docs/decisions.md).
    """
    # Region membership as a subquery, not a join: a join over a rule's 1,111 regions needs
    # DISTINCT over every selected column, and planning that cost more than running it. As
    # SQL text: the ORM's Subquery() expressions cost more to build than the query to run.
    regions = PointsRule.regions.through._meta.db_table
    rule_id = f"{PointsRule._meta.db_table}.{PointsRule._meta.pk.column}"
    path = region_path(tenant=tenant, region_id=order.region_id) if order.region_id else []
    if path:
        marks = ", ".join(["%s"] * len(path))
        nearest_first = " ".join(f"WHEN %s THEN {depth}" for depth in range(len(path)))
        named = RawSQL(
            f"(SELECT m.region_id FROM {regions} m WHERE m.pointsrule_id = {rule_id}"
            f" AND m.region_id IN ({marks}) ORDER BY CASE m.region_id {nearest_first} END"
            " LIMIT 1)",
            [*path, *path],
            output_field=IntegerField(),
        )
    else:
        named = RawSQL("NULL", [], output_field=IntegerField())
    names_none = RawSQL(
        f"NOT EXISTS (SELECT 1 FROM {regions} m WHERE m.pointsrule_id = {rule_id})",
        [],
        output_field=BooleanField(),
    )
    return list(
        PointsRule.objects.for_tenant(tenant)
        .annotate(named_region_id=named)
        .filter(
            Q(names_none) | Q(named_region_id__isnull=False),
            is_active=True,
            kind__in=kinds,
            campaign__status=CampaignStatus.RUNNING,
            campaign__starts_at__lte=order.placed_at,
            campaign__ends_at__gt=order.placed_at,
            program__is_active=True,
        )
        .select_related("campaign__budget", "program")
        # Of the campaign and its budget the money moves need the keys only; any other
        # field read later is loaded then.
        .only(*_RULE_FIELDS, "program", "campaign__budget__id")
        .order_by("pk")
    )


def _order_holder(program: PointsProgram, order):
    holders: dict[str, Any] = {
        Holder.STAFF: order.staff,
        Holder.MERCHANT: order.merchant,
        Holder.CUSTOMER: order.customer,
    }
    return holders[program.holder]


def _earned_since(tenant: Tenant, account, since, rule=None) -> int:
    qs = OrderAward.objects.for_tenant(tenant).filter(
        account=account, status=AwardStatus.ACTIVE, placed_at__gte=since
    )
    if rule is not None:
        qs = qs.filter(rule=rule)
    return qs.aggregate(s=Sum("points"))["s"] or 0


class _LedgerCapUse:
    """What the caps count, read from the awards and the locked running sums (engine.CapUse)."""

    def __init__(self, tenant: Tenant, rule: PointsRule, account, counter):
        self.tenant, self.rule, self.account, self.counter = tenant, rule, account, counter

    def holder_week(self, start: datetime, *, this_rule: bool) -> int:
        return _earned_since(self.tenant, self.account, start, self.rule if this_rule else None)

    def holder_month(self, start: datetime) -> int:
        return _earned_since(self.tenant, self.account, start)

    def rule_total(self) -> int:
        return self.rule.awarded  # read under the rule's row lock (_lock_rules_and_counters)

    def region_total(self) -> int:
        return self.counter.awarded  # a rule with a per-region cap keeps a locked counter


@dataclass
class _Plan:
    rule: PointsRule
    region_id: int  # the region the order counts in for this rule
    counter: RuleRegionCounter | None = None
    rank: int | None = None
    account: PointsAccount | None = None
    requested: int = 0
    points: int = 0
    outcome: str = AwardOutcome.AWARDED
    note: str = ""
    extra: dict = field(default_factory=dict)


def _lock_rules_and_counters(tenant: Tenant, order, rules) -> list[_Plan]:
    """Phase one of the lock order: per rule (by pk) its region counter, then the rule."""
    plans = []
    for rule in rules:
        plan = _Plan(rule=rule, region_id=rule.named_region_id or order.region_id)
        if keeps_region_counts(rule.kind, rule.cap_per_region):
            plan.counter = locks.lock_region_counter(tenant, rule, plan.region_id)
            if rule.kind == RuleKind.REGION_FIRST_N:
                plan.counter.orders += 1
                plan.rank = plan.counter.orders
        if rule.cap_total is not None:
            # Only a total cap needs the rule's running sum, and so its row lock: without
            # one, orders of different regions never wait for each other here.
            rule.awarded = locks.lock_rule_for_cap(tenant, rule.pk).awarded
        plans.append(plan)
    return plans


def _earn(
    tenant: Tenant, plan: _Plan, order, *, now: datetime, at: datetime | None = None,
    activate_now: bool = False, refused: dict[int, str] | None = None,
) -> OrderAward:  # fmt: skip
    """Caps, then the earn entry, its pending lot and the award, then the budget reservation.

    With `refused` (order placement) a refusal raises BudgetRefused for the caller to redo the
    order; without it (milestones) the award is undone through a savepoint. Either way the
    refusal ends up recorded on the order's award, never as an error to the integrator.
    """
    rule, account = plan.rule, plan.account
    assert account is not None, "the caller has locked the holder's account"
    program = rule.program
    at = at or order.placed_at
    evaluation = engine.evaluate(
        rule,
        base=plan.requested,
        tier=account.tier,
        use=_LedgerCapUse(tenant, rule, account, plan.counter),
        at=at,
        zone=tenant.zone,
    )
    plan.requested, points = evaluation.requested, evaluation.points
    if evaluation.outcome != AwardOutcome.AWARDED:
        plan.outcome, plan.note = evaluation.outcome, evaluation.note
    amount = points_money(program, points)
    reference = f"earn:order:{order.pk}:rule:{rule.pk}"
    if refused is not None and rule.pk in refused:
        plan.note = _("Budget refused: %s") % refused[rule.pk]
        plan.outcome = AwardOutcome.BUDGET_REFUSED
        points = 0
    if not points:
        return _record_earn(tenant, plan, order, 0, amount, reference, at=at, now=now)[0]

    def reserve():
        if amount:
            # Last: the budget row stays locked only from here to the commit.
            money.budget_reserve(
                tenant=tenant,
                budget=rule.campaign.budget,
                amount=amount,
                reference=f"points:{reference}",
                campaign=rule.campaign,
                source=f"points_rule:{rule.pk}",
            )

    if refused is not None:
        award, lot = _record_earn(tenant, plan, order, points, amount, reference, at=at, now=now)
        try:
            reserve()
        except ConflictError as refusal:  # budget exceeded or no longer approved
            raise BudgetRefused(rule.pk, refusal.detail) from refusal
    else:
        try:
            with transaction.atomic():  # undone as a whole when the budget refuses
                award, lot = _record_earn(
                    tenant, plan, order, points, amount, reference, at=at, now=now
                )
                reserve()
        except ConflictError as refusal:
            account.refresh_from_db(
                fields=["balance", "pending", "lifetime_earned", "shortfall", "tier"]
            )
            if plan.counter is not None:
                plan.counter.awarded -= points
            plan.note = _("Budget refused: %s") % refusal.detail
            plan.outcome = AwardOutcome.BUDGET_REFUSED
            return _record_earn(tenant, plan, order, 0, amount, reference, at=at, now=now)[0]
    if activate_now:
        assert lot is not None, "an earn of points always opens its lot"
        _activate_lot(tenant, account, lot, order=order, rule=rule, campaign=rule.campaign)
    return award


def _record_earn(
    tenant: Tenant, plan: _Plan, order, points: int, amount: Decimal, reference: str, *, at, now
) -> tuple[OrderAward, Lot | None]:
    """The earn entry and its pending lot (when there are points), the counters, the award."""
    rule, account = plan.rule, plan.account
    assert account is not None, "the caller has locked the holder's account"
    program = rule.program
    plan.points = points
    lot = None
    if points:
        account.lifetime_earned += points
        _recompute_tier(tenant, account, now)
        entry = _entry(
            tenant, account, kind=EntryKind.EARN, points=points, pending_delta=points,
            reference=reference, money_amount=amount,
            links=Links(order=order, rule=rule, campaign=rule.campaign),
        )  # fmt: skip
        activates_at = None
        if program.pending_policy == PendingPolicy.DAYS:
            # program_create requires the days of this policy.
            activates_at = at + timedelta(days=cast(int, program.pending_days))
        lot = _new_lot(
            tenant, account, entry, points, status=LotStatus.PENDING, now=now, order=order,
            expires_at=lot_expires_at(program, now, tenant.zone), activates_at=activates_at,
            money_amount=amount,
        )  # fmt: skip
        if rule.cap_total is not None:
            PointsRule.objects.for_tenant(tenant).filter(pk=rule.pk).update(
                awarded=F("awarded") + points
            )
        if plan.counter is not None:
            plan.counter.awarded += points
    if plan.counter is not None:
        plan.counter.save(update_fields=["orders", "awarded", "updated_at"])
    award = OrderAward.objects.create(
        tenant=tenant,
        order=order,
        rule=rule,
        account=account,
        region_id=plan.region_id,
        rank=plan.rank,
        requested=plan.requested,
        points=points,
        outcome=plan.outcome,
        note=plan.note[:300],
        placed_at=at,
        lot=lot,
    )
    return award, lot


def points_on_order_placed(
    *, tenant: Tenant, order, refused: dict[int, str] | None = None
) -> list[OrderAward]:
    """Run the per_order, per_amount and region_first_n rules on a newly placed order.

    Called by orders.services.order_place inside the transaction that inserts the order, so the
    order and its points commit together, once (the order's unique external id sees to that).
    Raises BudgetRefused when a rule's budget refuses; the caller places the order again with
    `refused` naming the rules whose refusal is to be recorded.
    """
    rules = _rules_for(
        tenant, order, [RuleKind.PER_ORDER, RuleKind.PER_AMOUNT, RuleKind.REGION_FIRST_N]
    )
    if not rules:
        return []
    now = timezone.now()
    plans = _lock_rules_and_counters(tenant, order, rules)
    holders = {}
    for plan in plans:
        holder = _order_holder(plan.rule.program, order)
        if holder is not None:
            holders[plan.rule.pk] = (plan.rule.program, holder)
    accounts = _locked_holder_accounts(tenant, holders)
    awards = []
    # Budgets are locked last, in pk order (their conditional UPDATE holds the row).
    for plan in sorted(plans, key=lambda p: (p.rule.campaign.budget_id, p.rule.pk)):
        account = accounts.get(plan.rule.pk)
        if account is None:
            plan.outcome, plan.note = AwardOutcome.NO_HOLDER, _("The order names no holder.")
            if plan.counter is not None:
                plan.counter.save(update_fields=["orders", "updated_at"])
            awards.append(
                OrderAward.objects.create(
                    tenant=tenant,
                    order=order,
                    rule=plan.rule,
                    region_id=plan.region_id,
                    rank=plan.rank,
                    outcome=plan.outcome,
                    note=plan.note,
                    placed_at=order.placed_at,
                )
            )
            continue
        plan.account = account
        plan.requested = engine.base_points(plan.rule, order.amount, plan.rank)
        awards.append(_earn(tenant, plan, order, now=now, refused=refused or {}))
    return awards


def _awards_of(tenant: Tenant, order):
    return list(
        OrderAward.objects.for_tenant(tenant)
        .filter(order=order, lot__isnull=False)
        .select_related("lot", "rule__campaign__budget", "rule__program")
        .order_by("rule_id")
    )


def points_on_order_completed(*, tenant: Tenant, order, completed_orders) -> None:
    """Pending points of an `until_completed` program become usable; milestones are counted.

    `completed_orders` are the tenant's completed (not closed) orders, a queryset of the orders
    app, which owns them: milestones count a holder's among them, and points imports nothing of
    the orders app.
    """
    awards = [a for a in _awards_of(tenant, order) if a.lot.status == LotStatus.PENDING]
    awards = [a for a in awards if a.rule.program.pending_policy == PendingPolicy.UNTIL_COMPLETED]
    if awards:
        locked = locks.lock_accounts(tenant, [a.account_id for a in awards])
        for award in sorted(awards, key=lambda a: (a.rule.campaign.budget_id, a.rule_id)):
            lot = locks.lock_lot(tenant, award.lot_id)
            _activate_lot(
                tenant, locked[award.account_id], lot, order=order, rule=award.rule,
                campaign=award.rule.campaign,
            )  # fmt: skip
    _milestones(tenant, order, completed_orders)


def _milestones(tenant: Tenant, order, completed_orders) -> None:
    """Each milestone rule pays its bonus once per holder and period, on the completed order
    that brings the holder's completed orders of the period up to the rule's count."""
    rules = _rules_for(tenant, order, [RuleKind.MILESTONE])
    if not rules:
        return
    now = timezone.now()
    for plan in _lock_rules_and_counters(tenant, order, rules):
        rule = plan.rule
        holder = _order_holder(rule.program, order)
        if holder is None:
            continue
        account = account_for_holder(tenant=tenant, program=rule.program, holder=holder)
        plan.account = locks.lock_account(tenant, account.pk)
        if not _milestone_reached(tenant, plan, order, holder, completed_orders):
            continue
        plan.requested = rule.milestone["points"]
        # The bonus is dated by the period it rewards, so caps and "once per period" see it there.
        _earn(tenant, plan, order, now=now, at=order.completed_at, activate_now=True)


def _milestone_reached(tenant: Tenant, plan: _Plan, order, holder, completed_orders) -> bool:
    rule, spec = plan.rule, plan.rule.milestone
    start = (week_start if spec["period"] == "week" else month_start)(
        order.completed_at, tenant.zone
    )
    done = (
        OrderAward.objects.for_tenant(tenant)
        .filter(rule=rule, account=plan.account, placed_at__gte=start)
        .exists()
    )
    if done or _entry_exists(tenant, f"earn:order:{order.pk}:rule:{rule.pk}"):
        return False  # one bonus per holder and period
    completed = completed_orders.filter(
        completed_at__gte=start, **{rule.program.holder_field: holder}
    ).count()
    return completed >= spec["count"]
