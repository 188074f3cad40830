"""Every write of points: programs, rules, the ledger, awards from orders, expiry, transfers.

Locks are always taken in one order so two transactions can never wait on each other:
order row → rule-region counters and rules (by rule pk) → accounts (by pk) → their lots →
budgets (by pk, through the money service). Every ledger entry changes its account's balance
and pending in the same transaction, under the account's row lock. Row locks are FOR NO KEY
UPDATE: a plain FOR UPDATE would also block the KEY SHARE locks that foreign-key checks of other
transactions take at commit (an activation's entry names the rule a placing order holds), which
deadlocks.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import BooleanField, Exists, F, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import scope as data_scope
from accounts.permissions import Actor
from accounts.regions import region_path
from accounts.roles import Action
from budgets import services as money
from budgets.errors import MakerChecker
from campaigns.models import Campaign, CampaignStatus
from core.db import insert_unless_exists
from core.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RuleRefusal,
    ValidationFailed,
    invalid_transition,
)
from core.services import audit_record, snapshot

from .errors import PointsErrorCode
from .models import (
    AdjustmentRequestStatus,
    AwardOutcome,
    AwardStatus,
    Bucket,
    EntryKind,
    ExpiryPolicy,
    Holder,
    LedgerEntry,
    Lot,
    LotMovement,
    LotStatus,
    OrderAward,
    PendingPolicy,
    PointsAccount,
    PointsAdjustmentRequest,
    PointsProgram,
    PointsRule,
    RuleKind,
    RuleRegionCounter,
    Transfer,
)

CENT = Decimal("0.01")
EXPIRING_SOON_DAYS = 30


# --- calendar (SPEC §3.3: calendar weeks from Monday and months, in the tenant's zone) ---------


def week_start(moment: datetime, zone) -> datetime:
    local = timezone.localtime(moment, zone)
    day = local.date() - timedelta(days=local.weekday())
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def month_start(moment: datetime, zone) -> datetime:
    local = timezone.localtime(moment, zone)
    return datetime(local.year, local.month, 1, tzinfo=zone)


def _add_months(start: datetime, months: int) -> datetime:
    month = start.month - 1 + months
    return start.replace(year=start.year + month // 12, month=month % 12 + 1, day=1)


def period_end(moment: datetime, zone, period: str) -> datetime:
    """The first instant after the month, quarter or year `moment` falls in."""
    start = month_start(moment, zone)
    if period == "month":
        return _add_months(start, 1)
    if period == "quarter":
        return _add_months(start.replace(month=(start.month - 1) // 3 * 3 + 1), 3)
    return start.replace(year=start.year + 1, month=1)


def lot_expires_at(program: PointsProgram, earned_at: datetime, zone) -> datetime | None:
    if program.expiry_policy == ExpiryPolicy.DAYS:
        return earned_at + timedelta(days=program.expiry_days)
    if program.expiry_policy == ExpiryPolicy.PERIOD_END:
        return period_end(earned_at, zone, program.expiry_period)
    return None


def points_money(program: PointsProgram, points: int) -> Decimal:
    """What `points` cost the budget (SPEC §2.1), rounded to the cent."""
    return (program.point_value * points).quantize(CENT, rounding=ROUND_HALF_UP)


# --- programs ---------------------------------------------------------------------------------

PROGRAM_FIELDS = [
    "name",
    "holder",
    "point_value",
    "point_value_band",
    "expiry_policy",
    "expiry_days",
    "expiry_period",
    "pending_policy",
    "pending_days",
    "weekly_cap",
    "monthly_cap",
    "allow_negative",
    "transferable",
    "transfer_per_transfer",
    "transfer_per_month",
    "tiers",
    "tier_basis",
    "is_active",
]


def _invalid(field_name: str, message: str, code=PointsErrorCode.INVALID_PROGRAM):
    return ValidationFailed(message, code=code, fields={field_name: [message]})


def _clean_program(data: dict) -> None:
    if Decimal(data["point_value"]) <= 0:
        raise _invalid("point_value", _("A point must be worth something."))
    if data.get("expiry_policy") == ExpiryPolicy.DAYS and not data.get("expiry_days"):
        raise _invalid("expiry", _("Say after how many days points expire."))
    if data.get("expiry_policy") == ExpiryPolicy.PERIOD_END and not data.get("expiry_period"):
        raise _invalid("expiry", _("Say at the end of which period points expire."))
    if data.get("pending_policy") == PendingPolicy.DAYS and data.get("pending_days") is None:
        raise _invalid("pending_days", _("Say for how many days points stay pending."))
    tiers = data.get("tiers") or []
    thresholds = [t["threshold"] for t in tiers]
    if thresholds != sorted(thresholds) or len(set(thresholds)) != len(thresholds):
        raise _invalid("tiers", _("Tier thresholds must rise."))
    if any(Decimal(str(t["multiplier"])) <= 0 for t in tiers):
        raise _invalid("tiers", _("A multiplier must be positive."))


@transaction.atomic
def program_create(*, tenant, actor: Actor, **data) -> PointsProgram:
    actor.require(Action.CAMPAIGNS_MANAGE)
    unknown = set(data) - set(PROGRAM_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown fields: %s.") % ", ".join(sorted(unknown)))
    _clean_program(data)
    if PointsProgram.objects.for_tenant(tenant).filter(name=data["name"]).exists():
        raise _invalid("name", _("A program of this name exists."))
    program = PointsProgram.objects.create(tenant=tenant, **data)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="points_program.create",
        obj=program,
        after=snapshot(program, fields=PROGRAM_FIELDS),
    )
    return program


# A program's point value and pending policy are part of the meaning of points already earned:
# lots carry the money they reserved and a reversal refunds at the point value, and pending lots
# wait either for their order's completion or for a date, by the policy they were earned under.
# Once the program has a ledger entry these two are refused (409 program_in_use); make a new
# program instead. Every other field (expiry, pending days, caps, transfers, tiers, negative
# balances) is read when points are earned, spent or closed, so a change applies from then on
# (lots keep the expiry and activation dates they were given).
# Earning reads the program without a lock, so an order placed in the very instant of the change
# may still earn under the old values; deactivate the program first to rule that out.
LOCKED_ONCE_EARNED = ("point_value", "pending_policy")


def _require_program_in_scope(tenant, actor: Actor, program: PointsProgram) -> None:
    """A program serves every rule naming it, so a regional operator or a business-unit admin
    changes it only when every such rule is theirs (SPEC §7: changeable only when all are)."""
    if actor.region_ids is None and actor.business_unit_id is None:
        return
    rules = PointsRule.objects.for_tenant(tenant).filter(program=program)
    if not rules.exists():  # nothing ties it to a scope: a tenant-wide role changes it
        raise PermissionDeniedError(
            _("No rule uses this program yet; a tenant-wide role changes it."),
            code=PointsErrorCode.OUT_OF_SCOPE,
        )
    outside = Q(pk__in=[])
    if actor.region_ids is not None:
        regions = PointsRule.regions.through.objects.filter(pointsrule_id=OuterRef("pk"))
        outside |= ~Exists(regions) | Exists(regions.exclude(region_id__in=actor.region_ids))
    if actor.business_unit_id is not None:
        outside |= ~Q(campaign__business_unit_id=actor.business_unit_id)
    if rules.filter(outside).exists():
        raise PermissionDeniedError(
            _("Rules outside your scope use this program."), code=PointsErrorCode.OUT_OF_SCOPE
        )


def _lock_program(tenant, program: PointsProgram) -> PointsProgram:
    return (
        PointsProgram.objects.for_tenant(tenant).select_for_update(no_key=True).get(pk=program.pk)
    )


@transaction.atomic
def program_update(*, tenant, actor: Actor, program: PointsProgram, **changes) -> PointsProgram:
    actor.require(Action.CAMPAIGNS_MANAGE)
    _require_program_in_scope(tenant, actor, program)
    program = _lock_program(tenant, program)
    unknown = set(changes) - set(PROGRAM_FIELDS) | ({"holder"} & set(changes))
    if unknown:
        message = _("These fields cannot be changed: %s.") % ", ".join(sorted(unknown))
        raise ValidationFailed(message, fields={name: [message] for name in unknown})
    before = snapshot(program, fields=PROGRAM_FIELDS)
    changed = {name for name, value in changes.items() if before[name] != value}
    locked = sorted(changed & set(LOCKED_ONCE_EARNED))
    if locked and LedgerEntry.objects.for_tenant(tenant).filter(account__program=program).exists():
        message = _("Points were earned in this program; this would change what they mean.")
        raise ConflictError(
            message, code=PointsErrorCode.PROGRAM_IN_USE, fields={n: [message] for n in locked}
        )
    for name, value in changes.items():
        setattr(program, name, value)
    _clean_program(snapshot(program, fields=PROGRAM_FIELDS))
    if (
        "name" in changed
        and PointsProgram.objects.for_tenant(tenant)
        .filter(name=program.name)
        .exclude(pk=program.pk)
        .exists()
    ):
        raise _invalid("name", _("A program of this name exists."))
    program.save()
    program.refresh_from_db()  # decimals as stored, for the answer and the audit
    audit_record(
        tenant=tenant,
        actor=actor,
        action="points_program.update",
        obj=program,
        before=before,
        after=snapshot(program, fields=PROGRAM_FIELDS),
    )
    return program


def _program_set_active(tenant, actor: Actor, program, is_active: bool, note: str):
    actor.require(Action.CAMPAIGNS_MANAGE)
    _require_program_in_scope(tenant, actor, program)
    program = _lock_program(tenant, program)
    return _switch(tenant, actor, program, is_active, note, noun="points_program")


def _switch(tenant, actor: Actor, row, is_active: bool, note: str, *, noun: str):
    """Turn a locked program or rule on or off, audited; a repeat changes nothing."""
    if row.is_active == is_active:
        return row
    row.is_active = is_active
    row.save(update_fields=["is_active", "updated_at"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action=f"{noun}." + ("activate" if is_active else "deactivate"),
        obj=row,
        before={"is_active": not is_active},
        after={"is_active": is_active},
        note=note,
    )
    return row


@transaction.atomic
def program_deactivate(*, tenant, actor: Actor, program: PointsProgram, note: str = ""):
    """No rule of the program earns any more; points already earned stay and keep their life
    cycle (pending points still activate, usable ones can be spent, transferred, expire)."""
    return _program_set_active(tenant, actor, program, False, note)


@transaction.atomic
def program_activate(*, tenant, actor: Actor, program: PointsProgram, note: str = ""):
    return _program_set_active(tenant, actor, program, True, note)


# --- rules ------------------------------------------------------------------------------------

RULE_FIELDS = [
    "name",
    "kind",
    "points",
    "per_amount",
    "min_amount",
    "tiers",
    "milestone",
    "cap_total",
    "cap_per_holder_week",
    "cap_per_region",
    "is_active",
]


def _rule_invalid(field_name: str, message: str):
    return _invalid(field_name, message, code=PointsErrorCode.INVALID_RULE)


def _clean_rule(kind: str, data: dict, regions) -> None:
    if kind in (RuleKind.PER_ORDER, RuleKind.PER_AMOUNT) and not data.get("points"):
        raise _rule_invalid("points", _("Say how many points an order earns."))
    if kind == RuleKind.PER_AMOUNT and not (data.get("per_amount") or 0) > 0:
        raise _rule_invalid("per_amount", _("Say per how much money the points are earned."))
    if kind == RuleKind.REGION_FIRST_N:
        tiers = data.get("tiers") or []
        if not regions:
            raise _rule_invalid("regions", _("Name the regions whose first orders earn."))
        if not tiers:
            raise _rule_invalid("tiers", _("Give at least one tier."))
        previous_to = 0
        for tier in sorted(tiers, key=lambda t: t["from"]):
            if tier["from"] < 1 or tier["to"] < tier["from"] or tier["points"] < 1:
                raise _rule_invalid("tiers", _("Each tier runs from a rank to a later one."))
            if tier["from"] <= previous_to:
                raise _rule_invalid("tiers", _("Tiers must not overlap."))
            previous_to = tier["to"]
    if kind == RuleKind.MILESTONE:
        milestone = data.get("milestone") or {}
        if not (
            milestone.get("count", 0) >= 1
            and milestone.get("points", 0) >= 1
            and milestone.get("period") in ("week", "month")
        ):
            raise _rule_invalid(
                "milestone", _("A milestone has a count, a period (week, month) and points.")
            )


def _rule_snapshot(rule: PointsRule) -> dict:
    data = snapshot(rule, fields=[*RULE_FIELDS, "campaign", "program"])
    data["regions"] = sorted(rule.regions.values_list("code", flat=True))
    return data


@transaction.atomic
def rule_create(
    *, tenant, actor: Actor, campaign: Campaign, program: PointsProgram, regions=(), **data
) -> PointsRule:
    actor.require(Action.CAMPAIGNS_MANAGE)
    # A regional operator's rule names only their regions.
    if actor.region_ids is not None and (
        not regions or any(r.pk not in actor.region_ids for r in regions)
    ):
        raise NotFoundError(_("Not found."))
    # A business-unit admin's rule sits in a campaign of their unit; another unit's is hidden.
    if actor.business_unit_id is not None and campaign.business_unit_id != actor.business_unit_id:
        raise NotFoundError(_("Not found."))
    unknown = set(data) - set(RULE_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown fields: %s.") % ", ".join(sorted(unknown)))
    if campaign.status == CampaignStatus.ENDED:
        raise ConflictError(_("The campaign has ended."), code=PointsErrorCode.INVALID_RULE)
    _clean_rule(data["kind"], data, regions)
    if data["kind"] == RuleKind.REGION_FIRST_N:
        data["tiers"] = sorted(data["tiers"], key=lambda t: t["from"])
    rule = PointsRule.objects.create(tenant=tenant, campaign=campaign, program=program, **data)
    rule.regions.set(regions)
    # The counters exist before the first order, so ranking never races to create them.
    RuleRegionCounter.objects.bulk_create(
        [RuleRegionCounter(tenant=tenant, rule=rule, region=region) for region in regions]
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="points_rule.create",
        obj=rule,
        after=_rule_snapshot(rule),
    )
    return rule


RULE_UPDATE_FIELDS = [
    "name",
    "points",
    "per_amount",
    "min_amount",
    "tiers",
    "milestone",
    "cap_total",
    "cap_per_holder_week",
    "cap_per_region",
]


def _require_rule_in_scope(actor: Actor, rule: PointsRule, region_ids) -> None:
    """A regional operator changes a rule only when all its regions, before and after, are
    theirs (a rule naming no region runs everywhere); a business-unit admin only their BU's."""
    if actor.region_ids is not None and (not region_ids or not set(region_ids) <= actor.region_ids):
        raise PermissionDeniedError(
            _("Some of the rule's regions are not yours."), code=PointsErrorCode.OUT_OF_SCOPE
        )
    if actor.business_unit_id is not None and (
        rule.campaign.business_unit_id != actor.business_unit_id
    ):
        raise NotFoundError(_("Not found."))


def _lock_rule(tenant, rule: PointsRule) -> PointsRule:
    return (
        PointsRule.objects.for_tenant(tenant)
        .select_for_update(of=("self",), no_key=True)
        .select_related("campaign")
        .get(pk=rule.pk)
    )


def _refuse_if_ended(rule: PointsRule) -> None:
    if rule.campaign.status == CampaignStatus.ENDED:
        raise ConflictError(_("The campaign has ended."), code=PointsErrorCode.INVALID_RULE)


def _lock_region_counts(tenant, rule: PointsRule) -> None:
    """Before a rule's per-region cap is set: its region counters, made for every region it
    awarded in and locked (counters come before the rule in the lock order)."""
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


def _recount_rule_awards(tenant, rule: PointsRule, *, total: bool, per_region: bool) -> None:
    """Bring a cap's running sum up to date when the cap is set on a rule that had none.

    The sums are kept only while a cap needs them (the rule's `awarded` for cap_total, its
    region counters' `awarded` for cap_per_region or a first-N ranking, see `_record_earn`), so
    a new cap starts from the points the rule's awards still hold. An order of an uncapped rule
    takes none of these locks, so one placed in the very instant of the change can be left out:
    the cap is then exceeded by at most that order's points.
    """
    active = OrderAward.objects.for_tenant(tenant).filter(rule=rule, status=AwardStatus.ACTIVE)
    if per_region:
        in_region = (
            active.filter(region_id=OuterRef("region_id"))
            .order_by()
            .values("rule")
            .annotate(s=Sum("points"))
            .values("s")
        )
        RuleRegionCounter.objects.for_tenant(tenant).filter(rule=rule).update(
            awarded=Coalesce(Subquery(in_region), 0)
        )
    if total:
        rule.awarded = active.aggregate(s=Sum("points"))["s"] or 0


def _keeps_region_counts(kind: str, cap_per_region) -> bool:
    return kind == RuleKind.REGION_FIRST_N or cap_per_region is not None


@transaction.atomic
def rule_update(*, tenant, actor: Actor, rule: PointsRule, regions=None, **changes) -> PointsRule:
    """Change a rule's points, tiers, caps, minimum, regions or milestone; from the next order.

    Awards already made keep their points and ranks. A first-N rule's region counters are never
    reset or removed: a region taken off the rule keeps its count, so should it be named again
    its next order continues the ranking (no order is ever the first twice), and a new tier
    table applies to the ranks still to come: tiers ending below the ranks already given simply
    award nothing more there. The kind, campaign and program cannot change (make a new rule).
    """
    actor.require(Action.CAMPAIGNS_MANAGE)
    unknown = set(changes) - set(RULE_UPDATE_FIELDS)
    if unknown:
        message = _("These fields cannot be changed: %s.") % ", ".join(sorted(unknown))
        raise ValidationFailed(message, fields={name: [message] for name in unknown})
    old_regions = list(rule.regions.values_list("pk", flat=True))
    _require_rule_in_scope(actor, rule, old_regions)
    if regions is not None:
        _require_rule_in_scope(actor, rule, [r.pk for r in regions])
    new_cap_per_region = changes.get("cap_per_region", rule.cap_per_region)
    recount_regions = not _keeps_region_counts(rule.kind, rule.cap_per_region) and (
        _keeps_region_counts(rule.kind, new_cap_per_region)
    )
    if regions is not None:
        # Counters of new regions exist before their first order, as at creation; made before
        # the rule is locked, as counters come before rules in the lock order.
        RuleRegionCounter.objects.bulk_create(
            [RuleRegionCounter(tenant=tenant, rule=rule, region=region) for region in regions],
            ignore_conflicts=True,
        )
    if recount_regions:
        _lock_region_counts(tenant, rule)
    rule = _lock_rule(tenant, rule)
    _refuse_if_ended(rule)
    before = _rule_snapshot(rule)
    data = {name: getattr(rule, name) for name in RULE_UPDATE_FIELDS} | changes
    data["milestone"] = data["milestone"] or {}
    data["tiers"] = data["tiers"] or []
    _clean_rule(rule.kind, data, old_regions if regions is None else regions)
    if rule.kind == RuleKind.REGION_FIRST_N:
        data["tiers"] = sorted(data["tiers"], key=lambda t: t["from"])
    _recount_rule_awards(
        tenant,
        rule,
        total=rule.cap_total is None and data["cap_total"] is not None,
        per_region=recount_regions,
    )
    if data["cap_total"] is not None and rule.awarded > data["cap_total"]:
        raise _rule_invalid(
            "cap_total",
            _("The rule has already awarded %(n)d points; its total cap cannot be lower.")
            % {"n": rule.awarded},
        )
    for name in RULE_UPDATE_FIELDS:
        setattr(rule, name, data[name])
    rule.save(update_fields=[*RULE_UPDATE_FIELDS, "awarded", "updated_at"])
    if regions is not None:
        rule.regions.set(regions)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="points_rule.update",
        obj=rule,
        before=before,
        after=_rule_snapshot(rule),
    )
    return rule


def _rule_set_active(tenant, actor: Actor, rule: PointsRule, is_active: bool, note: str):
    actor.require(Action.CAMPAIGNS_MANAGE)
    _require_rule_in_scope(actor, rule, rule.regions.values_list("pk", flat=True))
    rule = _lock_rule(tenant, rule)
    if is_active:
        _refuse_if_ended(rule)
    return _switch(tenant, actor, rule, is_active, note, noun="points_rule")


@transaction.atomic
def rule_deactivate(*, tenant, actor: Actor, rule: PointsRule, note: str = "") -> PointsRule:
    """The rule awards nothing on later orders (`_rules_for` skips it); its awards stay, and
    their pending points still activate or are cancelled with their orders."""
    return _rule_set_active(tenant, actor, rule, False, note)


@transaction.atomic
def rule_activate(*, tenant, actor: Actor, rule: PointsRule, note: str = "") -> PointsRule:
    return _rule_set_active(tenant, actor, rule, True, note)


# --- accounts ---------------------------------------------------------------------------------


def _holder_field(program: PointsProgram) -> str:
    return {Holder.STAFF: "staff", Holder.MERCHANT: "merchant", Holder.CUSTOMER: "customer"}[
        program.holder
    ]


def account_for_holder(*, tenant, program: PointsProgram, holder) -> PointsAccount:
    """The holder's account, created on first use; two first uses at once make one account."""
    return PointsAccount.objects.for_tenant(tenant).get_or_create(
        tenant=tenant, program=program, **{_holder_field(program): holder}
    )[0]


def _lock_accounts(tenant, ids) -> dict[int, PointsAccount]:
    rows = (
        PointsAccount.objects.for_tenant(tenant)
        .select_for_update(of=("self",), no_key=True)  # not the program row: every earn reads it
        .select_related("program")
        .filter(pk__in=set(ids))
        .order_by("pk")
    )
    return {row.pk: row for row in rows}


def _lock_holder_accounts(tenant, holders: dict) -> dict:
    """{key: (program, holder)} → {key: the holder's account, locked}, in one query when the
    accounts exist (the usual case); the missing ones are created, then locked."""
    if not holders:
        return {}

    def key_of(program, holder_id):
        return program.pk, holder_id

    wanted = {key_of(p, h.pk): (p, h) for p, h in holders.values()}
    programs = {p.pk: p for p, _holder in wanted.values()}
    lookup = Q()
    for program, holder in wanted.values():
        lookup |= Q(program_id=program.pk, **{f"{_holder_field(program)}_id": holder.pk})
    rows = (
        PointsAccount.objects.for_tenant(tenant)
        .select_for_update(no_key=True)
        .filter(lookup)
        .order_by("pk")
    )
    found = {}
    for row in rows:
        row.program = programs[row.program_id]  # the caller's, loaded already: no join
        found[key_of(row.program, getattr(row, f"{_holder_field(row.program)}_id"))] = row
    missing = []
    for key, (program, holder) in sorted(wanted.items()):  # one insert order for all
        if key in found:
            continue
        field = _holder_field(program)
        account = PointsAccount(tenant=tenant, program=program, **{field: holder})
        # First use: the new row is this transaction's alone (a concurrent first use waits on
        # its key) until the commit, as good as locked. Only one that lost that race locks.
        if insert_unless_exists(account, unique=("tenant", "program", field), partial=field):
            found[key] = account
        else:
            missing.append(account_for_holder(tenant=tenant, program=program, holder=holder))
    if missing:
        for row in _lock_accounts(tenant, [a.pk for a in missing]).values():
            found[key_of(row.program, getattr(row, f"{_holder_field(row.program)}_id"))] = row
    return {key: found[key_of(p, h.pk)] for key, (p, h) in holders.items()}


def _lock_account(tenant, account_id: int) -> PointsAccount:
    return _lock_accounts(tenant, [account_id])[account_id]


def _tier_for(program: PointsProgram, value: int) -> dict | None:
    reached = [t for t in program.tiers or [] if value >= t["threshold"]]
    return max(reached, key=lambda t: t["threshold"]) if reached else None


def _multiplier(account: PointsAccount) -> Decimal:
    for tier in account.program.tiers or []:
        if tier["name"] == account.tier:
            return Decimal(str(tier["multiplier"]))
    return Decimal(1)


def _recompute_tier(tenant, account: PointsAccount, now: datetime) -> None:
    program = account.program
    if not program.tiers:
        return
    if program.tier_basis == "rolling_12m":
        value = (
            OrderAward.objects.for_tenant(tenant)
            .filter(account=account, status=AwardStatus.ACTIVE, placed_at__gte=now - timedelta(365))
            .aggregate(s=Sum("points"))["s"]
            or 0
        )
    else:
        value = account.lifetime_earned
    tier = _tier_for(program, value)
    account.tier = tier["name"] if tier else ""


# --- the ledger -------------------------------------------------------------------------------


@dataclass
class Links:
    order: object = None
    rule: object = None
    campaign: object = None
    counterpart: object = None
    source: str = ""
    operator: object = None
    operator_label: str = ""
    reason: str = ""


def _entry(
    tenant,
    account: PointsAccount,
    *,
    kind: str,
    points: int,
    pending_delta: int = 0,
    usable_delta: int = 0,
    reference: str,
    links: Links | None = None,
    money_amount: Decimal = Decimal("0.00"),
) -> LedgerEntry:
    """Append an entry and move the locked account's figures by the same deltas."""
    links = links or Links()
    account.pending += pending_delta
    account.balance += usable_delta
    entry = LedgerEntry.objects.create(
        tenant=tenant,
        account=account,
        kind=kind,
        bucket=Bucket.PENDING if pending_delta and not usable_delta else Bucket.USABLE,
        points=points,
        pending_delta=pending_delta,
        usable_delta=usable_delta,
        balance_after=account.balance,
        pending_after=account.pending,
        money=money_amount,
        order=links.order,
        rule=links.rule,
        campaign=links.campaign,
        counterpart=links.counterpart,
        source=links.source,
        operator=links.operator,
        operator_label=links.operator_label,
        reason=links.reason,
        reference=reference,
    )
    account.save(
        update_fields=["balance", "pending", "lifetime_earned", "shortfall", "tier", "updated_at"]
    )
    return entry


def _entry_exists(tenant, reference: str) -> bool:
    return LedgerEntry.objects.for_tenant(tenant).filter(reference=reference).exists()


def _open_lots(tenant, account: PointsAccount, exclude_id=None) -> list[Lot]:
    qs = (
        Lot.objects.for_tenant(tenant)
        .select_for_update(no_key=True)
        .filter(account=account, status=LotStatus.OPEN)
        .order_by("earned_at", "id")
    )
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    return list(qs)


def _take(lots: list[Lot], points: int) -> list[tuple[Lot, int]]:
    """First in, first out: which lots give how many of `points`."""
    taken = []
    for lot in lots:
        if points <= 0:
            break
        part = min(lot.remaining, points)
        if part:
            taken.append((lot, part))
            points -= part
    return taken


def _apply_takes(tenant, entry: LedgerEntry, taken, *, empty_status=LotStatus.USED) -> None:
    for lot, part in taken:
        lot.remaining -= part
        if lot.remaining == 0:
            lot.status = empty_status
        lot.save(update_fields=["remaining", "status", "updated_at"])
    LotMovement.objects.bulk_create(
        [LotMovement(tenant=tenant, entry=entry, lot=lot, points=part) for lot, part in taken]
    )


def _new_lot(
    tenant,
    account: PointsAccount,
    entry: LedgerEntry,
    points: int,
    *,
    status: str,
    now: datetime,
    order=None,
    expires_at=None,
    activates_at=None,
    money_amount=Decimal("0.00"),
) -> Lot:
    return Lot.objects.create(
        tenant=tenant,
        account=account,
        entry=entry,
        order=order,
        points=points,
        remaining=points,
        status=status,
        earned_at=now,
        activates_at=activates_at,
        expires_at=expires_at,
        money=money_amount,
    )


def _credit_usable(
    tenant, account: PointsAccount, points: int, *, kind, reference, links, now, expires_at
) -> LedgerEntry:
    """Usable points in (adjust, transfer in, refund): a negative balance is repaid first."""
    repay = min(points, max(-account.balance, 0))
    entry = _entry(
        tenant, account, kind=kind, points=points, usable_delta=points, reference=reference,
        links=links,
    )  # fmt: skip
    lot = _new_lot(tenant, account, entry, points, status=LotStatus.OPEN, now=now,
                   expires_at=expires_at)  # fmt: skip
    if repay:
        _apply_takes(tenant, entry, [(lot, repay)])
    return entry


def points_spend(
    *, tenant, actor: Actor, account: PointsAccount, points: int, reference: str, source: str = ""
) -> LedgerEntry:
    """Spend usable points first-in, first-out (prizes, lottery draws). 422 insufficient_points."""
    with transaction.atomic():
        account = _lock_account(tenant, account.pk)
        existing = LedgerEntry.objects.for_tenant(tenant).filter(reference=reference).first()
        if existing is not None:
            return existing
        if points <= 0:
            raise ValidationFailed(_("Spend a positive number of points."))
        if account.balance < points:
            raise RuleRefusal(
                _("Not enough usable points."), code=PointsErrorCode.INSUFFICIENT_POINTS
            )
        taken = _take(_open_lots(tenant, account), points)
        entry = _entry(
            tenant, account, kind=EntryKind.SPEND, points=points, usable_delta=-points,
            reference=reference, links=Links(source=source, operator_label=actor.label),
        )  # fmt: skip
        _apply_takes(tenant, entry, taken)
        return entry


def points_refund(
    *, tenant, actor: Actor, spend: LedgerEntry, points: int | None = None, reference: str
) -> LedgerEntry:
    """Give spent points back (a prize redemption undone). They keep the earliest expiry of the
    lots they came from, so a refund never extends a point's life."""
    with transaction.atomic():
        account = _lock_account(tenant, spend.account_id)
        existing = LedgerEntry.objects.for_tenant(tenant).filter(reference=reference).first()
        if existing is not None:
            return existing
        points = spend.points if points is None else points
        refunded = (
            LedgerEntry.objects.for_tenant(tenant)
            .filter(kind=EntryKind.REFUND, source=f"spend:{spend.pk}")
            .aggregate(s=Sum("points"))["s"]
            or 0
        )
        if spend.kind != EntryKind.SPEND or points <= 0 or refunded + points > spend.points:
            raise ValidationFailed(_("Refund at most what was spent."))
        expiries = [
            m.lot.expires_at for m in spend.movements.select_related("lot") if m.lot.expires_at
        ]
        return _credit_usable(
            tenant, account, points, kind=EntryKind.REFUND, reference=reference,
            links=Links(source=f"spend:{spend.pk}", operator_label=actor.label),
            now=timezone.now(), expires_at=min(expiries) if expiries else None,
        )  # fmt: skip


def points_credit(
    *, tenant, actor: Actor, account: PointsAccount, points: int, reference: str, source: str
) -> LedgerEntry:
    """Usable points a holder wins (a lottery's points outcome), idempotent by `reference`.

    No budget money moves (SPEC §2.1: a draw's points were paid for when they became usable);
    they expire as the program's earned points do."""
    with transaction.atomic():
        account = _lock_account(tenant, account.pk)
        existing = LedgerEntry.objects.for_tenant(tenant).filter(reference=reference).first()
        if existing is not None:
            return existing
        if points <= 0:
            raise ValidationFailed(_("Credit a positive number of points."))
        now = timezone.now()
        return _credit_usable(
            tenant, account, points, kind=EntryKind.ADJUST, reference=reference,
            links=Links(source=source, operator_label=actor.label),
            now=now, expires_at=lot_expires_at(account.program, now, tenant.zone),
        )  # fmt: skip


BIGINT_MAX = 2**63 - 1
ACCOUNT_FIGURES = ["balance", "pending", "lifetime_earned", "tier"]


def _check_adjustment(actor: Actor, account: PointsAccount, points: int, reason: str) -> None:
    actor.require(Action.POINTS_ADJUST)
    data_scope.require_holder(actor, account.holder)
    if not reason.strip():
        raise ValidationFailed(_("Say why."), fields={"reason": [_("Required.")]})
    if points == 0:
        raise ValidationFailed(_("Adjust by some points."), fields={"points": [_("Not 0.")]})


def _too_large(tenant) -> RuleRefusal:
    bound = tenant.max_points_adjustment
    return RuleRefusal(
        _("One adjustment may change at most %(max)d points without a second approval.")
        % {"max": bound},
        code=PointsErrorCode.ADJUSTMENT_TOO_LARGE,
        fields={"points": [_("At most %(max)d.") % {"max": bound}]},
    )


@transaction.atomic
def points_adjust(
    *, tenant, actor: Actor, account: PointsAccount, points: int, reason: str
) -> LedgerEntry:
    """A manual correction with a reason and an author, audited (SPEC §3.2), within the
    tenant's max_points_adjustment; a larger one goes through points_adjustment_submit."""
    _check_adjustment(actor, account, points, reason)
    if abs(points) > tenant.max_points_adjustment:
        raise _too_large(tenant)
    return _apply_adjustment(
        tenant, actor, account.pk, points,
        reference=f"adjust:{account.pk}:{uuid.uuid4().hex}", reason=reason, source="",
    )  # fmt: skip


def points_adjustment_submit(
    *, tenant, actor: Actor, account: PointsAccount, points: int, reason: str
) -> LedgerEntry | PointsAdjustmentRequest:
    """Within the tenant's bound the correction applies at once; above it, it waits for a
    second person (maker-checker), who approves or rejects it."""
    if abs(points) <= tenant.max_points_adjustment:
        return points_adjust(
            tenant=tenant, actor=actor, account=account, points=points, reason=reason
        )
    _check_adjustment(actor, account, points, reason)
    with transaction.atomic():
        request = PointsAdjustmentRequest.objects.create(
            tenant=tenant, account=account, points=points, reason=reason,
            requested_by=actor.user, requested_by_label=actor.label,
        )  # fmt: skip
        audit_record(
            tenant=tenant, actor=actor, action="points_adjustment.request", obj=request,
            after=_request_snapshot(request), note=reason,
        )  # fmt: skip
    return request


def _request_snapshot(request: PointsAdjustmentRequest) -> dict:
    return snapshot(request, fields=["account", "points", "reason", "status"])


def _lock_request(tenant, actor: Actor, request: PointsAdjustmentRequest, target: str):
    """The request, locked and still pending, decided by someone other than its author."""
    request = (
        PointsAdjustmentRequest.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("account")
        .get(pk=request.pk)
    )
    actor.require(Action.POINTS_ADJUST)
    data_scope.require_holder(actor, request.account.holder)
    if request.status != AdjustmentRequestStatus.PENDING:
        raise invalid_transition(_("adjustment request"), request.status, target)
    if actor.user is None or actor.user.pk == request.requested_by_id:
        raise MakerChecker(_("Another person approves or rejects the adjustment you asked for."))
    return request


def _decide(tenant, actor: Actor, request, status: str, note: str, before: dict) -> None:
    request.status = status
    request.decided_by = actor.user
    request.decided_at = timezone.now()
    request.decision_note = note
    request.save()
    audit_record(
        tenant=tenant, actor=actor, action=f"points_adjustment.{status}", obj=request,
        before=before, after=_request_snapshot(request), note=note or request.reason,
    )  # fmt: skip


@transaction.atomic
def points_adjustment_approve(
    *, tenant, actor: Actor, request: PointsAdjustmentRequest, note: str = ""
) -> PointsAdjustmentRequest:
    """Apply a pending large adjustment; twice is a conflict, the author is refused."""
    request = _lock_request(tenant, actor, request, AdjustmentRequestStatus.APPROVED)
    before = _request_snapshot(request)
    request.entry = _apply_adjustment(
        tenant, actor, request.account_id, request.points,
        reference=f"adjust:request:{request.pk}", reason=request.reason,
        source=f"points_adjustment_request:{request.pk}",
    )  # fmt: skip
    _decide(tenant, actor, request, AdjustmentRequestStatus.APPROVED, note, before)
    return request


@transaction.atomic
def points_adjustment_reject(
    *, tenant, actor: Actor, request: PointsAdjustmentRequest, note: str
) -> PointsAdjustmentRequest:
    request = _lock_request(tenant, actor, request, AdjustmentRequestStatus.REJECTED)
    if not note.strip():
        raise ValidationFailed(_("Say why."), fields={"note": [_("Required.")]})
    before = _request_snapshot(request)
    _decide(tenant, actor, request, AdjustmentRequestStatus.REJECTED, note, before)
    return request


def _apply_adjustment(
    tenant, actor: Actor, account_id: int, points: int, *, reference: str, reason: str, source: str
) -> LedgerEntry:
    account = _lock_account(tenant, account_id)
    before = snapshot(account, fields=ACCOUNT_FIGURES)
    now = timezone.now()
    links = Links(operator=actor.user, operator_label=actor.label, reason=reason, source=source)
    if points > 0:
        if account.balance + points > BIGINT_MAX or account.lifetime_earned + points > BIGINT_MAX:
            raise RuleRefusal(
                _("The account cannot hold that many points."),
                code=PointsErrorCode.ADJUSTMENT_TOO_LARGE,
                fields={"points": [_("Too large for this account.")]},
            )
        entry = _credit_usable(
            tenant, account, points, kind=EntryKind.ADJUST, reference=reference, links=links,
            now=now, expires_at=lot_expires_at(account.program, now, tenant.zone),
        )  # fmt: skip
    else:
        if account.balance < -points:
            raise RuleRefusal(
                _("The account has only %d usable points.") % account.balance,
                code=PointsErrorCode.INSUFFICIENT_POINTS,
            )
        taken = _take(_open_lots(tenant, account), -points)
        entry = _entry(
            tenant, account, kind=EntryKind.ADJUST, points=-points, usable_delta=points,
            reference=reference, links=links,
        )  # fmt: skip
        _apply_takes(tenant, entry, taken)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="points_account.adjust",
        obj=account,
        before=before,
        after=snapshot(account, fields=ACCOUNT_FIGURES),
        note=reason,
    )
    return entry


@transaction.atomic
def points_transfer(
    *, tenant, actor: Actor, program: PointsProgram, from_holder, to_holder, points: int
) -> Transfer:
    """Move usable points to another holder of the same program, within its limits.

    Operators may move anyone's points; a staff member (portal) only their own.
    """
    if not actor.can(Action.POINTS_ADJUST):
        actor.require(Action.PORTAL_OWN)
        if actor.user is None or getattr(from_holder, "user_id", None) != actor.user.pk:
            raise NotFoundError(_("Not found."))
    # Both ends lie in the actor's data scope: a regional operator moves points only between
    # holders of their regions, a merchant user only within their merchant (SPEC §7).
    data_scope.require_holder(actor, from_holder)
    data_scope.require_holder(actor, to_holder)
    if not program.transferable:
        raise RuleRefusal(
            _("Points of this program cannot be transferred."),
            code=PointsErrorCode.NOT_TRANSFERABLE,
        )
    if points <= 0:
        raise ValidationFailed(_("Transfer a positive number of points."))
    if from_holder.pk == to_holder.pk:
        raise ValidationFailed(_("Transfer to someone else."), fields={"to_staff": ["same"]})
    if program.transfer_per_transfer and points > program.transfer_per_transfer:
        raise RuleRefusal(
            _("At most %d points per transfer.") % program.transfer_per_transfer,
            code=PointsErrorCode.TRANSFER_LIMIT,
        )
    source = account_for_holder(tenant=tenant, program=program, holder=from_holder)
    target = account_for_holder(tenant=tenant, program=program, holder=to_holder)
    locked = _lock_accounts(tenant, [source.pk, target.pk])
    source, target = locked[source.pk], locked[target.pk]
    now = timezone.now()
    if program.transfer_per_month:
        sent = (
            LedgerEntry.objects.for_tenant(tenant)
            .filter(
                account=source,
                kind=EntryKind.TRANSFER_OUT,
                created_at__gte=month_start(now, tenant.zone),
            )
            .aggregate(s=Sum("points"))["s"]
            or 0
        )
        if sent + points > program.transfer_per_month:
            raise RuleRefusal(
                _("At most %(limit)d points a month; %(sent)d sent already.")
                % {"limit": program.transfer_per_month, "sent": sent},
                code=PointsErrorCode.TRANSFER_LIMIT,
            )
    if source.balance < points:
        raise RuleRefusal(_("Not enough usable points."), code=PointsErrorCode.INSUFFICIENT_POINTS)
    taken = _take(_open_lots(tenant, source), points)
    reference = f"transfer:{source.pk}:{target.pk}:{uuid.uuid4().hex}"
    out_entry = _entry(
        tenant, source, kind=EntryKind.TRANSFER_OUT, points=points, usable_delta=-points,
        reference=f"{reference}:out",
        links=Links(counterpart=target, operator=actor.user, operator_label=actor.label),
    )  # fmt: skip
    _apply_takes(tenant, out_entry, taken)
    # The points keep their earliest expiry: a transfer never extends their life.
    expiries = [lot.expires_at for lot, _part in taken if lot.expires_at]
    in_entry = _credit_usable(
        tenant, target, points, kind=EntryKind.TRANSFER_IN, reference=f"{reference}:in",
        links=Links(counterpart=source, operator=actor.user, operator_label=actor.label),
        now=now, expires_at=min(expiries) if expiries else None,
    )  # fmt: skip
    transfer = Transfer.objects.create(
        tenant=tenant,
        program=program,
        from_account=source,
        to_account=target,
        points=points,
        out_entry=out_entry,
        in_entry=in_entry,
        operator_label=actor.label,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="points.transfer",
        obj=transfer,
        after={"from": source.pk, "to": target.pk, "points": points},
    )
    return transfer


# --- awards from orders -----------------------------------------------------------------------


_RULE_FIELDS = [f.name for f in PointsRule._meta.concrete_fields]


def _rules_for(tenant, order, kinds) -> list[PointsRule]:
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
    return {
        Holder.STAFF: order.staff,
        Holder.MERCHANT: order.merchant,
        Holder.CUSTOMER: order.customer,
    }[program.holder]


def _base_points(rule: PointsRule, order, rank: int | None) -> int:
    if rule.min_amount is not None and order.amount < rule.min_amount:
        return 0
    if rule.kind == RuleKind.PER_ORDER:
        return rule.points
    if rule.kind == RuleKind.PER_AMOUNT:
        return int(order.amount // rule.per_amount) * rule.points
    if rule.kind == RuleKind.REGION_FIRST_N:
        for tier in rule.tiers:
            if tier["from"] <= rank <= tier["to"]:
                return tier["points"]
    return 0


def _earned_since(tenant, account, since, rule=None) -> int:
    qs = OrderAward.objects.for_tenant(tenant).filter(
        account=account, status=AwardStatus.ACTIVE, placed_at__gte=since
    )
    if rule is not None:
        qs = qs.filter(rule=rule)
    return qs.aggregate(s=Sum("points"))["s"] or 0


def _cap_room(tenant, rule, account, counter, at: datetime) -> int | None:
    """How many more points the caps allow (None: no cap). Counted at `at` in the tenant's zone."""
    program, zone = rule.program, tenant.zone
    rooms = []
    if program.weekly_cap is not None:
        rooms.append(program.weekly_cap - _earned_since(tenant, account, week_start(at, zone)))
    if program.monthly_cap is not None:
        rooms.append(program.monthly_cap - _earned_since(tenant, account, month_start(at, zone)))
    if rule.cap_per_holder_week is not None:
        earned = _earned_since(tenant, account, week_start(at, zone), rule=rule)
        rooms.append(rule.cap_per_holder_week - earned)
    if rule.cap_total is not None:
        rooms.append(rule.cap_total - rule.awarded)
    if rule.cap_per_region is not None and counter is not None:
        rooms.append(rule.cap_per_region - counter.awarded)
    return max(min(rooms), 0) if rooms else None


@dataclass
class _Plan:
    rule: PointsRule
    region_id: int | None = None  # the region the order counts in for this rule
    counter: RuleRegionCounter | None = None
    rank: int | None = None
    account: PointsAccount | None = None
    requested: int = 0
    points: int = 0
    outcome: str = AwardOutcome.AWARDED
    note: str = ""
    extra: dict = field(default_factory=dict)


def _lock_rules_and_counters(tenant, order, rules) -> list[_Plan]:
    """Phase one of the lock order: per rule (by pk) its region counter, then the rule."""
    plans = []
    for rule in rules:
        plan = _Plan(rule=rule, region_id=rule.named_region_id or order.region_id)
        if rule.kind == RuleKind.REGION_FIRST_N or rule.cap_per_region is not None:
            counter = (
                RuleRegionCounter.objects.for_tenant(tenant)
                .select_for_update(no_key=True)
                .filter(rule=rule, region_id=plan.region_id)
                .first()
            )
            if counter is None:  # a rule without regions capping per region: first order here
                RuleRegionCounter.objects.bulk_create(
                    [RuleRegionCounter(tenant=tenant, rule=rule, region_id=plan.region_id)],
                    ignore_conflicts=True,
                )
                counter = (
                    RuleRegionCounter.objects.for_tenant(tenant)
                    .select_for_update(no_key=True)
                    .get(rule=rule, region_id=plan.region_id)
                )
            plan.counter = counter
            if rule.kind == RuleKind.REGION_FIRST_N:
                counter.orders += 1
                plan.rank = counter.orders
        if rule.cap_total is not None:
            # Only a total cap needs the rule's running sum, and so its row lock: without
            # one, orders of different regions never wait for each other here.
            locked = (
                PointsRule.objects.for_tenant(tenant).select_for_update(no_key=True).get(pk=rule.pk)
            )
            rule.awarded = locked.awarded
        plans.append(plan)
    return plans


class BudgetRefused(Exception):
    """A rule's reservation was refused after the award was written (see `_earn`).

    order_place rolls its transaction back and places the order again, this time recording the
    refusal for that rule instead of reserving. Refusals are rare; an award that does not need a
    savepoint keeps the budget row (every order's hot spot) locked for one round trip less.
    """

    def __init__(self, rule_id: int, detail: str):
        super().__init__(detail)
        self.rule_id = rule_id
        self.detail = detail


def _earn(
    tenant, plan: _Plan, order, *, now: datetime, at: datetime | None = None,
    activate_now: bool = False, refused: dict[int, str] | None = None,
) -> OrderAward:  # fmt: skip
    """Caps, then the earn entry, its pending lot and the award, then the budget reservation.

    With `refused` (order placement) a refusal raises BudgetRefused for the caller to redo the
    order; without it (milestones) the award is undone through a savepoint. Either way the
    refusal ends up recorded on the order's award, never as an error to the integrator.
    """
    rule, account = plan.rule, plan.account
    program = rule.program
    at = at or order.placed_at
    multiplier = _multiplier(account)
    plan.requested = int(plan.requested * multiplier)
    points = plan.requested
    room = _cap_room(tenant, rule, account, plan.counter, at)
    if room is not None and room < points:
        plan.note = _("Cap reached: %(room)d of %(asked)d points.") % {
            "room": room,
            "asked": points,
        }
        points = room
        plan.outcome = AwardOutcome.PARTIAL if points else AwardOutcome.CAPPED
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
        _activate_lot(tenant, account, lot, order=order, rule=rule, campaign=rule.campaign)
    return award


def _record_earn(
    tenant, plan: _Plan, order, points: int, amount: Decimal, reference: str, *, at, now
) -> tuple[OrderAward, Lot | None]:
    """The earn entry and its pending lot (when there are points), the counters, the award."""
    rule, account = plan.rule, plan.account
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
            activates_at = at + timedelta(days=program.pending_days)
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
    *, tenant, order, refused: dict[int, str] | None = None
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
    accounts = _lock_holder_accounts(tenant, holders)
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
        plan.requested = _base_points(plan.rule, order, plan.rank)
        if plan.requested == 0 and plan.rule.kind == RuleKind.REGION_FIRST_N:
            plan.outcome = AwardOutcome.NO_TIER
        awards.append(_earn(tenant, plan, order, now=now, refused=refused or {}))
    return awards


def _activate_lot(tenant, account: PointsAccount, lot: Lot, **link_kwargs) -> LedgerEntry | None:
    """pending → usable: the reservation becomes spending (SPEC §2.1)."""
    reference = f"activate:lot:{lot.pk}"
    if lot.status != LotStatus.PENDING or _entry_exists(tenant, reference):
        return None
    program = account.program
    points = lot.remaining
    repay = min(points, max(-account.balance, 0))  # a negative balance is repaid first
    entry = _entry(
        tenant, account, kind=EntryKind.ACTIVATE, points=points, pending_delta=-points,
        usable_delta=points, reference=reference, money_amount=lot.money,
        links=Links(**link_kwargs),
    )  # fmt: skip
    lot.status = LotStatus.OPEN
    lot.save(update_fields=["status", "updated_at"])
    if repay:
        _apply_takes(tenant, entry, [(lot, repay)])
    if lot.money:
        campaign = link_kwargs.get("campaign")
        money.budget_spend(
            tenant=tenant,
            budget=campaign.budget,
            amount=lot.money,
            reference=f"points:{reference}",
            campaign=campaign,
            source=f"points_program:{program.pk}",
        )
    return entry


def _awards_of(tenant, order):
    return list(
        OrderAward.objects.for_tenant(tenant)
        .filter(order=order, lot__isnull=False)
        .select_related("lot", "rule__campaign__budget", "rule__program")
        .order_by("rule_id")
    )


def points_on_order_completed(*, tenant, order) -> None:
    """Pending points of an `until_completed` program become usable; milestones are counted."""
    awards = [a for a in _awards_of(tenant, order) if a.lot.status == LotStatus.PENDING]
    awards = [a for a in awards if a.rule.program.pending_policy == PendingPolicy.UNTIL_COMPLETED]
    if awards:
        locked = _lock_accounts(tenant, [a.account_id for a in awards])
        for award in sorted(awards, key=lambda a: (a.rule.campaign.budget_id, a.rule_id)):
            lot = Lot.objects.for_tenant(tenant).select_for_update(no_key=True).get(pk=award.lot_id)
            _activate_lot(
                tenant, locked[award.account_id], lot, order=order, rule=award.rule,
                campaign=award.rule.campaign,
            )  # fmt: skip
    _milestones(tenant, order)


def _milestones(tenant, order) -> None:
    from orders.models import Order, OrderStatus

    rules = _rules_for(tenant, order, [RuleKind.MILESTONE])
    if not rules:
        return
    now = timezone.now()
    plans = _lock_rules_and_counters(tenant, order, rules)
    for plan in plans:
        rule = plan.rule
        holder = _order_holder(rule.program, order)
        if holder is None:
            continue
        account = account_for_holder(tenant=tenant, program=rule.program, holder=holder)
        account = _lock_account(tenant, account.pk)
        spec = rule.milestone
        start = (week_start if spec["period"] == "week" else month_start)(
            order.completed_at, tenant.zone
        )
        reference = f"earn:order:{order.pk}:rule:{rule.pk}"
        done = (
            OrderAward.objects.for_tenant(tenant)
            .filter(rule=rule, account=account, placed_at__gte=start)
            .exists()
        )
        if done or _entry_exists(tenant, reference):
            continue  # one bonus per holder and period
        completed = (
            Order.objects.for_tenant(tenant)
            .filter(
                status=OrderStatus.COMPLETED,
                completed_at__gte=start,
                **{_holder_field(rule.program): holder},
            )
            .count()
        )
        if completed < spec["count"]:
            continue
        plan.account = account
        plan.requested = spec["points"]
        # The bonus is dated by the period it rewards, so caps and "once per period" see it there.
        _earn(tenant, plan, order, now=now, at=order.completed_at, activate_now=True)


def points_on_order_closed(*, tenant, order) -> None:
    """Pending points are cancelled (reservation released), usable ones reversed (refunded);
    points already spent follow the program's allow_negative policy (SPEC §3.3)."""
    awards = [a for a in _awards_of(tenant, order) if a.status == AwardStatus.ACTIVE and a.points]
    if not awards:
        return
    # Lock order: counters, then rules, then accounts, then lots, then budgets. The caps are
    # read from the locked rules: a cap set or lifted meanwhile (rule_update, which recounts
    # under the same locks) decides what is taken back, so no running sum drifts.
    pairs = Q(pk__in=[])
    for award in awards:
        pairs |= Q(rule_id=award.rule_id, region_id=award.region_id)
    counters = RuleRegionCounter.objects.for_tenant(tenant).filter(pairs).order_by("pk")
    list(counters.select_for_update(no_key=True).values_list("pk", flat=True))
    rules = PointsRule.objects.for_tenant(tenant).filter(pk__in={a.rule_id for a in awards})
    caps = {
        rule.pk: rule
        for rule in rules.order_by("pk")
        .select_for_update(no_key=True)
        .only("kind", "cap_per_region", "cap_total")
    }
    for award in awards:
        rule = caps[award.rule_id]
        # Only counters that count points (first-N, per-region cap) take the award back: others
        # never added it, and would go below zero.
        if _keeps_region_counts(rule.kind, rule.cap_per_region):
            RuleRegionCounter.objects.for_tenant(tenant).filter(
                rule_id=award.rule_id, region_id=award.region_id
            ).update(awarded=F("awarded") - award.points)
        if rule.cap_total is not None:
            PointsRule.objects.for_tenant(tenant).filter(pk=award.rule_id).update(
                awarded=F("awarded") - award.points
            )
    locked = _lock_accounts(tenant, [a.account_id for a in awards])
    for award in sorted(awards, key=lambda a: (a.rule.campaign.budget_id, a.rule_id)):
        account = locked[award.account_id]
        lot = Lot.objects.for_tenant(tenant).select_for_update(no_key=True).get(pk=award.lot_id)
        links = Links(order=order, rule=award.rule, campaign=award.rule.campaign)
        if lot.status == LotStatus.PENDING:
            _cancel_lot(tenant, account, lot, award, links)
        else:
            _reverse_lot(tenant, account, lot, award, links)
        account.lifetime_earned = max(account.lifetime_earned - award.points, 0)
        _recompute_tier(tenant, account, timezone.now())
        account.save(update_fields=["lifetime_earned", "tier", "updated_at"])


def _cancel_lot(tenant, account, lot: Lot, award: OrderAward, links: Links) -> None:
    points = lot.remaining
    entry = _entry(
        tenant, account, kind=EntryKind.CANCEL, points=points, pending_delta=-points,
        reference=f"cancel:lot:{lot.pk}", money_amount=lot.money, links=links,
    )  # fmt: skip
    _apply_takes(tenant, entry, [(lot, points)], empty_status=LotStatus.CANCELLED)
    if lot.money:
        money.budget_release(
            tenant=tenant,
            budget=links.campaign.budget,
            amount=lot.money,
            reference=f"points:cancel:lot:{lot.pk}",
            campaign=links.campaign,
            source=f"points_rule:{award.rule_id}",
        )
    award.status = AwardStatus.CANCELLED
    award.save(update_fields=["status", "updated_at"])


def _reverse_lot(tenant, account, lot: Lot, award: OrderAward, links: Links) -> None:
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
    others = _take(_open_lots(tenant, account, exclude_id=lot.pk), gone)
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
            budget=links.campaign.budget,
            amount=refund,
            reference=f"points:reverse:lot:{lot.pk}",
            campaign=links.campaign,
            source=f"points_rule:{award.rule_id}",
        )
    award.status = AwardStatus.REVERSED
    award.save(update_fields=["status", "note", "updated_at"])


# --- periodic: activation after a pending period, expiry --------------------------------------


def points_activate_due(*, now: datetime | None = None, chunk: int = 500) -> int:
    """Pending lots of `days` programs whose period passed become usable (beat)."""
    now = now or timezone.now()
    done = 0
    while True:
        with transaction.atomic():
            due = list(
                Lot.objects.unscoped()
                .filter(status=LotStatus.PENDING, activates_at__lte=now)
                .order_by("account_id")
                .values_list("tenant_id", "account_id")
                .distinct()[:chunk]
            )
            if not due:
                return done
            for tenant_id, account_id in sorted(due, key=lambda d: d[1]):
                done += _activate_account_due(tenant_id, account_id, now)


def _activate_account_due(tenant_id: int, account_id: int, now: datetime) -> int:
    from accounts.models import Tenant

    tenant = Tenant.objects.get(pk=tenant_id)
    account = _lock_account(tenant, account_id)
    lots = list(
        Lot.objects.for_tenant(tenant)
        .select_for_update(no_key=True)
        .filter(account=account, status=LotStatus.PENDING, activates_at__lte=now)
        .order_by("earned_at", "id")
    )
    awards = {
        a.lot_id: a
        for a in OrderAward.objects.for_tenant(tenant)
        .filter(lot__in=lots)
        .select_related("rule__campaign__budget", "order")
    }
    for lot in lots:
        award = awards.get(lot.pk)
        _activate_lot(
            tenant, account, lot, order=award.order if award else None,
            rule=award.rule if award else None, campaign=award.rule.campaign if award else None,
        )  # fmt: skip
    return len(lots)


def points_expire_due(*, now: datetime | None = None, chunk_accounts: int = 2000) -> int:
    """Expire every due lot, a chunk of accounts per transaction, one entry per account.

    Accounts are locked before their lots (the lock order of every other ledger write). On
    PostgreSQL each chunk is a handful of set-based statements; elsewhere a plain loop.
    """
    now = now or timezone.now()
    expired = 0
    while True:
        with transaction.atomic():
            accounts = list(
                Lot.objects.unscoped()
                .filter(status=LotStatus.OPEN, expires_at__lte=now)
                .order_by("account_id")
                .values_list("account_id", flat=True)
                .distinct()[:chunk_accounts]
            )
            if not accounts:
                return expired
            if connection.vendor == "postgresql":
                expired += _expire_chunk_sql(accounts, now)
            else:
                expired += _expire_chunk_orm(accounts, now)


def _expire_chunk_orm(account_ids: list[int], now: datetime) -> int:
    expired = 0
    accounts = (
        PointsAccount.objects.unscoped()
        .select_for_update(of=("self",), no_key=True)
        .filter(pk__in=account_ids)
        .order_by("pk")
        .select_related("tenant", "program")
    )
    for account in accounts:
        tenant = account.tenant
        lots = list(
            Lot.objects.for_tenant(tenant)
            .select_for_update(no_key=True)
            .filter(account=account, status=LotStatus.OPEN, expires_at__lte=now)
        )
        points = sum(lot.remaining for lot in lots)
        if not points:
            continue
        entry = _entry(
            tenant, account, kind=EntryKind.EXPIRE, points=points, usable_delta=-points,
            reference=f"expire:{account.pk}:{now.isoformat()}",
        )  # fmt: skip
        _apply_takes(tenant, entry, [(lot, lot.remaining) for lot in lots],
                     empty_status=LotStatus.EXPIRED)  # fmt: skip
        expired += points
    return expired


_EXPIRE_SUMS = """
SELECT a.id, a.tenant_id, a.balance, a.pending, SUM(l.remaining)
FROM points_pointsaccount a JOIN points_lot l ON l.account_id = a.id
WHERE a.id = ANY(%(ids)s) AND l.status = 'open' AND l.expires_at <= %(now)s
GROUP BY a.id ORDER BY a.id
"""

# The lots and their movements in one statement: the UPDATE returns what each lot gave.
_EXPIRE_LOTS = """
WITH entries(account_id, entry_id) AS (SELECT * FROM unnest(%(accounts)s, %(entries)s)),
taken AS (
    UPDATE points_lot l
    SET status = 'expired', remaining = 0, updated_at = %(now)s
    FROM (
        SELECT l2.id, l2.remaining, e.entry_id FROM points_lot l2
        JOIN entries e ON e.account_id = l2.account_id
        WHERE l2.status = 'open' AND l2.expires_at <= %(now)s
    ) due
    WHERE l.id = due.id
    RETURNING l.id, l.tenant_id, due.remaining, due.entry_id
)
INSERT INTO points_lotmovement (tenant_id, entry_id, lot_id, points, created_at, updated_at)
SELECT tenant_id, entry_id, id, remaining, %(now)s, %(now)s FROM taken WHERE remaining > 0
"""

_EXPIRE_ACCOUNTS = """
UPDATE points_pointsaccount a SET balance = a.balance - v.points, updated_at = %(now)s
FROM unnest(%(accounts)s, %(points)s) AS v(id, points) WHERE a.id = v.id
"""


def _expire_chunk_sql(account_ids: list[int], now: datetime) -> int:
    # Lock the accounts first, in pk order, as every other ledger write does.
    list(
        PointsAccount.objects.unscoped()
        .select_for_update(no_key=True)
        .filter(pk__in=account_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    with connection.cursor() as cursor:
        cursor.execute(_EXPIRE_SUMS, {"ids": account_ids, "now": now})
        rows = [r for r in cursor.fetchall() if r[4]]
    if not rows:
        return 0
    stamp = now.isoformat()
    entries = LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                tenant_id=tenant_id,
                account_id=account_id,
                kind=EntryKind.EXPIRE,
                bucket=Bucket.USABLE,
                points=points,
                usable_delta=-points,
                balance_after=balance - points,
                pending_after=pending,
                reference=f"expire:{account_id}:{stamp}",
            )
            for account_id, tenant_id, balance, pending, points in rows
        ],
        batch_size=2000,
    )
    accounts = [r[0] for r in rows]
    params = {"accounts": accounts, "now": now}
    with connection.cursor() as cursor:
        cursor.execute(_EXPIRE_LOTS, {**params, "entries": [e.pk for e in entries]})
        cursor.execute(_EXPIRE_ACCOUNTS, {**params, "points": [r[4] for r in rows]})
    return sum(r[4] for r in rows)


# --- the ledger check -------------------------------------------------------------------------


def ledger_mismatches(*, account_ids=None) -> list[dict]:
    """Accounts whose cached figures disagree with their entries or lots (ARCHITECTURE §3)."""
    qs = PointsAccount.objects.unscoped().order_by("pk")
    if account_ids is not None:
        qs = qs.filter(pk__in=account_ids)
    entries = {
        row["account_id"]: row
        for row in LedgerEntry.objects.unscoped()
        .values("account_id")
        .annotate(usable=Sum("usable_delta"), pending=Sum("pending_delta"))
    }
    lots = {}
    for row in (
        Lot.objects.unscoped()
        .filter(status__in=[LotStatus.OPEN, LotStatus.PENDING])
        .values("account_id", "status")
        .annotate(s=Sum("remaining"))
    ):
        lots[(row["account_id"], row["status"])] = row["s"]
    problems = []
    for account_id, balance, pending in qs.values_list("pk", "balance", "pending").iterator():
        sums = entries.get(account_id, {"usable": 0, "pending": 0})
        open_lots = lots.get((account_id, LotStatus.OPEN), 0)
        pending_lots = lots.get((account_id, LotStatus.PENDING), 0)
        found = []
        if balance != (sums["usable"] or 0):
            found.append(f"balance {balance} != usable entries {sums['usable']}")
        if max(balance, 0) != open_lots:
            found.append(f"balance {balance} != open lots {open_lots}")
        if pending != (sums["pending"] or 0):
            found.append(f"pending {pending} != pending entries {sums['pending']}")
        if pending != pending_lots:
            found.append(f"pending {pending} != pending lots {pending_lots}")
        if found:
            problems.append({"account": account_id, "problems": found})
    return problems
