"""Lotteries: their prize table, their life cycle and their draws (SPEC §4).

Locks are taken in one order: lottery row → outcome rows → prize row, or the coupon rows a
coupon win issues (coupons' own order); the holder's points account (inside the points
services) and its lots always come last. The lottery's row lock
serialises its draws, so inventories and prize stock are counted exactly.
"""

import random
import secrets
import uuid
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from accounts.models import Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from core.errors import (
    ConflictError,
    NotFoundError,
    RuleRefusal,
    ValidationFailed,
    invalid_transition,
)
from core.numbers import plain_number
from core.services import audit_record
from coupons.models import Coupon
from coupons.services import coupon_issue_as_reward
from points.services import account_for_holder, points_credit, points_spend

from ..errors import RedemptionErrorCode
from ..models import (
    Lottery,
    LotteryDraw,
    LotteryOutcome,
    LotteryStatus,
    OutcomeKind,
    Prize,
    PrizeKind,
)
from ._common import (
    _linked_customer,
    _one_row_per_request_key,
    _replayed,
    _require_batch_usable,
    _require_redeemer,
    _require_staff_program,
    _throttle,
)

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
    if prize is not None and prize.kind == PrizeKind.PHYSICAL:  # a draw asks for no address
        raise _lottery_invalid(
            "outcomes", _("A physical prize ships to an address: offer it in the catalogue.")
        )
    if batch is not None and batch.tenant_id != tenant.pk:
        raise _lottery_invalid("outcomes", _("Unknown coupon batch."))
    if kind == OutcomeKind.NOTHING and outcome.get("inventory") is not None:
        raise _lottery_invalid("outcomes", _("Nothing has no inventory."))
    if not Decimal(0) < outcome["probability"] <= Decimal(1):
        raise _lottery_invalid("outcomes", _("A probability is above 0 and at most 1."))


def _clean_lottery(
    tenant: Tenant, actor: Actor, program, cost_points: int, outcomes: list[dict]
) -> None:
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


def _lottery_design(name: str, cost_points: int, outcomes: list[dict]) -> dict:
    """The lottery as the audit log keeps it."""
    return {
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
    }


@transaction.atomic
def lottery_create(
    *, tenant: Tenant, actor: Actor, program, name: str, cost_points: int, outcomes: list[dict]
) -> Lottery:
    """A draft lottery with its prize table; the probabilities add up to exactly 1."""
    actor.require(Action.CAMPAIGNS_MANAGE)
    if program.tenant_id != tenant.pk:
        raise NotFoundError(_("Not found."))
    _clean_lottery(tenant, actor, program, cost_points, outcomes)
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
        after={"program": program.pk, **_lottery_design(name, cost_points, outcomes)},
    )
    return lottery


@transaction.atomic
def lottery_update(
    *, tenant: Tenant, actor: Actor, lottery: Lottery, name: str, cost_points: int,
    outcomes: list[dict],
) -> Lottery:  # fmt: skip
    """A draft's name, cost and whole prize table, replaced (409 invalid_transition once it
    went live: a draw already made was drawn against the table it had)."""
    actor.require(Action.CAMPAIGNS_MANAGE)
    lottery = _lock_lottery(tenant, lottery.pk)
    if lottery.status != LotteryStatus.DRAFT:
        raise invalid_transition("the lottery", lottery.status, "edited")
    _clean_lottery(tenant, actor, lottery.program, cost_points, outcomes)
    old = LotteryOutcome.objects.for_tenant(tenant).filter(lottery=lottery)
    before = {
        "name": lottery.name,
        "cost_points": lottery.cost_points,
        "outcomes": [
            {**row, "probability": str(row["probability"])}
            for row in old.values("kind", "points", "prize", "batch", "probability", "inventory")
        ],
    }
    LotteryOutcome.objects.for_tenant(tenant).filter(lottery=lottery).delete()
    LotteryOutcome.objects.bulk_create(
        [LotteryOutcome(tenant=tenant, lottery=lottery, **outcome) for outcome in outcomes]
    )
    lottery.name, lottery.cost_points = name, cost_points
    lottery.save(update_fields=["name", "cost_points", "updated_at"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action="lottery.update",
        obj=lottery,
        before=before,
        after=_lottery_design(name, cost_points, outcomes),
    )
    return lottery


def expected_points(lottery: Lottery) -> Decimal:
    """The points a draw returns on average (SPEC §4): points outcomes; a prize at what it is
    worth in points, its price or its money at the program's point value, whichever is more;
    a coupon at the most it can take off, at the program's point value."""
    point_value = lottery.program.point_value
    total = Decimal(0)
    for outcome in lottery.outcomes.all():  # prefetched with their prizes by the selectors
        if outcome.kind == OutcomeKind.POINTS:
            worth = Decimal(outcome.points)
        elif outcome.kind == OutcomeKind.PRIZE:
            worth = max(Decimal(outcome.prize.points_cost), outcome.prize.value / point_value)
        elif outcome.kind == OutcomeKind.COUPON:
            worth = outcome.batch.unit_cost / point_value
        else:
            continue
        total += outcome.probability * worth
    return total.quantize(Decimal("0.01"))


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


def _take_outcome(tenant: Tenant, outcome: LotteryOutcome, customer) -> tuple[bool, Coupon | None]:
    """Count the win against the outcome's inventory (and a prize's stock, or issue the coupon
    to the holder's linked customer): (True, the coupon if any), or (False, None) and nothing
    at all when something ran out."""
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
            if outcome.kind == OutcomeKind.COUPON:
                try:
                    assert outcome.batch is not None, "a coupon outcome names its batch"
                    coupon = coupon_issue_as_reward(
                        tenant=tenant, batch=outcome.batch, customer=customer
                    )
                except (ConflictError, RuleRefusal) as exc:  # exhausted, paused, at its limit
                    raise _Exhausted from exc
                return True, coupon
    except _Exhausted:
        return False, None
    return True, None


# The draws' random source: cryptographic (SPEC §4). A test may put a seeded one in its place.
RANDOM: random.Random = secrets.SystemRandom()


def _pick(outcomes: list[LotteryOutcome], source: random.Random | None = None) -> LotteryOutcome:
    """One outcome, each as likely as its probability: a ticket of a million, the outcomes
    holding consecutive runs of tickets in table order."""
    ticket = (source or RANDOM).randrange(TICKETS)
    for outcome in outcomes:
        ticket -= int(outcome.probability * TICKETS)
        if ticket < 0:
            return outcome
    return outcomes[-1]


@transaction.atomic
def lottery_draw(
    *, tenant: Tenant, actor: Actor, lottery: Lottery, staff, request_key: str = ""
) -> LotteryDraw:
    """Spend a draw's cost and draw with a cryptographic random source. An outcome whose
    inventory (or prize stock, or coupon batch) is gone yields nothing instead: its probability
    goes to nothing.

    Points wins are credited at once; a coupon win is issued to the customer record of the
    holder's merchant (422 no_linked_customer before the draw when the table holds coupons and
    there is none); a prize win is recorded on the draw. A retry with the same `request_key`
    returns the first draw. 422 insufficient_points or not_available; 429 throttled.
    """
    _require_redeemer(actor, staff)
    # The lottery's row lock serialises its draws: inventories are counted exactly.
    lottery = _lock_lottery(tenant, lottery.pk)
    account = account_for_holder(tenant=tenant, program=lottery.program, holder=staff)
    replay = _replayed(LotteryDraw, tenant, account, request_key, lottery_id=lottery.pk)
    if replay is not None:
        return replay
    _throttle(actor, "lottery_draw", staff)
    if lottery.status != LotteryStatus.ACTIVE:
        raise RuleRefusal(_("This lottery is not open."), code=RedemptionErrorCode.NOT_AVAILABLE)
    outcomes = list(
        LotteryOutcome.objects.for_tenant(tenant).filter(lottery=lottery).select_related("batch")
    )
    has_coupons = any(o.kind == OutcomeKind.COUPON for o in outcomes)
    customer = _linked_customer(staff) if has_coupons else None
    picked = _pick(outcomes)
    won: LotteryOutcome | None = picked  # None: neither it nor "nothing" had stock left
    taken, coupon = (False, None)
    if picked.kind != OutcomeKind.NOTHING:
        taken, coupon = _take_outcome(tenant, picked, customer)
    if not taken:
        nothing = next((o for o in outcomes if o.kind == OutcomeKind.NOTHING), None)
        won = nothing if nothing is not None and _take_outcome(tenant, nothing, None)[0] else None
    reference = f"lottery:{lottery.pk}:{request_key or uuid.uuid4().hex}:{account.pk}"
    spend = points_spend(
        tenant=tenant,
        actor=actor,
        account=account,
        points=lottery.cost_points,
        reference=reference,
        source=f"lottery:{lottery.pk}",
        reason=lottery.name,
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
    with _one_row_per_request_key():
        draw = LotteryDraw.objects.create(
            tenant=tenant,
            lottery=lottery,
            account=account,
            staff=staff,
            outcome=won,
            spend_entry=spend,
            award_entry=award,
            coupon=coupon,
            request_key=request_key,
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
            "coupon": coupon.pk if coupon else None,
        },
    )
    return draw
