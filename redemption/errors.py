"""Error codes of prizes and lotteries (SPEC §10)."""

from enum import StrEnum


class RedemptionErrorCode(StrEnum):
    OUT_OF_STOCK = "out_of_stock"
    LIMIT_REACHED = "limit_reached"  # the prize's per-holder limit
    NOT_AVAILABLE = "not_available"  # inactive, or outside its availability window
    INVALID_PRIZE = "invalid_prize"
    LOTTERY_INFLATIONARY = "lottery_inflationary"  # a draw would return more points than it costs
    INVALID_LOTTERY = "invalid_lottery"
