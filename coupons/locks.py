"""The coupon app's row locks: each a named helper that takes its rows in a documented order.

The app's lock order. Every writer takes the rows it needs in this order, skipping what it does
not need, so two writers never wait on each other in a cycle:

1. the campaign row (campaigns' services hold it when they call `coupons_on_campaign_ended`);
2. coupon rows, in primary-key order (redeem, rollback, order close, expiry, campaign end);
3. holding rows (one per customer and batch): batch by batch in batch-pk order, and within a
   batch in holding-pk order (issuing, printed-code redemption, events);
4. customer rows, `FOR NO KEY UPDATE`, in primary-key order (fraud limits, events);
5. device and phone fingerprints, as transaction-scoped advisory locks, sorted by key;
6. batch rows, in primary-key order, by `FOR UPDATE` or a conditional `UPDATE` (life cycle, stock,
   redeemed counters);
7. budget rows, which budgets' services take after everything here.

An issuance rule row and the tenant's fraud-settings row are locked alone. A pass that comes
back to coupon rows after holding batch rows (campaign end) uses SKIP LOCKED instead of waiting.
"""

from django.db import connection

from accounts.models import Customer

from .models import (
    Coupon,
    CouponBatch,
    CouponHolding,
    CouponRedemption,
    FraudSettings,
    IssuanceRule,
)


def lock_batch(tenant, batch: CouponBatch) -> CouponBatch:
    """The batch row alone (step 6), read again with its campaign and budget."""
    return (
        CouponBatch.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("campaign", "campaign__budget")
        .get(pk=batch.pk)
    )


def lock_holdings(tenant, batch: CouponBatch, customer_ids: set[int]) -> dict[int, CouponHolding]:
    """Each customer's holding row of the batch (step 3), created if missing, locked in pk order."""
    CouponHolding.objects.bulk_create(
        [CouponHolding(tenant=tenant, batch=batch, customer_id=c) for c in sorted(customer_ids)],
        ignore_conflicts=True,
    )
    rows = (
        CouponHolding.objects.for_tenant(tenant)
        .filter(batch=batch, customer_id__in=customer_ids)
        .order_by("pk")
        .select_for_update()
    )
    return {h.customer_id: h for h in rows}


def lock_coupon(tenant, redemption: CouponRedemption) -> None:
    """The redeemed coupon's row alone (step 2), set on `redemption.coupon` with its batch and
    customer."""
    redemption.coupon = (
        Coupon.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("batch", "customer")
        .get(pk=redemption.coupon_id)
    )


def lock_coupons_then_batches(tenant, coupon_ids: list[int]) -> None:
    """The coupon rows in pk order (step 2), then their batches in pk order (step 6, NO KEY: rows
    that merely reference a batch are not held up)."""
    coupons = Coupon.objects.for_tenant(tenant).filter(pk__in=coupon_ids).order_by("pk")
    batch_ids = sorted(set(coupons.select_for_update().values_list("batch_id", flat=True)))
    list(
        CouponBatch.objects.for_tenant(tenant)
        .filter(pk__in=batch_ids)
        .order_by("pk")
        .select_for_update(no_key=True)
        .values_list("pk", flat=True)
    )


def lock_customer(tenant, customer: Customer) -> None:
    """One customer's row (step 4), serialising their redemptions. NO KEY: rows that merely
    reference the customer (coupons issued to them, orders) are not held up."""
    list(
        Customer.objects.for_tenant(tenant)
        .filter(pk=customer.pk)
        .select_for_update(no_key=True)
        .values_list("pk", flat=True)
    )


def lock_fingerprints(tenant, *fingerprints: str) -> None:
    """The redemptions that carry one device or phone (different customers, so no row to lock;
    step 5): a transaction-scoped advisory lock per fingerprint, sorted by key."""
    if connection.vendor != "postgresql":
        return  # SQLite runs one writer at a time anyway
    keys = sorted({f"fingerprint:{tenant.pk}:{value}" for value in fingerprints if value})
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


def lock_event_parties(tenant, *, batches, customers, fingerprints: tuple[str, ...]) -> None:
    """Before any check of an event, in the order of a printed-code redemption: the customers'
    holding rows of each batch (step 3, batches in pk order), the customers' rows (step 4, pk
    order), then the fingerprints (step 5)."""
    ids = {customer.pk for customer in customers}
    for batch in sorted(batches, key=lambda batch: batch.pk):
        lock_holdings(tenant, batch, ids)
    for customer in sorted(customers, key=lambda customer: customer.pk):
        lock_customer(tenant, customer)
    lock_fingerprints(tenant, *fingerprints)


def lock_rule(tenant, rule: IssuanceRule) -> IssuanceRule:
    """The issuance rule's row alone, read again with its batch and campaign."""
    return (
        IssuanceRule.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("batch", "batch__campaign")
        .get(pk=rule.pk)
    )


def lock_fraud_settings(tenant) -> tuple[FraudSettings, bool]:
    """The tenant's fraud-settings row alone, created if missing: (row, created)."""
    return FraudSettings.objects.for_tenant(tenant).select_for_update().get_or_create(tenant=tenant)
