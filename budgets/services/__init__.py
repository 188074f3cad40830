"""Every write of budgets, one module per sub-noun:

- `lifecycle`: draft, submit, approve or reject, reopen, close;
- `adjustments`: changes to an approved budget's amount, maker-checker;
- `money`: the money service other apps call (`budget_reserve/_release/_spend/_refund`) and
  `budgets_verify`, which rebuilds the figures from the entries.

Money moves only through the money service, one entry per movement, so reserved + spent never
pass the amount; life-cycle changes and approvals go to the audit log. Row locks: see
`budgets.locks`.

Callers import this package (`from budgets import services`); the names below are what it
offers. A test that replaces a name must patch the submodule that looks it up.
"""

from ._common import BUDGET_AUDIT_FIELDS, CENT
from .adjustments import (
    budget_adjustment_approve,
    budget_adjustment_create,
    budget_adjustment_reject,
)
from .lifecycle import (
    EDITABLE_FIELDS,
    LIVE_CAMPAIGN_STATUSES,
    LIVE_COUPON_STATUS,
    PENDING_LOT_STATUS,
    budget_approve,
    budget_close,
    budget_create,
    budget_reject,
    budget_reopen,
    budget_submit,
    budget_update,
)
from .money import (
    REFUND,
    REFUND_TO_RESERVED,
    RELEASE,
    RESERVE,
    SPEND_AVAILABLE,
    SPEND_RESERVED,
    BudgetMismatch,
    budget_refund,
    budget_release,
    budget_reserve,
    budget_spend,
    budgets_verify,
)

__all__ = [
    "BUDGET_AUDIT_FIELDS",
    "CENT",
    "EDITABLE_FIELDS",
    "LIVE_CAMPAIGN_STATUSES",
    "LIVE_COUPON_STATUS",
    "PENDING_LOT_STATUS",
    "REFUND",
    "REFUND_TO_RESERVED",
    "RELEASE",
    "RESERVE",
    "SPEND_AVAILABLE",
    "SPEND_RESERVED",
    "BudgetMismatch",
    "budget_adjustment_approve",
    "budget_adjustment_create",
    "budget_adjustment_reject",
    "budget_approve",
    "budget_close",
    "budget_create",
    "budget_refund",
    "budget_reject",
    "budget_release",
    "budget_reopen",
    "budget_reserve",
    "budget_spend",
    "budget_submit",
    "budget_update",
    "budgets_verify",
]
