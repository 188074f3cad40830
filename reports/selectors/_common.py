"""What every report read shares: its parameters (ReportWindow) and small helpers."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import (
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Merchant, Region, Tenant
from campaigns.models import Campaign
from coupons.models import CouponBatch
from points.models import (
    PointsProgram,
)

MONEY_ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ReportWindow:
    """A report's parameters, validated (reports.serializers): the period [start, end) of the
    tenant's days, optionally a region (with all below it) or a merchant, and what the report
    itself is of."""

    start: datetime
    end: datetime
    region: Region | None = None
    merchant: Merchant | None = None
    program: PointsProgram | None = None  # the points report's (always given there)
    campaign: Campaign | None = None  # the reconciliation's, optional
    batch: CouponBatch | None = None

    def days(self, tenant: Tenant) -> dict:
        """The period as the tenant's first and last day, both included."""
        last = self.end - timedelta(microseconds=1)
        return {
            "from": timezone.localtime(self.start, tenant.zone).date(),
            "to": timezone.localtime(last, tenant.zone).date(),
        }


def _per_staff(queryset: QuerySet, staff_path: str, total) -> Coalesce:
    """A correlated subquery: `total` over the rows of `queryset` whose `staff_path` is the
    outer staff member, 0 when there are none. One per figure keeps the overview one query."""
    return Coalesce(
        Subquery(
            queryset.filter(**{staff_path: OuterRef("pk")})
            .order_by()
            .values(staff_path)
            .annotate(total=total)
            .values("total")
        ),
        Value(0),
    )


def _share(part: int | Decimal, whole: int | Decimal) -> Decimal:
    """part / whole to four places (0 when there is no whole)."""
    return (Decimal(part) / whole).quantize(Decimal("0.0001")) if whole else Decimal(0)
