"""Writes of prizes and lotteries (SPEC §4).

Locks are taken in one order: redemption row → prize row, or lottery row → outcome rows → prize
row; the holder's points account (inside the points services) and its lots always come last. A prize row lock serialises every redemption of that prize, so
stock and per-holder limits are exact under concurrency.
"""

import secrets
import uuid
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import scope as data_scope
from accounts.models import ApiKeyScope, Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from campaigns.scope import campaign_require_change
from campaigns.selectors import campaign_get
from core.errors import (
    ConflictError,
    NotFoundError,
    RuleRefusal,
    ValidationFailed,
    invalid_transition,
)
from core.numbers import plain_number
from core.services import audit_record, snapshot
from coupons.models import CouponBatch
from points.errors import PointsErrorCode
from points.models import Holder, PointsProgram
from points.services import account_for_holder, points_credit, points_refund, points_spend

from .errors import RedemptionErrorCode
from .models import (
    FulfilmentStatus,
    Lottery,
    LotteryDraw,
    LotteryOutcome,
    LotteryStatus,
    OutcomeKind,
    Prize,
    PrizeKind,
    PrizeRedemption,
    RedemptionStatus,
)

PRIZE_FIELDS = [
    "name",
    "kind",
    "points_cost",
    "value",
    "stock",
    "per_holder_limit",
    "available_from",
    "available_until",
    "coupon_batch",
    "is_active",
]


def _invalid(field_name: str, message: str):
    return ValidationFailed(
        message, code=RedemptionErrorCode.INVALID_PRIZE, fields={field_name: [message]}
    )


def _clean_prize(tenant: Tenant, program, data: dict) -> None:
    if data["points_cost"] < 1:
        raise _invalid("points_cost", _("At least 1 point."))
    if data["value"] < 0:
        raise _invalid("value", _("Not negative."))
    if data["stock"] < 0:
        raise _invalid("stock", _("Not negative."))
    batch = data.get("coupon_batch")
    if data["kind"] == PrizeKind.COUPON and batch is None:
        raise _invalid("coupon_batch", _("A coupon prize needs a coupon batch."))
    if batch is not None and (data["kind"] != PrizeKind.COUPON or batch.tenant_id != tenant.pk):
        raise _invalid("coupon_batch", _("Only a coupon prize names a batch of this tenant."))
    start, end = data.get("available_from"), data.get("available_until")
    if start and end and end <= start:
        raise _invalid("available_until", _("After available_from."))
    # A prize priced far from what its points are worth gives points away or overcharges them.
    if data["value"] > 0:
        per_point = data["value"] / data["points_cost"]
        if abs(per_point - program.point_value) > program.point_value * program.point_value_band:
            raise _invalid(
                "value",
                _("%(value)s for %(points)d points is outside the program's point value band.")
                % {"value": f"{data['value']:.2f}", "points": data["points_cost"]},
            )


@transaction.atomic
def prize_create(
    *,
    tenant: Tenant,
    actor: Actor,
    program: PointsProgram,
    name: str,
    kind: str,
    points_cost: int,
    value: Decimal = Decimal("0.00"),
    stock: int = 0,
    per_holder_limit: int | None = None,
    available_from: datetime | None = None,
    available_until: datetime | None = None,
    coupon_batch: CouponBatch | None = None,
    is_active: bool = True,
) -> Prize:
    actor.require(Action.CAMPAIGNS_MANAGE)
    data = {
        "name": name,
        "kind": kind,
        "points_cost": points_cost,
        "value": value,
        "stock": stock,
        "per_holder_limit": per_holder_limit,
        "available_from": available_from,
        "available_until": available_until,
        "coupon_batch": coupon_batch,
        "is_active": is_active,
    }
    if program.tenant_id != tenant.pk:
        raise NotFoundError(_("Not found."))
    _clean_prize(tenant, program, data)
    _require_batch_usable(tenant, actor, coupon_batch)
    prize = Prize.objects.create(tenant=tenant, program=program, **data)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="prize.create",
        obj=prize,
        after=snapshot(prize, fields=["program", *PRIZE_FIELDS]),
    )
    return prize


def _lock_prize(tenant: Tenant, prize_id: int) -> Prize:
    return (
        Prize.objects.for_tenant(tenant)
        .select_for_update(of=("self",), no_key=True)
        .select_related("program")
        .get(pk=prize_id)
    )


@transaction.atomic
def prize_update(
    *,
    tenant: Tenant,
    actor: Actor,
    prize: Prize,
    **changes,  # a partial update: only the fields sent (of PRIZE_FIELDS) change
) -> Prize:
    """Only the fields sent change; the program and the redeemed count never do."""
    actor.require(Action.CAMPAIGNS_MANAGE)
    unknown = set(changes) - set(PRIZE_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown fields: %s") % ", ".join(sorted(unknown)))
    prize = _lock_prize(tenant, prize.pk)
    before = snapshot(prize, fields=PRIZE_FIELDS)
    data = {name: getattr(prize, name) for name in PRIZE_FIELDS} | changes
    _clean_prize(tenant, prize.program, data)
    _require_batch_usable(tenant, actor, changes.get("coupon_batch"))
    for name, value in changes.items():
        setattr(prize, name, value)
    prize.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="prize.update",
        obj=prize,
        before=before,
        after=snapshot(prize, fields=PRIZE_FIELDS),
    )
    return prize


def _require_redeemer(actor: Actor, staff) -> None:
    """Operators and integrators (key scope `points`) redeem for anyone in their scope; a
    merchant staff member (portal) for themselves only."""
    if actor.can(Action.POINTS_ADJUST) or actor.has_scope(ApiKeyScope.POINTS):
        data_scope.require_staff(actor, staff)  # a regional operator: their regions' staff
        return
    actor.require(Action.PORTAL_OWN)
    if actor.user is None or staff.user_id != actor.user.pk:
        raise NotFoundError(_("Not found."))


def _require_batch_usable(tenant: Tenant, actor: Actor, batch: CouponBatch | None) -> None:
    """A coupon prize or outcome hands out the batch's coupons, so the actor must be able to
    issue from it: its campaign visible (else not found) and changeable (SPEC §7)."""
    if batch is None:
        return
    campaign = campaign_get(tenant=tenant, actor=actor, id=batch.campaign_id)
    campaign_require_change(actor=actor, campaign=campaign)


def _require_staff_program(program) -> None:
    if program.holder != Holder.STAFF:
        raise ValidationFailed(
            _("This is for another kind of holder."), code=PointsErrorCode.WRONG_HOLDER
        )


def _check_available(prize: Prize, now) -> None:
    closed = (
        not prize.is_active
        or (prize.available_from and now < prize.available_from)
        or (prize.available_until and now >= prize.available_until)
    )
    if closed:
        raise RuleRefusal(
            _("This prize is not available now."), code=RedemptionErrorCode.NOT_AVAILABLE
        )


@transaction.atomic
def prize_redeem(
    *,
    tenant: Tenant,
    actor: Actor,
    staff,
    prize: Prize,
    quantity: int = 1,
    shipping_address: str = "",
) -> PrizeRedemption:
    """Spend the holder's points on `quantity` of a prize and take the stock, in one transaction.

    409 out_of_stock, 422 limit_reached / not_available / insufficient_points. A coupon prize
    records the redemption only: coupons belong to customers while a redemption names a staff
    member, so the coupon is handed over outside the platform (SPEC §4 leaves who receives it).
    """
    _require_redeemer(actor, staff)
    if quantity < 1:
        raise ValidationFailed(_("Redeem at least one."), fields={"quantity": [_("At least 1.")]})
    prize = _lock_prize(tenant, prize.pk)
    _check_available(prize, timezone.now())
    _require_staff_program(prize.program)
    if prize.kind == PrizeKind.PHYSICAL and not shipping_address.strip():
        raise ValidationFailed(
            _("Where to ship it?"), fields={"shipping_address": [_("Required.")]}
        )
    if prize.stock < quantity:
        raise ConflictError(_("Out of stock."), code=RedemptionErrorCode.OUT_OF_STOCK)
    account = account_for_holder(tenant=tenant, program=prize.program, holder=staff)
    if prize.per_holder_limit is not None:
        taken = (
            PrizeRedemption.objects.for_tenant(tenant)
            .filter(prize=prize, account=account, status=RedemptionStatus.REDEEMED)
            .aggregate(s=Sum("quantity"))["s"]
            or 0
        )
        if taken + quantity > prize.per_holder_limit:
            raise RuleRefusal(
                _("At most %d per holder.") % prize.per_holder_limit,
                code=RedemptionErrorCode.LIMIT_REACHED,
            )
    points = prize.points_cost * quantity
    spend = points_spend(
        tenant=tenant,
        actor=actor,
        account=account,
        points=points,
        reference=f"prize:{prize.pk}:{uuid.uuid4().hex}",
        source=f"prize:{prize.pk}",
    )
    # Under the row lock this cannot miss; the condition keeps stock from ever going negative.
    took = (
        Prize.objects.for_tenant(tenant)
        .filter(pk=prize.pk, stock__gte=quantity)
        .update(stock=F("stock") - quantity, redeemed=F("redeemed") + quantity)
    )
    if not took:
        raise ConflictError(_("Out of stock."), code=RedemptionErrorCode.OUT_OF_STOCK)
    redemption = PrizeRedemption.objects.create(
        tenant=tenant,
        prize=prize,
        account=account,
        staff=staff,
        quantity=quantity,
        points=points,
        spend_entry=spend,
        shipping_address=shipping_address.strip(),
        fulfilment_status=FulfilmentStatus.PENDING
        if prize.kind == PrizeKind.PHYSICAL
        else FulfilmentStatus.NOT_NEEDED,
        operator_label=actor.label,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="prize.redeem",
        obj=redemption,
        after={"prize": prize.pk, "account": account.pk, "quantity": quantity, "points": points},
    )
    return redemption


@transaction.atomic
def redemption_cancel(
    *, tenant: Tenant, actor: Actor, redemption: PrizeRedemption, note: str = ""
) -> PrizeRedemption:
    """Refund the points and return the stock, once (409 invalid_transition after)."""
    redemption = (
        PrizeRedemption.objects.for_tenant(tenant)
        .select_for_update(of=("self",), no_key=True)
        .select_related("staff", "spend_entry")
        .get(pk=redemption.pk)
    )
    _require_redeemer(actor, redemption.staff)
    if redemption.status != RedemptionStatus.REDEEMED:
        raise invalid_transition("the redemption", redemption.status, RedemptionStatus.CANCELLED)
    prize = _lock_prize(tenant, redemption.prize_id)
    refund = points_refund(
        tenant=tenant,
        actor=actor,
        spend=redemption.spend_entry,
        reference=f"prize_redemption:{redemption.pk}:cancel",
    )
    Prize.objects.for_tenant(tenant).filter(pk=prize.pk).update(
        stock=F("stock") + redemption.quantity, redeemed=F("redeemed") - redemption.quantity
    )
    redemption.status = RedemptionStatus.CANCELLED
    redemption.refund_entry = refund
    redemption.save(update_fields=["status", "refund_entry", "updated_at"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action="prize.redemption_cancel",
        obj=redemption,
        before={"status": RedemptionStatus.REDEEMED},
        after={"status": RedemptionStatus.CANCELLED, "points_refunded": refund.points},
        note=note,
    )
    return redemption


# --- lotteries --------------------------------------------------------------------------------

# Probabilities have six decimals: a draw picks one of a million equally likely tickets.
TICKETS = 1_000_000


def _lottery_invalid(field_name: str, message: str):
    return ValidationFailed(
        message, code=RedemptionErrorCode.INVALID_LOTTERY, fields={field_name: [message]}
    )


def _clean_outcome(tenant: Tenant, program, outcome: dict) -> None:
    kind = outcome["kind"]
    needs = {OutcomeKind.POINTS: "points", OutcomeKind.PRIZE: "prize", OutcomeKind.COUPON: "batch"}
    for name in ("points", "prize", "batch"):
        if (outcome.get(name) is not None) != (needs.get(kind) == name):
            raise _lottery_invalid("outcomes", _("A %(kind)s outcome names only its %(what)s.")
                                   % {"kind": kind, "what": needs.get(kind, "probability")})  # fmt: skip
    if kind == OutcomeKind.POINTS and outcome["points"] < 1:
        raise _lottery_invalid("outcomes", _("A points outcome gives at least 1 point."))
    prize, batch = outcome.get("prize"), outcome.get("batch")
    if prize is not None and (prize.tenant_id != tenant.pk or prize.program_id != program.pk):
        raise _lottery_invalid("outcomes", _("A prize of the lottery's program."))
    if batch is not None and batch.tenant_id != tenant.pk:
        raise _lottery_invalid("outcomes", _("Unknown coupon batch."))
    if kind == OutcomeKind.NOTHING and outcome.get("inventory") is not None:
        raise _lottery_invalid("outcomes", _("Nothing has no inventory."))
    if not Decimal(0) < outcome["probability"] <= Decimal(1):
        raise _lottery_invalid("outcomes", _("A probability is above 0 and at most 1."))


@transaction.atomic
def lottery_create(
    *, tenant: Tenant, actor: Actor, program, name: str, cost_points: int, outcomes: list[dict]
) -> Lottery:
    """A draft lottery with its prize table; the probabilities add up to exactly 1."""
    actor.require(Action.CAMPAIGNS_MANAGE)
    if program.tenant_id != tenant.pk:
        raise NotFoundError(_("Not found."))
    _require_staff_program(program)
    if cost_points < 1:
        raise _lottery_invalid("cost_points", _("At least 1 point."))
    if not outcomes:
        raise _lottery_invalid("outcomes", _("At least one outcome."))
    for outcome in outcomes:
        _clean_outcome(tenant, program, outcome)
        _require_batch_usable(tenant, actor, outcome.get("batch"))
    total = sum(o["probability"] for o in outcomes)
    if total != 1:
        raise _lottery_invalid(
            "outcomes",
            _("The probabilities must add up to 1 (they add up to %(total)s).")
            % {"total": plain_number(total)},
        )
    lottery = Lottery.objects.create(
        tenant=tenant, program=program, name=name, cost_points=cost_points
    )
    LotteryOutcome.objects.bulk_create(
        [LotteryOutcome(tenant=tenant, lottery=lottery, **outcome) for outcome in outcomes]
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="lottery.create",
        obj=lottery,
        after={
            "program": program.pk,
            "name": name,
            "cost_points": cost_points,
            "outcomes": [
                {
                    "kind": o["kind"],
                    "points": o.get("points"),
                    "prize": getattr(o.get("prize"), "pk", None),
                    "batch": getattr(o.get("batch"), "pk", None),
                    "probability": str(o["probability"]),
                    "inventory": o.get("inventory"),
                }
                for o in outcomes
            ],
        },
    )
    return lottery


def expected_points(lottery: Lottery) -> Decimal:
    """The points a draw returns on average: points outcomes, and prizes at their points cost."""
    total = Decimal(0)
    for outcome in lottery.outcomes.all():  # prefetched with their prizes by the selectors
        if outcome.kind == OutcomeKind.POINTS:
            total += outcome.probability * outcome.points
        elif outcome.kind == OutcomeKind.PRIZE:
            total += outcome.probability * outcome.prize.points_cost
    return total


def _lock_lottery(tenant: Tenant, lottery_id: int) -> Lottery:
    return (
        Lottery.objects.for_tenant(tenant)
        .select_for_update(of=("self",), no_key=True)
        .select_related("program")
        .get(pk=lottery_id)
    )


def _lottery_move(tenant: Tenant, actor: Actor, lottery, allowed: tuple, target: str, note: str):
    actor.require(Action.CAMPAIGNS_MANAGE)
    lottery = _lock_lottery(tenant, lottery.pk)
    if lottery.status not in allowed:
        raise invalid_transition("the lottery", lottery.status, target)
    before = lottery.status
    lottery.status = target
    lottery.save(update_fields=["status", "updated_at"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action=f"lottery.{target}",
        obj=lottery,
        before={"status": before},
        after={"status": target},
        note=note,
    )
    return lottery


@transaction.atomic
def lottery_activate(*, tenant: Tenant, actor: Actor, lottery: Lottery, note: str = "") -> Lottery:
    """Live only when a draw costs at least the points it returns on average (SPEC §4):
    422 lottery_inflationary otherwise."""
    expected = expected_points(lottery)
    if expected > lottery.cost_points:
        raise RuleRefusal(
            _("A draw returns %(expected)s points on average but costs %(cost)d.")
            % {"expected": plain_number(expected), "cost": lottery.cost_points},
            code=RedemptionErrorCode.LOTTERY_INFLATIONARY,
        )
    return _lottery_move(tenant, actor, lottery, (LotteryStatus.DRAFT,), LotteryStatus.ACTIVE, note)


@transaction.atomic
def lottery_end(*, tenant: Tenant, actor: Actor, lottery: Lottery, note: str = "") -> Lottery:
    return _lottery_move(
        tenant, actor, lottery, (LotteryStatus.DRAFT, LotteryStatus.ACTIVE), LotteryStatus.ENDED,
        note,
    )  # fmt: skip


class _Exhausted(Exception):
    pass


def _take_outcome(tenant: Tenant, outcome: LotteryOutcome) -> bool:
    """Count the win against the outcome's inventory (and a prize's stock), or nothing at all."""
    try:
        with transaction.atomic():  # a savepoint: a prize out of stock gives the ticket back
            taken = (
                LotteryOutcome.objects.for_tenant(tenant)
                .filter(Q(inventory__isnull=True) | Q(won__lt=F("inventory")), pk=outcome.pk)
                .update(won=F("won") + 1)
            )
            if not taken:
                raise _Exhausted
            if outcome.kind == OutcomeKind.PRIZE:
                took = (
                    Prize.objects.for_tenant(tenant)
                    .filter(pk=outcome.prize_id, stock__gte=1)
                    .update(stock=F("stock") - 1, redeemed=F("redeemed") + 1)
                )
                if not took:
                    raise _Exhausted
    except _Exhausted:
        return False
    return True


def _pick(outcomes: list[LotteryOutcome]) -> LotteryOutcome:
    ticket = secrets.SystemRandom().randrange(TICKETS)
    for outcome in outcomes:
        ticket -= int(outcome.probability * TICKETS)
        if ticket < 0:
            return outcome
    return outcomes[-1]


@transaction.atomic
def lottery_draw(*, tenant: Tenant, actor: Actor, lottery: Lottery, staff) -> LotteryDraw:
    """Spend a draw's cost and draw with a cryptographic random source. An outcome whose
    inventory (or prize stock) is gone yields nothing instead: its probability goes to nothing.

    Coupon and prize wins are recorded on the draw (coupons belong to customers, so a staff
    member's coupon is handed over outside the platform); points wins are credited at once.
    """
    _require_redeemer(actor, staff)
    # The lottery's row lock serialises its draws: inventories are counted exactly.
    lottery = _lock_lottery(tenant, lottery.pk)
    if lottery.status != LotteryStatus.ACTIVE:
        raise RuleRefusal(_("This lottery is not open."), code=RedemptionErrorCode.NOT_AVAILABLE)
    outcomes = list(LotteryOutcome.objects.for_tenant(tenant).filter(lottery=lottery))
    picked = _pick(outcomes)
    won: LotteryOutcome | None = picked  # None: neither it nor "nothing" had stock left
    if picked.kind == OutcomeKind.NOTHING or not _take_outcome(tenant, picked):
        nothing = next((o for o in outcomes if o.kind == OutcomeKind.NOTHING), None)
        won = nothing if nothing is not None and _take_outcome(tenant, nothing) else None
    account = account_for_holder(tenant=tenant, program=lottery.program, holder=staff)
    reference = f"lottery:{lottery.pk}:{uuid.uuid4().hex}"
    spend = points_spend(
        tenant=tenant,
        actor=actor,
        account=account,
        points=lottery.cost_points,
        reference=reference,
        source=f"lottery:{lottery.pk}",
    )
    award = None
    if won is not None and won.kind == OutcomeKind.POINTS:
        assert won.points is not None, "a points outcome names its points (_clean_outcome)"
        award = points_credit(
            tenant=tenant,
            actor=actor,
            account=account,
            points=won.points,
            reference=f"{reference}:win",
            source=f"lottery:{lottery.pk}",
        )
    draw = LotteryDraw.objects.create(
        tenant=tenant,
        lottery=lottery,
        account=account,
        staff=staff,
        outcome=won,
        spend_entry=spend,
        award_entry=award,
        operator_label=actor.label,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="lottery.draw",
        obj=draw,
        after={
            "lottery": lottery.pk,
            "account": account.pk,
            "outcome": won.pk if won else None,
            "kind": won.kind if won else OutcomeKind.NOTHING,
        },
    )
    return draw
