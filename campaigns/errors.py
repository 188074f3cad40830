"""Error and check codes of campaigns (SPEC §6, §10)."""

from enum import StrEnum


class CampaignErrorCode(StrEnum):
    CAMPAIGN_CHECK_FAILED = "campaign_check_failed"
    WARNINGS_NOT_ACKNOWLEDGED = "warnings_not_acknowledged"
    OUT_OF_SCOPE = "out_of_scope"  # visible to a regional operator, but not all regions are theirs


class CheckCode(StrEnum):
    """What the campaign check reports; errors block scheduling, warnings need acknowledging."""

    # errors
    BUDGET_NOT_APPROVED = "budget_not_approved"
    OUTSIDE_BUDGET_PERIOD = "outside_budget_period"
    ALREADY_OVER = "already_over"
    # warnings
    NO_CHANNELS = "no_channels"
    BUDGET_EXHAUSTED = "budget_exhausted"
