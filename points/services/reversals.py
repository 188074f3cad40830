"""An order closed (SPEC §3.3): its pending points are cancelled (reservation released), its
usable ones reversed (refunded); points already spent follow the program's allow_negative
policy."""

from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Tenant
from budgets import services as money

from .. import locks
from ..models import (
    AwardStatus,
    EntryKind,
    Lot,
    LotMovement,
    LotStatus,
    OrderAward,
    PointsRule,
    RuleRegionCounter,
)
from ._common import keeps_region_counts
from .awards import _awards_of, points_money
from .ledger import Links, _apply_takes, _entry, _recompute_tier, _take


def points_on_order_closed(*, tenant: Tenant, order) -> None:
    """Pending points are cancelled (reservation released), usable ones reversed (refunded);
    points already spent follow the program's allow_negative policy (SPEC §3.3)."""
    awards = [a for a in _awards_of(tenant, order) if a.status == AwardStatus.ACTIVE and a.points]
    if not awards:
        return
    # Lock order: counters, then rules, then accounts, then lots, then budgets.
    _take_back_running_sums(tenant, awards)
    locked = locks.lock_accounts(tenant, [a.account_id for a in awards])
    for award in sorted(awards, key=lambda a: (a.rule.campaign.budget_id, a.rule_id)):
        account = locked[award.account_id]
        lot = locks.lock_lot(tenant, award.lot_id)
        links = Links(order=order, rule=award.rule, campaign=award.rule.campaign)
        if lot.status == LotStatus.PENDING:
            _cancel_lot(tenant, account, lot, award, links)
        else:
            _reverse_lot(tenant, account, lot, award, links)
        account.lifetime_earned = max(account.lifetime_earned - award.points, 0)
        _recompute_tier(tenant, account, timezone.now())
        account.save(update_fields=["lifetime_earned", "tier", "updated_at"])


def _take_back_running_sums(tenant: Tenant, awards) -> None:
    """The awards' points leave the sums their caps count (region counters, rule totals).

    The caps are read from the locked rules: a cap set or lifted meanwhile (rule_update, which
    recounts under the same locks) decides what is taken back, so no running sum drifts.
    """
    locks.lock_award_counters(tenant, awards)
    caps = locks.lock_award_rules(tenant, {a.rule_id for a in awards})
    for award in awards:
        rule = caps[award.rule_id]
        # Only counters that count points (first-N, per-region cap) take the award back: others
        # never added it, and would go below zero.
        if keeps_region_counts(rule.kind, rule.cap_per_region):
            RuleRegionCounter.objects.for_tenant(tenant).filter(
                rule_id=award.rule_id, region_id=award.region_id
            ).update(awarded=F("awarded") - award.points)
        if rule.cap_total is not None:
            PointsRule.objects.for_tenant(tenant).filter(pk=award.rule_id).update(
                awarded=F("awarded") - award.points
            )


def _cancel_lot(tenant: Tenant, account, lot: Lot, award: OrderAward, links: Links) -> None:
    points = lot.remaining
    entry = _entry(
        tenant, account, kind=EntryKind.CANCEL, points=points, pending_delta=-points,
        reference=f"cancel:lot:{lot.pk}", money_amount=lot.money, links=links,
    )  # fmt: skip
    _apply_takes(tenant, entry, [(lot, points)], empty_status=LotStatus.CANCELLED)
    if lot.money:
        money.budget_release(
            tenant=tenant,
            budget=award.rule.campaign.budget,
            amount=lot.money,
            reference=f"points:cancel:lot:{lot.pk}",
            campaign=award.rule.campaign,
            source=f"points_rule:{award.rule_id}",
        )
    award.status = AwardStatus.CANCELLED
    award.save(update_fields=["status", "updated_at"])


def _reverse_lot(tenant: Tenant, account, lot: Lot, award: OrderAward, links: Links) -> None:
    program = account.program
    expired = (
        LotMovement.objects.for_tenant(tenant)
        .filter(lot=lot, entry__kind=EntryKind.EXPIRE)
        .aggregate(s=Sum("points"))["s"]
        or 0
    )
    from_lot = lot.remaining
    # What left the lot other than by expiry (spent, transferred, repaid a debt) is taken back
    # from the holder's other points; expired points are already gone.
    gone = lot.points - from_lot - expired
    others = _take(locks.lock_open_lots(tenant, account, exclude_id=lot.pk), gone)
    from_others = sum(part for _lot, part in others)
    rest = gone - from_others
    into_negative = rest if program.allow_negative else 0
    shortfall = rest - into_negative
    points = from_lot + from_others + into_negative
    if shortfall:
        account.shortfall += shortfall
        award.note = (
            _("Reversed to zero; %d points already spent are recorded as shortfall.") % shortfall
        )
    elif into_negative:
        award.note = _("Reversed into a negative balance of %d points.") % (
            account.balance - points
        )
    refund = min(points_money(program, points), lot.money)
    if points:
        entry = _entry(
            tenant, account, kind=EntryKind.REVERSE, points=points, usable_delta=-points,
            reference=f"reverse:lot:{lot.pk}", money_amount=refund, links=links,
        )  # fmt: skip
        _apply_takes(
            tenant, entry, [(lot, from_lot)] if from_lot else [], empty_status=LotStatus.REVERSED
        )
        _apply_takes(tenant, entry, others)
    else:
        account.save(update_fields=["shortfall", "updated_at"])
    if lot.status != LotStatus.REVERSED:
        lot.status = LotStatus.REVERSED
        lot.save(update_fields=["status", "updated_at"])
    if refund:
        money.budget_refund(
            tenant=tenant,
            budget=award.rule.campaign.budget,
            amount=refund,
            reference=f"points:reverse:lot:{lot.pk}",
            campaign=award.rule.campaign,
            source=f"points_rule:{award.rule_id}",
        )
    award.status = AwardStatus.REVERSED
    award.save(update_fields=["status", "note", "updated_at"])
