"""The row locks of points, each taken by one named helper.

Locks are always taken in one order so two transactions can never wait on each other:
order row (orders' own) → rule-region counters and rules (by rule pk; a rule's counter before
the rule) → an adjustment request → accounts (by pk) → their lots → budgets (by pk, through the
money service). A program is locked on its own (its changes take no other lock). Every ledger
entry changes its account's balance and pending in the same transaction, under the account's
row lock, so lots are only ever locked by a transaction that holds their account.

Row locks are FOR NO KEY UPDATE: a plain FOR UPDATE would also block the KEY SHARE locks that
foreign-key checks of other transactions take at commit (an activation's entry names the rule a
placing order holds), which deadlocks.
"""

from datetime import datetime

from django.db.models import Q

from .models import (
    AwardStatus,
    Lot,
    LotStatus,
    OrderAward,
    PointsAccount,
    PointsAdjustmentRequest,
    PointsProgram,
    PointsRule,
    RuleRegionCounter,
)

# --- programs and rules ------------------------------------------------------------------------


def lock_program(tenant, program: PointsProgram) -> PointsProgram:
    """One program row; nothing else is locked with it."""
    return (
        PointsProgram.objects.for_tenant(tenant).select_for_update(no_key=True).get(pk=program.pk)
    )


def lock_rule(tenant, rule: PointsRule) -> PointsRule:
    """One rule row (not its campaign), after any of its counters the caller locks."""
    return (
        PointsRule.objects.for_tenant(tenant)
        .select_for_update(of=("self",), no_key=True)
        .select_related("campaign")
        .get(pk=rule.pk)
    )


def lock_rule_for_cap(tenant, rule_id: int) -> PointsRule:
    """A rule whose total cap an order counts against, after the rule's counter."""
    return PointsRule.objects.for_tenant(tenant).select_for_update(no_key=True).get(pk=rule_id)


def lock_rule_counters(tenant, rule: PointsRule) -> None:
    """Before a rule's per-region cap is set: its region counters by pk, first made for every
    region it awarded in (counters come before the rule in the lock order)."""
    regions = (
        OrderAward.objects.for_tenant(tenant)
        .filter(rule=rule, status=AwardStatus.ACTIVE)
        .values_list("region_id", flat=True)
        .distinct()
    )
    RuleRegionCounter.objects.bulk_create(
        [RuleRegionCounter(tenant=tenant, rule=rule, region_id=region_id) for region_id in regions],
        ignore_conflicts=True,
    )
    counters = RuleRegionCounter.objects.for_tenant(tenant).filter(rule=rule)
    list(counters.select_for_update(no_key=True).order_by("pk").values_list("pk", flat=True))


def lock_region_counter(tenant, rule: PointsRule, region_id: int) -> RuleRegionCounter:
    """A rule's counter of one region, before the rule. A rule naming no region that caps per
    region has none until its first order there: it is made, then locked."""
    counters = RuleRegionCounter.objects.for_tenant(tenant).select_for_update(no_key=True)
    counter = counters.filter(rule=rule, region_id=region_id).first()
    if counter is None:
        RuleRegionCounter.objects.bulk_create(
            [RuleRegionCounter(tenant=tenant, rule=rule, region_id=region_id)],
            ignore_conflicts=True,
        )
        counter = counters.get(rule=rule, region_id=region_id)
    return counter


def lock_award_counters(tenant, awards) -> None:
    """The region counters of these awards' (rule, region) pairs, by pk, before their rules."""
    pairs = Q(pk__in=[])
    for award in awards:
        pairs |= Q(rule_id=award.rule_id, region_id=award.region_id)
    counters = RuleRegionCounter.objects.for_tenant(tenant).filter(pairs).order_by("pk")
    list(counters.select_for_update(no_key=True).values_list("pk", flat=True))


def lock_award_rules(tenant, rule_ids) -> dict[int, PointsRule]:
    """The rules by pk, after their counters, with the fields that say which running sums an
    award counts in."""
    rules = PointsRule.objects.for_tenant(tenant).filter(pk__in=rule_ids)
    return {
        rule.pk: rule
        for rule in rules.order_by("pk")
        .select_for_update(no_key=True)
        .only("kind", "cap_per_region", "cap_total")
    }


# --- adjustment requests -----------------------------------------------------------------------


def lock_adjustment_request(tenant, request_id: int) -> PointsAdjustmentRequest:
    """One request, before its account (which approving it then locks)."""
    return (
        PointsAdjustmentRequest.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("account")
        .get(pk=request_id)
    )


# --- accounts ----------------------------------------------------------------------------------


def lock_accounts(tenant, ids) -> dict[int, PointsAccount]:
    """Accounts by pk, with their programs (not locked: every earn reads them)."""
    rows = (
        PointsAccount.objects.for_tenant(tenant)
        .select_for_update(of=("self",), no_key=True)
        .select_related("program")
        .filter(pk__in=set(ids))
        .order_by("pk")
    )
    return {row.pk: row for row in rows}


def lock_account(tenant, account_id: int) -> PointsAccount:
    return lock_accounts(tenant, [account_id])[account_id]


def lock_holder_accounts(tenant, wanted) -> list[PointsAccount]:
    """The existing accounts of these (program, holder) pairs, in one query, by pk. Each row is
    given the caller's program, loaded already: no join. Pairs without an account are left out."""
    programs = {program.pk: program for program, _holder in wanted}
    lookup = Q()
    for program, holder in wanted:
        lookup |= Q(program_id=program.pk, **{f"{program.holder_field}_id": holder.pk})
    rows = list(
        PointsAccount.objects.for_tenant(tenant)
        .select_for_update(no_key=True)
        .filter(lookup)
        .order_by("pk")
    )
    for row in rows:
        row.program = programs[row.program_id]
    return rows


def lock_expiring_accounts(account_ids) -> list[PointsAccount]:
    """Accounts of any tenant by pk, with their tenants and programs, before their lots."""
    return list(
        PointsAccount.objects.unscoped()
        .select_for_update(of=("self",), no_key=True)
        .filter(pk__in=account_ids)
        .order_by("pk")
        .select_related("tenant", "program")
    )


def lock_account_ids(account_ids) -> None:
    """Accounts of any tenant by pk, rows not loaded, before their lots."""
    list(
        PointsAccount.objects.unscoped()
        .select_for_update(no_key=True)
        .filter(pk__in=account_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# --- lots: always under their account's lock, so their own order never matters -----------------


def lock_lot(tenant, lot_id: int) -> Lot:
    return Lot.objects.for_tenant(tenant).select_for_update(no_key=True).get(pk=lot_id)


def lock_open_lots(tenant, account: PointsAccount, exclude_id=None) -> list[Lot]:
    """The account's usable lots, first in first out (the order points are taken in)."""
    qs = (
        Lot.objects.for_tenant(tenant)
        .select_for_update(no_key=True)
        .filter(account=account, status=LotStatus.OPEN)
        .order_by("earned_at", "id")
    )
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    return list(qs)


def lock_pending_lots_due(tenant, account: PointsAccount, now: datetime) -> list[Lot]:
    """The account's pending lots whose pending period is over, oldest first."""
    return list(
        Lot.objects.for_tenant(tenant)
        .select_for_update(no_key=True)
        .filter(account=account, status=LotStatus.PENDING, activates_at__lte=now)
        .order_by("earned_at", "id")
    )


def lock_expired_lots(tenant, account: PointsAccount, now: datetime) -> list[Lot]:
    """The account's usable lots whose expiry has passed."""
    return list(
        Lot.objects.for_tenant(tenant)
        .select_for_update(no_key=True)
        .filter(account=account, status=LotStatus.OPEN, expires_at__lte=now)
    )
