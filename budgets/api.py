"""Management API of budgets and adjustments (SPEC §8). Users only: no API-key scope."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response

from web.api.views import (
    ListCreateView,
    ListView,
    ObjectDetailView,
    TenantAPIView,
    object_action_view,
)

from . import selectors, services
from . import serializers as s
from .models import AdjustmentStatus, BudgetPurpose, BudgetStatus

TAGS = ["budgets"]
LIST_PARAMS = [
    OpenApiParameter("status", str, many=True, enum=BudgetStatus.values),
    OpenApiParameter("business_unit", str, description="Business unit code."),
    OpenApiParameter("purpose", str, enum=BudgetPurpose.values),
    OpenApiParameter("active_from", str, description="Date: budgets ending on or after it."),
    OpenApiParameter("active_until", str, description="Date: budgets starting on or before it."),
    OpenApiParameter("search", str, description="Part of the name."),
]


@extend_schema_view(
    get=extend_schema(
        tags=TAGS, parameters=LIST_PARAMS, responses={200: s.BudgetSerializer(many=True)}
    ),
    post=extend_schema(
        tags=TAGS, request=s.BudgetCreateSerializer, responses={201: s.BudgetSerializer}
    ),
)
class BudgetListView(ListCreateView):
    selector = staticmethod(selectors.budget_list)
    output = s.BudgetSerializer
    input = s.BudgetCreateSerializer
    create = staticmethod(services.budget_create)


@extend_schema_view(get=extend_schema(tags=TAGS, responses={200: s.BudgetSerializer}))
class BudgetDetailView(ObjectDetailView):
    getter = staticmethod(selectors.budget_get)
    output = s.BudgetSerializer

    @extend_schema(
        tags=TAGS,
        request=s.BudgetUpdateSerializer,
        responses={200: s.BudgetSerializer},
        description="Edit a draft; editing a rejected budget takes it back to draft.",
    )
    def patch(self, request, id):
        budget = selectors.budget_get(tenant=self.tenant, actor=self.actor, id=id)
        data = s.BudgetUpdateSerializer(data=request.data, context={"tenant": self.tenant})
        data.is_valid(raise_exception=True)
        budget = services.budget_update(
            tenant=self.tenant, actor=self.actor, budget=budget, **data.validated_data
        )
        return Response(s.BudgetSerializer(budget).data)


def _action(name: str, service, input=s.BudgetNoteSerializer, description: str = ""):
    return object_action_view(
        name,
        getter=selectors.budget_get,
        service=service,
        param="budget",
        input=input,
        output=s.BudgetSerializer,
        tags=TAGS,
        description=description,
    )


BudgetSubmitView = _action(
    "BudgetSubmitView", services.budget_submit, description="draft → submitted."
)
BudgetApproveView = _action(
    "BudgetApproveView",
    services.budget_approve,
    description="submitted → approved; finance only, never the creator (403 maker_checker).",
)
BudgetRejectView = _action(
    "BudgetRejectView",
    services.budget_reject,
    s.BudgetRequiredNoteSerializer,
    description="submitted → rejected with a note; finance only, never the creator.",
)
BudgetReopenView = _action(
    "BudgetReopenView", services.budget_reopen, description="rejected → draft."
)
BudgetCloseView = _action(
    "BudgetCloseView",
    services.budget_close,
    description="approved → closed: what is still reserved is released, unused money returns.",
)


class BudgetEntryListView(TenantAPIView):
    @extend_schema(tags=TAGS, responses={200: s.BudgetEntrySerializer(many=True)})
    def get(self, request, id):
        budget = selectors.budget_get(tenant=self.tenant, actor=self.actor, id=id)
        qs = selectors.budget_entry_list(tenant=self.tenant, actor=self.actor, budget=budget)
        return self.paginated(qs, s.BudgetEntrySerializer)


class BudgetAdjustmentListView(TenantAPIView):
    @extend_schema(tags=TAGS, responses={200: s.AdjustmentSerializer(many=True)})
    def get(self, request, id):
        budget = selectors.budget_get(tenant=self.tenant, actor=self.actor, id=id)
        qs = selectors.budget_adjustment_list(tenant=self.tenant, actor=self.actor, budget=budget)
        return self.paginated(qs, s.AdjustmentSerializer)

    @extend_schema(
        tags=TAGS,
        request=s.AdjustmentCreateSerializer,
        responses={201: s.AdjustmentSerializer},
        description="Ask to change an approved budget's amount; another finance user approves.",
    )
    def post(self, request, id):
        budget = selectors.budget_get(tenant=self.tenant, actor=self.actor, id=id)
        data = s.AdjustmentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        adjustment = services.budget_adjustment_create(
            tenant=self.tenant, actor=self.actor, budget=budget, **data.validated_data
        )
        return Response(s.AdjustmentSerializer(adjustment).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(
        tags=TAGS,
        parameters=[OpenApiParameter("status", str, enum=AdjustmentStatus.values)],
        responses={200: s.AdjustmentSerializer(many=True)},
    )
)
class AdjustmentListView(ListView):
    selector = staticmethod(selectors.budget_adjustment_list)
    output = s.AdjustmentSerializer


def _adjustment_action(name: str, service, input=s.BudgetNoteSerializer, description: str = ""):
    return object_action_view(
        name,
        getter=selectors.budget_adjustment_get,
        service=service,
        param="adjustment",
        input=input,
        output=s.AdjustmentSerializer,
        tags=TAGS,
        description=description,
    )


AdjustmentApproveView = _adjustment_action(
    "AdjustmentApproveView",
    services.budget_adjustment_approve,
    description="Apply the adjustment; finance only, never its creator (403 maker_checker).",
)
AdjustmentRejectView = _adjustment_action(
    "AdjustmentRejectView", services.budget_adjustment_reject, s.BudgetRequiredNoteSerializer
)
