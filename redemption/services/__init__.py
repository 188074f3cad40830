"""Writes of prizes and lotteries (SPEC §4), one module per sub-noun:

- `prizes`: a prize's design (created, changed) and its stock counted in or written off;
- `redemptions`: prizes redeemed for points, their fulfilment, redemptions cancelled;
- `lotteries`: a lottery's prize table, its life cycle and its draws.

Locks are taken in one order: redemption row → prize row, or lottery row → outcome rows → prize
row; the holder's points account (inside the points services) and its lots always come last.
Each module's docstring gives its part.

Callers import this package (`from redemption import services`); the names below are what it
offers. A test that replaces a name must patch the submodule that looks it up.
"""

from .lotteries import (
    TICKETS,
    expected_points,
    lottery_activate,
    lottery_create,
    lottery_draw,
    lottery_end,
    lottery_update,
)
from .prizes import PRIZE_FIELDS, prize_create, prize_stock_adjust, prize_update
from .redemptions import (
    prize_redeem,
    redemption_cancel,
    redemption_deliver,
    redemption_ship,
)

__all__ = [
    "PRIZE_FIELDS",
    "TICKETS",
    "expected_points",
    "lottery_activate",
    "lottery_create",
    "lottery_draw",
    "lottery_end",
    "lottery_update",
    "prize_create",
    "prize_redeem",
    "prize_stock_adjust",
    "prize_update",
    "redemption_cancel",
    "redemption_deliver",
    "redemption_ship",
]
