from rest_framework import serializers

from accounts.models import MerchantStaff
from web.api.fields import INT_MAX, TenantCodeField

from .models import OutcomeKind, PrizeKind


class PrizeCreateSerializer(serializers.Serializer):
    program = serializers.IntegerField()
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(PrizeKind.choices)
    group = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="A product group, such as “Phone top-up”: prizes of one program, kind and "
        "group are of the same kind. Empty: the kind's general group.",
    )
    points_cost = serializers.IntegerField(min_value=1)
    value = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    stock = serializers.IntegerField(min_value=0, max_value=INT_MAX)
    per_holder_limit = serializers.IntegerField(
        min_value=1, max_value=INT_MAX, required=False, allow_null=True
    )
    available_from = serializers.DateTimeField(required=False, allow_null=True)
    available_until = serializers.DateTimeField(required=False, allow_null=True)
    coupon_batch = serializers.IntegerField(required=False, allow_null=True)
    is_active = serializers.BooleanField(default=True)


class PrizeUpdateSerializer(PrizeCreateSerializer):
    """PATCH: only the fields sent; the program is fixed."""

    # None drops the inherited field (DRF); the stubs want a field here.
    program = None  # type: ignore[assignment]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class PrizeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    program = serializers.IntegerField(source="program_id")
    name = serializers.CharField()
    kind = serializers.CharField()
    group = serializers.CharField()
    points_cost = serializers.IntegerField()
    value = serializers.DecimalField(max_digits=14, decimal_places=2)
    stock = serializers.IntegerField()
    redeemed = serializers.IntegerField()
    per_holder_limit = serializers.IntegerField()
    available_from = serializers.DateTimeField()
    available_until = serializers.DateTimeField()
    coupon_batch = serializers.IntegerField(source="coupon_batch_id")
    is_active = serializers.BooleanField()


class PrizeRedemptionCreateSerializer(serializers.Serializer):
    staff = TenantCodeField(MerchantStaff)
    prize = serializers.IntegerField()
    quantity = serializers.IntegerField(min_value=1, max_value=INT_MAX, default=1)
    shipping_address = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default=""
    )


class PrizeRedemptionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    prize = serializers.IntegerField(source="prize_id")
    prize_name = serializers.CharField(source="prize.name")
    staff = serializers.CharField(source="staff.code")
    account = serializers.IntegerField(source="account_id")
    quantity = serializers.IntegerField()
    points = serializers.IntegerField()
    status = serializers.CharField()
    coupon_code = serializers.CharField(
        source="coupon.code_to_show", default=None, help_text="A coupon prize's code."
    )
    shipping_address = serializers.CharField()
    fulfilment_status = serializers.CharField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    shipped_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField()
    cancelled_at = serializers.DateTimeField()
    spend_entry = serializers.IntegerField(source="spend_entry_id")
    refund_entry = serializers.IntegerField(source="refund_entry_id")
    created_at = serializers.DateTimeField()


class ShipSerializer(serializers.Serializer):
    carrier = serializers.CharField(max_length=100)
    tracking_number = serializers.CharField(max_length=100)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class StockAdjustmentSerializer(serializers.Serializer):
    delta = serializers.IntegerField(
        min_value=-INT_MAX, max_value=INT_MAX, help_text="Units counted in (+) or written off (-)."
    )
    reason = serializers.CharField(max_length=2000)


class OutcomeCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(OutcomeKind.choices)
    points = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    prize = serializers.IntegerField(required=False, allow_null=True)
    batch = serializers.IntegerField(required=False, allow_null=True)
    probability = serializers.DecimalField(max_digits=7, decimal_places=6, min_value=0)
    inventory = serializers.IntegerField(
        min_value=0, max_value=INT_MAX, required=False, allow_null=True
    )


class LotteryCreateSerializer(serializers.Serializer):
    program = serializers.IntegerField()
    name = serializers.CharField(max_length=200)
    cost_points = serializers.IntegerField(min_value=1)
    outcomes = OutcomeCreateSerializer(many=True, allow_empty=False)


class LotteryUpdateSerializer(LotteryCreateSerializer):
    """PUT: the whole design; the program is fixed."""

    program = None  # type: ignore[assignment]


class OutcomeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    points = serializers.IntegerField()
    prize = serializers.IntegerField(source="prize_id")
    batch = serializers.IntegerField(source="batch_id")
    probability = serializers.DecimalField(max_digits=7, decimal_places=6)
    inventory = serializers.IntegerField()
    won = serializers.IntegerField()


class LotterySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    program = serializers.IntegerField(source="program_id")
    name = serializers.CharField()
    cost_points = serializers.IntegerField()
    status = serializers.CharField()
    outcomes = OutcomeSerializer(many=True, source="outcomes.all")


class DrawCreateSerializer(serializers.Serializer):
    staff = TenantCodeField(MerchantStaff)


class DrawSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    lottery = serializers.IntegerField(source="lottery_id")
    staff = serializers.CharField(source="staff.code")
    account = serializers.IntegerField(source="account_id")
    outcome = OutcomeSerializer(allow_null=True)
    kind = serializers.SerializerMethodField()
    points_spent = serializers.IntegerField(source="spend_entry.points")
    points_won = serializers.SerializerMethodField()
    coupon_code = serializers.CharField(source="coupon.code_to_show", default=None)
    created_at = serializers.DateTimeField()

    def get_kind(self, draw) -> str:
        return draw.outcome.kind if draw.outcome else OutcomeKind.NOTHING

    def get_points_won(self, draw) -> int:
        return draw.award_entry.points if draw.award_entry else 0
