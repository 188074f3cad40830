"""The one evaluation of a points rule (SPEC §3.3): what an order earns under a rule, given its
rank, the holder's tier and the room its caps leave.

Pure: it reads the rule and program it is given and asks `CapUse` for what the caps count, and
touches no database. The order services (points.services.awards) and the campaign simulation
(campaigns.simulation) both call it, so a simulation cannot drift from what real orders earn.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol, cast

from django.utils.translation import gettext as _

from .models import AwardOutcome, PointsProgram, PointsRule, RuleKind
from .periods import month_start, week_start

CENT = Decimal("0.01")


def points_money(program: PointsProgram, points: int) -> Decimal:
    """What `points` cost the budget (SPEC §2.1), rounded to the cent."""
    return (program.point_value * points).quantize(CENT, rounding=ROUND_HALF_UP)


def tier_for(program: PointsProgram, value: int) -> dict | None:
    """The highest tier whose threshold `value` (lifetime or rolling points) reaches."""
    reached = [t for t in program.tiers or [] if value >= t["threshold"]]
    return max(reached, key=lambda t: t["threshold"]) if reached else None


def multiplier_of(program: PointsProgram, tier_name: str) -> Decimal:
    for tier in program.tiers or []:
        if tier["name"] == tier_name:
            return Decimal(str(tier["multiplier"]))
    return Decimal(1)


def base_points(rule: PointsRule, amount: Decimal, rank: int | None) -> int:
    """Points an order earns under a placement rule before tier and caps."""
    if rule.min_amount is not None and amount < rule.min_amount:
        return 0
    # rule_create requires `points` of both kinds and `per_amount` of a per_amount rule.
    if rule.kind == RuleKind.PER_ORDER:
        return cast(int, rule.points)
    if rule.kind == RuleKind.PER_AMOUNT:
        return int(amount // cast(Decimal, rule.per_amount)) * cast(int, rule.points)
    if rule.kind == RuleKind.REGION_FIRST_N:
        for tier in rule.tiers:
            if tier["from"] <= cast(int, rank) <= tier["to"]:
                return tier["points"]
    return 0


def keeps_region_counts(kind: str, cap_per_region) -> bool:
    """Whether a rule's region counters count its orders and points (a first-N ranking or a
    per-region cap); other rules leave them alone."""
    return kind == RuleKind.REGION_FIRST_N or cap_per_region is not None


class CapUse(Protocol):
    """The points the caps already count (earned, not cancelled or reversed). Each is asked
    only when its cap exists, so the order service queries only what a rule caps."""

    def holder_week(self, start: datetime, *, this_rule: bool) -> int: ...

    def holder_month(self, start: datetime) -> int: ...

    def rule_total(self) -> int: ...

    def region_total(self) -> int: ...


def cap_room(rule: PointsRule, use: CapUse, at: datetime, zone) -> int | None:
    """How many more points the caps allow at `at` (None: no cap), in the tenant's zone."""
    program = rule.program
    rooms = []
    if program.weekly_cap is not None:
        rooms.append(program.weekly_cap - use.holder_week(week_start(at, zone), this_rule=False))
    if program.monthly_cap is not None:
        rooms.append(program.monthly_cap - use.holder_month(month_start(at, zone)))
    if rule.cap_per_holder_week is not None:
        earned = use.holder_week(week_start(at, zone), this_rule=True)
        rooms.append(rule.cap_per_holder_week - earned)
    if rule.cap_total is not None:
        rooms.append(rule.cap_total - use.rule_total())
    if rule.cap_per_region is not None:
        rooms.append(rule.cap_per_region - use.region_total())
    return max(min(rooms), 0) if rooms else None


@dataclass(frozen=True)
class Evaluation:
    requested: int  # after the tier multiplier, before caps
    points: int  # what the caps allow
    outcome: str
    note: str = ""


def evaluate(
    rule: PointsRule, *, base: int, tier: str, use: CapUse, at: datetime, zone
) -> Evaluation:
    """Tier multiplier, then caps, on the `base` points of an order (or a milestone's bonus).

    The budget's answer comes after, from whoever holds the money: the order service reserves
    it, the simulation counts it down.
    """
    requested = int(base * multiplier_of(rule.program, tier))
    outcome = AwardOutcome.AWARDED
    if requested == 0 and rule.kind == RuleKind.REGION_FIRST_N:
        outcome = AwardOutcome.NO_TIER
    room = cap_room(rule, use, at, zone)
    if room is None or room >= requested:
        return Evaluation(requested, requested, outcome)
    note = _("Cap reached: %(room)d of %(asked)d points.") % {"room": room, "asked": requested}
    outcome = AwardOutcome.PARTIAL if room else AwardOutcome.CAPPED
    return Evaluation(requested, room, outcome, note)
