"""The reports' parameters and answers (SPEC §8 `GET /reports/...`). The console's report pages
read their parameters through the same serializer, so both say the same about bad input."""

from dataclasses import replace
from datetime import timedelta
from typing import cast

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers

from accounts.selectors import merchant_list, region_list
from campaigns.checks import local_days
from campaigns.models import Campaign, CampaignStatus
from campaigns.selectors import campaign_list
from campaigns.serializers import MAX_WINDOW_DAYS
from coupons.selectors import batch_list
from points.models import Holder
from points.selectors import program_list

from .selectors import ReportWindow

EXPORT_FORMATS = ("csv", "xlsx")


class ReportFilterSerializer(serializers.Serializer):
    """`?from=&to=&region=&merchant=&format=`, the filters every report takes; context: tenant
    and actor. Default days: this month up to today, in the tenant's days. A report adds its
    own filters and `window()` them into the ReportWindow."""

    # `from` is a keyword: the field is declared under another name and renamed below.
    from_ = serializers.DateField(required=False, help_text="First day (inclusive).")
    to = serializers.DateField(required=False, help_text="Last day (inclusive).")
    region = serializers.CharField(
        required=False, help_text="A region's code: it and every region below."
    )
    merchant = serializers.CharField(required=False, help_text="A merchant's code.")
    format = serializers.ChoiceField(
        choices=EXPORT_FORMATS, required=False, help_text="csv or xlsx: the rows as a download."
    )

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    @staticmethod
    def _lookup(queryset, field: str, value):
        """The one row of `queryset` (the actor's) that `value` names, else a 400 on `field`."""
        if value in (None, ""):
            return None
        found = queryset.filter(**{"code" if isinstance(value, str) else "pk": value}).first()
        if found is None:
            raise serializers.ValidationError({field: [_("Not found.")]})
        return found

    def window(self, data, **choices) -> ReportWindow:
        return ReportWindow(**choices)

    def validate(self, data):
        tenant, actor = self.context["tenant"], self.context["actor"]
        today = timezone.localdate(timezone=tenant.zone)
        first, last = data.get("from", today.replace(day=1)), data.get("to", today)
        if last < first:
            raise serializers.ValidationError({"to": [_("On or after from.")]})
        if last - first >= timedelta(days=MAX_WINDOW_DAYS):
            raise serializers.ValidationError(
                {"to": [_("At most %(days)d days.") % {"days": MAX_WINDOW_DAYS}]}
            )
        start, end = local_days(tenant, first, last)
        region = self._lookup(region_list(tenant=tenant, actor=actor), "region", data.get("region"))
        merchant = self._lookup(
            merchant_list(tenant=tenant, actor=actor), "merchant", data.get("merchant")
        )
        return {
            "window": self.window(data, start=start, end=end, region=region, merchant=merchant),
            "first": first,
            "last": last,
            "format": data.get("format"),
        }


class PointsFilterSerializer(ReportFilterSerializer):
    """The points report's filters: a staff program (default: the first by name) and the rest."""

    program = serializers.IntegerField(required=False, help_text="A staff points program's id.")

    def window(self, data, **choices) -> ReportWindow:
        tenant, actor = self.context["tenant"], self.context["actor"]
        programs = program_list(tenant=tenant, actor=actor).filter(holder=Holder.STAFF)
        program = self._lookup(programs, "program", data.get("program")) or programs.first()
        if program is None:
            raise serializers.ValidationError({"program": [_("No staff points program yet.")]})
        return ReportWindow(program=program, **choices)


class ReconciliationFilterSerializer(ReportFilterSerializer):
    """The reconciliation's filters: a campaign or one of its batches, and the rest."""

    campaign = serializers.IntegerField(required=False, help_text="A campaign's id.")
    batch = serializers.IntegerField(required=False, help_text="A coupon batch's id.")

    def window(self, data, **choices) -> ReportWindow:
        tenant, actor = self.context["tenant"], self.context["actor"]
        campaign = self._lookup(
            campaign_list(tenant=tenant, actor=actor), "campaign", data.get("campaign")
        )
        batch = self._lookup(batch_list(tenant=tenant, actor=actor), "batch", data.get("batch"))
        return ReportWindow(campaign=campaign, batch=batch, **choices)


class _Bucket(serializers.Serializer):
    bucket = serializers.CharField()
    staff = serializers.IntegerField()


class _Unlocked(serializers.Serializer):
    regions = serializers.IntegerField()
    staff = serializers.IntegerField()


class _Program(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    point_value = serializers.DecimalField(max_digits=12, decimal_places=6)


class _Period(serializers.Serializer):
    # `from` is a keyword, as above
    from_ = serializers.DateField(help_text="First day (inclusive).")
    to = serializers.DateField(help_text="Last day (inclusive).")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class PointsReportSerializer(serializers.Serializer):
    """The points report (reports.selectors.points_report)."""

    program = _Program()
    period = _Period()
    eligible_staff = serializers.IntegerField(
        help_text="Staff of merchants with orders in the period."
    )
    earning_staff = serializers.IntegerField(help_text="Eligible staff who kept points earned.")
    share_earning = serializers.DecimalField(max_digits=6, decimal_places=4)
    histogram = _Bucket(many=True, help_text="Eligible staff by points kept in the period.")
    regions_unlocked = _Unlocked(many=True, help_text="Staff by regions a first-N rule paid.")
    earned = serializers.IntegerField()
    taken_back = serializers.IntegerField(help_text="Cancelled or reversed by closed orders.")
    net = serializers.IntegerField()
    expired = serializers.IntegerField()
    spent = serializers.IntegerField(help_text="On prizes and draws, net of refunds.")
    redemption_rate = serializers.DecimalField(
        max_digits=8, decimal_places=4, help_text="Spent over earned."
    )
    redeeming_staff = serializers.IntegerField()
    share_redeeming = serializers.DecimalField(
        max_digits=6, decimal_places=4, help_text="Of the earning staff."
    )
    balance = serializers.IntegerField()
    pending = serializers.IntegerField()
    outstanding = serializers.IntegerField(help_text="Balance and pending, now.")
    liability = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="Outstanding at the point value."
    )
    adjusted = serializers.IntegerField(help_text="Credited less debited by hand or by a draw.")
    expiring_this_month = serializers.IntegerField(help_text="Due by the end of this month.")
    expiring_next_month = serializers.IntegerField(help_text="Due in the next calendar month.")
    next_month = serializers.DateTimeField(help_text="When the next month begins.")


def _money(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=16, decimal_places=2, **kwargs)


class _Reconciled(serializers.Serializer):
    redemptions = serializers.IntegerField(help_text="Redeemed in the period.")
    redeemed_discount = _money()
    redeemed_order_amount = _money()
    rollbacks = serializers.IntegerField(help_text="Rolled back in the period.")
    rolled_back_discount = _money()
    net_discount = _money(help_text="Discount less rolled back.")
    late_rollbacks = serializers.IntegerField(
        help_text="Rollbacks of coupons redeemed before the period: adjustments of an earlier one."
    )


class _ReconciliationRow(_Reconciled):
    merchant = serializers.CharField(source="merchant__code", allow_null=True)
    merchant_name = serializers.CharField(source="merchant__name", allow_null=True)
    batch = serializers.IntegerField(source="batch_id")
    batch_name = serializers.CharField(source="batch__name")
    campaign_name = serializers.CharField(source="batch__campaign__name")


class ReconciliationSerializer(serializers.Serializer):
    """The reconciliation (reports.selectors.reconciliation)."""

    period = _Period()
    totals = _Reconciled()
    rows = _ReconciliationRow(many=True)


class SettlementPrepareSerializer(serializers.Serializer):
    from_ = serializers.DateField(help_text="First day (inclusive).")
    to = serializers.DateField(help_text="Last day (inclusive); it must have passed.")
    merchant = serializers.CharField(required=False, help_text="A merchant's code; none: all.")
    note = serializers.CharField(required=False, allow_blank=True, default="")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    def validate(self, data):
        tenant, actor = self.context["tenant"], self.context["actor"]
        merchant = ReportFilterSerializer._lookup(
            merchant_list(tenant=tenant, actor=actor), "merchant", data.get("merchant")
        )
        return {
            "first_day": data["from"], "last_day": data["to"], "merchant": merchant,
            "note": data["note"],
        }  # fmt: skip


class SettlementNoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class SettlementSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    merchant = serializers.CharField(source="merchant.code", default=None)
    first_day = serializers.DateField()
    last_day = serializers.DateField()
    status = serializers.CharField()
    prepared_by = serializers.CharField(source="prepared_by.username", default=None)
    closed_by = serializers.CharField(source="closed_by.username", default=None)
    closed_at = serializers.DateTimeField()
    note = serializers.CharField()


class SettlementFiguresSerializer(serializers.Serializer):
    frozen = serializers.BooleanField(help_text="Closed: the figures as they were then.")
    totals = _Reconciled()
    rows = _ReconciliationRow(many=True)


class SettlementDetailSerializer(SettlementSerializer, SettlementFiguresSerializer):
    """A settlement with what it states (the API's answer; documented as one)."""


class StatementFormatSerializer(serializers.Serializer):
    format = serializers.ChoiceField(
        choices=EXPORT_FORMATS, required=False, help_text="csv or xlsx: the statement."
    )


class CampaignEffectFilterSerializer(ReconciliationFilterSerializer):
    """The campaign effect's filters: a campaign (default: the latest running, else the latest
    started), one of its batches, and the rest."""

    def window(self, data, **choices) -> ReportWindow:
        window = super().window(data, **choices)
        if window.campaign is None:
            tenant, actor = self.context["tenant"], self.context["actor"]
            campaigns = campaign_list(tenant=tenant, actor=actor)
            latest = campaigns.filter(status=CampaignStatus.RUNNING).order_by("-starts_at").first()
            latest = latest or campaigns.order_by("-starts_at").first()
            if latest is None:
                raise serializers.ValidationError({"campaign": [_("No campaign yet.")]})
            window = replace(window, campaign=latest)
        if (
            window.batch is not None
            and window.batch.campaign_id != cast(Campaign, window.campaign).pk
        ):
            raise serializers.ValidationError({"batch": [_("Not a batch of this campaign.")]})
        return window


class _Effect(serializers.Serializer):
    issued = serializers.IntegerField(help_text="Coupons issued in the period.")
    redemption_rate = serializers.DecimalField(
        max_digits=6, decimal_places=4, help_text="Of those, the share redeemed now."
    )
    redemptions = serializers.IntegerField()
    redeemed_discount = _money()
    rollbacks = serializers.IntegerField()
    rolled_back_discount = _money()
    net_discount = _money(help_text="The discount cost: given less rolled back.")
    late_rollbacks = serializers.IntegerField()
    redeemed_order_amount = _money()
    orders = serializers.IntegerField(help_text="Orders a live redemption is attributed to.")
    order_amount = _money(help_text="Their amount, each order once.")
    new_customers = serializers.IntegerField(
        help_text="Registered in the period, redeeming for the first time in it."
    )


class _EffectBatch(serializers.Serializer):
    batch = serializers.IntegerField()
    name = serializers.CharField()
    issued = serializers.IntegerField()
    claimed = serializers.IntegerField(help_text="Flash claims over the batch's whole life.")
    redemptions = serializers.IntegerField()
    redeemed_discount = _money()
    rollbacks = serializers.IntegerField()


class _EffectChannel(serializers.Serializer):
    channel = serializers.CharField(help_text="The order's channel code; empty: none given.")
    redemptions = serializers.IntegerField()
    discount = _money()
    order_amount = _money()


class _EffectDay(serializers.Serializer):
    day = serializers.DateField()
    issued = serializers.IntegerField()
    redemptions = serializers.IntegerField()
    discount = _money()


class _BurnDay(serializers.Serializer):
    day = serializers.DateField()
    amount = _money()
    reserved = _money()
    spent = _money()


class _CampaignRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CampaignEffectSerializer(serializers.Serializer):
    """The campaign effect (reports.selectors.campaign_effect)."""

    campaign = _CampaignRef()
    period = _Period()
    totals = _Effect()
    batches = _EffectBatch(many=True)
    channels = _EffectChannel(many=True)
    days = _EffectDay(many=True)
    burn_down = _BurnDay(many=True, help_text="The budget at the end of each day.")


class BudgetVsActualSerializer(serializers.Serializer):
    business_unit = serializers.CharField(source="business_unit__code")
    business_unit_name = serializers.CharField(source="business_unit__name")
    budgets = serializers.IntegerField(help_text="Approved or closed budgets.")
    amount = _money()
    reserved = _money()
    spent = _money()
    available = _money()
    used = serializers.DecimalField(
        max_digits=6, decimal_places=4, help_text="Reserved and spent over the amount."
    )
