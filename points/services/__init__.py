"""Every write of points, one module per sub-noun:

- `programs`: programs (create, change, switch on and off);
- `rules`: the rules of campaigns;
- `ledger`: accounts, entries and lots, spending, refunds, credits, activation, the ledger check;
- `adjustments`: manual corrections and the maker-checker requests for large ones;
- `transfers`: usable points moved between holders;
- `awards`: awards from orders placed and completed (ranks, caps, milestones);
- `reversals`: awards of closed orders cancelled or reversed;
- `expiry`: the periodic activation and expiry.

Rows are locked through `points.locks`, whose docstring gives the one lock order of the app; the
calendar (weeks, months, expiry dates) is `points.periods`. Callers import this package
(`from points import services`): every public name is here.
"""

from ..engine import CENT, points_money
from ..errors import BudgetRefused
from ..periods import EXPIRING_SOON_DAYS, lot_expires_at, month_start, period_end, week_start
from .adjustments import (
    ACCOUNT_FIGURES,
    BIGINT_MAX,
    points_adjust,
    points_adjustment_approve,
    points_adjustment_reject,
    points_adjustment_submit,
)
from .awards import points_on_order_completed, points_on_order_placed
from .expiry import points_activate_due, points_expire_due
from .ledger import (
    Links,
    account_for_holder,
    ledger_mismatches,
    points_credit,
    points_refund,
    points_spend,
)
from .programs import (
    LOCKED_ONCE_EARNED,
    PROGRAM_FIELDS,
    program_activate,
    program_create,
    program_deactivate,
    program_update,
)
from .reversals import points_on_order_closed
from .rules import (
    RULE_FIELDS,
    RULE_UPDATE_FIELDS,
    rule_activate,
    rule_create,
    rule_deactivate,
    rule_update,
)
from .transfers import points_transfer

__all__ = [
    "ACCOUNT_FIGURES",
    "BIGINT_MAX",
    "CENT",
    "EXPIRING_SOON_DAYS",
    "LOCKED_ONCE_EARNED",
    "PROGRAM_FIELDS",
    "RULE_FIELDS",
    "RULE_UPDATE_FIELDS",
    "BudgetRefused",
    "Links",
    "account_for_holder",
    "ledger_mismatches",
    "lot_expires_at",
    "month_start",
    "period_end",
    "points_activate_due",
    "points_adjust",
    "points_adjustment_approve",
    "points_adjustment_reject",
    "points_adjustment_submit",
    "points_credit",
    "points_expire_due",
    "points_money",
    "points_on_order_closed",
    "points_on_order_completed",
    "points_on_order_placed",
    "points_refund",
    "points_spend",
    "points_transfer",
    "program_activate",
    "program_create",
    "program_deactivate",
    "program_update",
    "rule_activate",
    "rule_create",
    "rule_deactivate",
    "rule_update",
    "week_start",
]
