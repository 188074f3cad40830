"""Programs, running campaigns and rules for tests, built through the services."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import MerchantStaff
from accounts.roles import Role
from campaigns.models import Campaign
from campaigns.tests import factories as campaigns
from orders.models import Order
from orders.services import OrderFacts, order_place
from points import services
from points.models import (
    Bucket,
    LedgerEntry,
    Lot,
    LotMovement,
    LotStatus,
    PointsAccount,
    PointsProgram,
)

NOV_1 = datetime(2026, 11, 1, tzinfo=UTC)
DEC_1 = datetime(2026, 12, 1, tzinfo=UTC)


def program(world, **kwargs):
    fields = {"name": "Staff task points", "holder": "staff", "point_value": Decimal("0.01")}
    fields.update(kwargs)
    return services.program_create(tenant=world.tenant, actor=world.actor(Role.OPERATOR), **fields)


def running_campaign(world, *, amount="1000.00", starts_at=NOV_1, ends_at=DEC_1) -> Campaign:
    """November's campaign under a points budget, in both regions (the orders are placed then)."""
    return campaigns.running_campaign(
        world, amount=amount, purpose="points", starts_at=starts_at, ends_at=ends_at,
        regions=[world.region, world.other_region],
    )  # fmt: skip


def rule(world, campaign, prog, regions=(), **kwargs):
    return services.rule_create(
        tenant=world.tenant,
        actor=world.actor(Role.OPERATOR),
        campaign=campaign,
        program=prog,
        regions=list(regions),
        **kwargs,
    )


_counter = iter(range(1, 10**9))


def place(world, *, amount="100.00", staff=None, region=None, placed_at=None, external_id=None):
    staff = staff or world.staff
    order, _created = order_place(
        tenant=world.tenant,
        actor=world.system,
        facts=OrderFacts(
            external_id=external_id or f"O-{next(_counter)}",
            merchant=staff.merchant,
            staff=staff,
            region=region or world.region,
            amount=Decimal(amount),
            placed_at=placed_at or datetime(2026, 11, 11, 2, 0, tzinfo=UTC),
        ),
    )
    return order


# --- bulk history: many staff with long ledgers, for query-count and paging tests ---------------

# One cycle of a staff member's life, entry by entry (a prefix of it is consistent too):
# earn A → activate A; earn B → cancel B (order closed while pending); earn C → activate C →
# reverse C (closed after completing); spend 10 (A used up, a prize); adjust +15 (D) → expire D;
# earn E (stays pending, order open); adjust +5 (G, usable, expiring in 1-60 days).
_CYCLE = (
    "earn:A:10", "activate:A", "earn:B:20", "cancel:B", "earn:C:30", "activate:C", "reverse:C",
    "spend:A:10", "adjust:D:15", "expire:D", "earn:E:8", "adjust:G:5",
)  # fmt: skip
_ORDER_STATUS = {"A": "completed", "B": "closed", "C": "closed", "E": "open"}


def staff_with_history(
    world,
    *,
    staff_count=50,
    entries_each=200,
    points_program=None,
    include_world_staff=True,
    now=None,
):
    """`staff_count` staff of world.merchant (world.staff first, unless told not to) with an
    account in a staff program (`points_program`, else "Staff task points", made if missing) and
    `entries_each` ledger entries each, with their orders, lots and lot movements.

    Inserted with bulk_create only (entries are append-only), ~10 statements in all; the
    accounts' balance and pending equal the sums of their entries and lots (check_ledger holds).
    Entries come in the cycle above, so every status a history shows is there: pending, usable,
    spent, cancelled, reversed, expired; lots expire 1-60 days from `now`. Returns the staff.
    """
    tenant, now = world.tenant, now or timezone.now()
    staff_program = points_program or (
        PointsProgram.objects.for_tenant(tenant).filter(name="Staff task points").first()
        or program(world)
    )
    batch = next(_counter)
    staff = [world.staff] if include_world_staff and staff_count else []
    staff += MerchantStaff.objects.bulk_create(
        [
            MerchantStaff(
                tenant=tenant,
                merchant=world.merchant,
                code=f"H{batch}-{n:04d}",
                name=f"History staff {batch}-{n:04d}",
            )
            for n in range(staff_count - len(staff))
        ]
    )
    existing = {
        a.staff_id: a
        for a in PointsAccount.objects.for_tenant(tenant).filter(
            program=staff_program, staff__in=staff
        )
    }
    PointsAccount.objects.bulk_create(
        [
            PointsAccount(tenant=tenant, program=staff_program, staff=s)
            for s in staff
            if s.pk not in existing
        ]
    )
    accounts = {
        a.staff_id: a
        for a in PointsAccount.objects.for_tenant(tenant).filter(
            program=staff_program, staff__in=staff
        )
    }

    # First pass, in memory: the orders, then per entry its deltas and the lots it touches.
    orders, plans = [], []  # plans: (account, cycle, verb, lot letter, points, order index)
    for person in staff:
        for i in range(entries_each):
            cycle, step = divmod(i, len(_CYCLE))
            verb, letter, *size = _CYCLE[step].split(":")
            order_index = None
            if verb == "earn":
                order_index = len(orders)
                orders.append(
                    Order(
                        tenant=tenant,
                        external_id=f"H{batch}-{person.pk}-{i}",
                        merchant=world.merchant,
                        staff=person,
                        region_id=world.merchant.region_id or world.region.pk,
                        amount="100.00",
                        placed_at=now - timedelta(hours=entries_each - i),
                        status=_ORDER_STATUS[letter],
                        payload_hash="factory",
                    )
                )
            points = int(size[0]) if size else 0
            plans.append((accounts[person.pk], cycle, verb, letter, points, order_index))
    Order.objects.bulk_create(orders, batch_size=2000)

    entries, lots, moves = [], {}, []  # lots: (account id, cycle, letter) → Lot
    for account, cycle, verb, letter, points, order_index in plans:
        key = (account.pk, cycle, letter)
        lot = lots.get(key)
        order = orders[order_index] if order_index is not None else None
        pending = usable = 0
        if verb == "earn":
            pending = points
            lot = lots[key] = Lot(
                tenant=tenant, account=account, order=order, points=points, remaining=points,
                status=LotStatus.PENDING, earned_at=order.placed_at,
            )  # fmt: skip
        elif verb == "adjust":
            usable = points
            expires = now + timedelta(days=1 + (cycle * 7) % 60) if letter == "G" else now
            lot = lots[key] = Lot(
                tenant=tenant, account=account, points=points, remaining=points,
                status=LotStatus.OPEN, earned_at=now - timedelta(days=1), expires_at=expires,
            )  # fmt: skip
        elif verb == "activate":
            pending, usable, points = -lot.remaining, lot.remaining, lot.remaining
            lot.status = LotStatus.OPEN
        else:  # cancel, reverse, spend, expire: the lot gives all it has left
            points = lot.remaining
            if verb == "cancel":
                pending = -points
            else:
                usable = -points
            lot.remaining = 0
            lot.status = {
                "cancel": LotStatus.CANCELLED,
                "reverse": LotStatus.REVERSED,
                "spend": LotStatus.USED,
                "expire": LotStatus.EXPIRED,
            }[verb]
        account.pending += pending
        account.balance += usable
        if verb == "earn":
            account.lifetime_earned += points
        elif verb in ("cancel", "reverse"):  # as points_on_order_closed does
            account.lifetime_earned -= points
        entry = LedgerEntry(
            tenant=tenant,
            account=account,
            kind=verb,
            bucket=Bucket.PENDING if pending and not usable else Bucket.USABLE,
            points=points,
            pending_delta=pending,
            usable_delta=usable,
            balance_after=account.balance,
            pending_after=account.pending,
            order=lot.order if verb in ("earn", "activate", "cancel", "reverse") else None,
            source={"spend": "prize:0", "adjust": "" if letter == "D" else "lottery:0"}.get(
                verb, ""
            ),
            reason="Goodwill" if (verb, letter) == ("adjust", "D") else "",
            reference=f"factory:{batch}:{account.pk}:{len(entries)}",
        )
        entries.append(entry)
        if verb in ("earn", "adjust"):
            lot.entry = entry
        else:
            moves.append((entry, lot, points))
    LedgerEntry.objects.bulk_create(entries, batch_size=2000)
    for lot in lots.values():
        lot.entry_id = lot.entry.pk
    Lot.objects.bulk_create(list(lots.values()), batch_size=2000)
    LotMovement.objects.bulk_create(
        [LotMovement(tenant=tenant, entry=e, lot=lot, points=p) for e, lot, p in moves],
        batch_size=2000,
    )
    PointsAccount.objects.for_tenant(tenant).bulk_update(
        list(accounts.values()), ["balance", "pending", "lifetime_earned"], batch_size=500
    )
    return staff
