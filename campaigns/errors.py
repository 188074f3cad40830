"""Error codes of campaigns (SPEC §10). The check's own codes live in checks.py."""

from enum import StrEnum


class CampaignErrorCode(StrEnum):
    CAMPAIGN_CHECK_FAILED = "campaign_check_failed"
    WARNINGS_NOT_ACKNOWLEDGED = "warnings_not_acknowledged"
    # Visible to a regional operator, but not all regions are theirs (campaigns.scope raises it
    # through Actor.require_owns_wholly, under the same code as every other write-scope refusal).
    OUT_OF_SCOPE = "out_of_scope"
