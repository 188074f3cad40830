"""Reads of coupon batches, coupons, segments and jobs, inside the tenant and the actor's data
scope: a batch is visible when its campaign is (SPEC §7)."""

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import CharField, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, Concat
from django.utils.translation import gettext as _

from accounts.models import Customer, Tenant
from accounts.permissions import Actor
from accounts.regions import region_subtree_ids
from accounts.roles import Action
from budgets.models import BudgetEntry
from campaigns.selectors import campaign_list
from core.errors import NotFoundError
from core.selectors import filtered, get_visible

from .filters import (
    BatchFilter,
    ClusterFilter,
    CustomerCouponFilter,
    JobFilter,
    RedemptionFilter,
)
from .models import (
    ZERO,
    BlockedCustomer,
    CampaignRedemptionLimit,
    Coupon,
    CouponBatch,
    CouponRedemption,
    FraudSettings,
    IssuanceError,
    IssuanceJob,
    IssuanceRule,
    Segment,
)

CENT = Decimal("0.01")


def batch_list(*, tenant: Tenant, actor: Actor, filters: Mapping | None = None) -> QuerySet:
    """Batches of the campaigns the actor may read; `filters`: campaign, status (BatchFilter)."""
    campaigns = campaign_list(tenant=tenant, actor=actor)
    qs = (
        CouponBatch.objects.for_tenant(tenant)
        .filter(campaign__in=campaigns.values("pk"))
        .select_related("campaign", "campaign__budget")
        .prefetch_related("scope_merchants", "scope_regions")
    )
    return filtered(BatchFilter, filters, qs)


def batch_get(*, tenant: Tenant, actor: Actor, id: int) -> CouponBatch:
    return get_visible(batch_list(tenant=tenant, actor=actor), pk=id)


def batch_get_for_claim(*, tenant: Tenant, actor: Actor, id: int) -> CouponBatch:
    """The batch a claim names. An integrator's key (scope `coupons`) reaches every batch of the
    tenant; a user only the batches they can see."""
    actor.require(Action.COUPONS_ISSUE)
    if actor.api_key is None:
        return batch_get(tenant=tenant, actor=actor, id=id)
    batch = CouponBatch.objects.for_tenant(tenant).select_related("campaign").filter(pk=id).first()
    if batch is None:
        raise NotFoundError(_("Not found."))
    return batch


def batch_codes(*, tenant: Tenant, actor: Actor, batch: CouponBatch):
    """(code, status, customer code, valid_until) of every coupon of the batch, streamed in
    primary-key order without loading the batch into memory."""
    actor.require(Action.COUPONS_ISSUE)
    return (
        Coupon.objects.for_tenant(tenant)
        .filter(batch=batch)
        .order_by("pk")
        .values_list("code", "status", "customer__code", "valid_until")
        .iterator(chunk_size=5000)
    )


# The budget references the coupon services write: the batch's own (`coupon-batch:<id>:activate`,
# `:end`, `:expire:…`, `:campaign-end:…`) and its redemptions' (`coupon-redemption:<id>:<suffix>`).
_REDEMPTION_ENTRY_SUFFIXES = ("spend", "release", "refund", "reserve")


def batch_money(*, tenant: Tenant, batch: CouponBatch) -> dict[str, Decimal]:
    """The batch's money on its campaign's budget, summed from the budget's entries: what
    activation reserved, what is still reserved, what its redemptions spent, and what went back
    to the budget (stock never issued, coupons expired, reserved beyond a discount, refunds).
    `reserved_amount` alone is the first figure and never moves after activation."""
    entries = BudgetEntry.objects.for_tenant(tenant).filter(budget_id=batch.campaign.budget_id)
    redemptions = CouponRedemption.objects.for_tenant(tenant).filter(batch=batch)
    refs = Q(reference__startswith=f"coupon-batch:{batch.pk}:")
    for suffix in _REDEMPTION_ENTRY_SUFFIXES:
        ref = Concat(
            Value("coupon-redemption:"), Cast("pk", CharField()), Value(f":{suffix}"),
            output_field=CharField(),
        )  # fmt: skip
        refs |= Q(reference__in=redemptions.annotate(ref=ref).values("ref"))
    sums = entries.filter(refs).aggregate(reserved=Sum("reserved_delta"), spent=Sum("spent_delta"))
    reserved = (sums["reserved"] or ZERO).quantize(CENT)
    spent = (sums["spent"] or ZERO).quantize(CENT)
    return {
        "reserved_at_activation": batch.reserved_amount,
        "reserved": reserved,
        "spent": spent,
        "returned": batch.reserved_amount - reserved - spent,
    }


def job_list(*, tenant: Tenant, actor: Actor, filters: Mapping | None = None) -> QuerySet:
    """Jobs of the batches the actor may see; `filters`: batch (JobFilter)."""
    batches = batch_list(tenant=tenant, actor=actor)
    qs = (
        IssuanceJob.objects.for_tenant(tenant)
        .filter(batch__in=batches.values("pk"))
        .select_related("batch", "created_by")
        .defer("customer_codes")  # up to a million codes: never needed to show a job
    )
    return filtered(JobFilter, filters, qs)


def job_get(*, tenant: Tenant, actor: Actor, id: int) -> IssuanceJob:
    return get_visible(job_list(tenant=tenant, actor=actor), pk=id)


def job_errors(*, tenant: Tenant, job: IssuanceJob) -> QuerySet:
    return IssuanceError.objects.for_tenant(tenant).filter(job=job).order_by("row_no", "pk")


def segment_list(*, tenant: Tenant, actor: Actor) -> QuerySet:
    actor.require(Action.COUPONS_ISSUE)
    return Segment.objects.for_tenant(tenant)


def segment_get(*, tenant: Tenant, actor: Actor, id: int) -> Segment:
    return get_visible(segment_list(tenant=tenant, actor=actor), pk=id)


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def customers_matching(*, tenant: Tenant, actor: Actor, filters: dict) -> QuerySet:
    """Customers matching a segment's filters, within the actor's regions."""
    actor.require(Action.COUPONS_ISSUE)
    qs = Customer.objects.for_tenant(tenant)
    if actor.region_ids is not None:
        qs = qs.filter(region_id__in=actor.region_ids)
    if filters.get("regions"):  # a province takes its cities and zones, where customers sit
        qs = qs.filter(region_id__in=region_subtree_ids(tenant=tenant, codes=filters["regions"]))
    tags = filters.get("tags_any") or []
    if tags:
        any_tag = Q()
        for tag in tags:
            if connection.features.supports_json_field_contains:
                any_tag |= Q(tags__contains=[tag])  # PostgreSQL: tags @> '["vip"]'
            else:
                # SQLite has no JSON containment; the stored JSON text holds "tag" quoted.
                any_tag |= Q(tags__icontains=f'"{tag}"')
        qs = qs.filter(any_tag)
    for key, lookup in (
        ("registered_after", "registered_on__gte"),
        ("registered_before", "registered_on__lte"),
        ("last_order_after", "last_order_on__gte"),
        ("last_order_before", "last_order_on__lte"),
    ):
        if filters.get(key):
            qs = qs.filter(**{lookup: _day(filters[key])})
    return qs


def segment_customers(*, tenant: Tenant, actor: Actor, segment: Segment) -> QuerySet:
    return customers_matching(tenant=tenant, actor=actor, filters=segment.filters)


def segment_preview(*, tenant: Tenant, actor: Actor, filters: dict, sample: int = 10) -> dict:
    qs = customers_matching(tenant=tenant, actor=actor, filters=filters)
    return {
        "count": qs.count(),
        "sample": list(qs.order_by("code").values_list("code", flat=True)[:sample]),
    }


def batch_summary(batch) -> str:
    """How a coupon of the batch reads to a customer: the console's live preview and the API's
    `summary`. Takes a batch or any object with the same attributes (an unsaved design)."""
    money = "{:,.2f}".format
    value = getattr(batch, "value", None)
    threshold = getattr(batch, "threshold", None)
    kind = getattr(batch, "kind", "")
    if value is None:
        return ""
    if kind == "amount_off":
        text = _("%(off)s off orders of %(min)s or more") % {
            "off": money(value),
            "min": money(threshold or 0),
        }
    elif kind == "percent_off":
        text = _("%(pct)s%% off, at most %(cap)s") % {
            "pct": f"{Decimal(str(value)).normalize():f}",
            "cap": money(getattr(batch, "max_discount", None) or 0),
        }
        if threshold:
            text += _(", on orders of %s or more") % money(threshold)
    elif kind == "cash":
        text = _("%s cash voucher") % money(value)
    elif kind == "free_shipping":
        text = _("Free shipping")
        if threshold:
            text += _(" on orders of %s or more") % money(threshold)
    else:
        return ""
    days = getattr(batch, "valid_days", None)
    until = getattr(batch, "valid_until", None)
    if days:
        text += _("; valid %d days from issue") % days
    elif until:
        text += _("; valid until %s") % until.strftime("%Y-%m-%d %H:%M")
    limit = getattr(batch, "per_customer_limit", None)
    if limit:
        text += _("; %d per customer") % limit
    if not getattr(batch, "stackable", False):
        text += _("; not combinable with other coupons")
    return text + "."


def _coupons_in_unit(qs: QuerySet, actor: Actor) -> QuerySet:
    """A business-unit admin's coupons: those of their unit's campaigns (as campaign_list)."""
    if actor.business_unit_id is not None:
        qs = qs.filter(batch__campaign__business_unit_id=actor.business_unit_id)
    return qs


def customer_coupons(
    *, tenant: Tenant, actor: Actor, code: str, filters: Mapping | None = None
) -> QuerySet:
    """A customer's coupons, newest first (support, integrators with scope `coupons`). A
    regional operator sees only their regions' customers; any other customer is not found.
    `filters`: status (CustomerCouponFilter)."""
    actor.require(Action.COUPONS_SUPPORT_READ)
    customers = Customer.objects.for_tenant(tenant)
    if actor.region_ids is not None:
        customers = customers.filter(region_id__in=actor.region_ids)
    customer = customers.filter(code=code).first()
    if customer is None:
        raise NotFoundError(_("Not found."))
    qs = _coupons_in_unit(
        Coupon.objects.for_tenant(tenant)
        .filter(customer=customer)
        .select_related("batch", "customer")
        .order_by("-issued_at", "-id"),
        actor,
    )
    return filtered(CustomerCouponFilter, filters, qs)


def redemption_list(*, tenant: Tenant, actor: Actor, filters: Mapping | None = None) -> QuerySet:
    """Redemptions for reconciliation, newest first, of the batches the actor can see;
    `filters`: batch, coupon, merchant, order, since, until (RedemptionFilter).

    A regional operator sees a redemption only when nothing on it lies outside their regions:
    the customer (as coupon lookup and the customer API scope them), the merchant and the
    order's region (as the orders API does). A campaign is visible when any one of its regions
    is theirs, so the campaign alone would show other regions' customers and orders.
    """
    actor.require(Action.COUPONS_SUPPORT_READ)
    campaigns = campaign_list(tenant=tenant, actor=actor)
    qs = (
        CouponRedemption.objects.for_tenant(tenant)
        .filter(batch__campaign__in=campaigns.values("pk"))
        .select_related("coupon", "batch", "customer", "merchant")
    )
    if actor.region_ids is not None:
        mine = actor.region_ids
        qs = qs.filter(
            Q(customer__region_id__in=mine),
            Q(merchant__isnull=True) | Q(merchant__region_id__in=mine),
            Q(region__isnull=True) | Q(region_id__in=mine),
        )
    return filtered(RedemptionFilter, filters, qs)


def issuance_rule_list(*, tenant: Tenant, actor: Actor) -> QuerySet:
    campaigns = campaign_list(tenant=tenant, actor=actor)
    return (
        IssuanceRule.objects.for_tenant(tenant)
        .filter(batch__campaign__in=campaigns.values("pk"))
        .select_related("batch")
    )


def issuance_rule_get(*, tenant: Tenant, actor: Actor, id: int) -> IssuanceRule:
    return get_visible(issuance_rule_list(tenant=tenant, actor=actor), pk=id)


def coupon_lookup(*, tenant: Tenant, actor: Actor, query: str) -> QuerySet:
    """Support's lookup: the coupon of a unique code, the coupons of a shared code, or a
    customer's coupons (by customer code); a regional operator sees their regions' customers."""
    actor.require(Action.COUPONS_SUPPORT_READ)
    query = (query or "").strip()
    qs = Coupon.objects.for_tenant(tenant).select_related("batch", "customer")
    if not query:
        return qs.none()
    code = query.upper()
    match = Q(code=code) | Q(batch__shared_code=code) | Q(customer__code=query)
    qs = _coupons_in_unit(qs.filter(match), actor)
    if actor.region_ids is not None:
        qs = qs.filter(customer__region_id__in=actor.region_ids)
    return qs.order_by("-issued_at", "-id")[:200]


def coupon_get(*, tenant: Tenant, actor: Actor, id: int) -> Coupon:
    actor.require(Action.COUPONS_SUPPORT_READ)
    qs = Coupon.objects.for_tenant(tenant).select_related("batch", "customer").filter(pk=id)
    qs = _coupons_in_unit(qs, actor)
    if actor.region_ids is not None:
        qs = qs.filter(customer__region_id__in=actor.region_ids)
    coupon = qs.first()
    if coupon is None:
        raise NotFoundError(_("Not found."))
    return coupon


def coupon_history(*, tenant: Tenant, actor: Actor, coupon: Coupon) -> QuerySet:
    """Every recorded state change of the coupon, oldest first (from the audit log), but the
    redemptions and rollbacks on orders the actor may not see (redemption_list)."""
    from core.models import AuditEntry

    qs = AuditEntry.objects.for_tenant(tenant).filter(
        object_type=Coupon._meta.label_lower, object_id=str(coupon.pk)
    )
    if actor.region_ids is not None:
        seen = redemption_list(tenant=tenant, actor=actor, filters={"coupon": coupon.pk})
        hidden = list(
            CouponRedemption.objects.for_tenant(tenant)
            .filter(coupon=coupon)
            .exclude(pk__in=seen.values("pk"))
            .values_list("order_ref", flat=True)
        )
        if hidden:  # has_key first: an entry without an order is kept (NULL never matches)
            qs = qs.exclude(after__has_key="order", after__order__in=hidden)
    return qs.order_by("created_at", "id")


def suspicious_clusters(*, tenant: Tenant, actor: Actor, filters: Mapping | None = None) -> list:
    """Device and phone fingerprints shared by many customers lately (events and redemptions):
    the "wool party" pattern. [{kind, fingerprint, customers}], most customers first.

    Only customers the actor may see count (a regional operator's regions). `filters` (see
    ClusterFilter): days (7), min_customers (3), and region, narrowing the customers to a
    region and everything below it."""
    from django.utils import timezone

    from .models import Event

    actor.require(Action.COUPONS_SUPPORT_READ)
    activity: list[QuerySet] = []
    for model in (Event, CouponRedemption):
        rows = model.objects.for_tenant(tenant)
        if actor.region_ids is not None:
            rows = rows.filter(customer__region_id__in=actor.region_ids)
        activity.append(filtered(ClusterFilter, filters, rows, tenant=tenant))
    days, min_customers = ClusterFilter.window(filters)
    since = timezone.now() - timedelta(days=days)
    seen: dict[tuple[str, str], set[int]] = {}
    for rows in activity:
        recent = rows.filter(created_at__gte=since)
        for kind, field in (("device", "device_fingerprint"), ("phone", "phone_fingerprint")):
            pairs = recent.exclude(**{field: ""}).values_list(field, "customer_id").distinct()
            for value, customer_id in pairs:
                seen.setdefault((kind, value), set()).add(customer_id)
    clusters = [
        {"kind": kind, "fingerprint": value, "customers": len(ids)}
        for (kind, value), ids in seen.items()
        if len(ids) >= min_customers
    ]
    return sorted(clusters, key=lambda c: (-c["customers"], c["kind"], c["fingerprint"]))


def blocked_customer_list(*, tenant: Tenant, actor: Actor) -> QuerySet:
    actor.require(Action.COUPONS_SUPPORT_READ)
    qs = BlockedCustomer.objects.for_tenant(tenant).select_related("customer", "created_by")
    if actor.region_ids is not None:
        qs = qs.filter(customer__region_id__in=actor.region_ids)
    return qs.order_by("-created_at", "-id")


def blocked_customer_get(*, tenant: Tenant, actor: Actor, code: str) -> BlockedCustomer:
    """The blocklist entry of a customer (by code) the actor may see."""
    return get_visible(blocked_customer_list(tenant=tenant, actor=actor), customer__code=code)


def tenant_fraud_settings(tenant: Tenant) -> FraudSettings:
    """The tenant's fraud settings, or the defaults while it never changed them. No permission
    check: every redemption and event reads them."""
    return FraudSettings.objects.for_tenant(tenant).first() or FraudSettings(tenant=tenant)


def fraud_settings_get(*, tenant: Tenant, actor: Actor) -> FraudSettings:
    actor.require(Action.COUPONS_SUPPORT_READ)
    return tenant_fraud_settings(tenant)


def campaign_limit_list(*, tenant: Tenant, actor: Actor) -> QuerySet:
    """Per-campaign redemption limits of the campaigns the actor may read."""
    actor.require(Action.COUPONS_SUPPORT_READ)
    campaigns = campaign_list(tenant=tenant, actor=actor)
    return (
        CampaignRedemptionLimit.objects.for_tenant(tenant)
        .filter(campaign__in=campaigns.values("pk"))
        .select_related("campaign")
        .order_by("campaign__name", "campaign_id")
    )
