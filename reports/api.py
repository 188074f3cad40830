"""`GET /api/v1/reports/<name>` (SPEC §8): a report as JSON, or its rows as `?format=csv|xlsx`."""

from collections.abc import Callable

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.response import Response

from web.api.views import ListCreateView, TenantAPIView, object_action_view

from . import selectors, services
from . import serializers as s
from .exports import (
    campaign_effect_download,
    points_download,
    reconciliation_download,
    settlement_download,
)

TAGS = ["reports"]


class DownloadView(TenantAPIView):
    """A view whose `?format=csv|xlsx` is a download: DRF's own `format` switch (of renderers)
    must not take the parameter for its own."""

    def perform_content_negotiation(self, request, force=False):
        # JSON answers whatever `format` says: the parameters' check then names a bad one (400)
        asked = "format" in request.query_params
        return super().perform_content_negotiation(request, force=force or asked)


class ReportView(DownloadView):
    """A report: its parameters through `filters`, its figures from `report` (a selector)
    answered as `answer`, or with `?format=csv|xlsx` its rows through `download`."""

    filters: type[s.ReportFilterSerializer]
    report: Callable[..., dict]
    download: Callable
    answer: type[s.serializers.Serializer]

    def get(self, request):
        params = self.filters(
            data=request.query_params, context={"tenant": self.tenant, "actor": self.actor}
        )
        params.is_valid(raise_exception=True)
        scope = {
            "tenant": self.tenant,
            "actor": self.actor,
            "window": params.validated_data["window"],
        }
        if fmt := params.validated_data["format"]:
            return type(self).download(**scope, fmt=fmt)
        return Response(self.answer(type(self).report(**scope)).data)


def _documented(filters, answer, description: str):
    return extend_schema(
        tags=TAGS,
        parameters=[filters],
        responses={
            200: answer,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="?format=csv"),
        },
        description=description + " Kept within the caller's data scope.",
    )


class PointsReportView(ReportView):
    filters, answer = s.PointsFilterSerializer, s.PointsReportSerializer
    report, download = selectors.points_report, points_download

    @_documented(
        filters,
        answer,
        "Points of a staff program in a period (SPEC §5): points per staff member, the share "
        "of eligible staff (of merchants with orders in the period) who earned, regions "
        "unlocked, the period's flows, the redemption rate, and now the outstanding points, "
        "their money value and what expires soon. `?format=csv|xlsx`: one row per eligible "
        "staff member.",
    )
    def get(self, request):
        return super().get(request)


class ReconciliationView(ReportView):
    filters, answer = s.ReconciliationFilterSerializer, s.ReconciliationSerializer
    report, download = selectors.reconciliation, reconciliation_download

    @_documented(
        filters,
        answer,
        "Coupon redemptions for finance (SPEC §5), per merchant and batch: those redeemed in "
        "the period (count, discount, order amount), those rolled back in it (whenever "
        "redeemed) and the net discount, with the totals. `?format=csv|xlsx`: the rows and a "
        "totals row.",
    )
    def get(self, request):
        return super().get(request)


class CampaignEffectView(ReportView):
    filters, answer = s.CampaignEffectFilterSerializer, s.CampaignEffectSerializer
    report, download = selectors.campaign_effect, campaign_effect_download

    @_documented(
        filters,
        answer,
        "What a campaign's coupons did in a period (SPEC §5): issued, redeemed and the "
        "redemption rate, the discount cost net of rollbacks, orders and order amount "
        "attributed, new customers; by batch, by the orders' channel and by day; and the "
        "burn-down of its budget. `?format=csv|xlsx`: the days.",
    )
    def get(self, request):
        return super().get(request)


class BudgetVsActualView(TenantAPIView):
    @extend_schema(
        tags=TAGS,
        responses={200: s.BudgetVsActualSerializer(many=True)},
        description="Per business unit, its approved and closed budgets against what is "
        "reserved and spent (SPEC §5, finance); a business-unit admin sees their own unit.",
    )
    def get(self, request):
        rows = selectors.budget_vs_actual(tenant=self.tenant, actor=self.actor)
        return Response(s.BudgetVsActualSerializer(rows, many=True).data)


@extend_schema_view(
    get=extend_schema(tags=TAGS, responses={200: s.SettlementSerializer(many=True)}),
    post=extend_schema(
        tags=TAGS,
        request=s.SettlementPrepareSerializer,
        responses={201: s.SettlementSerializer},
        description="Finance prepares a period of coupon redemptions to close, for all "
        "merchants or one (SPEC §5). 422 period_not_ended unless its last day has passed; "
        "409 period_settled when it overlaps a prepared or closed settlement of the same "
        "merchants.",
    ),
)
class SettlementListView(ListCreateView):
    selector = staticmethod(selectors.settlement_list)
    filterable = False
    output = s.SettlementSerializer
    input = s.SettlementPrepareSerializer
    create = staticmethod(services.settlement_prepare)


class SettlementDetailView(DownloadView):
    @extend_schema(
        tags=TAGS,
        parameters=[s.StatementFormatSerializer],
        responses={
            200: s.SettlementDetailSerializer,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="?format=csv"),
        },
        description="A settlement and what it states: once closed, the figures frozen then; "
        "before, the reconciliation as it is now. `?format=csv|xlsx`: the statement, its "
        "rows and a totals row equal to `totals`.",
    )
    def get(self, request, id):
        settlement = selectors.settlement_get(tenant=self.tenant, actor=self.actor, id=id)
        asked = s.StatementFormatSerializer(data=request.query_params)
        asked.is_valid(raise_exception=True)
        if fmt := asked.validated_data.get("format"):
            return settlement_download(tenant=self.tenant, settlement=settlement, fmt=fmt)
        figures = selectors.settlement_figures(tenant=self.tenant, settlement=settlement)
        return Response(
            s.SettlementSerializer(settlement).data | s.SettlementFiguresSerializer(figures).data
        )


def _settlement_action(name: str, service, description: str):
    return object_action_view(
        name, getter=selectors.settlement_get, service=service, param="settlement",
        input=s.SettlementNoteSerializer, output=s.SettlementSerializer, tags=TAGS,
        description=description,
    )  # fmt: skip


SettlementCloseView = _settlement_action(
    "SettlementCloseView",
    services.settlement_close,
    "Another finance user closes the settlement: its figures are frozen (403 maker_checker "
    "for the one who prepared it; 409 invalid_transition unless prepared).",
)
SettlementDiscardView = _settlement_action(
    "SettlementDiscardView",
    services.settlement_discard,
    "A prepared settlement withdrawn; a closed one is never reopened (409 invalid_transition).",
)
