"""Error codes of the reports' settlements (SPEC §5, §10)."""

from enum import StrEnum


class ReportErrorCode(StrEnum):
    PERIOD_SETTLED = "period_settled"  # the days overlap a settlement of the same scope
    PERIOD_NOT_ENDED = "period_not_ended"  # only days that have passed can be closed
