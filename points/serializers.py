from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import MerchantStaff, Region
from web.api.fields import INT_MAX, TenantCodeField, WholeEvenInPatch

from .models import (
    ExpiryPeriod,
    ExpiryPolicy,
    Holder,
    PendingPolicy,
    RuleKind,
    TierBasis,
)

# --- programs ---------------------------------------------------------------------------------


class ExpirySerializer(serializers.Serializer):
    policy = serializers.ChoiceField(ExpiryPolicy.choices, default=ExpiryPolicy.NONE)
    days = serializers.IntegerField(min_value=1, max_value=INT_MAX, required=False, allow_null=True)
    period = serializers.ChoiceField(ExpiryPeriod.choices, required=False, allow_blank=True)


class TransferLimitsSerializer(serializers.Serializer):
    per_transfer = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    per_month = serializers.IntegerField(min_value=1, required=False, allow_null=True)


class PointValueRangeSerializer(serializers.Serializer):
    """The money per point a prize of the program may give (its value / its points cost)."""

    min = serializers.DecimalField(
        max_digits=12, decimal_places=6, help_text="The lowest value per point, above zero."
    )
    max = serializers.DecimalField(
        max_digits=12, decimal_places=6, help_text="The highest value per point."
    )


class PointValueRangePatchSerializer(PointValueRangeSerializer):
    """In a PATCH either end may be sent alone; the other stays."""

    min = serializers.DecimalField(
        max_digits=12, decimal_places=6, required=False, help_text="The lowest value per point."
    )
    max = serializers.DecimalField(
        max_digits=12, decimal_places=6, required=False, help_text="The highest value per point."
    )


class ProgramTierSerializer(WholeEvenInPatch, serializers.Serializer):
    name = serializers.CharField(max_length=100)
    threshold = serializers.IntegerField(min_value=0)
    multiplier = serializers.DecimalField(max_digits=6, decimal_places=3, min_value=0)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        value["multiplier"] = str(value["multiplier"])  # JSON-able, exact
        return value


class ProgramCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    holder = serializers.ChoiceField(Holder.choices, default=Holder.STAFF)
    point_value = serializers.DecimalField(max_digits=12, decimal_places=6, min_value=0)
    point_value_range = PointValueRangeSerializer(
        required=False,
        help_text="The money per point a prize may give (value / points_cost); point_value "
        "± 20 % when left out. Prize creation refuses a value per point outside it.",
    )
    expiry = ExpirySerializer(required=False)
    pending = serializers.ChoiceField(PendingPolicy.choices, default=PendingPolicy.UNTIL_COMPLETED)
    pending_days = serializers.IntegerField(
        min_value=0, max_value=INT_MAX, required=False, allow_null=True
    )
    weekly_cap = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    monthly_cap = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    allow_negative = serializers.BooleanField(default=False)
    transferable = serializers.BooleanField(default=False)
    transfer_limits = TransferLimitsSerializer(required=False, allow_null=True)
    tiers = ProgramTierSerializer(many=True, required=False)
    tier_basis = serializers.ChoiceField(TierBasis.choices, default=TierBasis.LIFETIME)

    def service_kwargs(self) -> dict:
        data = dict(self.validated_data)
        _range_kwargs(data)
        expiry = data.pop("expiry", None) or {}
        limits = data.pop("transfer_limits", None) or {}
        data["pending_policy"] = data.pop("pending")
        data["expiry_policy"] = expiry.get("policy", ExpiryPolicy.NONE)
        data["expiry_days"] = expiry.get("days")
        data["expiry_period"] = expiry.get("period") or ""
        data["transfer_per_transfer"] = limits.get("per_transfer")
        data["transfer_per_month"] = limits.get("per_month")
        data["tiers"] = [dict(t) for t in data.get("tiers", [])]
        return data


def _range_kwargs(data: dict) -> None:
    """`point_value_range {min, max}` as the service's point_value_min and point_value_max."""
    value_range = data.pop("point_value_range", None) or {}
    for key in ("min", "max"):
        if key in value_range:
            data[f"point_value_{key}"] = value_range[key]


def _refuse_fixed(serializer, names) -> None:
    """A body naming a field that cannot change is refused, not silently half-applied."""
    fixed = [name for name in names if name in serializer.initial_data]
    if fixed:
        raise serializers.ValidationError({name: [_("Cannot be changed.")] for name in fixed})


class ProgramUpdateSerializer(ProgramCreateSerializer):
    """Any field of the program but its holder; only those sent change (409 program_in_use
    for point_value or pending once points were earned)."""

    # None drops the inherited field (DRF); the stubs want a field here.
    holder = None  # type: ignore[assignment]
    point_value_range = PointValueRangePatchSerializer(
        required=False,
        help_text="Either end, or both. A new point_value sent without a range must fall inside "
        "the current one.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)

    def validate(self, data):
        _refuse_fixed(self, ["holder"])
        return data

    def service_kwargs(self) -> dict:
        data = dict(self.validated_data)
        _range_kwargs(data)
        if "expiry" in data:
            expiry = data.pop("expiry") or {}
            for key in ("policy", "days", "period"):
                if key in expiry:
                    data[f"expiry_{key}"] = expiry[key] or ("" if key == "period" else None)
        if "transfer_limits" in data:
            limits = data.pop("transfer_limits") or {"per_transfer": None, "per_month": None}
            for key in ("per_transfer", "per_month"):
                if key in limits:
                    data[f"transfer_{key}"] = limits[key]
        if "pending" in data:
            data["pending_policy"] = data.pop("pending")
        if "tiers" in data:
            data["tiers"] = [dict(t) for t in data["tiers"]]
        return data


class ProgramValueRangeSerializer(serializers.Serializer):
    """A program's range of value per point, as PointValueRangeSerializer reads it."""

    min = serializers.DecimalField(max_digits=12, decimal_places=6, source="point_value_min")
    max = serializers.DecimalField(max_digits=12, decimal_places=6, source="point_value_max")


class ProgramSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    holder = serializers.CharField()
    point_value = serializers.DecimalField(max_digits=12, decimal_places=6)
    point_value_range = ProgramValueRangeSerializer(source="*")
    expiry = serializers.SerializerMethodField()
    pending = serializers.CharField(source="pending_policy")
    pending_days = serializers.IntegerField()
    weekly_cap = serializers.IntegerField()
    monthly_cap = serializers.IntegerField()
    allow_negative = serializers.BooleanField()
    transferable = serializers.BooleanField()
    transfer_limits = serializers.SerializerMethodField()
    tiers = serializers.JSONField()
    tier_basis = serializers.CharField()
    is_active = serializers.BooleanField()

    def get_expiry(self, program) -> dict:
        return {
            "policy": program.expiry_policy,
            "days": program.expiry_days,
            "period": program.expiry_period or None,
        }

    def get_transfer_limits(self, program) -> dict:
        return {
            "per_transfer": program.transfer_per_transfer,
            "per_month": program.transfer_per_month,
        }


# --- rules ------------------------------------------------------------------------------------


class RankTierSerializer(WholeEvenInPatch, serializers.Serializer):
    to = serializers.IntegerField(min_value=1)
    points = serializers.IntegerField(min_value=1)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.IntegerField(min_value=1)  # a keyword in Python
        return fields


class MilestoneSerializer(WholeEvenInPatch, serializers.Serializer):
    count = serializers.IntegerField(min_value=1)
    period = serializers.ChoiceField(["week", "month"])
    points = serializers.IntegerField(min_value=1)


class RuleCreateSerializer(serializers.Serializer):
    campaign = serializers.IntegerField()
    program = serializers.IntegerField()
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    kind = serializers.ChoiceField(RuleKind.choices)
    points = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    per_amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    min_amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    regions = TenantCodeField(
        Region,
        many=True,
        required=False,
        help_text=(
            "Regions whose orders the rule counts: each covers everything below it and keeps "
            "its own first-N count and per-region cap; an order counts in the nearest named "
            "region at or above its own."
        ),
    )
    tiers = RankTierSerializer(many=True, required=False)
    milestone = MilestoneSerializer(required=False, allow_null=True)
    cap_total = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    cap_per_holder_week = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    cap_per_region = serializers.IntegerField(min_value=1, required=False, allow_null=True)

    def service_kwargs(self) -> dict:
        data = dict(self.validated_data)
        data.pop("campaign")
        data.pop("program")
        data["tiers"] = [dict(t) for t in data.get("tiers", [])]
        data["milestone"] = dict(data.get("milestone") or {})
        return data


class RuleUpdateSerializer(RuleCreateSerializer):
    """Points, tiers, caps, minimum, regions, milestone; only those sent change. The kind,
    campaign and program are fixed."""

    # None drops the inherited field (DRF); the stubs want a field here.
    campaign = None  # type: ignore[assignment]
    program = None  # type: ignore[assignment]
    kind = None  # type: ignore[assignment]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)

    def validate(self, data):
        _refuse_fixed(self, ["campaign", "program", "kind"])
        return data

    def service_kwargs(self) -> dict:
        data = dict(self.validated_data)
        if "tiers" in data:
            data["tiers"] = [dict(t) for t in data["tiers"]]
        if "milestone" in data:
            data["milestone"] = dict(data["milestone"] or {})
        return data


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class RuleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    campaign = serializers.IntegerField(source="campaign_id")
    program = serializers.IntegerField(source="program_id")
    name = serializers.CharField()
    kind = serializers.CharField()
    points = serializers.IntegerField()
    per_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    min_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    regions: "serializers.ManyRelatedField | serializers.RelatedField[Region, str, str]" = (
        serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    )
    tiers = serializers.JSONField()
    milestone = serializers.JSONField()
    cap_total = serializers.IntegerField()
    cap_per_holder_week = serializers.IntegerField()
    cap_per_region = serializers.IntegerField()
    awarded = serializers.IntegerField(source="points_awarded", default=0)
    is_active = serializers.BooleanField()


# --- accounts and entries ---------------------------------------------------------------------


class AccountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    program = serializers.IntegerField(source="program_id")
    program_name = serializers.CharField(source="program.name")
    holder = serializers.CharField(source="program.holder")
    staff = serializers.CharField(source="staff.code", default=None)
    merchant = serializers.SerializerMethodField()
    customer = serializers.CharField(source="customer.code", default=None)
    balance = serializers.IntegerField()
    pending = serializers.IntegerField()
    lifetime_earned = serializers.IntegerField()
    shortfall = serializers.IntegerField()
    expiring_soon = serializers.IntegerField(default=0)
    tier = serializers.CharField()

    def get_merchant(self, account) -> str | None:
        merchant = account.merchant or (account.staff.merchant if account.staff_id else None)
        return merchant.code if merchant else None


class EntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    account = serializers.IntegerField(source="account_id")
    program = serializers.IntegerField(source="account.program_id")
    kind = serializers.CharField()
    bucket = serializers.CharField()
    points = serializers.IntegerField()
    pending_delta = serializers.IntegerField()
    usable_delta = serializers.IntegerField()
    balance_after = serializers.IntegerField()
    pending_after = serializers.IntegerField()
    order = serializers.CharField(source="order.external_id", default=None)
    rule = serializers.IntegerField(source="rule_id")
    campaign = serializers.IntegerField(source="campaign_id")
    counterpart = serializers.IntegerField(source="counterpart_id")
    # A field, not Field.source: DRF's metaclass takes declared fields off the class.
    source = serializers.CharField()  # type: ignore[assignment]
    operator = serializers.CharField(source="operator_label")
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class StaffPointsSerializer(serializers.Serializer):
    staff = serializers.CharField()
    accounts = AccountSerializer(many=True)


class AdjustmentSerializer(serializers.Serializer):
    # The column's range; the tenant's max_points_adjustment is the service's, much lower.
    points = serializers.IntegerField(min_value=-(2**63 - 1), max_value=2**63 - 1)
    reason = serializers.CharField(max_length=2000)


class PointsAdjustmentRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    account = serializers.IntegerField(source="account_id")
    points = serializers.IntegerField()
    reason = serializers.CharField()
    status = serializers.CharField()
    requested_by = serializers.CharField(source="requested_by_label")
    decided_by = serializers.CharField(source="decided_by.username", default=None)
    decided_at = serializers.DateTimeField()
    decision_note = serializers.CharField()
    entry = serializers.IntegerField(source="entry_id")
    created_at = serializers.DateTimeField()


class RequiredDecisionNoteSerializer(serializers.Serializer):
    note = serializers.CharField(
        max_length=2000, help_text="Why: shown to the requester and in the audit log."
    )


class TransferCreateSerializer(serializers.Serializer):
    program = serializers.IntegerField()
    from_staff = TenantCodeField(MerchantStaff)
    to_staff = TenantCodeField(MerchantStaff)
    points = serializers.IntegerField(min_value=1)


class TransferSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    program = serializers.IntegerField(source="program_id")
    from_staff = serializers.CharField(source="from_account.staff.code")
    to_staff = serializers.CharField(source="to_account.staff.code")
    points = serializers.IntegerField()
    from_balance = serializers.IntegerField(source="from_account.balance")
    created_at = serializers.DateTimeField()
