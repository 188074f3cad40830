from typing import cast

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Customer, Merchant, MerchantStaff, Region
from campaigns.models import Channel
from core.fingerprints import fingerprint
from points.models import AwardStatus, LotStatus
from web.api.fields import TenantCodeField

from .services import OrderFacts

# A lot's status as an award's `points_status`: "open" is what the points API calls usable.
POINTS_STATUS = {
    LotStatus.PENDING: "pending",
    LotStatus.OPEN: "usable",
    LotStatus.USED: "used",
    LotStatus.EXPIRED: "expired",
    LotStatus.CANCELLED: "cancelled",
    LotStatus.REVERSED: "reversed",
}


class _MerchantField(TenantCodeField):
    """The order's merchant, taken from the staff member's row when it is theirs (the usual
    case): one query for both. Declared after `staff`, whose row validate_staff keeps."""

    def to_internal_value(self, data):
        staff = getattr(self.parent, "_staff", None)
        if staff is not None and staff.merchant.code == data:
            return staff.merchant
        return super().to_internal_value(data)


class OrderPlaceSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=100)
    staff = TenantCodeField(MerchantStaff, related=("merchant",))
    merchant = _MerchantField(Merchant)
    region = TenantCodeField(Region)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    placed_at = serializers.DateTimeField()
    customer = TenantCodeField(Customer, required=False, allow_null=True, default=None)
    channel = TenantCodeField(Channel, required=False, allow_null=True, default=None)
    device_id = serializers.CharField(required=False, allow_blank=True, default="")
    phone = serializers.CharField(required=False, allow_blank=True, default="")

    def validate_staff(self, staff):
        self._staff = staff
        return staff

    def facts(self) -> OrderFacts:
        data = dict(self.validated_data)
        return OrderFacts(
            device_fingerprint=fingerprint(data.pop("device_id")),
            phone_fingerprint=fingerprint(data.pop("phone")),
            **data,
        )


class OrderAwardSerializer(serializers.Serializer):
    """What one points rule did with the order: points (pending until completion), the rank in
    the region for first-N rules, or why nothing (cap reached, budget refused …)."""

    rule = serializers.IntegerField(source="rule_id")
    program = serializers.IntegerField(source="rule.program_id")
    campaign = serializers.IntegerField(source="rule.campaign_id")
    account = serializers.IntegerField(source="account_id")
    rank = serializers.IntegerField()
    requested = serializers.IntegerField()
    points = serializers.IntegerField()
    outcome = serializers.CharField()
    # Two statuses with two names: a bare `status: active` beside pending points read as if
    # the points were usable.
    award_status = serializers.ChoiceField(
        source="status",
        choices=AwardStatus.choices,
        help_text="Whether the award stands: `active`, or `cancelled`/`reversed` once the order "
        "was closed. Where its points are is `points_status`.",
    )
    points_status = serializers.SerializerMethodField(
        help_text="Where the earned points are: `pending` until the order completes, then "
        "`usable`; `used` or `expired` later; `cancelled` or `reversed` when the order was "
        "closed. Null when the award earned nothing."
    )
    note = serializers.CharField()

    @extend_schema_field(
        serializers.ChoiceField(choices=list(POINTS_STATUS.values()), allow_null=True)
    )
    def get_points_status(self, award) -> str | None:
        if award.lot_id is None:
            return None
        return POINTS_STATUS[award.lot.status]


class OrderSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    status = serializers.CharField()
    merchant = serializers.CharField(source="merchant.code")
    staff = serializers.CharField(source="staff.code")
    region = serializers.CharField(source="region.code")
    customer = serializers.CharField(source="customer.code", default=None)
    channel = serializers.CharField(source="channel.code", default=None)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    placed_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField()
    points = serializers.SerializerMethodField()

    @extend_schema_field(OrderAwardSerializer(many=True))
    def get_points(self, order) -> list:
        # A newly placed order carries the awards just made: no second read on the hot path.
        awards = getattr(order, "new_awards", None)
        if awards is None:
            awards = order.awards.all()
        return cast(list, OrderAwardSerializer(awards, many=True).data)  # many=True: a list


class OrderStatusSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    status = serializers.CharField()
    completed_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField()
