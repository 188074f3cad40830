"""The campaign check (SPEC §2.2, §6): what blocks scheduling and what needs acknowledging.

Each check is a function `(report) -> None` that appends findings to the report;
`CAMPAIGN_CHECKS` runs in order. The design checks of SPEC §6 belong to the apps that own what
they judge: points/checks.py (what the rules can award against the budget, and who earns in the
simulation), redemption/checks.py (the catalogue and the lotteries). They add themselves here
with `@campaign_check_register`, from the `checks` module their AppConfig.ready() imports.

A finding is `{code, severity, detail, figures, object}`: a stable code, `error` (blocks) or
`warning` (needs acknowledging), a sentence with the numbers, the numbers themselves, and what
to fix (`{type, id, name, url}` of a console page), or null.
"""

from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Tenant
from budgets.models import BudgetStatus
from core.errors import RuleRefusal

from .errors import CampaignErrorCode
from .models import Campaign, CampaignStatus, SimulationStatus

# A campaign whose design is live: changing what it awards by is checked first.
LIVE = (CampaignStatus.SCHEDULED, CampaignStatus.RUNNING, CampaignStatus.PAUSED)


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
    SIMULATION_PENDING = "simulation_pending"


def pointer(obj, url_name: str, kind: str) -> dict:
    """What a finding asks to fix: the object and the console page where it is changed."""
    return {"type": kind, "id": obj.pk, "name": str(obj), "url": reverse(url_name, args=[obj.pk])}


@dataclass
class CheckReport:
    tenant: Tenant
    campaign: Campaign
    now: datetime
    # The simulation's window, or None for the checks of the design alone (a change to a rule
    # or prize is judged on those: what the past orders say is a warning, never a refusal).
    window: tuple[datetime, datetime] | None = None
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    simulation: dict = field(default_factory=dict)
    facts: dict = field(default_factory=dict)  # figures one check works out for the next ones

    def _add(self, into: list, severity: str, code, detail, figures, obj) -> None:
        into.append(
            {
                "code": str(code),
                "severity": severity,
                "detail": detail,
                "figures": figures or {},
                "object": obj,
            }
        )

    def error(self, code, detail: str, *, figures: dict | None = None, obj=None) -> None:
        self._add(self.errors, "error", code, detail, figures, obj)

    def warning(self, code, detail: str, *, figures: dict | None = None, obj=None) -> None:
        self._add(self.warnings, "warning", code, detail, figures, obj)

    def simulated(self) -> dict | None:
        """The simulation's figures when it has finished (inline, or a job before), else None;
        `report.simulation` says why (queued, running, failed, or no window)."""
        if self.window is None:
            return None
        if not self.simulation:
            from .simulation import simulation_for_check  # the replay imports points and orders

            self.simulation = simulation_for_check(self)
        return self.simulation.get("result") if self.simulation["status"] == "done" else None

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
            obj=pointer(budget, "budgets:detail", "budget"),
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
            obj=pointer(campaign, "campaigns:edit", "campaign"),
        )
    elif budget.status == BudgetStatus.APPROVED and budget.available <= 0:
        report.warning(
            CheckCode.BUDGET_EXHAUSTED,
            _("Nothing is left available on the budget; every reservation will be refused."),
            obj=pointer(budget, "budgets:detail", "budget"),
        )


@campaign_check_register
def check_period(report: CheckReport) -> None:
    if report.campaign.ends_at <= report.now:
        report.error(
            CheckCode.ALREADY_OVER,
            _("The campaign's end time has passed."),
            obj=pointer(report.campaign, "campaigns:edit", "campaign"),
        )


@campaign_check_register
def check_channels(report: CheckReport) -> None:
    if not report.campaign.channels.exists():
        report.warning(
            CheckCode.NO_CHANNELS,
            _("No channel is chosen, so nothing the campaign does can be attributed to one."),
            obj=pointer(report.campaign, "campaigns:edit", "campaign"),
        )


def local_days(tenant, first, last) -> tuple[datetime, datetime]:
    """The tenant's days `first` to `last`, both included, as [start, end)."""
    zone = tenant.zone
    return _local_midnight(first, zone), _local_midnight(last + timedelta(days=1), zone)


def default_window(tenant, campaign: Campaign) -> tuple[datetime, datetime]:
    """As long as the campaign, ending where today begins (the last full days of orders)."""
    end = _local_midnight(timezone.localdate(timezone=tenant.zone), tenant.zone)
    return end - (campaign.ends_at - campaign.starts_at), end


def campaign_check_run(
    *,
    tenant,
    campaign: Campaign,
    now: datetime | None = None,
    window: tuple[datetime, datetime] | None = None,
    simulate: bool = True,
) -> CheckReport:
    """Every check; with `simulate`, also the replay of `window` (default_window) and the
    checks that read it."""
    if simulate and window is None:
        window = default_window(tenant, campaign)
    report = CheckReport(tenant=tenant, campaign=campaign, now=now or timezone.now(), window=window)
    for check in CAMPAIGN_CHECKS:
        check(report)
    report.simulated()  # shown on the panel even when no check needed it
    if report.simulation.get("status") in ("queued", "running", "failed"):
        report.warning(
            CheckCode.SIMULATION_PENDING,
            _(
                "The simulation on past orders has not finished (%(status)s), so what it would"
                " find is not known yet."
            )
            % {"status": SimulationStatus(report.simulation["status"]).label.lower()},
            figures={"done": report.simulation["done"], "total": report.simulation["total"]},
        )
    return report


def check_refusal(items: list[dict], message: str, code: str) -> RuleRefusal:
    """The 422 of a failed check: `fields` maps each finding's code to its details."""
    fields: dict[str, list[str]] = {}
    for item in items:
        fields.setdefault(item["code"], []).append(item["detail"])
    return RuleRefusal(message, code=code, fields=fields)


def _key(error: dict) -> tuple:
    return (error["code"], (error["object"] or {}).get("type"), (error["object"] or {}).get("id"))


@contextmanager
def campaigns_kept_sound(tenant: Tenant, campaigns: Iterable[Campaign]):
    """Around a change to a rule, program, prize or lottery (inside its transaction): refuse
    it with 422 campaign_check_failed when it gives a scheduled or running campaign an error
    the campaign did not have. Errors it had before do not block: the change may be their fix.
    The design checks alone are run; the simulation's findings are warnings, never refusals."""
    live = [c for c in campaigns if c.status in LIVE]
    before = {}
    for campaign in live:
        report = campaign_check_run(tenant=tenant, campaign=campaign, simulate=False)
        before[campaign.pk] = {_key(e) for e in report.errors}
    yield
    for campaign in live:
        report = campaign_check_run(tenant=tenant, campaign=campaign, simulate=False)
        new = [e for e in report.errors if _key(e) not in before[campaign.pk]]
        if new:
            raise check_refusal(
                new,
                _("The change would break the design of the campaign “%(campaign)s”.")
                % {"campaign": campaign.name},
                CampaignErrorCode.CAMPAIGN_CHECK_FAILED,
            )


def live_campaigns(tenant: Tenant, *, program=None, campaign: Campaign | None = None):
    """The live campaigns a change touches: one campaign, or every one awarding a program."""
    campaigns = Campaign.objects.for_tenant(tenant).filter(status__in=LIVE)
    if campaign is not None:
        return list(campaigns.filter(pk=campaign.pk).select_related("budget"))
    return list(
        campaigns.filter(points_rules__program=program, points_rules__is_active=True)
        .select_related("budget")
        .distinct()
    )
