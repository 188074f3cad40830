"""Error codes of prizes and lotteries (SPEC §10)."""

from enum import StrEnum


class RedemptionErrorCode(StrEnum):
    OUT_OF_STOCK = "out_of_stock"
    LIMIT_REACHED = "limit_reached"  # the prize's per-holder limit
    NOT_AVAILABLE = "not_available"  # inactive, not open yet, or past its deadline
    NOT_CANCELLABLE = "not_cancellable"  # shipped (for the holder) or delivered (for anyone)
    NO_LINKED_CUSTOMER = "no_linked_customer"  # a coupon for a holder with no customer record
    INVALID_PRIZE = "invalid_prize"
    LOTTERY_INFLATIONARY = "lottery_inflationary"  # a draw would return more points than it costs
    INVALID_LOTTERY = "invalid_lottery"
