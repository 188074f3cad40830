"""The calendar of points (SPEC §3.3): calendar weeks from Monday and months, in the tenant's
zone, and when a lot expires. Read by the services (caps, milestones, expiry) and the selectors
(points expiring soon)."""

from datetime import datetime, timedelta
from typing import cast

from django.utils import timezone

from .models import ExpiryPolicy, PointsProgram

EXPIRING_SOON_DAYS = 30  # what the account pages call "expiring soon"


def week_start(moment: datetime, zone) -> datetime:
    local = timezone.localtime(moment, zone)
    day = local.date() - timedelta(days=local.weekday())
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def month_start(moment: datetime, zone) -> datetime:
    local = timezone.localtime(moment, zone)
    return datetime(local.year, local.month, 1, tzinfo=zone)


def _add_months(start: datetime, months: int) -> datetime:
    month = start.month - 1 + months
    return start.replace(year=start.year + month // 12, month=month % 12 + 1, day=1)


def period_end(moment: datetime, zone, period: str) -> datetime:
    """The first instant after the month, quarter or year `moment` falls in."""
    start = month_start(moment, zone)
    if period == "month":
        return _add_months(start, 1)
    if period == "quarter":
        return _add_months(start.replace(month=(start.month - 1) // 3 * 3 + 1), 3)
    return start.replace(year=start.year + 1, month=1)


def lot_expires_at(program: PointsProgram, earned_at: datetime, zone) -> datetime | None:
    if program.expiry_policy == ExpiryPolicy.DAYS:
        # program_create requires the days of this policy (and points_program_expiry_days).
        return earned_at + timedelta(days=cast(int, program.expiry_days))
    if program.expiry_policy == ExpiryPolicy.PERIOD_END:
        return period_end(earned_at, zone, program.expiry_period)
    return None
