"""Management API of campaigns and channels (SPEC §8). Users only: no API-key scope."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.response import Response

from web.api.views import (
    ListCreateView,
    ObjectDetailView,
    TenantAPIView,
    object_action_view,
)

from . import selectors, services
from . import serializers as s
from .checks import local_days
from .models import CampaignStatus

TAGS = ["campaigns"]
LIST_PARAMS = [
    OpenApiParameter("status", str, many=True, enum=CampaignStatus.values),
    OpenApiParameter("budget", int),
    OpenApiParameter("business_unit", str, description="Business unit code."),
    OpenApiParameter("region", str, description="Region code among the targets."),
    OpenApiParameter("channel", str, description="Channel code."),
    OpenApiParameter("active_from", str, description="ISO time: campaigns ending after it."),
    OpenApiParameter("active_until", str, description="ISO time: campaigns starting before it."),
    OpenApiParameter("search", str, description="Part of the name."),
]


@extend_schema_view(
    get=extend_schema(
        tags=TAGS, parameters=LIST_PARAMS, responses={200: s.CampaignSerializer(many=True)}
    ),
    post=extend_schema(
        tags=TAGS, request=s.CampaignCreateSerializer, responses={201: s.CampaignSerializer}
    ),
)
class CampaignListView(ListCreateView):
    selector = staticmethod(selectors.campaign_list)
    output = s.CampaignSerializer
    input = s.CampaignCreateSerializer
    create = staticmethod(services.campaign_create)


@extend_schema_view(get=extend_schema(tags=TAGS, responses={200: s.CampaignSerializer}))
class CampaignDetailView(ObjectDetailView):
    getter = staticmethod(selectors.campaign_get)
    output = s.CampaignSerializer

    @extend_schema(
        tags=TAGS, request=s.CampaignUpdateSerializer, responses={200: s.CampaignSerializer}
    )
    def patch(self, request, id):
        campaign = selectors.campaign_get(tenant=self.tenant, actor=self.actor, id=id)
        data = s.CampaignUpdateSerializer(
            data=request.data, context={"tenant": self.tenant, "actor": self.actor}
        )
        data.is_valid(raise_exception=True)
        campaign = services.campaign_update(
            tenant=self.tenant, actor=self.actor, campaign=campaign, **data.validated_data
        )
        return Response(s.CampaignSerializer(campaign).data)


class CampaignCheckView(TenantAPIView):
    @extend_schema(
        tags=TAGS,
        parameters=[s.CheckWindowSerializer],
        responses={200: s.CheckSerializer},
        description="Errors block scheduling; warnings need acknowledging (SPEC §6). The "
        "simulation replays the tenant's orders of `from` to `to` (default: as many days as the "
        "campaign lasts, up to yesterday); a big window runs as a job: `simulation.status` is "
        "`queued` or `running` with `done` of `total`, and the same request later shows it done.",
    )
    def get(self, request, id):
        campaign = selectors.campaign_get(tenant=self.tenant, actor=self.actor, id=id)
        window = s.CheckWindowSerializer(data=request.query_params)
        window.is_valid(raise_exception=True)
        days = window.validated_data
        chosen = local_days(self.tenant, days["from"], days["to"]) if days else None
        return Response(
            services.campaign_check(tenant=self.tenant, campaign=campaign, window=chosen)
        )


def _action(name: str, service, input=s.CampaignNoteSerializer, description: str = ""):
    return object_action_view(
        name,
        getter=selectors.campaign_get,
        service=service,
        param="campaign",
        input=input,
        output=s.CampaignSerializer,
        tags=TAGS,
        description=description,
    )


CampaignScheduleView = _action(
    "CampaignScheduleView",
    services.campaign_schedule,
    s.ScheduleSerializer,
    "draft → scheduled after the check (422 campaign_check_failed, 422 "
    "warnings_not_acknowledged); running at once when its start time has come.",
)
CampaignPauseView = _action(
    "CampaignPauseView", services.campaign_pause, description="running → paused."
)
CampaignResumeView = _action(
    "CampaignResumeView",
    services.campaign_resume,
    description="paused → running (422 campaign_check_failed when the check finds an error).",
)
CampaignEndView = _action(
    "CampaignEndView",
    services.campaign_end,
    description=(
        "scheduled, running, paused → ended. Its active and paused coupon batches end (the stock "
        "never issued is released); coupons of batches without `extend_past_campaign` expire "
        "now, their reservation released; the others stay usable until their own validity ends."
    ),
)


@extend_schema_view(
    get=extend_schema(tags=TAGS, responses={200: s.ChannelSerializer(many=True)}),
    post=extend_schema(
        tags=TAGS, request=s.ChannelSerializer, responses={201: s.ChannelSerializer}
    ),
)
class ChannelListView(ListCreateView):
    selector = staticmethod(selectors.channel_list)
    filterable = False
    output = s.ChannelSerializer
    input = s.ChannelSerializer
    create = staticmethod(services.channel_create)


class ChannelDetailView(TenantAPIView):
    @extend_schema(
        tags=TAGS, request=s.ChannelUpdateSerializer, responses={200: s.ChannelSerializer}
    )
    def patch(self, request, code):
        channel = selectors.channel_get(tenant=self.tenant, actor=self.actor, code=code)
        data = s.ChannelUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        channel = services.channel_update(
            tenant=self.tenant, actor=self.actor, channel=channel, **data.validated_data
        )
        return Response(s.ChannelSerializer(channel).data)
