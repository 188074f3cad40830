"""The campaign check (SPEC §2.2, §6): what blocks scheduling and what needs acknowledging.

Each check is a function `(report) -> None` that appends to the report; `CAMPAIGN_CHECKS` runs in
order. The design checks of SPEC §6 (prize reachability, points vs budget, catalog pricing,
lottery returns, simulation) belong to the apps that own points rules and prizes; they add
themselves here with `@campaign_check_register` (in a module their AppConfig.ready() imports)
and fill `report.simulation`.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Tenant
from budgets.models import BudgetStatus

from .models import Campaign


class CheckCode(StrEnum):
    """What the campaign check reports (the `code` of an item, and the `fields` keys of a 422);
    errors block scheduling, warnings need acknowledging. Not API error codes themselves."""

    # errors
    BUDGET_NOT_APPROVED = "budget_not_approved"
    OUTSIDE_BUDGET_PERIOD = "outside_budget_period"
    ALREADY_OVER = "already_over"
    # warnings
    NO_CHANNELS = "no_channels"
    BUDGET_EXHAUSTED = "budget_exhausted"


@dataclass
class CheckReport:
    tenant: Tenant
    campaign: Campaign
    now: datetime
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    simulation: dict = field(default_factory=dict)

    def error(self, code: str, detail: str) -> None:
        self.errors.append({"code": str(code), "detail": detail})

    def warning(self, code: str, detail: str) -> None:
        self.warnings.append({"code": str(code), "detail": detail})

    def as_dict(self) -> dict:
        return {"errors": self.errors, "warnings": self.warnings, "simulation": self.simulation}


CAMPAIGN_CHECKS: list[Callable[[CheckReport], None]] = []


def campaign_check_register(check: Callable[[CheckReport], None]):
    CAMPAIGN_CHECKS.append(check)
    return check


def _local_midnight(day, zone) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


@campaign_check_register
def check_budget(report: CheckReport) -> None:
    campaign, budget = report.campaign, report.campaign.budget
    if budget.status != BudgetStatus.APPROVED:
        report.error(
            CheckCode.BUDGET_NOT_APPROVED,
            _("The budget “%(budget)s” is %(status)s; a campaign runs only under an approved one.")
            % {"budget": budget.name, "status": budget.status},
        )
    # The budget's days are the tenant's local days: it covers [first day 00:00, day after last).
    zone = report.tenant.zone
    window_start = _local_midnight(budget.starts_on, zone)
    window_end = _local_midnight(budget.ends_on + timedelta(days=1), zone)
    if campaign.starts_at < window_start or campaign.ends_at > window_end:
        report.error(
            CheckCode.OUTSIDE_BUDGET_PERIOD,
            _("The campaign runs outside the budget's period %(start)s to %(end)s.")
            % {"start": budget.starts_on, "end": budget.ends_on},
        )
    elif budget.status == BudgetStatus.APPROVED and budget.available <= 0:
        report.warning(
            CheckCode.BUDGET_EXHAUSTED,
            _("Nothing is left available on the budget; every reservation will be refused."),
        )


@campaign_check_register
def check_period(report: CheckReport) -> None:
    if report.campaign.ends_at <= report.now:
        report.error(CheckCode.ALREADY_OVER, _("The campaign's end time has passed."))


@campaign_check_register
def check_channels(report: CheckReport) -> None:
    if not report.campaign.channels.exists():
        report.warning(
            CheckCode.NO_CHANNELS,
            _("No channel is chosen, so nothing the campaign does can be attributed to one."),
        )


def campaign_check_run(*, tenant, campaign: Campaign, now: datetime | None = None) -> CheckReport:
    report = CheckReport(tenant=tenant, campaign=campaign, now=now or timezone.now())
    for check in CAMPAIGN_CHECKS:
        check(report)
    return report
