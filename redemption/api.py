"""Prizes API (SPEC §8): the catalog for console users; redemptions for integrators (scope
`points`), console users and merchant staff (their own)."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response

from accounts.models import ApiKeyScope
from accounts.selectors import staff_get
from coupons.selectors import batch_get
from points.selectors import program_get
from web.api.views import ListView, ObjectDetailView, TenantAPIView, object_action_view

from . import selectors, services
from . import serializers as s

TAGS = ["prizes"]


def _prize_kwargs(view, values: dict) -> dict:
    """The body's references resolved within the caller's scope."""
    if values.get("coupon_batch") is not None:
        values["coupon_batch"] = batch_get(
            tenant=view.tenant, actor=view.actor, id=values["coupon_batch"]
        )
    return values


@extend_schema_view(get=extend_schema(tags=TAGS, responses={200: s.PrizeSerializer(many=True)}))
class PrizeListView(ListView):
    selector = staticmethod(selectors.prize_list)
    filterable = False
    output = s.PrizeSerializer

    # Not ListCreateView: the body's program and coupon batch are looked up in the caller's scope.
    @extend_schema(
        tags=TAGS,
        request=s.PrizeCreateSerializer,
        responses={201: s.PrizeSerializer},
        description="400 invalid_prize: a coupon prize without a batch, a batch on another "
        "kind, or a value per point (value / points_cost) outside the program's "
        "point_value_range.",
    )
    def post(self, request):
        data = s.PrizeCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        program = program_get(tenant=self.tenant, actor=self.actor, id=values.pop("program"))
        prize = services.prize_create(
            tenant=self.tenant, actor=self.actor, program=program, **_prize_kwargs(self, values)
        )
        return Response(s.PrizeSerializer(prize).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(tags=TAGS, responses={200: s.PrizeSerializer}))
class PrizeDetailView(ObjectDetailView):
    getter = staticmethod(selectors.prize_get)
    output = s.PrizeSerializer

    @extend_schema(
        tags=TAGS,
        request=s.PrizeUpdateSerializer,
        responses={200: s.PrizeSerializer},
        description="Only the fields sent change; the program is fixed.",
    )
    def patch(self, request, id):
        prize = selectors.prize_get(tenant=self.tenant, actor=self.actor, id=id)
        data = s.PrizeUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        prize = services.prize_update(
            tenant=self.tenant,
            actor=self.actor,
            prize=prize,
            **_prize_kwargs(self, dict(data.validated_data)),
        )
        return Response(s.PrizeSerializer(prize).data)


PrizeStockAdjustView = object_action_view(
    "PrizeStockAdjustView",
    getter=selectors.prize_get,
    service=services.prize_stock_adjust,
    param="prize",
    input=s.StockAdjustmentSerializer,
    output=s.PrizeSerializer,
    tags=TAGS,
    description="Units counted in or written off, with the reason in the audit log. 400 "
    "invalid_prize when the stock would fall below zero.",
)


@extend_schema_view(
    get=extend_schema(tags=TAGS, responses={200: s.PrizeRedemptionSerializer(many=True)})
)
class RedemptionListView(ListView):
    api_key_scope = ApiKeyScope.POINTS
    selector = staticmethod(selectors.redemption_list)
    filterable = False
    output = s.PrizeRedemptionSerializer

    # Not ListCreateView: the staff member and the prize are looked up in the caller's scope.

    @extend_schema(
        tags=TAGS,
        request=s.PrizeRedemptionCreateSerializer,
        responses={201: s.PrizeRedemptionSerializer},
        description="Spends the staff member's points and takes the stock in one transaction "
        "(no budget money moves). 409 out_of_stock; 422 insufficient_points, limit_reached "
        "(the prize's per-holder limit) or not_available (inactive or outside its window). "
        "A merchant staff member redeems for themselves only.",
    )
    def post(self, request):
        data = s.PrizeRedemptionCreateSerializer(data=request.data, context={"tenant": self.tenant})
        data.is_valid(raise_exception=True)
        values = data.validated_data
        staff = staff_get(tenant=self.tenant, actor=self.actor, code=values["staff"].code)
        prize = selectors.prize_get(tenant=self.tenant, actor=self.actor, id=values["prize"])
        redemption = services.prize_redeem(
            tenant=self.tenant,
            actor=self.actor,
            staff=staff,
            prize=prize,
            quantity=values["quantity"],
            shipping_address=values["shipping_address"],
        )
        return Response(
            s.PrizeRedemptionSerializer(redemption).data, status=status.HTTP_201_CREATED
        )


@extend_schema_view(get=extend_schema(tags=TAGS, responses={200: s.PrizeRedemptionSerializer}))
class RedemptionDetailView(ObjectDetailView):
    api_key_scope = ApiKeyScope.POINTS
    getter = staticmethod(selectors.redemption_get)
    output = s.PrizeRedemptionSerializer


RedemptionCancelView = object_action_view(
    "RedemptionCancelView",
    getter=selectors.redemption_get,
    service=services.redemption_cancel,
    param="redemption",
    output=s.PrizeRedemptionSerializer,
    tags=TAGS,
    description="Refunds the points, returns the stock and takes back an unused prize coupon. "
    "409 invalid_transition on a second cancel, not_cancellable once a physical prize shipped "
    "(for the holder) or was delivered (for anyone), coupon_used once its coupon was redeemed.",
)
# The undo of an integrator's redemption is theirs to call too.
RedemptionCancelView.api_key_scope = ApiKeyScope.POINTS

RedemptionShipView = object_action_view(
    "RedemptionShipView",
    getter=selectors.redemption_get,
    service=services.redemption_ship,
    param="redemption",
    input=s.ShipSerializer,
    output=s.PrizeRedemptionSerializer,
    tags=TAGS,
    description="A physical prize handed to the carrier: to ship → shipped. Operators.",
)
RedemptionDeliverView = object_action_view(
    "RedemptionDeliverView",
    getter=selectors.redemption_get,
    service=services.redemption_deliver,
    param="redemption",
    output=s.PrizeRedemptionSerializer,
    tags=TAGS,
    description="Shipped → delivered; it can no longer be cancelled. Operators.",
)


# --- lotteries --------------------------------------------------------------------------------


def _lottery_kwargs(view, data) -> dict:
    """The body's lottery with each outcome's prize or batch looked up in the caller's scope."""
    data.is_valid(raise_exception=True)
    values = dict(data.validated_data)
    outcomes = []
    for outcome in values.pop("outcomes"):
        outcome = dict(outcome)
        if outcome.get("prize") is not None:
            outcome["prize"] = selectors.prize_get(
                tenant=view.tenant, actor=view.actor, id=outcome["prize"]
            )
        if outcome.get("batch") is not None:
            outcome["batch"] = batch_get(tenant=view.tenant, actor=view.actor, id=outcome["batch"])
        outcomes.append(outcome)
    return {**values, "outcomes": outcomes}


@extend_schema_view(get=extend_schema(tags=TAGS, responses={200: s.LotterySerializer(many=True)}))
class LotteryListView(ListView):
    selector = staticmethod(selectors.lottery_list)
    filterable = False
    output = s.LotterySerializer

    # Not ListCreateView: the program and each outcome's prize or batch are looked up in the
    # caller's scope, and the new lottery is read back with its outcomes.

    @extend_schema(
        tags=TAGS,
        request=s.LotteryCreateSerializer,
        responses={201: s.LotterySerializer},
        description="A draft lottery. 400 invalid_lottery: probabilities not adding up to 1, "
        "or an outcome naming what its kind does not use.",
    )
    def post(self, request):
        values = _lottery_kwargs(self, s.LotteryCreateSerializer(data=request.data))
        program = program_get(tenant=self.tenant, actor=self.actor, id=values.pop("program"))
        lottery = services.lottery_create(
            tenant=self.tenant, actor=self.actor, program=program, **values
        )
        lottery = selectors.lottery_get(tenant=self.tenant, actor=self.actor, id=lottery.pk)
        return Response(s.LotterySerializer(lottery).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(tags=TAGS, responses={200: s.LotterySerializer}))
class LotteryDetailView(ObjectDetailView):
    getter = staticmethod(selectors.lottery_get)
    output = s.LotterySerializer

    @extend_schema(
        tags=TAGS,
        request=s.LotteryUpdateSerializer,
        responses={200: s.LotterySerializer},
        description="A draft's name, cost and whole prize table, replaced; 409 "
        "invalid_transition once it went live. 400 invalid_lottery as on create.",
    )
    def put(self, request, id):
        lottery = selectors.lottery_get(tenant=self.tenant, actor=self.actor, id=id)
        values = _lottery_kwargs(self, s.LotteryUpdateSerializer(data=request.data))
        services.lottery_update(tenant=self.tenant, actor=self.actor, lottery=lottery, **values)
        lottery = selectors.lottery_get(tenant=self.tenant, actor=self.actor, id=id)
        return Response(s.LotterySerializer(lottery).data)


LotteryActivateView = object_action_view(
    "LotteryActivateView",
    getter=selectors.lottery_get,
    service=services.lottery_activate,
    param="lottery",
    output=s.LotterySerializer,
    tags=TAGS,
    description="Draft → active. 422 lottery_inflationary when a draw returns more points on "
    "average (points outcomes, and prizes at their points cost) than it costs.",
)
LotteryEndView = object_action_view(
    "LotteryEndView",
    getter=selectors.lottery_get,
    service=services.lottery_end,
    param="lottery",
    output=s.LotterySerializer,
    tags=TAGS,
    description="No more draws.",
)


class DrawView(TenantAPIView):
    api_key_scope = ApiKeyScope.POINTS

    @extend_schema(
        tags=TAGS,
        responses={200: s.DrawSerializer(many=True)},
        description="The recorded draws, newest first, of the holders the caller may read.",
    )
    def get(self, request, id):
        lottery = selectors.lottery_get(tenant=self.tenant, actor=self.actor, id=id)
        return self.paginated(
            selectors.draw_list(tenant=self.tenant, actor=self.actor, lottery=lottery),
            s.DrawSerializer,
        )

    @extend_schema(
        tags=TAGS,
        request=s.DrawCreateSerializer,
        responses={201: s.DrawSerializer},
        description="Spends the draw's cost and draws with a cryptographic random source; an "
        "outcome whose inventory is gone yields nothing. 422 insufficient_points or "
        "not_available (the lottery is not active). Merchant staff draw for themselves only.",
    )
    def post(self, request, id):
        lottery = selectors.lottery_get(tenant=self.tenant, actor=self.actor, id=id)
        data = s.DrawCreateSerializer(data=request.data, context={"tenant": self.tenant})
        data.is_valid(raise_exception=True)
        staff = staff_get(
            tenant=self.tenant, actor=self.actor, code=data.validated_data["staff"].code
        )
        draw = services.lottery_draw(
            tenant=self.tenant, actor=self.actor, lottery=lottery, staff=staff
        )
        return Response(s.DrawSerializer(draw).data, status=status.HTTP_201_CREATED)
