"""Points API (SPEC §8): staff points for integrators (scope `points`), programs, rules,
adjustments and transfers for console users."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response

from accounts.models import ApiKeyScope
from accounts.selectors import staff_get
from campaigns.selectors import campaign_get
from web.api.views import (
    ListCreateView,
    ListView,
    ObjectDetailView,
    TenantAPIView,
    object_action_view,
)

from . import selectors, services
from . import serializers as s
from .models import PointsAdjustmentRequest

TAGS = ["points"]


class StaffPointsView(TenantAPIView):
    api_key_scope = ApiKeyScope.POINTS

    @extend_schema(
        tags=TAGS,
        responses={200: s.StaffPointsSerializer},
        description="The staff member's accounts: balance (usable), pending, points expiring in "
        "the next 30 days, tier.",
    )
    def get(self, request, code):
        accounts = selectors.staff_accounts(tenant=self.tenant, actor=self.actor, code=code)
        return Response(s.StaffPointsSerializer({"staff": code, "accounts": list(accounts)}).data)


class StaffEntriesView(TenantAPIView):
    api_key_scope = ApiKeyScope.POINTS

    @extend_schema(
        tags=TAGS,
        parameters=[OpenApiParameter("program", int)],
        responses={200: s.EntrySerializer(many=True)},
        description="Ledger entries of the staff member's accounts, newest first.",
    )
    def get(self, request, code):
        qs = selectors.entry_list(
            tenant=self.tenant, actor=self.actor, staff_code=code, filters=request.query_params
        )
        return self.paginated(qs, s.EntrySerializer)


@extend_schema_view(
    get=extend_schema(tags=TAGS, responses={200: s.ProgramSerializer(many=True)}),
    post=extend_schema(
        tags=TAGS,
        request=s.ProgramCreateSerializer,
        responses={201: s.ProgramSerializer},
        description="point_value_range defaults to point_value ± 20 %. 400 invalid_program: "
        "a range that does not hold point_value or starts at zero (field point_value_range).",
    ),
)
class ProgramListView(ListCreateView):
    selector = staticmethod(selectors.program_list)
    filterable = False
    output = s.ProgramSerializer
    input = s.ProgramCreateSerializer
    create = staticmethod(services.program_create)


@extend_schema_view(get=extend_schema(tags=TAGS, responses={200: s.ProgramSerializer}))
class ProgramDetailView(ObjectDetailView):
    getter = staticmethod(selectors.program_get)
    output = s.ProgramSerializer

    @extend_schema(
        tags=TAGS,
        request=s.ProgramUpdateSerializer,
        responses={200: s.ProgramSerializer},
        description="Only the fields sent change; the holder never does. 409 program_in_use: "
        "point_value or pending once points were earned (they would change what those points "
        "mean). 400 invalid_program on point_value_range: a new point_value sent alone falls "
        "outside the current range (send a range with it). 403 out_of_scope: rules outside the caller's regions or "
        "business unit use it.",
    )
    def patch(self, request, id):
        program = selectors.program_get(tenant=self.tenant, actor=self.actor, id=id)
        data = s.ProgramUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        program = services.program_update(
            tenant=self.tenant, actor=self.actor, program=program, **data.service_kwargs()
        )
        return Response(s.ProgramSerializer(program).data)


def _action(name: str, getter, service, param: str, output, description: str):
    return object_action_view(
        name,
        getter=getter,
        service=service,
        param=param,
        output=output,
        input=s.NoteSerializer,
        tags=TAGS,
        description=description,
    )


ProgramDeactivateView = _action(
    "ProgramDeactivateView",
    selectors.program_get,
    services.program_deactivate,
    "program",
    s.ProgramSerializer,
    "No rule of the program earns any more; points already earned keep their life cycle. "
    "409 invalid_transition: it is already inactive.",
)
ProgramActivateView = _action(
    "ProgramActivateView",
    selectors.program_get,
    services.program_activate,
    "program",
    s.ProgramSerializer,
    "The program's active rules earn again. 409 invalid_transition: it is already active.",
)


@extend_schema_view(
    get=extend_schema(
        tags=TAGS,
        parameters=[OpenApiParameter("campaign", int), OpenApiParameter("program", int)],
        responses={200: s.RuleSerializer(many=True)},
    )
)
class RuleListView(ListView):
    selector = staticmethod(selectors.rule_list)
    output = s.RuleSerializer

    # Its own POST: the body's campaign and program are looked up in the actor's scope, and
    # the rule is read back as the list shows it (with its points awarded).
    @extend_schema(tags=TAGS, request=s.RuleCreateSerializer, responses={201: s.RuleSerializer})
    def post(self, request):
        data = s.RuleCreateSerializer(data=request.data, context={"tenant": self.tenant})
        data.is_valid(raise_exception=True)
        campaign = campaign_get(
            tenant=self.tenant, actor=self.actor, id=data.validated_data["campaign"]
        )
        program = selectors.program_get(
            tenant=self.tenant, actor=self.actor, id=data.validated_data["program"]
        )
        rule = services.rule_create(
            tenant=self.tenant,
            actor=self.actor,
            campaign=campaign,
            program=program,
            **data.service_kwargs(),
        )
        rule = selectors.rule_get(tenant=self.tenant, actor=self.actor, id=rule.pk)
        return Response(s.RuleSerializer(rule).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(tags=TAGS, responses={200: s.RuleSerializer}))
class RuleDetailView(ObjectDetailView):
    getter = staticmethod(selectors.rule_get)
    output = s.RuleSerializer

    @extend_schema(
        tags=TAGS,
        request=s.RuleUpdateSerializer,
        responses={200: s.RuleSerializer},
        description="Only the fields sent change, from the next order on; awards made keep "
        "their points and ranks, first-N rankings continue. The kind, campaign and program are "
        "fixed. 409 invalid_rule: the campaign has ended. 403 out_of_scope: a region that is "
        "not the caller's.",
    )
    def patch(self, request, id):
        rule = selectors.rule_get(tenant=self.tenant, actor=self.actor, id=id)
        data = s.RuleUpdateSerializer(data=request.data, context={"tenant": self.tenant})
        data.is_valid(raise_exception=True)
        services.rule_update(
            tenant=self.tenant, actor=self.actor, rule=rule, **data.service_kwargs()
        )
        rule = selectors.rule_get(tenant=self.tenant, actor=self.actor, id=id)
        return Response(s.RuleSerializer(rule).data)


def _read_back(service):
    """The rule as the list shows it (with its points awarded) after the service changed it."""

    def run(*, tenant, actor, rule, **values):
        service(tenant=tenant, actor=actor, rule=rule, **values)
        return selectors.rule_get(tenant=tenant, actor=actor, id=rule.pk)

    return run


RuleDeactivateView = _action(
    "RuleDeactivateView",
    selectors.rule_get,
    _read_back(services.rule_deactivate),
    "rule",
    s.RuleSerializer,
    "The rule awards nothing on later orders; its awards stay. 409 invalid_transition: it "
    "is already inactive.",
)
RuleActivateView = _action(
    "RuleActivateView",
    selectors.rule_get,
    _read_back(services.rule_activate),
    "rule",
    s.RuleSerializer,
    "The rule awards again from the next order (409 invalid_rule: the campaign has ended; "
    "409 invalid_transition: it is already active).",
)


@extend_schema_view(
    get=extend_schema(
        tags=TAGS,
        parameters=[OpenApiParameter("program", int), OpenApiParameter("search", str)],
        responses={200: s.AccountSerializer(many=True)},
    )
)
class AccountListView(ListView):
    selector = staticmethod(selectors.account_list)
    output = s.AccountSerializer


@extend_schema_view(get=extend_schema(tags=TAGS, responses={200: s.AccountSerializer}))
class AccountDetailView(ObjectDetailView):
    getter = staticmethod(selectors.account_get)
    output = s.AccountSerializer


class AccountEntriesView(TenantAPIView):
    @extend_schema(tags=TAGS, responses={200: s.EntrySerializer(many=True)})
    def get(self, request, id):
        account = selectors.account_get(tenant=self.tenant, actor=self.actor, id=id)
        qs = selectors.entry_list(tenant=self.tenant, actor=self.actor, account=account)
        return self.paginated(qs, s.EntrySerializer)


class AdjustmentView(TenantAPIView):
    @extend_schema(
        tags=TAGS,
        request=s.AdjustmentSerializer,
        responses={201: s.EntrySerializer, 202: s.PointsAdjustmentRequestSerializer},
        description="A manual correction with a reason. Within the tenant's "
        "max_points_adjustment it applies at once (201, the ledger entry); above it, it waits "
        "for a second person with the right to adjust (202, the pending request). Negative "
        "points take usable points first-in, first-out (422 insufficient_points when there are "
        "not enough).",
    )
    def post(self, request, id):
        account = selectors.account_get(tenant=self.tenant, actor=self.actor, id=id)
        data = s.AdjustmentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.points_adjustment_submit(
            tenant=self.tenant, actor=self.actor, account=account, **data.validated_data
        )
        if isinstance(result, PointsAdjustmentRequest):
            return Response(
                s.PointsAdjustmentRequestSerializer(result).data, status=status.HTTP_202_ACCEPTED
            )
        return Response(s.EntrySerializer(result).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(
        tags=TAGS,
        parameters=[OpenApiParameter("status", str, enum=["pending", "approved", "rejected"])],
        responses={200: s.PointsAdjustmentRequestSerializer(many=True)},
        description="Large adjustments and their decisions, newest first.",
    )
)
class AdjustmentRequestListView(ListView):
    selector = staticmethod(selectors.adjustment_request_list)
    output = s.PointsAdjustmentRequestSerializer


@extend_schema_view(
    get=extend_schema(tags=TAGS, responses={200: s.PointsAdjustmentRequestSerializer})
)
class AdjustmentRequestDetailView(ObjectDetailView):
    getter = staticmethod(selectors.adjustment_request_get)
    output = s.PointsAdjustmentRequestSerializer


def _request_action(name: str, service, input, description: str):
    return object_action_view(
        name,
        getter=selectors.adjustment_request_get,
        service=service,
        param="request",
        input=input,
        output=s.PointsAdjustmentRequestSerializer,
        tags=TAGS,
        description=description,
    )


AdjustmentRequestApproveView = _request_action(
    "AdjustmentRequestApproveView",
    services.points_adjustment_approve,
    s.NoteSerializer,
    "Apply the adjustment; anyone who may adjust points, except who asked for it "
    "(403 maker_checker); twice is 409 invalid_transition.",
)
AdjustmentRequestRejectView = _request_action(
    "AdjustmentRequestRejectView",
    services.points_adjustment_reject,
    s.RequiredDecisionNoteSerializer,
    "Refuse the adjustment with a reason; never by who asked for it (403 maker_checker).",
)


class TransferView(TenantAPIView):
    @extend_schema(
        tags=TAGS,
        request=s.TransferCreateSerializer,
        responses={201: s.TransferSerializer},
        description="422 not_transferable, transfer_limit or insufficient_points.",
    )
    def post(self, request):
        data = s.TransferCreateSerializer(data=request.data, context={"tenant": self.tenant})
        data.is_valid(raise_exception=True)
        values = data.validated_data
        program = selectors.program_get(tenant=self.tenant, actor=self.actor, id=values["program"])
        sender = staff_get(tenant=self.tenant, actor=self.actor, code=values["from_staff"].code)
        transfer = services.points_transfer(
            tenant=self.tenant,
            actor=self.actor,
            program=program,
            from_holder=sender,
            to_holder=values["to_staff"],
            points=values["points"],
        )
        return Response(s.TransferSerializer(transfer).data, status=status.HTTP_201_CREATED)
