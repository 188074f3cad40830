from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import Membership, Region
from budgets.selectors import budget_get
from core.errors import NotFoundError
from web.api.fields import TenantCodeField

from .models import Channel


class ScopedBudgetField(serializers.IntegerField):
    """A budget by id, among those the caller may read; any other id is simply unknown."""

    default_error_messages = {"does_not_exist": _("Unknown budget: “{value}”.")}

    def to_internal_value(self, data):
        pk = super().to_internal_value(data)
        try:
            return budget_get(tenant=self.context["tenant"], actor=self.context["actor"], id=pk)
        except NotFoundError:
            self.fail("does_not_exist", value=pk)

    def to_representation(self, value):
        return value.pk


class MemberField(serializers.CharField):
    """A member of the caller's tenant by username."""

    default_error_messages = {"does_not_exist": _("No member “{value}” in this tenant.")}

    def to_internal_value(self, data):
        username = super().to_internal_value(data)
        membership = (
            Membership.objects.for_tenant(self.context["tenant"])
            .filter(user__username=username, is_active=True)
            .select_related("user")
            .first()
        )
        if membership is None:
            self.fail("does_not_exist", value=username)
        return membership.user


class CampaignCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    budget = ScopedBudgetField(help_text="Budget id; the campaign's business unit is the budget's.")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    channels = serializers.ListField(child=TenantCodeField(Channel), required=False, default=list)
    regions = serializers.ListField(child=TenantCodeField(Region), allow_empty=False)
    owner = MemberField(required=False, help_text="Username of a member; default: the caller.")

    def validate_channels(self, channels):
        retired = [c.code for c in channels if not c.is_active]
        if retired:
            raise serializers.ValidationError(f"Retired channels: {', '.join(retired)}.")
        return channels

    def validate(self, data):
        if "starts_at" in data and "ends_at" in data and data["ends_at"] <= data["starts_at"]:
            raise serializers.ValidationError({"ends_at": ["Must be after starts_at."]})
        return data


class CampaignUpdateSerializer(CampaignCreateSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)

    def validate(self, data):  # the service checks the period against the stored other end
        return data


class ScheduleSerializer(serializers.Serializer):
    acknowledge_warnings = serializers.BooleanField(required=False, default=False)


class CampaignNoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class CampaignSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    status = serializers.CharField()
    business_unit = serializers.CharField(source="business_unit.code")
    budget = serializers.IntegerField(source="budget_id")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    channels = serializers.SerializerMethodField()
    regions = serializers.SerializerMethodField()
    owner = serializers.CharField(source="owner.username", default=None)
    scheduled_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()

    def get_channels(self, campaign) -> list[str]:
        return sorted(c.code for c in campaign.channels.all())

    def get_regions(self, campaign) -> list[str]:
        return sorted(r.code for r in campaign.regions.all())


class CheckObjectSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="budget, campaign, points_rule, prize or lottery")
    id = serializers.IntegerField()
    name = serializers.CharField()
    url = serializers.CharField(help_text="The console page where it is changed.")


class CheckItemSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable: prize_unreachable, points_exceed_budget, …")
    severity = serializers.ChoiceField(choices=["error", "warning"])
    detail = serializers.CharField(help_text="What is wrong, with the figures.")
    figures = serializers.DictField(help_text="The figures that triggered it.")
    object = CheckObjectSerializer(allow_null=True, help_text="What to fix.")


class SimulationSerializer(serializers.Serializer):
    id = serializers.IntegerField(required=False)
    status = serializers.ChoiceField(choices=["none", "queued", "running", "done", "failed"])
    window = serializers.DictField(help_text="`from` and `to` of the replayed orders.")
    total = serializers.IntegerField(required=False, help_text="Orders in the window.")
    done = serializers.IntegerField(required=False, help_text="Orders replayed so far.")
    result = serializers.DictField(
        allow_null=True,
        help_text="When done: orders, points, money, budget_available, budget_refusals, and per "
        "program holders_active, holders_earning, share_earning, points, money, histogram, "
        "regions_unlocked and prizes (holders who could afford each).",
    )
    error = serializers.CharField(required=False)


class CheckSerializer(serializers.Serializer):
    # A field, not Serializer.errors: DRF's metaclass takes declared fields off the class.
    errors = CheckItemSerializer(many=True, help_text="Block scheduling.")  # type: ignore[assignment]
    warnings = CheckItemSerializer(many=True, help_text="Need `acknowledge_warnings` to schedule.")
    simulation = SimulationSerializer(help_text="The campaign's rules replayed on past orders.")


MAX_WINDOW_DAYS = 366


class CheckWindowSerializer(serializers.Serializer):
    """`?from=&to=`: the days of past orders the simulation replays (the tenant's days)."""

    # `from` is a keyword: the field is declared under another name and renamed below.
    from_ = serializers.DateField(required=False, help_text="First day (inclusive).")
    to = serializers.DateField(required=False, help_text="Last day (inclusive).")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    def validate(self, data):
        start, end = data.get("from"), data.get("to")
        if (start is None) != (end is None):
            raise serializers.ValidationError({"to": [_("Give both from and to, or neither.")]})
        if start is not None and end < start:
            raise serializers.ValidationError({"to": [_("On or after from.")]})
        if start is not None and (end - start).days >= MAX_WINDOW_DAYS:
            raise serializers.ValidationError(
                {"to": [_("At most %(days)d days.") % {"days": MAX_WINDOW_DAYS}]}
            )
        return data


class ChannelSerializer(serializers.Serializer):
    code = serializers.SlugField(max_length=50)
    name = serializers.CharField(max_length=100)
    is_active = serializers.BooleanField(read_only=True)


class ChannelUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    is_active = serializers.BooleanField(required=False)
