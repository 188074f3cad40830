"""Reads of points: programs, rules, accounts with their figures, ledger entries."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet, Subquery, Sum, Window
from django.db.models.functions import Coalesce, RowNumber, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import MerchantStaff, Region, Tenant
from accounts.permissions import Actor
from accounts.regions import region_descendant_ids, region_path
from accounts.roles import Action
from accounts.selectors import staff_get
from campaigns.models import Campaign, CampaignStatus
from core.errors import NotFoundError
from core.selectors import filtered, get_visible

from .engine import multiplier_of
from .filters import AccountFilter, AdjustmentRequestFilter, EntryFilter, RuleFilter
from .models import (
    AwardStatus,
    Holder,
    LedgerEntry,
    Lot,
    LotStatus,
    OrderAward,
    PointsAccount,
    PointsAdjustmentRequest,
    PointsProgram,
    PointsRule,
    RuleKind,
    RuleRegionCounter,
    TierBasis,
)
from .periods import EXPIRING_SOON_DAYS, month_start, week_start


def program_list(*, tenant: Tenant, actor: Actor) -> QuerySet:
    readers = (Action.POINTS_READ, Action.CAMPAIGNS_READ, Action.PORTAL_OWN)
    if not any(actor.can(action) for action in readers):
        actor.require(Action.POINTS_READ)
    return PointsProgram.objects.for_tenant(tenant).order_by("name", "id")


def program_get(*, tenant: Tenant, actor: Actor, id) -> PointsProgram:
    return get_visible(program_list(tenant=tenant, actor=actor), pk=id)


def rule_list(*, tenant: Tenant, actor: Actor, filters: Mapping | None = None) -> QuerySet:
    """Rules the actor may read, newest first, each with `points_awarded`; `filters`:
    campaign, program (RuleFilter)."""
    actor.require(Action.CAMPAIGNS_READ)
    awarded = (
        OrderAward.objects.unscoped()
        .filter(rule=OuterRef("pk"), status=AwardStatus.ACTIVE)
        .order_by()
        .values("rule")
        .annotate(s=Sum("points"))
        .values("s")
    )
    qs = (
        PointsRule.objects.for_tenant(tenant)
        .select_related("campaign", "program")
        .prefetch_related("regions")
        .annotate(points_awarded=Coalesce(Subquery(awarded), 0))
        .order_by("-id")
    )
    if actor.region_ids is not None:
        qs = qs.filter(regions__in=actor.region_ids).distinct()
    if actor.business_unit_id is not None:
        qs = qs.filter(campaign__business_unit_id=actor.business_unit_id)
    return filtered(RuleFilter, filters, qs)


def rule_get(*, tenant: Tenant, actor: Actor, id) -> PointsRule:
    return get_visible(rule_list(tenant=tenant, actor=actor), pk=id)


def _expiring_subquery(now: datetime):
    return Coalesce(
        Subquery(
            Lot.objects.unscoped()
            .filter(
                account=OuterRef("pk"),
                status=LotStatus.OPEN,
                expires_at__lte=now + timedelta(days=EXPIRING_SOON_DAYS),
            )
            .order_by()
            .values("account")
            .annotate(s=Sum("remaining"))
            .values("s")
        ),
        0,
    )


def account_list(
    *,
    tenant: Tenant,
    actor: Actor,
    filters: Mapping | None = None,
    now: datetime | None = None,
) -> QuerySet:
    """Accounts the actor may read, each with `expiring_soon` (points due in the next 30 days);
    `filters`: program, search (AccountFilter).

    Regional operators see holders of their regions, merchant users their merchant's staff, a
    merchant staff member only their own accounts.
    """
    if not (actor.can(Action.POINTS_READ) or actor.can(Action.PORTAL_OWN)):
        actor.require(Action.POINTS_READ)
    now = now or timezone.now()
    qs = (
        PointsAccount.objects.for_tenant(tenant)
        .select_related("program", "staff__merchant", "merchant", "customer")
        .annotate(expiring_soon=_expiring_subquery(now))
        .order_by("id")
    )
    if actor.region_ids is not None:
        qs = qs.filter(
            Q(staff__merchant__region_id__in=actor.region_ids)
            | Q(merchant__region_id__in=actor.region_ids)
            | Q(customer__region_id__in=actor.region_ids)
        )
    if actor.merchant_id is not None:
        qs = qs.filter(Q(staff__merchant_id=actor.merchant_id) | Q(merchant_id=actor.merchant_id))
    if not actor.can(Action.POINTS_READ):  # merchant staff: their own accounts only
        qs = qs.filter(staff__user=actor.user)
    return filtered(AccountFilter, filters, qs)


def account_get(*, tenant: Tenant, actor: Actor, id) -> PointsAccount:
    return get_visible(account_list(tenant=tenant, actor=actor), pk=id)


def staff_accounts(*, tenant: Tenant, actor: Actor, code: str) -> QuerySet:
    staff = staff_get(tenant=tenant, actor=actor, code=code)
    return account_list(tenant=tenant, actor=actor).filter(staff=staff)


def entry_list(
    *,
    tenant: Tenant,
    actor: Actor,
    account=None,
    staff_code: str = "",
    filters: Mapping | None = None,
) -> QuerySet:
    """Ledger entries, newest first, with what caused them: of the account, or of the staff
    member's accounts; `filters`: program (EntryFilter)."""
    qs = (
        LedgerEntry.objects.for_tenant(tenant)
        .select_related("account__program", "order", "rule", "campaign", "counterpart")
        .order_by("-id")
    )
    if account is not None:
        qs = qs.filter(account=account)
    else:
        accounts = staff_accounts(tenant=tenant, actor=actor, code=staff_code)
        qs = qs.filter(account__in=accounts.values("pk"))
    return filtered(EntryFilter, filters, qs)


def expiring_soon(*, tenant: Tenant, account: PointsAccount, now: datetime | None = None) -> int:
    now = now or timezone.now()
    return (
        Lot.objects.for_tenant(tenant)
        .filter(
            account=account,
            status=LotStatus.OPEN,
            expires_at__lte=now + timedelta(days=EXPIRING_SOON_DAYS),
        )
        .aggregate(s=Sum("remaining"))["s"]
        or 0
    )


def adjustment_request_list(
    *, tenant: Tenant, actor: Actor, filters: Mapping | None = None
) -> QuerySet:
    """Large adjustments asking for a second person, of accounts the actor may adjust, newest
    first; `filters`: status (AdjustmentRequestFilter)."""
    actor.require(Action.POINTS_ADJUST)
    accounts = account_list(tenant=tenant, actor=actor).values("pk")
    qs = (
        PointsAdjustmentRequest.objects.for_tenant(tenant)
        .filter(account__in=accounts)
        .select_related("account__program", "account__staff", "account__merchant")
        .select_related("account__customer", "decided_by", "entry")
        .order_by("-created_at", "-id")
    )
    return filtered(AdjustmentRequestFilter, filters, qs)


def adjustment_request_get(*, tenant: Tenant, actor: Actor, id) -> PointsAdjustmentRequest:
    return get_visible(adjustment_request_list(tenant=tenant, actor=actor), pk=id)


# --- the staff portal: my points, how to earn, my history ---------------------------------------

PENDING_ORDERS_SHOWN = 10  # a dashboard card lists this many orders points wait on
REGIONS_SHOWN = 50  # "how to earn" lists at most this many open regions per rule


def _require_staff_visible(tenant: Tenant, actor: Actor, staff: MerchantStaff) -> None:
    """A staff member reads only their own points; a merchant admin their merchant's staff; a
    console reader those in their regions. Anyone else's staff is "not found" (the Zulip rule)."""
    if not (actor.can(Action.POINTS_READ) or actor.can(Action.PORTAL_OWN)):
        actor.require(Action.POINTS_READ)
    visible = staff.tenant_id == tenant.pk
    if not actor.can(Action.POINTS_READ):  # merchant staff: themselves only
        visible = visible and actor.user is not None and staff.user_id == actor.user.pk
    if actor.merchant_id is not None:
        visible = visible and staff.merchant_id == actor.merchant_id
    if visible and actor.region_ids is not None:
        visible = staff.merchant.region_id in actor.region_ids
    if not visible:
        raise NotFoundError(_("Not found."))


def _staff_program_accounts(tenant: Tenant, staff: MerchantStaff) -> list[PointsAccount]:
    return list(
        PointsAccount.objects.for_tenant(tenant)
        .filter(staff=staff, program__holder=Holder.STAFF)
        .select_related("program")
        .order_by("program__name", "program_id")
    )


@dataclass
class _Earned:
    """A holder's awarded points of one rule in the windows the caps count (SPEC §3.3)."""

    week: int = 0
    month: int = 0
    year: int = 0  # the last 365 days: a rolling_12m tier's basis
    awards_this_week: int = 0  # any status: a milestone pays once per period
    awards_this_month: int = 0


def _earned_by_rule(
    tenant: Tenant, account_ids: list[int], now: datetime
) -> dict[tuple[int, int], _Earned]:
    """{(account id, rule id): _Earned}, counted as the award code counts its caps
    (awards.py `_earned_since`: active awards placed since the start of the window)."""
    if not account_ids:
        return {}
    zone = tenant.zone
    week, month = week_start(now, zone), month_start(now, zone)
    year = now - timedelta(days=365)
    active = Q(status=AwardStatus.ACTIVE)
    rows = (
        OrderAward.objects.for_tenant(tenant)
        .filter(account_id__in=account_ids, placed_at__gte=min(week, month, year))
        .values("account_id", "rule_id")
        .annotate(
            week=Coalesce(Sum("points", filter=active & Q(placed_at__gte=week)), 0),
            month=Coalesce(Sum("points", filter=active & Q(placed_at__gte=month)), 0),
            year=Coalesce(Sum("points", filter=active & Q(placed_at__gte=year)), 0),
            awards_this_week=Count("pk", filter=Q(placed_at__gte=week)),
            awards_this_month=Count("pk", filter=Q(placed_at__gte=month)),
        )
        .order_by()
    )
    return {(row.pop("account_id"), row.pop("rule_id")): _Earned(**row) for row in rows.iterator()}


def _sum_earned(earned: dict[tuple[int, int], _Earned], account_id: int) -> _Earned:
    """What a program's caps count: the account's awards of every rule."""
    total = _Earned()
    for (account, _rule), each in earned.items():
        if account == account_id:
            total.week += each.week
            total.month += each.month
            total.year += each.year
    return total


@dataclass
class PendingOrder:
    external_id: str
    points: int
    activates_at: datetime | None  # known under a "days" pending policy; else on completion


@dataclass
class ExpiringDay:
    day: date
    points: int


@dataclass
class CapProgress:
    earned: int
    cap: int | None

    @property
    def left(self) -> int | None:
        return None if self.cap is None else max(self.cap - self.earned, 0)

    @property
    def percent(self) -> int:
        if not self.cap:
            return 0
        return min(100, self.earned * 100 // self.cap)


@dataclass
class TierProgress:
    basis: str  # TierBasis
    value: int  # the points the tier is measured on
    current: dict | None  # {name, threshold, multiplier} of the account's tier
    next: dict | None  # the next tier up, None at the top

    @property
    def needed(self) -> int:
        return max(self.next["threshold"] - self.value, 0) if self.next else 0

    @property
    def percent(self) -> int:
        if not self.next:
            return 100
        floor = self.current["threshold"] if self.current else 0
        span = self.next["threshold"] - floor
        return min(100, max(0, (self.value - floor) * 100 // span)) if span > 0 else 0


@dataclass
class ProgramCard:
    """One program's figures on a staff member's home page."""

    account: PointsAccount
    pending_orders: list[PendingOrder] = field(default_factory=list)
    pending_orders_more: int = 0  # orders beyond the ones listed
    expiring: list[ExpiringDay] = field(default_factory=list)
    tier: TierProgress | None = None
    week: CapProgress = field(default_factory=lambda: CapProgress(0, None))
    month: CapProgress = field(default_factory=lambda: CapProgress(0, None))

    @property
    def program(self) -> PointsProgram:
        return self.account.program

    @property
    def expiring_total(self) -> int:
        return sum(day.points for day in self.expiring)


def _tier_progress(account: PointsAccount, value: int) -> TierProgress | None:
    program = account.program
    tiers = sorted(program.tiers or [], key=lambda t: t["threshold"])
    if not tiers:
        return None
    current = next((t for t in tiers if t["name"] == account.tier), None)
    floor = current["threshold"] if current else -1
    # The account's tier is the award code's (its multiplier applies); the next is the one above
    # it, even when `value` has reached it already (the award code moves up with the next earn).
    following = next((t for t in tiers if t["threshold"] > floor), None)
    return TierProgress(basis=program.tier_basis, value=value, current=current, next=following)


def staff_dashboard(
    *, tenant: Tenant, actor: Actor, staff: MerchantStaff, now: datetime | None = None
) -> list[ProgramCard]:
    """The staff member's accounts in staff programs, each with what their home page shows:
    balance and pending (on the account), the orders pending points wait on, points expiring in
    the next 30 days by local date, tier and what the next one needs, this week's and month's
    points against the program's caps. Four queries however long the ledger."""
    _require_staff_visible(tenant, actor, staff)
    now = now or timezone.now()
    accounts = _staff_program_accounts(tenant, staff)
    if not accounts:
        return []
    ids = [a.pk for a in accounts]
    cards = {a.pk: ProgramCard(account=a) for a in accounts}

    # The orders pending points wait on, soonest usable first, a few per account.
    waiting = (
        Lot.objects.for_tenant(tenant)
        .filter(account_id__in=ids, status=LotStatus.PENDING)
        .values("account_id", "order_id", "order__external_id")
        .annotate(points=Sum("remaining"), activates_at=Min("activates_at"), since=Min("earned_at"))
        .annotate(
            position=Window(
                RowNumber(),
                partition_by=[F("account_id")],
                order_by=[
                    F("activates_at").asc(nulls_last=True),
                    F("since").asc(),
                    F("order_id").asc(),
                ],
            ),
            orders=Window(Count("*"), partition_by=[F("account_id")]),
        )
        .filter(position__lte=PENDING_ORDERS_SHOWN)
        .order_by("account_id", "position")
    )
    for row in waiting:
        card = cards[row["account_id"]]
        card.pending_orders.append(
            PendingOrder(
                external_id=row["order__external_id"] or "",
                points=row["points"],
                activates_at=row["activates_at"],
            )
        )
        card.pending_orders_more = row["orders"] - len(card.pending_orders)

    expiring = (
        Lot.objects.for_tenant(tenant)
        .filter(
            account_id__in=ids,
            status=LotStatus.OPEN,
            expires_at__lte=now + timedelta(days=EXPIRING_SOON_DAYS),
        )
        .annotate(day=TruncDate("expires_at", tzinfo=tenant.zone))
        .values("account_id", "day")
        .annotate(points=Sum("remaining"))
        .order_by("account_id", "day")
    )
    for row in expiring:
        if row["points"]:
            cards[row["account_id"]].expiring.append(ExpiringDay(row["day"], row["points"]))

    earned = _earned_by_rule(tenant, ids, now)
    for card in cards.values():
        account, program = card.account, card.account.program
        sums = _sum_earned(earned, account.pk)
        card.week = CapProgress(sums.week, program.weekly_cap)
        card.month = CapProgress(sums.month, program.monthly_cap)
        basis = (
            sums.year if program.tier_basis == TierBasis.ROLLING_12M else account.lifetime_earned
        )
        card.tier = _tier_progress(account, basis)
    return list(cards.values())


# --- how to earn ---


@dataclass
class RegionSlots:
    """Where a first-N rule still pays: the rank reached there and what the next order earns."""

    region_id: int
    code: str
    name: str
    orders: int  # the rank reached (orders counted so far)
    tier_points: int  # the tier of rank orders + 1, before multiplier and caps (0: in a gap)
    next_points: int  # what my next order there earns
    tier_left: int  # ranks left in that tier
    total_left: int  # paid ranks left in all tiers


@dataclass
class RuleGuide:
    rule: PointsRule
    multiplier: Decimal  # of the staff member's tier
    tier_name: str
    earned: _Earned  # my points from this rule (week, month)
    program_earned: _Earned  # my points of the program (its caps)
    room: int | None  # what the caps let my next order earn (None: no cap)
    next_points: int | None = None  # per_order: my next order; per_amount: per `per_amount`
    tiers: list[dict] = field(default_factory=list)  # region_first_n, by rank
    regions: list[RegionSlots] = field(default_factory=list)  # open, best first, at most 50
    regions_more: int = 0  # open regions not listed
    regions_full: int = 0  # regions whose tiers (or region cap) are used up
    milestone_done: bool = False  # the bonus of this period is already mine

    @property
    def program(self) -> PointsProgram:
        return self.rule.program

    @property
    def holder_week_left(self) -> int | None:
        cap = self.rule.cap_per_holder_week
        return None if cap is None else max(cap - self.earned.week, 0)

    @property
    def total_left(self) -> int | None:
        cap = self.rule.cap_total
        return None if cap is None else max(cap - self.rule.awarded, 0)

    @property
    def weekly_left(self) -> int | None:
        cap = self.program.weekly_cap
        return None if cap is None else max(cap - self.program_earned.week, 0)

    @property
    def monthly_left(self) -> int | None:
        cap = self.program.monthly_cap
        return None if cap is None else max(cap - self.program_earned.month, 0)


@dataclass
class CampaignGuide:
    campaign: Campaign
    rules: list[RuleGuide]


def _capped(points: int, *rooms: int | None) -> int:
    return min([points, *(r for r in rooms if r is not None)])


def _slots(rule: PointsRule, orders: int, awarded: int) -> tuple[int, int, int] | None:
    """(tier points of the next rank, ranks left in its tier, paid ranks left), None when the
    rule pays nothing more in the region (tiers used up, or its region cap reached)."""
    if rule.cap_per_region is not None and awarded >= rule.cap_per_region:
        return None
    rank = orders + 1
    total_left = sum(t["to"] - max(t["from"] - 1, orders) for t in rule.tiers if t["to"] >= rank)
    if not total_left:
        return None
    tier = next((t for t in rule.tiers if t["from"] <= rank <= t["to"]), None)
    if tier is None:  # in a gap between tiers: the next order earns nothing here
        return 0, 0, total_left
    return tier["points"], tier["to"] - orders, total_left


def earning_guide(
    *, tenant: Tenant, actor: Actor, staff: MerchantStaff, now: datetime | None = None
) -> list[CampaignGuide]:
    """The running campaigns' active rules of staff programs that the staff member's orders can
    earn by, soonest ending first, each with what my next order earns under my tier and caps.

    A rule naming regions applies where the merchant serves: its named regions at or below the
    merchant's region, or the nearest named one above it (an order counts in the nearest named
    region at or above its own, awards.py `_rules_for`). A first-N rule lists those regions
    where slots are open, best first (most points for the next order, then fewest orders), at
    most REGIONS_SHOWN; full ones are only counted. A fixed number of queries.
    """
    _require_staff_visible(tenant, actor, staff)
    now = now or timezone.now()
    names_regions = PointsRule.regions.through.objects.filter(pointsrule_id=OuterRef("pk"))
    rules = list(
        PointsRule.objects.for_tenant(tenant)
        .filter(
            is_active=True,
            program__is_active=True,
            program__holder=Holder.STAFF,
            campaign__status=CampaignStatus.RUNNING,
            campaign__starts_at__lte=now,
            campaign__ends_at__gt=now,
        )
        .annotate(names_regions=Exists(names_regions))
        .select_related("campaign", "program")
        .order_by("campaign__ends_at", "campaign_id", "pk")
    )
    if not rules:
        return []
    accounts = {a.program_id: a for a in _staff_program_accounts(tenant, staff)}
    earned = _earned_by_rule(tenant, [a.pk for a in accounts.values()], now)

    # Where the merchant serves: its region and all below, and the path above it.
    home = staff.merchant.region_id
    below: set[int] = set()
    path: list[int] = []
    if home is not None and any(
        r.names_regions or r.kind == RuleKind.REGION_FIRST_N for r in rules
    ):
        below = region_descendant_ids(tenant=tenant, region_ids=[home])
        path = region_path(tenant=tenant, region_id=home)
    named: dict[int, dict[int, tuple[str, str]]] = {}  # rule → {region: (code, name)}
    region_rules = [r.pk for r in rules if r.names_regions]
    if region_rules and below:
        for rule_id, region_id, code, name in (
            PointsRule.regions.through.objects.filter(
                pointsrule_id__in=region_rules, region_id__in=below | set(path)
            )
            .values_list("pointsrule_id", "region_id", "region__code", "region__name")
            .iterator()
        ):
            named.setdefault(rule_id, {})[region_id] = (code, name)

    def served(rule: PointsRule) -> dict[int, tuple[str, str]]:
        """The rule's regions an order of this merchant can count in."""
        mine = named.get(rule.pk, {})
        regions = {r: v for r, v in mine.items() if r in below}
        if home not in mine:
            above = next((r for r in path[1:] if r in mine), None)
            if above is not None:
                regions[above] = mine[above]
        return regions

    applicable = [r for r in rules if not r.names_regions or served(r)]
    first_n = [r for r in applicable if r.kind == RuleKind.REGION_FIRST_N]
    # A first-N rule naming no region counts in the order's own region: the merchant's zones.
    unnamed_regions: dict[int, tuple[str, str]] = {}
    if below and any(not r.names_regions for r in first_n):
        unnamed_regions = {
            pk: (code, name)
            for pk, code, name in Region.objects.for_tenant(tenant)
            .filter(pk__in=below)
            .values_list("pk", "code", "name")
            .iterator()
        }
    candidates = {r.pk: (served(r) if r.names_regions else unnamed_regions) for r in first_n}
    counters: dict[tuple[int, int], tuple[int, int]] = {}
    wanted = set().union(*candidates.values()) if candidates else set()
    if wanted:
        counters = {
            (rule_id, region_id): (orders, awarded)
            for rule_id, region_id, orders, awarded in RuleRegionCounter.objects.for_tenant(tenant)
            .filter(rule_id__in=list(candidates), region_id__in=wanted)
            .values_list("rule_id", "region_id", "orders", "awarded")
            .iterator()
        }

    guides: dict[int, CampaignGuide] = {}
    for rule in applicable:
        account = accounts.get(rule.program_id)
        multiplier = multiplier_of(account.program, account.tier) if account else Decimal(1)
        mine = earned.get((account.pk, rule.pk), _Earned()) if account else _Earned()
        program_sums = _sum_earned(earned, account.pk) if account else _Earned()
        guide = RuleGuide(
            rule=rule,
            multiplier=multiplier,
            tier_name=account.tier if account else "",
            earned=mine,
            program_earned=program_sums,
            room=None,
        )
        caps = (guide.weekly_left, guide.monthly_left, guide.holder_week_left, guide.total_left)
        rooms = [r for r in caps if r is not None]
        guide.room = min(rooms) if rooms else None
        if rule.kind in (RuleKind.PER_ORDER, RuleKind.PER_AMOUNT):
            guide.next_points = _capped(int((rule.points or 0) * multiplier), guide.room)
        elif rule.kind == RuleKind.MILESTONE:
            period = rule.milestone.get("period")
            guide.milestone_done = bool(
                mine.awards_this_week if period == "week" else mine.awards_this_month
            )
        else:
            guide.tiers = sorted(rule.tiers, key=lambda t: t["from"])
            open_regions = []
            for region_id, (code, name) in candidates[rule.pk].items():
                orders, awarded = counters.get((rule.pk, region_id), (0, 0))
                slots = _slots(rule, orders, awarded)
                if slots is None:
                    guide.regions_full += 1
                    continue
                tier_points, tier_left, total_left = slots
                region_room = None if rule.cap_per_region is None else rule.cap_per_region - awarded
                open_regions.append(
                    RegionSlots(
                        region_id=region_id, code=code, name=name, orders=orders,
                        tier_points=tier_points,
                        next_points=_capped(int(tier_points * multiplier), guide.room, region_room),
                        tier_left=tier_left, total_left=total_left,
                    )
                )  # fmt: skip
            open_regions.sort(key=lambda s: (-s.tier_points, s.orders, s.code))
            guide.regions = open_regions[:REGIONS_SHOWN]
            guide.regions_more = len(open_regions) - len(guide.regions)
        guides.setdefault(rule.campaign_id, CampaignGuide(rule.campaign, [])).rules.append(guide)
    return list(guides.values())


# --- my history ---


def staff_history(
    *, tenant: Tenant, actor: Actor, staff: MerchantStaff, program: PointsProgram | None = None
) -> QuerySet:
    """The staff member's ledger entries (of every program, or of `program`), newest first,
    each with its order, rule, campaign and transfer counterpart, and the lot it brought in:
    `lot_status`, `lot_points`, `lot_remaining`, `lot_expires_at`, `lot_activates_at` (None for
    entries that bring no lot in: spends, expiries, reversals…), so a page of them renders in
    one query. Scoped as `_require_staff_visible`: a staff member only themselves, a merchant
    admin their merchant's staff; anyone else's is NotFoundError."""
    _require_staff_visible(tenant, actor, staff)
    accounts = PointsAccount.objects.for_tenant(tenant).filter(staff=staff)
    if program is not None:
        accounts = accounts.filter(program=program)
    # The ids themselves, not a subquery: the planner then walks the (tenant, account, -id)
    # index of the few accounts instead of joining the tenant's whole ledger first.
    account_ids = list(accounts.values_list("pk", flat=True))
    lot = Lot.objects.for_tenant(tenant).filter(entry=OuterRef("pk")).order_by("pk")
    return (
        LedgerEntry.objects.for_tenant(tenant)
        .filter(account_id__in=account_ids)
        .select_related("account__program", "order", "rule", "campaign")
        .select_related("counterpart__staff")  # a staff program's transfers are between staff
        .annotate(
            lot_status=Subquery(lot.values("status")[:1]),
            lot_points=Subquery(lot.values("points")[:1]),
            lot_remaining=Subquery(lot.values("remaining")[:1]),
            lot_expires_at=Subquery(lot.values("expires_at")[:1]),
            lot_activates_at=Subquery(lot.values("activates_at")[:1]),
        )
        .order_by("-id")
    )
