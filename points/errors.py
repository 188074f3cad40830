"""Error codes of points (SPEC §10) and its domain exceptions."""

from enum import StrEnum


class PointsErrorCode(StrEnum):
    INSUFFICIENT_POINTS = "insufficient_points"
    ADJUSTMENT_TOO_LARGE = "adjustment_too_large"  # over the tenant's max_points_adjustment
    NOT_TRANSFERABLE = "not_transferable"
    TRANSFER_LIMIT = "transfer_limit"
    WRONG_HOLDER = "wrong_holder"  # a staff reference for a merchant or customer program
    INVALID_RULE = "invalid_rule"
    INVALID_PROGRAM = "invalid_program"
    PROGRAM_IN_USE = "program_in_use"  # a change that would alter points already earned
    OUT_OF_SCOPE = "out_of_scope"  # a program no rule ties to a scope


class BudgetRefused(Exception):
    """A rule's reservation was refused after the award was written (`services.awards._earn`).

    order_place rolls its transaction back and places the order again, this time recording the
    refusal for that rule instead of reserving. Refusals are rare; an award that does not need a
    savepoint keeps the budget row (every order's hot spot) locked for one round trip less.
    """

    def __init__(self, rule_id: int, detail: str):
        super().__init__(detail)
        self.rule_id = rule_id
        self.detail = detail
