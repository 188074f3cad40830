"""Every write of coupons, one module per sub-noun:

- `batches`: a batch's design and life cycle;
- `issuing`: the one issuing rule (`_issue`), claims, single issues and prize coupons;
- `segments`: saved customer filters;
- `jobs`: issuance and code-generation jobs, the customer file they read;
- `redemption`: validate and redeem; `rollback`: roll back, and the order-close hooks;
- `expiry`: coupons expiring on time or with their campaign;
- `fraud`: fraud limits and the blocklist;
- `issuance_rules`: issuance rules and the events that fire them.

Issuing one coupon or a chunk of ten thousand goes through `issuing._issue`, the one place where
the per-customer limit, the frequency cap and the batch's stock are enforced. Rows are locked by
the helpers of `coupons.locks`, in the order its docstring gives, so claims, jobs, rules,
redemptions and campaign ends never deadlock each other.

Callers import this package (`from coupons import services`); the names below are what it
offers. A test that replaces a name must patch the submodule that looks it up.
"""

from ._common import CENT, logger
from .batches import (
    BATCH_AUDIT_FIELDS,
    BATCH_FIELDS,
    PREFIX_RE,
    SHARED_CODE_RE,
    batch_activate,
    batch_create,
    batch_end,
    batch_pause,
    batch_resume,
    batch_update,
)
from .expiry import (
    CAMPAIGN_END_CHUNK,
    EXPIRE_CHUNK,
    coupons_expire_due,
    coupons_on_campaign_ended,
)
from .fraud import (
    FRAUD_FIELDS,
    customer_block,
    customer_blocked,
    customer_unblock,
    fraud_limit_text,
    fraud_settings_changeable,
    fraud_settings_update,
)
from .issuance_rules import (
    RULE_AUDIT_FIELDS,
    event_receive,
    issuance_rule_activate,
    issuance_rule_create,
    issuance_rule_deactivate,
    issuance_rule_update,
)
from .issuing import (
    CODE_RETRIES,
    coupon_claim,
    coupon_issue,
    coupon_issue_as_reward,
    coupon_void_reward,
)
from .jobs import (
    MAX_GENERATE,
    STALE_AFTER,
    _enqueue,
    _run_chunk,
    chunk_size,
    generation_job_create,
    issuance_job_create,
    issuance_job_run,
    issuance_jobs_resume,
    parse_customer_file,
)
from .redemption import coupon_evaluate, coupon_redeem, normalise_code
from .rollback import coupon_rollback, coupons_lock_for_order_close, coupons_on_order_closed
from .segments import SEGMENT_FILTERS, segment_create

__all__ = [
    "BATCH_AUDIT_FIELDS",
    "BATCH_FIELDS",
    "CAMPAIGN_END_CHUNK",
    "CENT",
    "CODE_RETRIES",
    "EXPIRE_CHUNK",
    "FRAUD_FIELDS",
    "MAX_GENERATE",
    "PREFIX_RE",
    "RULE_AUDIT_FIELDS",
    "SEGMENT_FILTERS",
    "SHARED_CODE_RE",
    "STALE_AFTER",
    "_enqueue",  # read by bench/coupon_generation.py; replace it on `jobs`, where it is called
    "_run_chunk",  # called by coupons/tests/test_services.py
    "batch_activate",
    "batch_create",
    "batch_end",
    "batch_pause",
    "batch_resume",
    "batch_update",
    "chunk_size",
    "coupon_claim",
    "coupon_evaluate",
    "coupon_issue",
    "coupon_issue_as_reward",
    "coupon_redeem",
    "coupon_rollback",
    "coupon_void_reward",
    "coupons_expire_due",
    "coupons_lock_for_order_close",
    "coupons_on_campaign_ended",
    "coupons_on_order_closed",
    "customer_block",
    "customer_blocked",
    "customer_unblock",
    "event_receive",
    "fraud_limit_text",
    "fraud_settings_changeable",
    "fraud_settings_update",
    "generation_job_create",
    "issuance_job_create",
    "issuance_job_run",
    "issuance_jobs_resume",
    "issuance_rule_activate",
    "issuance_rule_create",
    "issuance_rule_deactivate",
    "issuance_rule_update",
    "logger",
    "normalise_code",
    "parse_customer_file",
    "segment_create",
]
