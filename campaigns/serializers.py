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


class CheckItemSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()


class CheckSerializer(serializers.Serializer):
    # A field, not Serializer.errors: DRF's metaclass takes declared fields off the class.
    errors = CheckItemSerializer(many=True, help_text="Block scheduling.")  # type: ignore[assignment]
    warnings = CheckItemSerializer(many=True, help_text="Need `acknowledge_warnings` to schedule.")
    simulation = serializers.DictField(help_text="Estimates from past orders (SPEC §6).")


class ChannelSerializer(serializers.Serializer):
    code = serializers.SlugField(max_length=50)
    name = serializers.CharField(max_length=100)
    is_active = serializers.BooleanField(read_only=True)


class ChannelUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    is_active = serializers.BooleanField(required=False)
