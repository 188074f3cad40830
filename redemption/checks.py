"""The campaign check's judgement of the catalogue and the lotteries (SPEC §6) of the programs
the campaign's rules award.

- `prize_unreachable`: a prize costs more than one holder can earn in the period.
- `point_value_inconsistent`: a prize's money per point lies outside the program's range, or
  the money per point falls as prizes of the same kind get dearer (a warning).
- `bundle_arbitrage`: enough of a cheaper prize of the same kind give at least a dearer one's
  money for fewer points (the error the falling curve turns into when it can be gamed).
- `lottery_inflationary`: a draw returns more points than it costs.
- `prize_unaffordable_in_simulation`: on past orders nobody, or under 1 %, reaches a prize.

Prizes are "of the same kind" when they share program, kind and group (docs/decisions.md).
"""

import math
from decimal import Decimal
from itertools import combinations

from django.utils.translation import gettext as _

from campaigns.checks import CheckReport, campaign_check_register, pointer
from points.checks import earnable

from .models import Lottery, LotteryStatus, Prize
from .services import expected_points

AFFORD_MIN_SHARE = Decimal("0.01")


class PrizeCheckCode:
    PRIZE_UNREACHABLE = "prize_unreachable"
    POINT_VALUE_INCONSISTENT = "point_value_inconsistent"
    BUNDLE_ARBITRAGE = "bundle_arbitrage"
    LOTTERY_INFLATIONARY = "lottery_inflationary"
    PRIZE_UNAFFORDABLE_IN_SIMULATION = "prize_unaffordable_in_simulation"


def _prize(prize: Prize) -> dict:
    return pointer(prize, "redemption:prize_edit", "prize")


def _per_point(prize: Prize) -> Decimal:
    return (prize.value / prize.points_cost).quantize(Decimal("0.000001"))


def _catalogue(report: CheckReport, program) -> list[Prize]:
    """Active prizes of the program a holder could take during or after the campaign."""
    return list(
        Prize.objects.for_tenant(report.tenant)
        .filter(program=program, is_active=True)
        .exclude(available_until__lte=report.campaign.starts_at)
        .order_by("points_cost", "pk")
    )


@campaign_check_register
def check_prizes_reachable(report: CheckReport) -> None:
    for found in earnable(report):
        if found.per_holder is None:
            continue
        for prize in _catalogue(report, found.program):
            if prize.points_cost > found.per_holder:
                report.error(
                    PrizeCheckCode.PRIZE_UNREACHABLE,
                    _(
                        "“%(prize)s” costs %(cost)s points, but one holder can earn at most"
                        " %(most)s in this campaign under its rules and caps. Lower its price"
                        " or raise what the rules award."
                    )
                    % {
                        "prize": prize.name,
                        "cost": f"{prize.points_cost:,}",
                        "most": f"{found.per_holder:,}",
                    },
                    figures={"points_cost": prize.points_cost, "max_per_holder": found.per_holder},
                    obj=_prize(prize),
                )


@campaign_check_register
def check_point_value(report: CheckReport) -> None:
    for found in earnable(report):
        program = found.program
        low, high = program.point_value_min, program.point_value_max
        groups: dict[tuple, list[Prize]] = {}
        for prize in _catalogue(report, program):
            if not prize.value:
                continue  # a free-to-the-tenant prize has no money per point to compare
            groups.setdefault((prize.kind, prize.group), []).append(prize)
            if not low <= _per_point(prize) <= high:
                report.error(
                    PrizeCheckCode.POINT_VALUE_INCONSISTENT,
                    _(
                        "“%(prize)s” gives %(per_point)s a point (%(value)s for %(cost)s points),"
                        " outside the program's range %(low)s to %(high)s."
                    )
                    % {
                        "prize": prize.name,
                        "per_point": _per_point(prize),
                        "value": prize.value,
                        "cost": f"{prize.points_cost:,}",
                        "low": low,
                        "high": high,
                    },
                    figures={
                        "per_point": str(_per_point(prize)),
                        "min": str(low),
                        "max": str(high),
                    },
                    obj=_prize(prize),
                )
        for prizes in groups.values():
            for small, big in combinations(prizes, 2):  # cheaper first: the catalogue's order
                if small.points_cost < big.points_cost:
                    _compare(report, small, big)


def _compare(report: CheckReport, small: Prize, big: Prize) -> None:
    """The money a point buys must not fall as prizes of the same kind get dearer."""
    if _per_point(big) >= _per_point(small):
        return
    units = math.ceil(big.value / small.value)
    figures: dict[str, object] = {
        "prizes": [
            {
                "id": p.pk,
                "name": p.name,
                "points_cost": p.points_cost,
                "value": str(p.value),
                "per_point": str(_per_point(p)),
            }
            for p in (small, big)
        ],
    }
    names = {
        "small": small.name,
        "small_cost": f"{small.points_cost:,}",
        "small_value": small.value,
        "big": big.name,
        "big_cost": f"{big.points_cost:,}",
        "big_value": big.value,
        "small_pp": _per_point(small),
        "big_pp": _per_point(big),
    }
    limit = small.per_holder_limit
    if units * small.points_cost < big.points_cost and (limit is None or limit >= units):
        figures.update(units=units, units_points=units * small.points_cost)
        report.error(
            PrizeCheckCode.BUNDLE_ARBITRAGE,
            _(
                "%(units)s of “%(small)s” give %(units_value)s for %(units_points)s points, while"
                " “%(big)s” gives %(big_value)s for %(big_cost)s: buying small beats the bundle."
                " Price “%(big)s” at %(units_points)s points or less, or the small one higher."
            )
            % {
                **names,
                "units": units,
                "units_value": units * small.value,
                "units_points": f"{units * small.points_cost:,}",
            },
            figures=figures,
            obj=_prize(big),
        )
        return
    report.warning(
        PrizeCheckCode.POINT_VALUE_INCONSISTENT,
        _(
            "A point buys less in the dearer prize: “%(small)s” gives %(small_pp)s a point"
            " (%(small_value)s for %(small_cost)s), “%(big)s” only %(big_pp)s (%(big_value)s for"
            " %(big_cost)s). Saving up should pay, not cost."
        )
        % names,
        figures=figures,
        obj=_prize(big),
    )


@campaign_check_register
def check_lotteries(report: CheckReport) -> None:
    programs = [found.program for found in earnable(report)]
    lotteries = (
        Lottery.objects.for_tenant(report.tenant)
        .filter(program__in=programs, status__in=[LotteryStatus.DRAFT, LotteryStatus.ACTIVE])
        .select_related("program")
        .prefetch_related("outcomes__prize", "outcomes__batch")
        .order_by("pk")
    )
    for lottery in lotteries:
        returned = expected_points(lottery)
        if returned <= lottery.cost_points:
            continue
        add = report.error if lottery.status == LotteryStatus.ACTIVE else report.warning
        add(
            PrizeCheckCode.LOTTERY_INFLATIONARY,
            _(
                "A draw of “%(lottery)s” costs %(cost)s points but returns %(returned)s on average"
                " (prizes and coupons counted at the program's point value): every draw prints"
                " points."
            )
            % {"lottery": lottery.name, "cost": lottery.cost_points, "returned": f"{returned:.2f}"},
            figures={"cost_points": lottery.cost_points, "expected_points": str(returned)},
            obj=pointer(lottery, "redemption:lottery_edit", "lottery"),
        )


@campaign_check_register
def check_prizes_in_simulation(report: CheckReport) -> None:
    result = report.simulated()
    if not result:
        return
    for program in result["programs"]:
        active, prizes = program["holders_active"], program["prizes"]
        if not active or not prizes:
            continue
        cheapest = prizes[0]  # the simulation lists them by price
        if cheapest["holders"] and Decimal(cheapest["holders"]) / active >= AFFORD_MIN_SHARE:
            continue
        prize = Prize.objects.for_tenant(report.tenant).get(pk=cheapest["id"])
        report.warning(
            PrizeCheckCode.PRIZE_UNAFFORDABLE_IN_SIMULATION,
            _(
                "On the past orders %(holders)s of %(active)s active holders would earn the"
                " %(cost)s points of the cheapest prize, “%(prize)s”: almost nobody would redeem"
                " anything."
            )
            % {
                "holders": f"{cheapest['holders']:,}",
                "active": f"{active:,}",
                "cost": f"{cheapest['points_cost']:,}",
                "prize": cheapest["name"],
            },
            figures={
                "holders": cheapest["holders"],
                "holders_active": active,
                "points_cost": cheapest["points_cost"],
            },
            obj=_prize(prize),
        )
