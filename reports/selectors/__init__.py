"""Report reads, by report: every page, API answer and export of the reports reads here."""

from ._common import ReportWindow
from .campaign_effect import campaign_effect
from .finance import (
    budget_vs_actual,
    export_get,
    reconciliation,
    reconciliation_rows,
    reconciliation_totals,
    settlement_figures,
    settlement_get,
    settlement_list,
)
from .merchant import (
    STAFF_FIGURES,
    merchant_staff_get,
    merchant_staff_overview,
    merchant_staff_totals,
    staff_draw_list,
    staff_redemption_list,
)
from .points import (
    POINTS_BUCKET_TOP,
    POINTS_BUCKETS,
    POINTS_FIGURES,
    points_report,
    points_report_rows,
    staff_figures,
)

__all__ = [
    "POINTS_BUCKETS",
    "POINTS_BUCKET_TOP",
    "POINTS_FIGURES",
    "STAFF_FIGURES",
    "ReportWindow",
    "budget_vs_actual",
    "campaign_effect",
    "export_get",
    "merchant_staff_get",
    "merchant_staff_overview",
    "merchant_staff_totals",
    "points_report",
    "points_report_rows",
    "reconciliation",
    "reconciliation_rows",
    "reconciliation_totals",
    "settlement_figures",
    "settlement_get",
    "settlement_list",
    "staff_draw_list",
    "staff_figures",
    "staff_redemption_list",
]
