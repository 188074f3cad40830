"""The reports' rows as CSV or XLSX (core.exports writes them): the same columns from the
console and the API."""

from collections.abc import Iterable

from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.models import Tenant
from accounts.permissions import Actor
from core.exports import download

from .models import Settlement
from .selectors import (
    ReportWindow,
    points_report_rows,
    reconciliation_rows,
    reconciliation_totals,
    settlement_figures,
)

POINTS_COLUMNS = (
    ("staff", lambda s: s.code),
    ("name", lambda s: s.name),
    ("merchant", lambda s: s.merchant.code),
    ("merchant_name", lambda s: s.merchant.name),
    ("earned", lambda s: s.earned),
    ("taken_back", lambda s: s.taken_back),
    ("net", lambda s: s.net),
    ("expired", lambda s: s.expired),
    ("spent", lambda s: s.spent),
    ("regions", lambda s: s.regions),
    ("balance", lambda s: s.balance),
    ("pending", lambda s: s.pending),
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


def points_download(*, tenant: Tenant, actor: Actor, window: ReportWindow, fmt: str):
    """Every eligible staff member's row of the points report, streamed from the database."""
    rows = (
        [cell(staff) for _name, cell in POINTS_COLUMNS]
        for staff in points_report_rows(tenant=tenant, actor=actor, window=window).iterator(
            chunk_size=2000
        )
    )
    days = window.days(tenant)
    program = window.program.name if window.program else ""
    filename = f"points-{slugify(program)}-{days['from']}-{days['to']}.{fmt}"
    return download(fmt, _points_headers(), rows, filename, sheet=_("Points"))


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


def _statement(rows: Iterable[dict], totals: dict, filename: str, fmt: str):
    """The rows, then a totals row that is the API's totals (SPEC §5: a statement adds up)."""

    def lines():
        for row in rows:
            yield [row[name] for name in RECONCILIATION_COLUMNS]
        yield [_("Total"), "", "", "", *(totals[name] for name in RECONCILIATION_COLUMNS[4:])]

    return download(fmt, _reconciliation_titles(), lines(), filename, sheet=_("Reconciliation"))


def reconciliation_download(*, tenant: Tenant, actor: Actor, window: ReportWindow, fmt: str):
    days = window.days(tenant)
    return _statement(
        reconciliation_rows(tenant=tenant, actor=actor, window=window).iterator(chunk_size=2000),
        reconciliation_totals(tenant=tenant, actor=actor, window=window),
        f"reconciliation-{days['from']}-{days['to']}.{fmt}",
        fmt,
    )


def settlement_download(*, tenant: Tenant, settlement: Settlement, fmt: str):
    """The settlement's statement: what it froze when closed (before: as it is now)."""
    figures = settlement_figures(tenant=tenant, settlement=settlement)
    scope = settlement.merchant.code if settlement.merchant else "all"
    filename = f"settlement-{scope}-{settlement.first_day}-{settlement.last_day}.{fmt}"
    return _statement(figures["rows"], figures["totals"], filename, fmt)
