"""What a portal redemption needs from the services (issue 14): every refusal, request keys
against a double tap, coupon prizes issued to the merchant's customer record, fulfilment of
physical prizes, cancels refunded once, stock adjustments and the per-holder rate limit."""

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import MerchantFactory, StaffFactory, UserFactory
from core import ratelimit
from core.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RuleRefusal,
    ValidationFailed,
)
from core.models import AuditEntry
from core.ratelimit import Throttled
from coupons.models import Coupon, CouponStatus
from points.models import PointsAccount
from points.services import ledger_mismatches
from redemption import services
from redemption.models import FulfilmentStatus, Prize, PrizeRedemption, RedemptionStatus

from .factories import (
    coupon_prize,
    give_points,
    link_customer,
    physical_prize,
    prize,
    ship_address,
    staff_program,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def me(world):
    """The world's staff member, acting for themselves (their login is world.staff's user)."""
    return world.actor(Role.MERCHANT_STAFF)


def _redeem(world, p, actor, **kwargs):
    kwargs.setdefault("staff", world.staff)
    return services.prize_redeem(tenant=world.tenant, actor=actor, prize=p, **kwargs)


def _balance(world, p) -> int:
    return (
        PointsAccount.objects.for_tenant(world.tenant)
        .get(program=p.program, staff=world.staff)
        .balance
    )


# --- refusals: each changes nothing ------------------------------------------------------------


def _refused(world, p, actor, code, **kwargs):
    before = (_balance(world, p), Prize.objects.for_tenant(world.tenant).get(pk=p.pk).stock)
    with pytest.raises((RuleRefusal, ConflictError, ValidationFailed, NotFoundError)) as caught:
        _redeem(world, p, actor, **kwargs)
    assert caught.value.code == code
    assert (_balance(world, p), Prize.objects.for_tenant(world.tenant).get(pk=p.pk).stock) == before
    assert not PrizeRedemption.objects.for_tenant(world.tenant).exists()
    return caught.value


def test_insufficient_points_says_how_many_are_needed(world, me):
    p = prize(world, points_cost=1000)
    give_points(world, p.program, world.staff, 999)
    error = _refused(world, p, me, "insufficient_points")
    assert "1000" in error.detail and "999" in error.detail


def test_out_of_stock(world, me):
    p = prize(world, stock=1)
    give_points(world, p.program, world.staff, 5000)
    _refused(world, p, me, "out_of_stock", quantity=2)


def test_per_holder_limit_counts_what_was_taken(world, me):
    p = prize(world, per_holder_limit=1)
    give_points(world, p.program, world.staff, 5000)
    _redeem(world, p, me)
    with pytest.raises(RuleRefusal) as caught:
        _redeem(world, p, me)
    assert caught.value.code == "limit_reached"
    assert "you have 1" in caught.value.detail


def test_window_not_open_yet_and_deadline_passed_are_told_apart(world, me):
    now = timezone.now()
    later = prize(world, available_from=now + timedelta(days=1))
    give_points(world, later.program, world.staff, 5000)
    assert "can be redeemed from" in _refused(world, later, me, "not_available").detail
    past = prize(world, name="Old", available_until=now - timedelta(minutes=1))
    assert "deadline" in _refused(world, past, me, "not_available").detail


def test_another_holders_redemption_is_not_found(world, me):
    p = prize(world)
    colleague = StaffFactory(tenant=world.tenant, merchant=world.merchant)
    give_points(world, p.program, colleague, 5000)
    give_points(world, p.program, world.staff, 5000)
    with pytest.raises(NotFoundError):
        _redeem(world, p, me, staff=colleague)
    theirs = _redeem(world, p, world.actor(Role.OPERATOR), staff=colleague)
    with pytest.raises(NotFoundError):
        services.redemption_cancel(tenant=world.tenant, actor=me, redemption=theirs)


def test_a_physical_prize_needs_an_address(world, me):
    p = physical_prize(world)
    give_points(world, p.program, world.staff, 5000)
    error = _refused(world, p, me, "invalid", shipping_address="   ")
    assert "shipping_address" in error.fields


# --- request keys: a double tap is one redemption ---------------------------------------------


def test_the_same_request_key_returns_the_first_redemption(world, me):
    p = prize(world, points_cost=100, value=Decimal("1.00"))
    give_points(world, p.program, world.staff, 1000)
    first = _redeem(world, p, me, request_key="tap-1")
    again = _redeem(world, p, me, request_key="tap-1")
    assert again.pk == first.pk
    assert _balance(world, p) == 900
    assert Prize.objects.for_tenant(world.tenant).get(pk=p.pk).stock == 9
    other = _redeem(world, p, me, request_key="tap-2")
    assert other.pk != first.pk and _balance(world, p) == 800


def test_a_request_key_reused_for_another_prize_is_a_conflict(world, me):
    p = prize(world, points_cost=100, value=Decimal("1.00"))
    q = prize(world, name="Other", points_cost=100, value=Decimal("1.00"))
    give_points(world, p.program, world.staff, 1000)
    _redeem(world, p, me, request_key="tap-1")
    with pytest.raises(ConflictError) as caught:
        _redeem(world, q, me, request_key="tap-1")
    assert caught.value.code == "idempotency_conflict"
    assert _balance(world, p) == 900


# --- coupon prizes -----------------------------------------------------------------------------


def test_a_coupon_prize_issues_a_coupon_to_the_merchants_customer_record(world, me):
    customer = link_customer(world)
    p = coupon_prize(world, points_cost=1000)
    give_points(world, p.program, world.staff, 1000)
    redemption = _redeem(world, p, me)
    coupon = redemption.coupon
    assert coupon.customer_id == customer.pk and coupon.status == CouponStatus.ISSUED
    assert coupon.batch_id == p.coupon_batch_id and coupon.code_to_show
    p.coupon_batch.refresh_from_db()
    assert p.coupon_batch.issued == 1


def test_a_coupon_prize_without_a_linked_customer_is_refused_clearly(world, me):
    p = coupon_prize(world)
    give_points(world, p.program, world.staff, 5000)
    error = _refused(world, p, me, "no_linked_customer")
    assert world.merchant.name in error.detail
    assert not Coupon.objects.for_tenant(world.tenant).filter(customer__isnull=False).exists()


def test_cancelling_a_coupon_prize_voids_an_unused_coupon_and_refunds(world):
    link_customer(world)
    p = coupon_prize(world, points_cost=1000)
    give_points(world, p.program, world.staff, 1000)
    operator = world.actor(Role.OPERATOR)
    redemption = _redeem(world, p, operator)
    services.redemption_cancel(tenant=world.tenant, actor=operator, redemption=redemption)
    assert (
        Coupon.objects.for_tenant(world.tenant).get(pk=redemption.coupon_id).status
        == CouponStatus.VOIDED
    )
    assert _balance(world, p) == 1000


def test_a_used_prize_coupon_cannot_be_taken_back(world):
    link_customer(world)
    p = coupon_prize(world, points_cost=1000)
    give_points(world, p.program, world.staff, 1000)
    operator = world.actor(Role.OPERATOR)
    redemption = _redeem(world, p, operator)
    Coupon.objects.for_tenant(world.tenant).filter(pk=redemption.coupon_id).update(
        status=CouponStatus.REDEEMED
    )
    with pytest.raises(ConflictError) as caught:
        services.redemption_cancel(tenant=world.tenant, actor=operator, redemption=redemption)
    assert caught.value.code == "coupon_used"
    assert _balance(world, p) == 0


# --- fulfilment and cancel -----------------------------------------------------------------------


def test_a_physical_prize_ships_then_arrives_and_the_holder_sees_it(world, me):
    p = physical_prize(world)
    give_points(world, p.program, world.staff, 500)
    redemption = _redeem(world, p, me, shipping_address=ship_address())
    assert redemption.fulfilment_status == FulfilmentStatus.PENDING
    operator = world.actor(Role.OPERATOR)
    with pytest.raises(ValidationFailed) as caught:
        services.redemption_ship(
            tenant=world.tenant, actor=operator, redemption=redemption, carrier="SF",
            tracking_number=" ",
        )  # fmt: skip
    assert "tracking_number" in caught.value.fields
    shipped = services.redemption_ship(
        tenant=world.tenant, actor=operator, redemption=redemption, carrier="SF Express",
        tracking_number="SF1234567890",
    )  # fmt: skip
    assert (shipped.fulfilment_status, shipped.carrier) == ("shipped", "SF Express")
    assert shipped.shipped_at is not None
    with pytest.raises(ConflictError) as refused:  # the holder may not take it back now
        services.redemption_cancel(tenant=world.tenant, actor=me, redemption=shipped)
    assert refused.value.code == "not_cancellable"
    delivered = services.redemption_deliver(tenant=world.tenant, actor=operator, redemption=shipped)
    assert delivered.fulfilment_status == "delivered" and delivered.delivered_at is not None
    with pytest.raises(ConflictError):  # nor anyone, once delivered
        services.redemption_cancel(tenant=world.tenant, actor=operator, redemption=delivered)
    with pytest.raises(ConflictError) as twice:
        services.redemption_deliver(tenant=world.tenant, actor=operator, redemption=delivered)
    assert twice.value.code == "invalid_transition"
    actions = set(
        AuditEntry.objects.for_tenant(world.tenant)
        .filter(object_id=str(redemption.pk))
        .values_list("action", flat=True)
    )
    assert {"prize.redemption_shipped", "prize.redemption_delivered"} <= actions


def test_the_holder_cancels_before_shipping_and_gets_points_and_stock_back_once(world, me):
    p = physical_prize(world, stock=3)
    give_points(world, p.program, world.staff, 500)
    redemption = _redeem(world, p, me, shipping_address=ship_address())
    assert redemption.holder_may_cancel
    cancelled = services.redemption_cancel(tenant=world.tenant, actor=me, redemption=redemption)
    assert cancelled.status == RedemptionStatus.CANCELLED and cancelled.cancelled_at
    assert cancelled.refund_entry.points == 500
    assert (
        _balance(world, p) == 500 and Prize.objects.for_tenant(world.tenant).get(pk=p.pk).stock == 3
    )
    with pytest.raises(ConflictError) as caught:
        services.redemption_cancel(tenant=world.tenant, actor=me, redemption=redemption)
    assert caught.value.code == "invalid_transition"
    assert _balance(world, p) == 500
    assert ledger_mismatches(account_ids=[redemption.account_id]) == []


def test_shipping_is_for_operators_within_their_regions(world, me):
    p = physical_prize(world)
    far = StaffFactory(
        tenant=world.tenant,
        merchant=MerchantFactory(tenant=world.tenant, region=world.other_region),
    )
    give_points(world, p.program, far, 500)
    redemption = _redeem(world, p, world.actor(Role.OPERATOR), staff=far, shipping_address="x")
    for actor, error in (
        (me, PermissionDeniedError),
        (world.actor(Role.REGIONAL_OPERATOR), NotFoundError),
    ):
        with pytest.raises(error):
            services.redemption_ship(
                tenant=world.tenant, actor=actor, redemption=redemption, carrier="SF",
                tracking_number="1",
            )  # fmt: skip


# --- stock adjustments ------------------------------------------------------------------------


def test_stock_adjustments_are_audited_with_their_reason_and_never_go_negative(world):
    p = prize(world, stock=5)
    operator = world.actor(Role.OPERATOR)
    adjusted = services.prize_stock_adjust(
        tenant=world.tenant, actor=operator, prize=p, delta=-2, reason="Two arrived broken"
    )
    assert adjusted.stock == 3 and adjusted.redeemed == 0
    entry = AuditEntry.objects.for_tenant(world.tenant).get(action="prize.stock_adjust")
    assert (entry.before, entry.after, entry.note) == (
        {"stock": 5}, {"stock": 3, "delta": -2}, "Two arrived broken",
    )  # fmt: skip
    for delta, reason, field in (
        (-4, "too many", "delta"),
        (0, "none", "delta"),
        (1, " ", "reason"),
    ):
        with pytest.raises(ValidationFailed) as caught:
            services.prize_stock_adjust(
                tenant=world.tenant, actor=operator, prize=p, delta=delta, reason=reason
            )
        assert field in caught.value.fields
    assert Prize.objects.for_tenant(world.tenant).get(pk=p.pk).stock == 3


# --- per-holder rate limit ------------------------------------------------------------------


def test_redemptions_are_throttled_per_holder(world, me, settings):
    settings.HOLDER_RATES = {"prize_redeem": "2/min"}
    p = prize(world, points_cost=100, value=Decimal("1.00"))
    give_points(world, p.program, world.staff, 1000)
    _redeem(world, p, me)
    _redeem(world, p, me)
    with pytest.raises(Throttled) as caught:
        _redeem(world, p, me)
    assert (caught.value.status, caught.value.code) == (429, "throttled")
    assert _balance(world, p) == 800
    colleague = StaffFactory(tenant=world.tenant, merchant=world.merchant, user=UserFactory())
    give_points(world, p.program, colleague, 100)
    _redeem(world, p, world.actor(Role.OPERATOR), staff=colleague)  # another holder: not held up
    assert staff_program(world) == p.program


def test_stock_beyond_the_columns_bound_is_a_clear_error(world):
    p = prize(world, stock=5)
    with pytest.raises(ValidationFailed) as caught:
        services.prize_stock_adjust(
            tenant=world.tenant, actor=world.actor(Role.OPERATOR), prize=p, delta=2**31 - 1,
            reason="typo",
        )  # fmt: skip
    assert "delta" in caught.value.fields
    client = world.console_client(Role.OPERATOR)
    page = client.post(
        f"/console/prizes/{p.pk}/stock/", {"stock-delta": str(2**40), "stock-reason": "typo"}
    )
    assert page.status_code == 200  # the form again, with the field's error
    assert Prize.objects.for_tenant(world.tenant).get(pk=p.pk).stock == 5


@pytest.mark.parametrize("rate", ["2/min", "2/minute", "2/m"])
def test_holder_rates_read_as_drf_reads_them(world, me, settings, monkeypatch, rate):
    settings.HOLDER_RATES = {"prize_redeem": rate}
    # One moment for the three: a fixed window's edge between them would reset the count.
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 1_000_020.0))
    p = prize(world, points_cost=100, value=Decimal("1.00"))
    give_points(world, p.program, world.staff, 1000)
    _redeem(world, p, me)
    _redeem(world, p, me)
    with pytest.raises(Throttled):
        _redeem(world, p, me)
