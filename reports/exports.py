"""The reports' rows as CSV or XLSX (core.exports writes them): the same columns from the
console and the API."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.models import Tenant
from accounts.permissions import Actor
from core.exports import download

from .models import Settlement
from .selectors import (
    POINTS_FIGURES,
    ReportWindow,
    campaign_effect,
    points_report_rows,
    reconciliation_rows,
    reconciliation_totals,
    settlement_figures,
    staff_figures,
)
from .serializers import PointsFilterSerializer, ReconciliationFilterSerializer

# Each column of the points rows: its name, and its cell from the staff member and figures.
POINTS_COLUMNS = (
    ("staff", lambda s, f: s.code),
    ("name", lambda s, f: s.name),
    ("merchant", lambda s, f: s.merchant.code),
    ("merchant_name", lambda s, f: s.merchant.name),
    *((name, lambda s, f, name=name: f[name]) for name in POINTS_FIGURES),
)


def _points_headers() -> list[str]:
    titles = {
        "staff": _("Staff code"),
        "name": _("Name"),
        "merchant": _("Merchant code"),
        "merchant_name": _("Merchant"),
        "earned": _("Earned"),
        "taken_back": _("Taken back (closed orders)"),
        "net": _("Kept"),
        "expired": _("Expired"),
        "spent": _("Spent"),
        "regions": _("Regions unlocked"),
        "balance": _("Balance now"),
        "pending": _("Pending now"),
    }
    return [titles[name] for name, _cell in POINTS_COLUMNS]


@dataclass
class Table:
    """A report's rows as a download: the column titles, the rows (an iterator that reads the
    database as it goes), the file's name without its extension, the sheet's name, and how many
    rows there will be (for a job's progress; None: not known ahead)."""

    titles: list[str]
    rows: Iterable[Sequence]
    name: str
    sheet: str
    count: Callable[[], int] | None = None

    def download(self, fmt: str):
        return download(fmt, self.titles, self.rows, f"{self.name}.{fmt}", sheet=self.sheet)


def points_table(*, tenant: Tenant, actor: Actor, window: ReportWindow) -> Table:
    """Every eligible staff member's row of the points report (the figures are read once, in
    grouped queries; the staff are streamed)."""
    staff = points_report_rows(tenant=tenant, actor=actor, window=window)
    days = window.days(tenant)
    program = window.program.name if window.program else ""

    def rows():
        figures = staff_figures(tenant=tenant, window=window, staff=staff)
        none = dict.fromkeys(POINTS_FIGURES, 0)
        for member in staff.iterator(chunk_size=2000):
            row = figures.get(member.pk, none)
            yield [cell(member, row) for _name, cell in POINTS_COLUMNS]

    return Table(
        titles=_points_headers(),
        rows=rows(),
        name=f"points-{slugify(program)}-{days['from']}-{days['to']}",
        sheet=_("Points"),
        count=staff.count,
    )


def points_download(*, tenant: Tenant, actor: Actor, window: ReportWindow, fmt: str):
    return points_table(tenant=tenant, actor=actor, window=window).download(fmt)


RECONCILIATION_COLUMNS = (
    "merchant__code",
    "merchant__name",
    "batch__campaign__name",
    "batch__name",
    "redemptions",
    "redeemed_discount",
    "redeemed_order_amount",
    "rollbacks",
    "rolled_back_discount",
    "net_discount",
)


def _reconciliation_titles() -> list[str]:
    return [
        _("Merchant code"),
        _("Merchant"),
        _("Campaign"),
        _("Batch"),
        _("Redemptions"),
        _("Discount"),
        _("Order amount"),
        _("Rollbacks"),
        _("Discount rolled back"),
        _("Net discount"),
    ]


def _statement(rows: Iterable[dict], totals: dict, name: str, count=None) -> Table:
    """The rows, then a totals row that is the API's totals (SPEC §5: a statement adds up)."""

    def lines():
        for row in rows:
            yield [row[column] for column in RECONCILIATION_COLUMNS]
        yield [_("Total"), "", "", "", *(totals[column] for column in RECONCILIATION_COLUMNS[4:])]

    return Table(_reconciliation_titles(), lines(), name, _("Reconciliation"), count)


def reconciliation_table(*, tenant: Tenant, actor: Actor, window: ReportWindow) -> Table:
    rows = reconciliation_rows(tenant=tenant, actor=actor, window=window)
    days = window.days(tenant)
    return _statement(
        rows.iterator(chunk_size=2000),
        reconciliation_totals(tenant=tenant, actor=actor, window=window),
        f"reconciliation-{days['from']}-{days['to']}",
        count=rows.count,
    )


def reconciliation_download(*, tenant: Tenant, actor: Actor, window: ReportWindow, fmt: str):
    return reconciliation_table(tenant=tenant, actor=actor, window=window).download(fmt)


def settlement_download(*, tenant: Tenant, settlement: Settlement, fmt: str):
    """The settlement's statement: what it froze when closed (before: as it is now)."""
    figures = settlement_figures(tenant=tenant, settlement=settlement)
    scope = settlement.merchant.code if settlement.merchant else "all"
    name = f"settlement-{scope}-{settlement.first_day}-{settlement.last_day}"
    return _statement(figures["rows"], figures["totals"], name).download(fmt)


def campaign_effect_table(*, tenant: Tenant, actor: Actor, window: ReportWindow) -> Table:
    """The campaign effect by day, with its budget at the end of each day."""
    effect = campaign_effect(tenant=tenant, actor=actor, window=window)
    titles = [
        _("Day"), _("Coupons issued"), _("Redemptions"), _("Discount"), _("Budget amount"),
        _("Reserved"), _("Spent"),
    ]  # fmt: skip
    rows = (
        [day["day"], day["issued"], day["redemptions"], day["discount"], burn["amount"],
         burn["reserved"], burn["spent"]]
        for day, burn in zip(effect["days"], effect["burn_down"], strict=True)
    )  # fmt: skip
    days = window.days(tenant)
    name = f"campaign-{effect['campaign']['id']}-{days['from']}-{days['to']}"
    return Table(titles, rows, name, _("Campaign effect"))


def campaign_effect_download(*, tenant: Tenant, actor: Actor, window: ReportWindow, fmt: str):
    return campaign_effect_table(tenant=tenant, actor=actor, window=window).download(fmt)


# The downloads a job may write (reports.services.export_run): name → filters, table.
EXPORTABLE = {
    "points": (PointsFilterSerializer, points_table),
    "reconciliation": (ReconciliationFilterSerializer, reconciliation_table),
}
