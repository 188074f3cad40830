from enum import StrEnum


class OrderErrorCode(StrEnum):
    DUPLICATE_ORDER = "duplicate_order"
    STAFF_NOT_OF_MERCHANT = "staff_not_of_merchant"
