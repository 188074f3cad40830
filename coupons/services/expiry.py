"""Coupons lose their validity: on time (the beat runs the expiry) or with their campaign.
Either way, what they reserved goes back to the budget."""

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Tenant
from accounts.permissions import Actor
from budgets.services import budget_release
from campaigns.models import Campaign
from core.services import audit_record

from ..models import BatchStatus, Coupon, CouponBatch, CouponStatus
from ._common import CENT
from .batches import batch_end

EXPIRE_CHUNK = 5000


def _expire_rows_postgres(table: str, now, size: int) -> list[tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH due AS (
                SELECT id FROM {table}
                WHERE status = %s AND valid_until <= %s
                ORDER BY valid_until, id LIMIT %s
                FOR UPDATE SKIP LOCKED
            )
            UPDATE {table} c SET status = %s, updated_at = %s
            FROM due WHERE c.id = due.id
            RETURNING c.batch_id, c.id
            """,
            [CouponStatus.ISSUED, now, size, CouponStatus.EXPIRED, now],
        )
        rows = cursor.fetchall()
    return rows


def _expire_rows_portable(now, size: int) -> list[tuple[int, int]]:
    """The embedded SQLite default (one writer at a time): select, then update what is still
    issued."""
    due = Coupon.objects.unscoped().filter(status=CouponStatus.ISSUED, valid_until__lte=now)
    rows = list(due.order_by("valid_until", "id").values_list("batch_id", "id")[:size])
    Coupon.objects.unscoped().filter(pk__in=[r[1] for r in rows]).update(
        status=CouponStatus.EXPIRED, updated_at=now
    )
    return rows


def _expire_chunk(now, size: int) -> int:
    """Expire up to `size` due coupons in one transaction and release what they reserved: one
    release per batch, named by the chunk's first coupon (a coupon expires once, so the name is
    unique). SKIP LOCKED lets two runs share the work instead of waiting on each other."""
    table = Coupon._meta.db_table
    with transaction.atomic():
        if connection.vendor != "postgresql":
            rows = _expire_rows_portable(now, size)
        else:
            rows = _expire_rows_postgres(table, now, size)
        per_batch: dict[int, list[int]] = {}
        for batch_id, coupon_id in rows:
            per_batch.setdefault(batch_id, []).append(coupon_id)
        batches = (
            CouponBatch.objects.unscoped()
            .filter(pk__in=per_batch)
            .select_related("tenant", "campaign", "campaign__budget")
        )
        for batch in batches:
            ids = per_batch[batch.pk]
            amount = (batch.unit_cost * len(ids)).quantize(CENT)
            budget_release(
                tenant=batch.tenant,
                budget=batch.campaign.budget,
                amount=amount,
                reference=f"coupon-batch:{batch.pk}:expire:{min(ids)}",
                campaign=batch.campaign,
                source="coupon_expiry",
                note=f"{batch.name}: {len(ids)} coupons expired",
            )
    return len(rows)


def coupons_expire_due(*, now=None, chunk: int = EXPIRE_CHUNK) -> int:
    """Expire every issued coupon past its validity, chunk by chunk (platform-wide: the beat
    runs it). Safe to run twice or at once: a coupon leaves `issued` in exactly one chunk."""
    now = now or timezone.now()
    total = 0
    while True:
        done = _expire_chunk(now, chunk)
        total += done
        if done < chunk:
            return total


CAMPAIGN_END_CHUNK = 5000


def _expire_with_campaign(
    tenant: Tenant, batch_ids: list[int], now, *, late: bool
) -> dict[int, list[int]]:
    """The coupons of batches that don't extend past their campaign lose their validity now
    (`valid_until` becomes the end): issued ones expire; printed codes never bound stay
    `unassigned` (only a holder's coupon can be expired) but can no longer be used; redeemed
    ones keep their status, and a rollback later finds them expired. Returns by batch the ids of
    those whose reservation is to be released (issued and printed).

    Rows are locked in primary-key order, a chunk at a time, as every coupon writer does. The
    `late` pass runs after the batches are locked: it skips rows someone holds (they take the
    coupon before the batch) and takes only what the first pass left valid, so nothing is
    released twice."""
    coupons = Coupon.objects.for_tenant(tenant).filter(batch_id__in=batch_ids)
    valid = Q(valid_until__isnull=True) | Q(valid_until__gt=now)
    holding = [CouponStatus.ISSUED] if late else [CouponStatus.ISSUED, CouponStatus.UNASSIGNED]
    live = coupons.filter(
        Q(status__in=holding)
        | (Q(status__in=[CouponStatus.UNASSIGNED, CouponStatus.REDEEMED]) & valid)
    )
    released: dict[int, list[int]] = {}
    last = 0
    while True:
        rows = list(
            live.filter(pk__gt=last)
            .order_by("pk")
            .select_for_update(no_key=True, skip_locked=late)
            .values_list("pk", "batch_id", "status")[:CAMPAIGN_END_CHUNK]
        )
        if not rows:
            return released
        last = rows[-1][0]
        coupons.filter(valid, pk__in=[pk for pk, _b, _s in rows]).update(
            valid_until=now, updated_at=now
        )
        coupons.filter(
            pk__in=[pk for pk, _b, status in rows if status == CouponStatus.ISSUED]
        ).update(status=CouponStatus.EXPIRED, updated_at=now)
        for pk, batch_id, status in rows:
            if status != CouponStatus.REDEEMED:
                released.setdefault(batch_id, []).append(pk)


def coupons_on_campaign_ended(*, tenant: Tenant, actor: Actor, campaign: Campaign) -> int:
    """A campaign ended (by hand or on time): its active and paused batches end as `batch_end`
    ends one (the stock never issued is released), and the coupons of batches without
    `extend_past_campaign` end with it (see _expire_with_campaign), their reservation released.
    Coupons of batches that extend past the campaign stay usable, and reserved, until their own
    validity ends (the expiry task then releases them). Called by campaigns' services in their transaction, with
    the campaign's row locked; returns how many coupons gave their reservation back.

    Lock order: coupon rows (pk order), then the batch rows (pk order), then the budget, as
    redeem, rollback and order close take them. A coupon issued while this waited for a batch
    is caught by a second pass that skips rows someone holds (it would be the coupon before
    the batch for them); such a coupon is refused anyway: the rules treat it as expired.
    """
    now = timezone.now()
    batches = CouponBatch.objects.for_tenant(tenant).filter(campaign=campaign)
    # Every batch that had coupons, ended by hand before or ending now (drafts have none).
    closing = list(
        batches.filter(extend_past_campaign=False)
        .exclude(status=BatchStatus.DRAFT)
        .values_list("pk", flat=True)
    )
    released = _expire_with_campaign(tenant, closing, now, late=False)
    ending = batches.filter(status__in=[BatchStatus.ACTIVE, BatchStatus.PAUSED])
    note = _("The campaign ended.")
    for batch in ending.order_by("pk").select_for_update(of=("self",)):
        batch_end(tenant=tenant, actor=actor, batch=batch, note=note)
    for batch_id, ids in _expire_with_campaign(tenant, closing, now, late=True).items():
        released.setdefault(batch_id, []).extend(ids)
    for batch in batches.filter(pk__in=released).order_by("pk"):
        ids = released[batch.pk]
        budget_release(
            tenant=tenant,
            budget=campaign.budget,
            amount=(batch.unit_cost * len(ids)).quantize(CENT),
            reference=f"coupon-batch:{batch.pk}:campaign-end:{min(ids)}",
            actor=actor,
            campaign=campaign,
            source="coupon_expiry",
            note=f"{batch.name}: {len(ids)} coupons ended with the campaign",
        )
        audit_record(
            tenant=tenant,
            actor=actor,
            action="coupon_batch.expire_coupons",
            obj=batch,
            after={"released_coupons": len(ids)},
            note=note,
        )
    return sum(len(ids) for ids in released.values())
