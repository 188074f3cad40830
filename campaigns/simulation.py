"""The campaign simulation (SPEC §6): replay the tenant's past orders through a campaign's points
rules and caps, writing nothing, and say who would earn what and what it would cost.

Every award is computed by `points.engine` — the function the order service calls — on an
in-memory copy of what the service keeps in the database: ranks per rule and region, the points
each cap counts, the holders' tiers and what is left of the budget. Events are replayed in time
order (placed, completed for milestones, closed), as a live campaign would have seen them:

- a closed order keeps its rank; its points leave the caps and come back to the budget;
- the simulation counts this campaign's rules alone: holders start with no points, and other
  campaigns' awards in the same weeks are not counted against the caps;
- a milestone counts the completions among the replayed orders.
"""

import hashlib
import heapq
import json
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.utils import timezone

from accounts.models import Region, Tenant
from orders.models import Order, OrderStatus
from points import engine
from points.models import AwardOutcome, Holder, PointsProgram, PointsRule, RuleKind
from points.periods import month_start, week_start

from .models import (
    Campaign,
    CampaignSimulation,
    CampaignStatus,
    ShadowAward,
    SimulationKind,
    SimulationStatus,
)

logger = logging.getLogger(__name__)

HISTOGRAM = [(0, 0, "0"), (1, 99, "1-99"), (100, 999, "100-999"), (1000, 9999, "1,000-9,999")]
HISTOGRAM_TOP = (10_000, "≥ 10,000")
ORDER_FIELDS = (
    "id", "external_id", "staff_id", "merchant_id", "customer_id", "region_id", "amount",
    "placed_at", "status", "completed_at", "closed_at",
)  # fmt: skip
CHUNK = 5_000


@dataclass
class SimulatedAward:
    """One award the replay gave: what OrderAward would hold (holder instead of account)."""

    order_id: int
    external_id: str
    rule_id: int
    holder_id: int
    region_id: int
    rank: int | None
    requested: int
    points: int
    money: Decimal
    outcome: str
    placed_at: datetime
    closed: bool = False


@dataclass
class _Holder:
    # Points of awards not closed: lifetime and rolling tiers alike, as holders start at zero
    # and a closed order takes its points off both (points.services.reversals).
    points: int = 0
    tier: str = ""
    regions: Counter = field(default_factory=Counter)  # where a first-N rule paid them


class _ReplayUse:
    """engine.CapUse over the replay's running sums."""

    __slots__ = ("holder", "region", "replay", "rule")

    def __init__(self, replay: "Replay", rule: PointsRule, holder: tuple, region: tuple):
        self.replay, self.rule, self.holder, self.region = replay, rule, holder, region

    def holder_week(self, start: datetime, *, this_rule: bool) -> int:
        key = (self.holder, start, self.rule.pk if this_rule else None)
        return self.replay.weeks.get(key, 0)

    def holder_month(self, start: datetime) -> int:
        return self.replay.months.get((self.holder, start), 0)

    def rule_total(self) -> int:
        return self.replay.rule_awarded[self.rule.pk]

    def region_total(self) -> int:
        return self.replay.region_awarded[self.region]


class Replay:
    """The state a live campaign would have built, kept in dicts."""

    def __init__(self, tenant: Tenant, rules: list[PointsRule], budget_left: Decimal):
        self.tenant, self.zone = tenant, tenant.zone
        self.rules = sorted(rules, key=lambda r: r.pk)  # the service's order within one budget
        self.budget_left = budget_left
        self.parents = dict(
            Region.objects.for_tenant(tenant).values_list("id", "parent_id").iterator()
        )
        self.named = {r.pk: set(r.regions.values_list("id", flat=True)) for r in self.rules}
        self.by_pk = {r.pk: r for r in self.rules}
        fields: dict[str, str] = {Holder.STAFF: "staff_id", Holder.MERCHANT: "merchant_id"}
        self.holder_field = {
            r.program_id: fields.get(r.program.holder, "customer_id") for r in rules
        }
        self.placement = [r for r in self.rules if r.kind != RuleKind.MILESTONE]
        self.milestones = [r for r in self.rules if r.kind == RuleKind.MILESTONE]
        self._matches: dict[int, list[tuple[PointsRule, int]]] = {}
        self.ranks: Counter = Counter()  # (rule, region) → orders counted
        self.region_awarded: Counter = Counter()
        self.rule_awarded: Counter = Counter()
        self.weeks: Counter = Counter()  # (holder, week start, rule or None) → points
        self.months: Counter = Counter()
        self.completions: Counter = Counter()  # (holder, period start, period) → orders
        self.paid_milestones: set = set()  # (rule, holder, period start)
        self.holders: dict[tuple, _Holder] = defaultdict(_Holder)
        self.active_holders: dict[int, set] = defaultdict(set)  # program → holders with orders
        self.awards_of: dict[int, list[SimulatedAward]] = defaultdict(list)
        self.points: Counter = Counter()  # program → points not closed
        self.money = Decimal("0.00")
        self.refused = 0
        self.refused_money = Decimal("0.00")  # what the refused awards would have cost
        self.orders = 0

    # --- which rules an order counts in ---------------------------------------------------

    def _path(self, region_id: int) -> list[int]:
        path: list[int] = []
        at: int | None = region_id
        while at is not None:
            path.append(at)
            at = self.parents.get(at)
        return path

    def matches(self, region_id: int, rules: Iterable[PointsRule]) -> list[tuple[PointsRule, int]]:
        """(rule, region it counts in) as the service's `_rules_for` finds them: a rule naming
        no region counts everywhere; else in the nearest named region at or above the order's."""
        found = []
        path = self._path(region_id)
        for rule in rules:
            named = self.named[rule.pk]
            if not named:
                found.append((rule, region_id))
                continue
            nearest = next((r for r in path if r in named), None)
            if nearest is not None:
                found.append((rule, nearest))
        return found

    def _placement_matches(self, region_id: int):
        if region_id not in self._matches:
            self._matches[region_id] = self.matches(region_id, self.placement)
        return self._matches[region_id]

    # --- events --------------------------------------------------------------------------

    def _holder_of(self, program: PointsProgram, order: dict) -> int | None:
        return order[self.holder_field[program.pk]]

    def place(self, order: dict, keep: list | None) -> None:
        self.orders += 1
        plans = []
        for rule, region in self._placement_matches(order["region_id"]):
            rank = None
            if rule.kind == RuleKind.REGION_FIRST_N:
                self.ranks[rule.pk, region] += 1
                rank = self.ranks[rule.pk, region]
            plans.append((rule, region, rank))
        for rule, region, rank in plans:
            holder_id = self._holder_of(rule.program, order)
            if holder_id is None:
                continue
            self.active_holders[rule.program_id].add(holder_id)
            base = engine.base_points(rule, order["amount"], rank)
            self._earn(rule, order, holder_id, region, rank, base, order["placed_at"], keep)

    def complete(self, order: dict, keep: list | None) -> None:
        at = order["completed_at"]
        for rule, region in self.matches(order["region_id"], self.milestones):
            holder_id = self._holder_of(rule.program, order)
            if holder_id is None:
                continue
            spec = rule.milestone
            start = (week_start if spec["period"] == "week" else month_start)(at, self.zone)
            counted = (rule.program.holder, holder_id, start, spec["period"])
            self.completions[counted] += 1
            paid = (rule.pk, holder_id, start)
            if paid in self.paid_milestones or self.completions[counted] < spec["count"]:
                continue
            self.paid_milestones.add(paid)
            self._earn(rule, order, holder_id, region, None, spec["points"], at, keep)

    def _earn(self, rule, order, holder_id, region, rank, base, at, keep) -> None:
        program = rule.program
        key = (program.pk, holder_id)
        holder = self.holders[key]
        evaluation = engine.evaluate(
            rule,
            base=base,
            tier=holder.tier,
            use=_ReplayUse(self, rule, key, (rule.pk, region)),
            at=at,
            zone=self.zone,
        )
        points, outcome = evaluation.points, evaluation.outcome
        money = engine.points_money(program, points)
        if points and money > self.budget_left:
            points, outcome, self.refused = 0, AwardOutcome.BUDGET_REFUSED, self.refused + 1
            self.refused_money += money
        award = SimulatedAward(
            order["id"], order["external_id"], rule.pk, holder_id, region, rank,
            evaluation.requested, points, money if points else Decimal("0.00"), outcome, at,
        )  # fmt: skip
        self.awards_of[order["id"]].append(award)
        if keep is not None:
            keep.append(award)
        if points:
            self._count(award, rule, holder, +1)

    def _count(self, award: SimulatedAward, rule: PointsRule, holder: _Holder, sign: int):
        """Add an award to (or take it from) every sum the caps, tiers and figures read."""
        key, points = (rule.program_id, award.holder_id), award.points * sign
        week = week_start(award.placed_at, self.zone)
        self.weeks[key, week, None] += points
        self.weeks[key, week, rule.pk] += points
        self.months[key, month_start(award.placed_at, self.zone)] += points
        if engine.keeps_region_counts(rule.kind, rule.cap_per_region):
            self.region_awarded[rule.pk, award.region_id] += points
        self.rule_awarded[rule.pk] += points
        self.budget_left -= award.money * sign
        self.money += award.money * sign
        self.points[rule.program_id] += points
        holder.points += points
        if rule.kind == RuleKind.REGION_FIRST_N:
            holder.regions[award.region_id] += sign
        if rule.program.tiers:
            tier = engine.tier_for(rule.program, holder.points)
            holder.tier = tier["name"] if tier else ""

    def close(self, order: dict) -> None:
        for award in self.awards_of.pop(order["id"], []):
            if award.points:
                rule = self.by_pk[award.rule_id]
                award.closed = True
                self._count(award, rule, self.holders[rule.program_id, award.holder_id], -1)


def _events(orders: Iterator[dict], until: datetime, milestones: bool):
    """(moment, kind, order) in time order: placements as read (by placed_at), completions and
    closes before the window's end merged in as their moment comes."""
    later: list = []
    seq = 0
    for order in orders:
        while later and later[0][0] <= order["placed_at"]:
            _moment, _seq, kind, row = heapq.heappop(later)
            yield kind, row
        yield "place", order
        follows = {OrderStatus.CLOSED: ("close", "closed_at")}
        if milestones:
            follows[OrderStatus.COMPLETED] = ("complete", "completed_at")
        if order["status"] in follows:
            kind, column = follows[order["status"]]
            if order[column] and order[column] < until:
                seq += 1
                heapq.heappush(later, (order[column], seq, kind, order))
    while later:
        _moment, _seq, kind, row = heapq.heappop(later)
        yield kind, row


def window_orders(tenant: Tenant, start: datetime, end: datetime):
    return Order.objects.for_tenant(tenant).filter(placed_at__gte=start, placed_at__lt=end)


def replay(
    *,
    tenant: Tenant,
    rules: list[PointsRule],
    start: datetime,
    end: datetime,
    budget_left: Decimal,
    keep_awards: bool = False,
    progress: Callable[[int], None] | None = None,
) -> tuple[Replay, list[SimulatedAward] | None]:
    state = Replay(tenant, rules, budget_left)
    keep: list | None = [] if keep_awards else None
    orders = (
        window_orders(tenant, start, end)
        .order_by("placed_at", "id")
        .values(*ORDER_FIELDS)
        .iterator(chunk_size=CHUNK)
    )
    handlers = {"place": state.place, "complete": state.complete}
    for kind, order in _events(orders, end, milestones=bool(state.milestones)):
        if kind == "close":
            state.close(order)
        else:
            handlers[kind](order, keep)
            if progress and kind == "place" and state.orders % CHUNK == 0:
                progress(state.orders)
    return state, keep


def _histogram(values: Iterable[int]) -> list[dict]:
    counts: Counter = Counter()
    for value in values:
        label = next((b[2] for b in HISTOGRAM if b[0] <= value <= b[1]), HISTOGRAM_TOP[1])
        counts[label] += 1
    labels = [b[2] for b in HISTOGRAM] + [HISTOGRAM_TOP[1]]
    return [{"bucket": label, "holders": counts[label]} for label in labels]


def summarize(state: Replay, *, prizes_by_program: dict[int, list], budget_available) -> dict:
    """The figures of SPEC §6 from a finished replay, as JSON-ready values."""
    programs = []
    for program in sorted({r.program for r in state.rules}, key=lambda p: p.pk):
        active = state.active_holders.get(program.pk, set())
        earned = {h: state.holders[program.pk, h].points for h in active}
        earning = sum(1 for points in earned.values() if points > 0)
        unlocked = Counter(
            sum(1 for n in state.holders[program.pk, h].regions.values() if n > 0) for h in active
        )
        unlocked.pop(0, None)
        prizes = [
            {
                "id": prize.pk,
                "name": prize.name,
                "points_cost": prize.points_cost,
                "holders": sum(1 for points in earned.values() if points >= prize.points_cost),
            }
            for prize in prizes_by_program.get(program.pk, [])
        ]
        programs.append(
            {
                "program": program.pk,
                "name": program.name,
                "holders_active": len(active),
                "holders_earning": earning,
                "share_earning": round(earning / len(active), 4) if active else 0.0,
                "points": state.points[program.pk],
                "money": str(engine.points_money(program, state.points[program.pk])),
                "histogram": _histogram(earned.values()),
                "regions_unlocked": [
                    {"regions": n, "holders": unlocked[n]} for n in sorted(unlocked)
                ],
                "prizes": prizes,
            }
        )
    return {
        "orders": state.orders,
        "points": sum(state.points.values()),
        "money": str(state.money),
        "budget_available": str(budget_available),
        "budget_refusals": state.refused,
        "refused_money": str(state.refused_money),
        "programs": programs,
    }


def campaign_rules(campaign: Campaign) -> list[PointsRule]:
    return list(
        PointsRule.objects.for_tenant(campaign.tenant_id)
        .filter(campaign=campaign, is_active=True, program__is_active=True)
        .select_related("program")
        .order_by("pk")
    )


def _prizes_by_program(tenant, program_ids) -> dict[int, list]:
    from redemption.models import Prize  # the catalogue is the redemption app's

    prizes = defaultdict(list)
    for prize in (
        Prize.objects.for_tenant(tenant)
        .filter(program_id__in=program_ids, is_active=True)
        .order_by("points_cost", "pk")
    ):
        prizes[prize.program_id].append(prize)
    return prizes


def _fields(row, *skip: str) -> dict:
    skip = (*skip, "created_at", "updated_at")
    return {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields
            if f.name not in skip}  # fmt: skip


def _version(campaign, rules, prizes, budget_available, window, orders) -> str:
    """What the result depends on, hashed: a change to any of it is a new simulation."""
    design = {
        "campaign": [campaign.pk, campaign.starts_at, campaign.ends_at],
        "rules": [
            [
                _fields(r, "awarded"),
                sorted(r.regions.values_list("id", flat=True)),
                _fields(r.program),
            ]
            for r in rules
        ],
        "prizes": [[p.pk, p.points_cost, p.value] for ps in prizes.values() for p in ps],
        "budget": budget_available,
        "window": window,
        "orders": orders,
    }
    return hashlib.sha256(json.dumps(design, default=str, sort_keys=True).encode()).hexdigest()


def _as_dict(run: CampaignSimulation) -> dict:
    return {
        "id": run.pk,
        "status": run.status,
        "window": {"from": run.window_start.isoformat(), "to": run.window_end.isoformat()},
        "total": run.total,
        "done": run.done,
        "result": run.result if run.status == SimulationStatus.DONE else None,
        "error": run.error,
    }


def simulation_for_check(report) -> dict:
    """The simulation of the report's window: a stored one of the same version, or one run now
    when the window holds few orders (settings.SIMULATION_INLINE_ORDERS), or a job queued."""
    tenant, campaign = report.tenant, report.campaign
    start, end = report.window
    rules = campaign_rules(campaign)
    if not rules:
        return {"status": "none", "window": {"from": start.isoformat(), "to": end.isoformat()},
                "result": None}  # fmt: skip
    prizes = _prizes_by_program(tenant, {r.program_id for r in rules})
    available = campaign.budget.available
    # The window's orders change too (one placed late, one closed): their count and latest
    # change are part of the version, so a stored result never describes other orders.
    orders = window_orders(tenant, start, end).aggregate(
        count=Count("id"), changed=Max("updated_at")
    )
    version = _version(campaign, rules, prizes, available, (start, end), orders)
    run = CampaignSimulation.objects.for_tenant(tenant).filter(campaign=campaign, version=version)
    run = run.first()
    if run is None:
        try:
            with transaction.atomic():
                run = CampaignSimulation.objects.create(
                    tenant=tenant, campaign=campaign, version=version,
                    window_start=start, window_end=end,
                    total=orders["count"],
                )  # fmt: skip
        except IntegrityError:  # another check made it meanwhile
            run = CampaignSimulation.objects.for_tenant(tenant).get(
                campaign=campaign, version=version
            )
        else:
            if run.total <= settings.SIMULATION_INLINE_ORDERS:
                _execute(run, rules, prizes)
            else:
                _enqueue(run)
    return _as_dict(run)


def _enqueue(run: CampaignSimulation) -> None:
    from . import tasks  # the tasks import this module

    def send():
        try:
            tasks.campaign_simulate.delay(run.tenant_id, run.pk)
        except Exception:  # the broker is down: say so on the run instead of failing the page
            logger.exception("Simulation %s could not be queued.", run.pk)
            CampaignSimulation.objects.for_tenant(run.tenant_id).filter(pk=run.pk).update(
                status=SimulationStatus.FAILED,
                error="The job queue cannot be reached; try again later.",
            )

    transaction.on_commit(send)


def _execute(run: CampaignSimulation, rules, prizes) -> None:
    campaign = run.campaign
    rows = CampaignSimulation.objects.for_tenant(run.tenant_id).filter(pk=run.pk)

    def progress(done: int) -> None:
        rows.update(done=done)

    rows.update(status=SimulationStatus.RUNNING)
    available = campaign.budget.available
    state, _awards = replay(
        tenant=campaign.tenant, rules=rules, start=run.window_start, end=run.window_end,
        budget_left=available, progress=progress,
    )  # fmt: skip
    run.result = summarize(state, prizes_by_program=prizes, budget_available=available)
    run.status, run.done, run.finished_at = SimulationStatus.DONE, state.orders, timezone.now()
    rows.update(result=run.result, status=run.status, done=run.done, finished_at=run.finished_at)


def simulation_run_job(*, tenant_id: int, simulation_id: int) -> str:
    """The job of a big window. A rerun (a worker killed midway) replays again from the start:
    the replay writes nothing but the result, so nothing is doubled."""
    run = (
        CampaignSimulation.objects.for_tenant(tenant_id)
        .select_related("campaign__tenant", "campaign__budget")
        .filter(pk=simulation_id)
        .first()
    )
    if run is None or run.status == SimulationStatus.DONE:
        return "nothing to do"
    rules = campaign_rules(run.campaign)
    try:
        _execute(run, rules, _prizes_by_program(run.campaign.tenant, {r.program_id for r in rules}))
    except Exception as error:
        CampaignSimulation.objects.for_tenant(tenant_id).filter(pk=run.pk).update(
            status=SimulationStatus.FAILED, error=str(error)[:500]
        )
        raise
    return "done"


# --- shadow mode: a scheduled campaign replayed on live orders ----------------------------------

SHADOW = "shadow"  # the version of a campaign's one shadow run


def _shadow_fields(award: SimulatedAward) -> dict:
    fields = dict(vars(award))
    del fields["external_id"]
    return fields


def shadow_refresh(*, campaign: Campaign, now: datetime | None = None) -> bool:
    """Replay the live orders since the campaign was scheduled through its rules, as if it ran,
    and keep what they would have earned as ShadowAward rows (replacing the last refresh).
    Nothing is paid or put in a balance. False when the campaign is no longer scheduled."""
    tenant, now = campaign.tenant, now or timezone.now()
    start = campaign.scheduled_at or campaign.created_at
    rules = campaign_rules(campaign)
    available = campaign.budget.available
    state, awards = replay(
        tenant=tenant, rules=rules, start=start, end=now, budget_left=available, keep_awards=True
    )
    result = summarize(
        state,
        prizes_by_program=_prizes_by_program(tenant, {r.program_id for r in rules}),
        budget_available=available,
    )
    with transaction.atomic():
        # Locked and re-read: a campaign that started meanwhile has dropped its shadow for good.
        if not (
            Campaign.objects.for_tenant(tenant)
            .select_for_update(no_key=True)
            .filter(pk=campaign.pk, status=CampaignStatus.SCHEDULED)
            .exists()
        ):
            return False
        ShadowAward.objects.for_tenant(tenant).filter(campaign=campaign).delete()
        ShadowAward.objects.bulk_create(
            (
                ShadowAward(tenant=tenant, campaign=campaign, **_shadow_fields(a))
                for a in awards or []
            ),
            batch_size=2000,
        )
        CampaignSimulation.objects.update_or_create(
            tenant=tenant,
            campaign=campaign,
            version=SHADOW,
            defaults={
                "kind": SimulationKind.SHADOW, "window_start": start, "window_end": now,
                "status": SimulationStatus.DONE, "total": state.orders, "done": state.orders,
                "result": result, "finished_at": timezone.now(),
            },
        )  # fmt: skip
    return True


def shadow_runs_refresh(*, now: datetime | None = None) -> int:
    """Every scheduled campaign's shadow run, again (platform-wide, for the periodic task). A
    campaign that fails is logged and left for the next run."""
    refreshed = 0
    campaigns = (
        Campaign.objects.unscoped()
        .filter(status=CampaignStatus.SCHEDULED, points_rules__is_active=True)
        .select_related("tenant", "budget")
        .distinct()
        .order_by("pk")
    )
    for campaign in campaigns:
        try:
            refreshed += shadow_refresh(campaign=campaign, now=now)
        except Exception:
            logger.exception("The shadow run of campaign %s failed.", campaign.pk)
    return refreshed


def shadow_get(campaign: Campaign) -> dict | None:
    run = (
        CampaignSimulation.objects.for_tenant(campaign.tenant_id)
        .filter(campaign=campaign, version=SHADOW)
        .first()
    )
    return _as_dict(run) if run else None


def shadow_against_simulation(campaign: Campaign, simulation: dict) -> dict | None:
    """A scheduled campaign's shadow run next to its simulation, both per day: whether the live
    orders since it was scheduled earn what the past orders predicted. None before a refresh."""
    shadow = shadow_get(campaign) if campaign.status == CampaignStatus.SCHEDULED else None
    if not (shadow and shadow["result"] and simulation.get("result")):
        return None

    def per_day(run: dict) -> dict:
        window = run["window"]
        start, end = datetime.fromisoformat(window["from"]), datetime.fromisoformat(window["to"])
        days = Decimal(max((end - start).total_seconds(), 86400)) / 86400  # a first day is whole
        result = run["result"]
        return {
            "orders": Decimal(result["orders"]) / days,
            "points": Decimal(result["points"]) / days,
            "money": Decimal(result["money"]) / days,
        }

    return {
        "since": datetime.fromisoformat(shadow["window"]["from"]),
        "until": datetime.fromisoformat(shadow["window"]["to"]),
        "simulated": per_day(simulation),
        "shadow": per_day(shadow),
    }


def shadows_drop(*, campaign_ids: Iterable[int]) -> None:
    """A campaign that starts or ends drops its shadow run: from then on its awards are real."""
    campaign_ids = list(campaign_ids)
    ShadowAward.objects.unscoped().filter(campaign_id__in=campaign_ids).delete()
    CampaignSimulation.objects.unscoped().filter(
        campaign_id__in=campaign_ids, kind=SimulationKind.SHADOW
    ).delete()
