"""Error codes of budgets and the money service (SPEC §10)."""

from enum import StrEnum

from django.utils.translation import gettext as _

from core.errors import ConflictError, PermissionDeniedError


class BudgetErrorCode(StrEnum):
    MAKER_CHECKER = "maker_checker"
    BUDGET_EXCEEDED = "budget_exceeded"
    BUDGET_NOT_ACTIVE = "budget_not_active"  # money moves only on an approved budget
    RESERVATION_EXCEEDED = "reservation_exceeded"  # release/spend more than is reserved
    REFUND_EXCEEDED = "refund_exceeded"  # refund more than was spent
    BUDGET_IN_USE = "budget_in_use"  # close while campaigns still run under it
    REFERENCE_REUSED = "reference_reused"  # same reference, different amount


class BudgetExceeded(ConflictError):
    """The movement would push reserved + spent above the approved amount."""

    default_code = BudgetErrorCode.BUDGET_EXCEEDED


class MakerChecker(PermissionDeniedError):
    default_code = BudgetErrorCode.MAKER_CHECKER

    def __init__(self, detail: str | None = None, **kwargs):
        super().__init__(
            detail or _("You cannot approve or reject what you created yourself."), **kwargs
        )
