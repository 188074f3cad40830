"""Input and output shapes of the coupon API (SPEC §8, field names binding)."""

from decimal import Decimal
from typing import cast

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import Customer, Merchant, Region
from campaigns.selectors import campaign_get
from core.errors import NotFoundError
from web.api.fields import INT_MAX, TenantCodeField

from .errors import CouponReason
from .models import BatchKind, CodeMode, EventType
from .rules import FraudLimit


class ScopedCampaignField(serializers.IntegerField):
    """A campaign by id, among those the caller may read; any other id is simply unknown."""

    default_error_messages = {"does_not_exist": _("Unknown campaign: “{value}”.")}

    def to_internal_value(self, data):
        pk = super().to_internal_value(data)
        try:
            return campaign_get(tenant=self.context["tenant"], actor=self.context["actor"], id=pk)
        except NotFoundError:
            self.fail("does_not_exist", value=pk)

    def to_representation(self, value):
        return value.pk


class ScopeSerializer(serializers.Serializer):
    merchants = serializers.ListField(child=TenantCodeField(Merchant), required=False, default=list)
    regions = serializers.ListField(child=TenantCodeField(Region), required=False, default=list)
    categories = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list
    )


class FrequencyCapSerializer(serializers.Serializer):
    # int4 columns (frequency_cap_count, frequency_cap_days)
    count = serializers.IntegerField(min_value=0, max_value=INT_MAX)
    days = serializers.IntegerField(min_value=0, max_value=INT_MAX)


class CodeSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=CodeMode.choices, default=CodeMode.UNIQUE)
    length = serializers.IntegerField(required=False, allow_null=True, max_value=32767)  # smallint
    prefix = serializers.CharField(required=False, allow_blank=True, default="")
    shared_code = serializers.CharField(required=False, allow_blank=True, allow_null=True)


CODE_KWARGS = {
    "mode": "code_mode",
    "length": "code_length",
    "prefix": "code_prefix",
    "shared_code": "shared_code",
}


class BatchInputSerializer(serializers.Serializer):
    """POST /coupon-batches. The service checks the rules between fields."""

    campaign = ScopedCampaignField()
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=BatchKind.choices)
    value = serializers.DecimalField(max_digits=14, decimal_places=2)
    threshold = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True
    )
    max_discount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        required=False,
        allow_null=True,
        help_text="Required for percent_off.",
    )
    valid_from = serializers.DateTimeField(required=False, allow_null=True)
    valid_until = serializers.DateTimeField(required=False, allow_null=True)
    valid_days = serializers.IntegerField(required=False, allow_null=True)
    extend_past_campaign = serializers.BooleanField(required=False, default=False)
    scope = ScopeSerializer(required=False)
    quantity = serializers.IntegerField(max_value=INT_MAX)
    per_customer_limit = serializers.IntegerField(required=False, default=1, max_value=INT_MAX)
    frequency_cap = FrequencyCapSerializer(required=False, allow_null=True)
    stackable = serializers.BooleanField(required=False, default=False)
    claimable = serializers.BooleanField(required=False, default=False)
    code = CodeSerializer(required=False)

    def service_kwargs(self) -> dict:
        """The validated body as the service's keyword arguments."""
        data = dict(self.validated_data)
        kwargs = {}
        if "scope" in data:
            scope = data.pop("scope")
            kwargs["scope_merchants"] = scope.get("merchants", [])
            kwargs["scope_regions"] = scope.get("regions", [])
            kwargs["scope_categories"] = scope.get("categories", [])
        if "frequency_cap" in data:
            cap = data.pop("frequency_cap") or {}
            kwargs["frequency_cap_count"] = cap.get("count")
            kwargs["frequency_cap_days"] = cap.get("days")
        if "code" in data:
            # Only what was sent: a PATCH of `code.length` leaves the mode and shared code as
            # they are (a create gets the defaults of the fields; the service defaults the rest).
            code = data.pop("code")
            for key, name in CODE_KWARGS.items():
                if key in code:
                    kwargs[name] = code[key]
        kwargs.update(data)
        return kwargs


class BatchUpdateSerializer(BatchInputSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)
        self.fields.pop("campaign")


class BatchSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    campaign = serializers.IntegerField(source="campaign_id")
    name = serializers.CharField()
    kind = serializers.CharField()
    value = serializers.DecimalField(max_digits=14, decimal_places=2)
    threshold = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    max_discount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    valid_from = serializers.DateTimeField(allow_null=True)
    valid_until = serializers.DateTimeField(allow_null=True)
    valid_days = serializers.IntegerField(allow_null=True)
    extend_past_campaign = serializers.BooleanField()
    scope = serializers.SerializerMethodField()
    quantity = serializers.IntegerField()
    per_customer_limit = serializers.IntegerField()
    frequency_cap = serializers.SerializerMethodField()
    stackable = serializers.BooleanField()
    claimable = serializers.BooleanField()
    code = serializers.SerializerMethodField()
    status = serializers.CharField()
    issued = serializers.IntegerField()
    claimed = serializers.IntegerField()
    redeemed = serializers.IntegerField()
    stock = serializers.IntegerField()
    reserved_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    released_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    summary = serializers.SerializerMethodField(help_text="How the coupon reads to a customer.")
    activated_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    def get_scope(self, batch) -> dict:
        return {
            "merchants": sorted(m.code for m in batch.scope_merchants.all()),
            "regions": sorted(r.code for r in batch.scope_regions.all()),
            "categories": batch.scope_categories,
        }

    def get_frequency_cap(self, batch) -> dict | None:
        if batch.frequency_cap_count is None:
            return None
        return {"count": batch.frequency_cap_count, "days": batch.frequency_cap_days}

    def get_code(self, batch) -> dict:
        return {
            "mode": batch.code_mode,
            "length": batch.code_length if batch.code_mode == CodeMode.UNIQUE else None,
            "prefix": batch.code_prefix,
            "shared_code": batch.shared_code,
        }

    def get_summary(self, batch) -> str:
        from .selectors import batch_summary

        return batch_summary(batch)


class ClaimSerializer(serializers.Serializer):
    customer = TenantCodeField(Customer)


class CouponSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    batch = serializers.IntegerField(source="batch_id")
    code = serializers.SerializerMethodField()
    customer = serializers.CharField(source="customer.code", allow_null=True)
    status = serializers.CharField()
    issued_at = serializers.DateTimeField(allow_null=True)
    valid_from = serializers.DateTimeField(allow_null=True)
    valid_until = serializers.DateTimeField(allow_null=True)

    def get_code(self, coupon) -> str:
        return coupon.code or coupon.batch.shared_code


class IssueSerializer(serializers.Serializer):
    customers = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, allow_empty=False
    )
    segment = serializers.IntegerField(required=False)
    file = serializers.FileField(required=False, help_text="CSV or XLSX, a customer code a row.")

    def validate(self, data):
        if sum(key in data for key in ("customers", "segment", "file")) != 1:
            raise serializers.ValidationError(
                {"customers": [_("Give exactly one of customers, segment or file.")]}
            )
        return data


class GenerateSerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=1)


class JobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    batch = serializers.IntegerField(source="batch_id")
    kind = serializers.CharField()
    # A field, not Field.source: DRF's metaclass takes declared fields off the class.
    source = serializers.CharField()  # type: ignore[assignment]
    status = serializers.CharField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    errors_url = serializers.SerializerMethodField()
    error = serializers.CharField()
    file_name = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_errors_url(self, job) -> str | None:
        if not job.failed:
            return None
        path = reverse("issuance-job-errors", kwargs={"id": job.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class SegmentFiltersSerializer(serializers.Serializer):
    regions = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    tags_any = serializers.ListField(child=serializers.CharField(max_length=100), required=False)
    registered_after = serializers.DateField(required=False)
    registered_before = serializers.DateField(required=False)
    last_order_after = serializers.DateField(required=False)
    last_order_before = serializers.DateField(required=False)


class SegmentInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    filters = SegmentFiltersSerializer(required=False, default=dict)


class SegmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    filters = serializers.DictField()
    created_at = serializers.DateTimeField()


class PreviewSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    sample = serializers.ListField(child=serializers.CharField())


class ValidateSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=64)
    customer = TenantCodeField(Customer)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0"))
    merchant = TenantCodeField(Merchant, required=False, allow_null=True)
    region = TenantCodeField(Region, required=False, allow_null=True)
    categories = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list
    )
    order = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="The order's external id: coupons already on it decide not_stackable.",
    )
    device_id = serializers.CharField(max_length=200, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=50, required=False, allow_blank=True)


class RedeemSerializer(ValidateSerializer):
    order = serializers.CharField(max_length=100, help_text="The order's external id.")


class ValidationResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    discount = serializers.DecimalField(max_digits=14, decimal_places=2)
    reason = serializers.ChoiceField(
        choices=[r.value for r in CouponReason],
        allow_null=True,
        help_text="The first failing check, in the order of the enum.",
    )
    # The codes are those of `reason` (one enum in the schema, not two of the same set).
    reasons = serializers.ListField(
        child=serializers.CharField(),
        help_text="Every failing check (codes of `reason`), in the documented order.",
    )
    fraud_limit = serializers.ChoiceField(
        choices=[limit.value for limit in FraudLimit],
        allow_null=True,
        help_text="With `fraud_limit` among the reasons: which limit (a refused redeem names "
        "it in `fields.fraud_limit`).",
    )


class RedemptionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    coupon = CouponSerializer()
    batch = serializers.IntegerField(source="batch_id")
    customer = serializers.CharField(source="customer.code")
    merchant = serializers.CharField(source="merchant.code", allow_null=True, default=None)
    order = serializers.CharField(source="order_ref")
    order_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    discount = serializers.DecimalField(max_digits=14, decimal_places=2)
    redeemed_at = serializers.DateTimeField()
    rolled_back_at = serializers.DateTimeField(allow_null=True)


class RollbackSerializer(serializers.Serializer):
    order = serializers.CharField(max_length=100, required=False, allow_blank=True)


class EventInputSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=100)
    type = serializers.ChoiceField(choices=EventType.choices)
    customer = TenantCodeField(Customer)
    inviter = TenantCodeField(Customer, required=False, allow_null=True)
    device_id = serializers.CharField(max_length=200, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=50, required=False, allow_blank=True)


class EventIssueSerializer(serializers.Serializer):
    rule = serializers.IntegerField(source="rule_id")
    customer = serializers.CharField(source="customer.code")
    coupon = serializers.SerializerMethodField()
    outcome = serializers.CharField(help_text="`issued`, or why not (limit_reached, blocked …).")

    def get_coupon(self, issue) -> str | None:
        if issue.coupon is None:
            return None
        return issue.coupon.code or issue.rule.batch.shared_code


class EventSerializer(serializers.Serializer):
    id = serializers.CharField(source="event_id")
    type = serializers.CharField()
    customer = serializers.CharField(source="customer.code")
    inviter = serializers.CharField(source="inviter.code", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    issues = serializers.SerializerMethodField()

    def get_issues(self, event) -> list[dict]:
        rows = event.issues.select_related("customer", "coupon", "rule__batch").order_by("pk")
        return cast(list[dict], EventIssueSerializer(rows, many=True).data)  # many=True: a list


class FrequencyCapInputSerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=1, max_value=INT_MAX)
    days = serializers.IntegerField(min_value=1, max_value=INT_MAX)


class IssuanceRuleInputSerializer(serializers.Serializer):
    batch = serializers.IntegerField()
    event = serializers.ChoiceField(choices=EventType.choices)
    frequency_cap = FrequencyCapInputSerializer(required=False, allow_null=True)


class IssuanceRuleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    batch = serializers.IntegerField(source="batch_id")
    event = serializers.CharField()
    frequency_cap = serializers.SerializerMethodField()
    active = serializers.BooleanField()

    def get_frequency_cap(self, rule) -> dict | None:
        if rule.frequency_cap_count is None:
            return None
        return {"count": rule.frequency_cap_count, "days": rule.frequency_cap_days}


class IssuanceRuleUpdateSerializer(serializers.Serializer):
    frequency_cap = FrequencyCapInputSerializer(
        allow_null=True, help_text="At most `count` coupons per customer in `days`; null: no cap."
    )


class BlockedCustomerSerializer(serializers.Serializer):
    customer = serializers.CharField(source="customer.code")
    reason = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()


class BlockInputSerializer(serializers.Serializer):
    customer = TenantCodeField(Customer)
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True)


class ClusterSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["device", "phone"])
    fingerprint = serializers.CharField()
    customers = serializers.IntegerField()


class CampaignLimitSerializer(serializers.Serializer):
    campaign = ScopedCampaignField()
    max_redemptions_per_customer = serializers.IntegerField(
        min_value=1, max_value=INT_MAX, source="max_per_customer"
    )


class FraudSettingsSerializer(serializers.Serializer):
    """GET and PUT /fraud/settings. PUT replaces everything: a campaign left out of
    `campaign_limits` has no limit of its own."""

    customer_daily = serializers.IntegerField(
        min_value=1, max_value=INT_MAX, help_text="Redemptions one customer may make in 24 hours."
    )
    fingerprint_customers = serializers.IntegerField(
        min_value=1,
        max_value=INT_MAX,
        help_text="Other customers one device or phone may serve in 24 hours (redemptions and "
        "events) before the next one is refused.",
    )
    campaign_limits = CampaignLimitSerializer(
        many=True,
        help_text="Live redemptions of a campaign's coupons (all its batches) per customer.",
    )

    def validate_campaign_limits(self, value):
        campaigns = [row["campaign"].pk for row in value]
        if len(campaigns) != len(set(campaigns)):
            raise serializers.ValidationError(_("A campaign appears more than once."))
        return value

    def service_kwargs(self) -> dict:
        data = self.validated_data
        return {
            "customer_daily": data["customer_daily"],
            "fingerprint_customers": data["fingerprint_customers"],
            "campaign_limits": {
                row["campaign"]: row["max_per_customer"] for row in data["campaign_limits"]
            },
        }
