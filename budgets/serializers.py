from decimal import Decimal

from rest_framework import serializers

from accounts.models import BusinessUnit
from core.models import MONEY  # the money columns' digits, so the API rounds as they do
from web.api.fields import TenantCodeField

from .models import BudgetPurpose


class BudgetCreateSerializer(serializers.Serializer):
    business_unit = TenantCodeField(BusinessUnit)
    name = serializers.CharField(max_length=200)
    purpose = serializers.ChoiceField(choices=BudgetPurpose.choices)
    amount = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"))
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()

    def validate(self, data):
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            raise serializers.ValidationError({"ends_on": ["Must not be before starts_on."]})
        return data


class BudgetUpdateSerializer(BudgetCreateSerializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class BudgetNoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class BudgetRequiredNoteSerializer(serializers.Serializer):
    note = serializers.CharField(help_text="Why: shown to the requester and in the audit log.")


class BudgetSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    business_unit = serializers.CharField(source="business_unit.code")
    name = serializers.CharField()
    purpose = serializers.CharField()
    status = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)
    reserved = serializers.DecimalField(**MONEY)
    spent = serializers.DecimalField(**MONEY)
    available = serializers.DecimalField(**MONEY)
    currency = serializers.CharField(source="tenant.currency")
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
    created_by = serializers.CharField(source="created_by.username", default=None)
    created_at = serializers.DateTimeField()
    submitted_by = serializers.CharField(source="submitted_by.username", default=None)
    submitted_at = serializers.DateTimeField()
    submit_note = serializers.CharField()
    approved_by = serializers.CharField(source="approved_by.username", default=None)
    approved_at = serializers.DateTimeField()
    rejected_by = serializers.CharField(source="rejected_by.username", default=None)
    rejected_at = serializers.DateTimeField()
    decision_note = serializers.CharField()
    closed_by = serializers.CharField(source="closed_by.username", default=None)
    closed_at = serializers.DateTimeField()


class BudgetEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)
    amount_delta = serializers.DecimalField(**MONEY)
    reserved_delta = serializers.DecimalField(**MONEY)
    spent_delta = serializers.DecimalField(**MONEY)
    reference = serializers.CharField()
    campaign = serializers.IntegerField(source="campaign_id", allow_null=True)
    # A field, not Field.source: DRF's metaclass takes declared fields off the class.
    source = serializers.CharField()  # type: ignore[assignment]
    actor = serializers.CharField(source="actor_label")
    note = serializers.CharField()
    created_at = serializers.DateTimeField()


class AdjustmentCreateSerializer(serializers.Serializer):
    amount_delta = serializers.DecimalField(
        **MONEY, help_text="Positive to increase the amount, negative to decrease it."
    )
    reason = serializers.CharField()


class AdjustmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    budget = serializers.IntegerField(source="budget_id")
    amount_delta = serializers.DecimalField(**MONEY)
    reason = serializers.CharField()
    status = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username", default=None)
    created_at = serializers.DateTimeField()
    decided_by = serializers.CharField(source="decided_by.username", default=None)
    decided_at = serializers.DateTimeField()
    decision_note = serializers.CharField()
