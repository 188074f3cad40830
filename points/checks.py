"""The campaign check's judgement of points rules (SPEC §6): what the rules can award at most,
against the budget, and who earns anything when past orders are replayed.

`earnable(report)` works out, per program of the campaign's rules, the most one holder can earn
in the campaign's period and the most the campaign can award in total (None: nothing bounds
it); redemption/checks.py compares prizes with the first.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import cast

from django.utils.translation import gettext as _

from campaigns.checks import CheckReport, campaign_check_register, pointer

from . import engine
from .models import AwardStatus, OrderAward, PointsProgram, PointsRule, RuleKind
from .periods import month_start, week_start

REACH_MIN_SHARE = Decimal("0.05")  # fewer than 5 % of active holders earning is a warning


class PointsCheckCode:
    POINTS_EXCEED_BUDGET = "points_exceed_budget"
    BUDGET_SHORT_IN_SIMULATION = "budget_short_in_simulation"
    REACH_TOO_LOW = "reach_too_low"


@dataclass
class Earnable:
    program: PointsProgram
    rules: list[PointsRule]
    per_holder: int | None  # the most one holder can earn in the period; None: no bound
    total: int | None  # the most the campaign can award; None: no bound
    weeks: int
    months: int


def _periods(start: datetime, end: datetime, zone, first) -> int:
    """How many calendar weeks (or months) the period touches, counted by their starts."""
    starts, moment = set(), start
    while moment < end:
        starts.add(first(moment, zone))
        moment += timedelta(days=1)
    starts.add(first(end - timedelta(microseconds=1), zone))
    return len(starts)


def _most(*bounds: int | None) -> int | None:
    known = [b for b in bounds if b is not None]
    return min(known) if known else None


def _rule_bounds(rule: PointsRule, weeks: int, months: int) -> tuple[int | None, int | None]:
    """(per holder, in total) for one rule, before the program's caps."""
    multiplier = max(
        [engine.multiplier_of(rule.program, t["name"]) for t in rule.program.tiers] or [Decimal(1)]
    )
    per_holder = total = None
    if rule.kind == RuleKind.REGION_FIRST_N:
        per_region = sum((t["to"] - t["from"] + 1) * t["points"] for t in rule.tiers)
        per_region = _most(int(per_region * multiplier), rule.cap_per_region)
        # one holder could place every counted order in every region the rule names
        per_holder = total = per_region * rule.regions.count()
    elif rule.kind == RuleKind.MILESTONE:
        periods = weeks if rule.milestone["period"] == "week" else months
        per_holder = int(rule.milestone["points"] * multiplier) * periods
    if rule.cap_per_holder_week is not None:
        per_holder = _most(per_holder, rule.cap_per_holder_week * weeks)
    return _most(per_holder, rule.cap_total), _most(total, rule.cap_total)


def earnable(report: CheckReport) -> list[Earnable]:
    if "earnable" in report.facts:
        return report.facts["earnable"]
    campaign, zone = report.campaign, report.tenant.zone
    rules = list(
        PointsRule.objects.for_tenant(report.tenant)
        .filter(campaign=campaign, is_active=True, program__is_active=True)
        .select_related("program")
        .order_by("pk")
    )
    weeks = _periods(campaign.starts_at, campaign.ends_at, zone, week_start)
    months = _periods(campaign.starts_at, campaign.ends_at, zone, month_start)
    by_program: dict[int, list[PointsRule]] = {}
    for rule in rules:
        by_program.setdefault(rule.program_id, []).append(rule)
    found = []
    for program_rules in by_program.values():
        program = program_rules[0].program
        bounds = [_rule_bounds(rule, weeks, months) for rule in program_rules]
        holders = [b[0] for b in bounds]
        per_holder = None if None in holders else sum(h for h in holders if h is not None)
        caps = [
            program.weekly_cap * weeks if program.weekly_cap is not None else None,
            program.monthly_cap * months if program.monthly_cap is not None else None,
        ]
        totals = [b[1] for b in bounds]
        found.append(
            Earnable(
                program=program,
                rules=program_rules,
                per_holder=_most(per_holder, *caps),
                total=None if None in totals else sum(t for t in totals if t is not None),
                weeks=weeks,
                months=months,
            )
        )
    report.facts["earnable"] = found
    return found


def _awarded_money(report: CheckReport, program: PointsProgram) -> Decimal:
    """Money already reserved or spent for this campaign's points in the program."""
    points = sum(
        OrderAward.objects.for_tenant(report.tenant)
        .filter(rule__campaign=report.campaign, rule__program=program, status=AwardStatus.ACTIVE)
        .values_list("points", flat=True)
    )
    return engine.points_money(program, points)


@campaign_check_register
def check_points_budget(report: CheckReport) -> None:
    budget = report.campaign.budget
    bounded = [e for e in earnable(report) if e.total is not None]
    if not bounded:
        return
    most = sum(
        (engine.points_money(e.program, cast(int, e.total)) for e in bounded), Decimal("0.00")
    )
    can_pay = budget.available + sum(
        (_awarded_money(report, e.program) for e in bounded), Decimal("0.00")
    )
    if most > can_pay:
        points = sum(e.total for e in bounded if e.total is not None)
        report.error(
            PointsCheckCode.POINTS_EXCEED_BUDGET,
            _(
                "The rules can award %(points)s points, worth %(money)s, but the budget “%(budget)s”"
                " can pay only %(can_pay)s for them. Lower the caps or raise the budget."
            )
            % {
                "points": f"{points:,}",
                "money": f"{most:,.2f}",
                "budget": budget.name,
                "can_pay": f"{can_pay:,.2f}",
            },
            figures={"points": points, "money": str(most), "can_pay": str(can_pay)},
            obj=pointer(budget, "budgets:detail", "budget"),
        )


@campaign_check_register
def check_simulated_reach(report: CheckReport) -> None:
    result = report.simulated()
    if not result:
        return
    if result["budget_refusals"]:
        keys = ("points", "money", "budget_available", "budget_refusals", "refused_money")
        report.warning(
            PointsCheckCode.BUDGET_SHORT_IN_SIMULATION,
            _(
                "On the past orders the budget runs out: the rules award %(points)s points worth"
                " %(money)s, all that is left of it, and %(refused)s awards worth %(more)s more"
                " would be refused."
            )
            % {
                "points": f"{result['points']:,}",
                "money": result["money"],
                "refused": f"{result['budget_refusals']:,}",
                "more": result["refused_money"],
            },
            figures={key: result[key] for key in keys},
            obj=pointer(report.campaign.budget, "budgets:detail", "budget"),
        )
    for program in result["programs"]:
        active, earning = program["holders_active"], program["holders_earning"]
        if active and Decimal(earning) / active < REACH_MIN_SHARE:
            rule = (
                PointsRule.objects.for_tenant(report.tenant)
                .filter(campaign=report.campaign, program_id=program["program"], is_active=True)
                .first()
            )
            report.warning(
                PointsCheckCode.REACH_TOO_LOW,
                _(
                    "On the past orders only %(earning)s of %(active)s active holders (%(share)s)"
                    " would earn any points of “%(program)s”. A reward almost nobody can reach"
                    " motivates nobody: reward more orders (first-N tiers instead of a first"
                    " order) or more regions."
                )
                % {
                    "earning": f"{earning:,}",
                    "active": f"{active:,}",
                    "share": f"{earning / active:.1%}",
                    "program": program["name"],
                },
                figures={
                    "holders_earning": earning,
                    "holders_active": active,
                    "share": program["share_earning"],
                    "threshold": float(REACH_MIN_SHARE),
                },
                obj=pointer(rule, "points:rule_edit", "points_rule") if rule else None,
            )
