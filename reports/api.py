"""`GET /api/v1/reports/<name>` (SPEC §8): a report as JSON, or its rows as `?format=csv|xlsx`."""

from collections.abc import Callable

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from web.api.views import TenantAPIView

from . import selectors
from . import serializers as s
from .exports import points_download, reconciliation_download

TAGS = ["reports"]


class ReportView(TenantAPIView):
    """A report: its parameters through `filters`, its figures from `report` (a selector)
    answered as `answer`, or with `?format=csv|xlsx` its rows through `download`. DRF's own
    `format` switch (of renderers) must not take the parameter for its own."""

    filters: type[s.ReportFilterSerializer]
    report: Callable[..., dict]
    download: Callable
    answer: type[s.serializers.Serializer]

    def perform_content_negotiation(self, request, force=False):
        # JSON answers whatever `format` says: the parameters' check then names a bad one (400)
        asked = "format" in request.query_params
        return super().perform_content_negotiation(request, force=force or asked)

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
