"""API of coupon batches, claims, issuance jobs and segments (SPEC §8).

Management endpoints are for users; the claim is an integration endpoint (API-key scope
`coupons`).
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from core.errors import NotFoundError
from core.exports import csv_response
from core.fingerprints import fingerprint
from web.api.views import (
    ListCreateView,
    ListView,
    ObjectDetailView,
    TenantAPIView,
    object_action_view,
)

from . import selectors, services
from . import serializers as s
from .errors import CouponReason, issue_row_reason_text
from .models import BatchStatus, CouponStatus

TAGS = ["coupons"]


@extend_schema_view(
    get=extend_schema(
        tags=TAGS,
        parameters=[
            OpenApiParameter("campaign", int),
            OpenApiParameter("status", str, enum=BatchStatus.values),
        ],
        responses={200: s.BatchSerializer(many=True)},
    ),
    post=extend_schema(
        tags=TAGS, request=s.BatchInputSerializer, responses={201: s.BatchSerializer}
    ),
)
class BatchListView(ListCreateView):
    selector = staticmethod(selectors.batch_list)
    output = s.BatchSerializer
    input = s.BatchInputSerializer
    create = staticmethod(services.batch_create)


@extend_schema_view(get=extend_schema(tags=TAGS, responses={200: s.BatchSerializer}))
class BatchDetailView(ObjectDetailView):
    getter = staticmethod(selectors.batch_get)
    output = s.BatchSerializer

    @extend_schema(
        tags=TAGS,
        request=s.BatchUpdateSerializer,
        responses={200: s.BatchSerializer},
        description="Change a draft batch (409 invalid_transition once active).",
    )
    def patch(self, request, id):
        batch = selectors.batch_get(tenant=self.tenant, actor=self.actor, id=id)
        data = s.BatchUpdateSerializer(
            data=request.data, context={"tenant": self.tenant, "actor": self.actor}
        )
        data.is_valid(raise_exception=True)
        batch = services.batch_update(
            tenant=self.tenant, actor=self.actor, batch=batch, **data.service_kwargs()
        )
        return Response(s.BatchSerializer(batch).data)


def _action(name: str, service, description: str):
    return object_action_view(
        name,
        getter=selectors.batch_get,
        service=service,
        param="batch",
        output=s.BatchSerializer,
        tags=TAGS,
        description=description,
    )


BatchActivateView = _action(
    "BatchActivateView",
    services.batch_activate,
    "draft → active: reserves quantity x the most one coupon can cost (409 budget_exceeded).",
)
BatchPauseView = _action("BatchPauseView", services.batch_pause, "active → paused.")
BatchResumeView = _action("BatchResumeView", services.batch_resume, "paused → active.")
BatchEndView = _action(
    "BatchEndView",
    services.batch_end,
    "active | paused → ended: the reservation of the stock never issued is released.",
)


class BatchClaimView(TenantAPIView):
    api_key_scope = "coupons"

    @extend_schema(
        tags=TAGS,
        request=s.ClaimSerializer,
        responses={201: s.CouponSerializer},
        description=(
            "A customer claims a coupon of a claimable batch: 409 batch_exhausted when none are "
            "left, 422 limit_reached over the per-customer limit or frequency cap."
        ),
    )
    def post(self, request, id):
        batch = selectors.batch_get_for_claim(tenant=self.tenant, actor=self.actor, id=id)
        data = s.ClaimSerializer(data=request.data, context={"tenant": self.tenant})
        data.is_valid(raise_exception=True)
        coupon = services.coupon_claim(
            tenant=self.tenant,
            actor=self.actor,
            batch=batch,
            customer=data.validated_data["customer"],
        )
        return Response(s.CouponSerializer(coupon).data, status=status.HTTP_201_CREATED)


class BatchIssueView(TenantAPIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    max_body_size_setting = "ISSUANCE_UPLOAD_MAX_SIZE"  # an upload: core/middleware.py

    @extend_schema(
        tags=TAGS,
        request={
            "application/json": s.IssueSerializer,
            "multipart/form-data": s.IssueSerializer,
        },
        responses={202: s.JobSerializer},
        description=(
            "Issue to a list of customer codes, a segment, or an uploaded CSV/XLSX (one customer "
            "code a row) as a background job; bad rows are reported in the job."
        ),
    )
    def post(self, request, id):
        batch = selectors.batch_get(tenant=self.tenant, actor=self.actor, id=id)
        data = s.IssueSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        kwargs = {}
        if "customers" in data.validated_data:
            kwargs["customers"] = data.validated_data["customers"]
        elif "segment" in data.validated_data:
            kwargs["segment"] = selectors.segment_get(
                tenant=self.tenant, actor=self.actor, id=data.validated_data["segment"]
            )
        else:
            upload = data.validated_data["file"]
            kwargs["file_name"] = upload.name
            kwargs["file_content"] = upload.read()
        job = services.issuance_job_create(
            tenant=self.tenant, actor=self.actor, batch=batch, **kwargs
        )
        return Response(
            s.JobSerializer(job, context={"request": request}).data,
            status=status.HTTP_202_ACCEPTED,
        )


class BatchGenerateView(TenantAPIView):
    @extend_schema(
        tags=TAGS,
        request=s.GenerateSerializer,
        responses={202: s.JobSerializer},
        description="Generate unassigned codes (print, partners) as a background job.",
    )
    def post(self, request, id):
        batch = selectors.batch_get(tenant=self.tenant, actor=self.actor, id=id)
        data = s.GenerateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.generation_job_create(
            tenant=self.tenant, actor=self.actor, batch=batch, count=data.validated_data["count"]
        )
        return Response(
            s.JobSerializer(job, context={"request": request}).data,
            status=status.HTTP_202_ACCEPTED,
        )


class BatchCodesView(TenantAPIView):
    @extend_schema(
        tags=TAGS,
        responses={200: OpenApiResponse(OpenApiTypes.STR, description="CSV, streamed.")},
        description="The batch's coupons as CSV: code, status, customer, valid_until (ISO 8601 "
        "in the tenant's time zone, e.g. `2025-11-12T00:00:00+08:00`; empty when open-ended). "
        "A text cell starting with `=`, `+`, `-`, `@`, tab or CR is prefixed with `'`, "
        "so that a spreadsheet shows it as text rather than running it as a formula.",
    )
    def get(self, request, id):
        batch = selectors.batch_get(tenant=self.tenant, actor=self.actor, id=id)
        rows = selectors.batch_codes(tenant=self.tenant, actor=self.actor, batch=batch)
        zone = self.tenant.zone
        # The timestamp as the tenant's people read it, not the database's UTC `str()`.
        rows = (
            (
                batch.shared_code or code,
                status,
                customer,
                valid_until and valid_until.astimezone(zone).isoformat(timespec="seconds"),
            )
            for code, status, customer, valid_until in rows
        )
        return csv_response(
            ["code", "status", "customer", "valid_until"], rows, f"batch-{batch.pk}-codes.csv"
        )


@extend_schema_view(
    get=extend_schema(
        tags=TAGS,
        parameters=[OpenApiParameter("batch", int)],
        responses={200: s.JobSerializer(many=True)},
    )
)
class JobListView(ListView):
    selector = staticmethod(selectors.job_list)
    output = s.JobSerializer


@extend_schema_view(get=extend_schema(tags=TAGS, responses={200: s.JobSerializer}))
class JobDetailView(ObjectDetailView):
    getter = staticmethod(selectors.job_get)
    output = s.JobSerializer


class JobErrorsView(TenantAPIView):
    @extend_schema(
        tags=TAGS,
        responses={200: OpenApiResponse(OpenApiTypes.STR, description="CSV, streamed.")},
        description=(
            "The job's error report: row, value, reason (a code such as `unknown_customer`), "
            "detail, and message (the reason in words). A text cell starting with `=`, `+`, "
            "`-`, `@`, tab or CR is prefixed with `'` (no formula runs in a spreadsheet)."
        ),
    )
    def get(self, request, id):
        job = selectors.job_get(tenant=self.tenant, actor=self.actor, id=id)
        rows = (
            (*row, issue_row_reason_text(row[2]))
            for row in selectors.job_errors(tenant=self.tenant, job=job)
            .values_list("row_no", "value", "reason", "detail")
            .iterator(chunk_size=5000)
        )
        return csv_response(
            ["row", "value", "reason", "detail", "message"],
            rows,
            f"issuance-job-{job.pk}-errors.csv",
        )


@extend_schema_view(
    get=extend_schema(tags=TAGS, responses={200: s.SegmentSerializer(many=True)}),
    post=extend_schema(
        tags=TAGS, request=s.SegmentInputSerializer, responses={201: s.SegmentSerializer}
    ),
)
class SegmentListView(ListCreateView):
    selector = staticmethod(selectors.segment_list)
    filterable = False
    output = s.SegmentSerializer
    input = s.SegmentInputSerializer
    create = staticmethod(services.segment_create)


@extend_schema_view(get=extend_schema(tags=TAGS, responses={200: s.SegmentSerializer}))
class SegmentDetailView(ObjectDetailView):
    getter = staticmethod(selectors.segment_get)
    output = s.SegmentSerializer


class SegmentPreviewView(TenantAPIView):
    @extend_schema(
        tags=TAGS,
        responses={200: s.PreviewSerializer},
        description="How many customers the segment matches now, and a sample of their codes.",
    )
    def get(self, request, id):
        segment = selectors.segment_get(tenant=self.tenant, actor=self.actor, id=id)
        return Response(
            selectors.segment_preview(tenant=self.tenant, actor=self.actor, filters=segment.filters)
        )


def _order_facts(data: dict) -> dict:
    return {
        "code": data["code"],
        "customer": data["customer"],
        "amount": data["amount"],
        "merchant": data.get("merchant"),
        "region": data.get("region"),
        "categories": data.get("categories") or (),
        "device_fingerprint": fingerprint(data.get("device_id", "")),
        "phone_fingerprint": fingerprint(data.get("phone", "")),
    }


class CouponValidateView(TenantAPIView):
    api_key_scope = "coupons"

    @extend_schema(
        tags=TAGS,
        request=s.ValidateSerializer,
        responses={200: s.ValidationResultSerializer},
        description=(
            "Whether a code applies to an order: the discount, or `reason` (the first failing "
            "check) and `reasons` (all of them) in this order: "
            + ", ".join(r.value for r in CouponReason)
            + ". Nothing changes."
        ),
    )
    def post(self, request):
        data = s.ValidateSerializer(data=request.data, context={"tenant": self.tenant})
        data.is_valid(raise_exception=True)
        _coupon, _batch, check = services.coupon_evaluate(
            tenant=self.tenant,
            actor=self.actor,
            order=data.validated_data.get("order") or None,
            **_order_facts(data.validated_data),
        )
        return Response(
            s.ValidationResultSerializer(
                {
                    "valid": check.valid,
                    "discount": check.discount,
                    "reason": check.reason,
                    "reasons": check.reasons,
                    "fraud_limit": check.fraud_limit,
                }
            ).data
        )


class CouponRedeemView(TenantAPIView):
    api_key_scope = "coupons"

    @extend_schema(
        tags=TAGS,
        request=s.RedeemSerializer,
        responses={200: s.RedemptionSerializer},
        description=(
            "Redeem a code on an order, once per (order, code): a retry returns the same "
            "redemption. A refusal is 422 with `code` = the first validate reason and "
            "`fields.reasons` all of them."
        ),
    )
    def post(self, request):
        data = s.RedeemSerializer(data=request.data, context={"tenant": self.tenant})
        data.is_valid(raise_exception=True)
        redemption = services.coupon_redeem(
            tenant=self.tenant,
            actor=self.actor,
            order=data.validated_data["order"],
            **_order_facts(data.validated_data),
        )
        return Response(s.RedemptionSerializer(redemption).data)


class CouponRollbackView(TenantAPIView):
    api_key_scope = "coupons"

    @extend_schema(
        tags=TAGS,
        request=s.RollbackSerializer,
        responses={200: s.CouponSerializer},
        description=(
            "Give a redeemed coupon back (order cancelled): issued while still valid, else "
            "expired; the spend goes back to the budget. `order` is required for a shared code."
        ),
    )
    def post(self, request, code):
        data = s.RollbackSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        coupon = services.coupon_rollback(
            tenant=self.tenant,
            actor=self.actor,
            code=code,
            order=data.validated_data.get("order") or None,
        )
        return Response(s.CouponSerializer(coupon).data)


class CustomerCouponsView(TenantAPIView):
    api_key_scope = "coupons"

    @extend_schema(
        tags=TAGS,
        parameters=[OpenApiParameter("status", str, enum=CouponStatus.values)],
        responses={200: s.CouponSerializer(many=True)},
    )
    def get(self, request, code):
        qs = selectors.customer_coupons(
            tenant=self.tenant, actor=self.actor, code=code, filters=request.query_params
        )
        return self.paginated(qs, s.CouponSerializer)


class EventView(TenantAPIView):
    api_key_scope = "coupons"

    @extend_schema(
        tags=TAGS,
        request=s.EventInputSerializer,
        responses={201: s.EventSerializer, 200: s.EventSerializer},
        description=(
            "An event (registration, referral, real_name_verified, bank_card_bound, order_paid, "
            "share): the automatic rules for its type issue coupons (a referral to the customer "
            "and the inviter). The same `id` again is a no-op: 200 with the first result."
        ),
    )
    def post(self, request):
        data = s.EventInputSerializer(data=request.data, context={"tenant": self.tenant})
        data.is_valid(raise_exception=True)
        v = data.validated_data
        event, created = services.event_receive(
            tenant=self.tenant,
            actor=self.actor,
            event_id=v["id"],
            type=v["type"],
            customer=v["customer"],
            inviter=v.get("inviter"),
            device_fingerprint=fingerprint(v.get("device_id", "")),
            phone_fingerprint=fingerprint(v.get("phone", "")),
        )
        return Response(
            s.EventSerializer(event).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


@extend_schema_view(
    get=extend_schema(tags=TAGS, responses={200: s.IssuanceRuleSerializer(many=True)})
)
class IssuanceRuleListView(ListView):
    selector = staticmethod(selectors.issuance_rule_list)
    filterable = False
    output = s.IssuanceRuleSerializer

    # Its own POST: the batch is looked up in the actor's scope and the cap split in two.
    @extend_schema(
        tags=TAGS,
        request=s.IssuanceRuleInputSerializer,
        responses={201: s.IssuanceRuleSerializer},
    )
    def post(self, request):
        data = s.IssuanceRuleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        batch = selectors.batch_get(tenant=self.tenant, actor=self.actor, id=v["batch"])
        cap = v.get("frequency_cap") or {}
        rule = services.issuance_rule_create(
            tenant=self.tenant,
            actor=self.actor,
            batch=batch,
            event=v["event"],
            frequency_cap_count=cap.get("count"),
            frequency_cap_days=cap.get("days"),
        )
        return Response(s.IssuanceRuleSerializer(rule).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(tags=TAGS, responses={200: s.IssuanceRuleSerializer}))
class IssuanceRuleDetailView(ObjectDetailView):
    getter = staticmethod(selectors.issuance_rule_get)
    output = s.IssuanceRuleSerializer

    @extend_schema(
        tags=TAGS,
        request=s.IssuanceRuleUpdateSerializer,
        responses={200: s.IssuanceRuleSerializer},
        description="Change the rule's frequency cap (null: none); it counts from the next event.",
    )
    def patch(self, request, id):
        rule = selectors.issuance_rule_get(tenant=self.tenant, actor=self.actor, id=id)
        data = s.IssuanceRuleUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cap = data.validated_data["frequency_cap"] or {}
        rule = services.issuance_rule_update(
            tenant=self.tenant,
            actor=self.actor,
            rule=rule,
            frequency_cap_count=cap.get("count"),
            frequency_cap_days=cap.get("days"),
        )
        return Response(s.IssuanceRuleSerializer(rule).data)


def _rule_action(name: str, service, description: str):
    return object_action_view(
        name,
        getter=selectors.issuance_rule_get,
        service=service,
        param="rule",
        output=s.IssuanceRuleSerializer,
        tags=TAGS,
        description=description,
    )


IssuanceRuleActivateView = _rule_action(
    "IssuanceRuleActivateView",
    services.issuance_rule_activate,
    "inactive → active: events issue the rule's batch again (409 invalid_transition if active).",
)
IssuanceRuleDeactivateView = _rule_action(
    "IssuanceRuleDeactivateView",
    services.issuance_rule_deactivate,
    "active → inactive: events issue nothing by this rule (409 invalid_transition if inactive).",
)


# Support work, not an integration endpoint (SPEC §7): users only, no API keys.
@extend_schema_view(
    get=extend_schema(tags=TAGS, responses={200: s.BlockedCustomerSerializer(many=True)})
)
class BlockedCustomerView(ListView):
    selector = staticmethod(selectors.blocked_customer_list)
    filterable = False
    output = s.BlockedCustomerSerializer

    # Blocking answers the customer and the flag, not a created row: the view's own POST.
    @extend_schema(
        tags=TAGS,
        request=s.BlockInputSerializer,
        responses={200: None},
        description="Put a customer on the blocklist: no coupon applies to them (`blocked`).",
    )
    def post(self, request):
        data = s.BlockInputSerializer(data=request.data, context={"tenant": self.tenant})
        data.is_valid(raise_exception=True)
        services.customer_block(
            tenant=self.tenant,
            actor=self.actor,
            customer=data.validated_data["customer"],
            reason=data.validated_data.get("reason", ""),
        )
        return Response({"customer": data.validated_data["customer"].code, "blocked": True})


class BlockedCustomerDetailView(TenantAPIView):
    # Support work, not an integration endpoint (SPEC §7): users only, no API keys.

    @extend_schema(
        tags=TAGS,
        responses={204: None},
        description="Take a customer off the blocklist (404 when they are not on it).",
    )
    def delete(self, request, code):
        row = selectors.blocked_customer_get(tenant=self.tenant, actor=self.actor, code=code)
        if not services.customer_unblock(
            tenant=self.tenant, actor=self.actor, customer=row.customer
        ):
            raise NotFoundError()  # a concurrent unblock was first
        return Response(status=status.HTTP_204_NO_CONTENT)


class FraudSettingsView(TenantAPIView):
    def _body(self, row):
        return {
            "customer_daily": row.customer_daily,
            "fingerprint_customers": row.fingerprint_customers,
            "campaign_limits": selectors.campaign_limit_list(tenant=self.tenant, actor=self.actor),
        }

    @extend_schema(
        tags=TAGS,
        responses={200: s.FraudSettingsSerializer},
        description="The tenant's fraud limits; a refusal by one is `fraud_limit`.",
    )
    def get(self, request):
        row = selectors.fraud_settings_get(tenant=self.tenant, actor=self.actor)
        return Response(s.FraudSettingsSerializer(self._body(row)).data)

    @extend_schema(
        tags=TAGS,
        request=s.FraudSettingsSerializer,
        responses={200: s.FraudSettingsSerializer},
        description=(
            "Replace the tenant's fraud limits, per-campaign limits included. Campaign managers "
            "whose scope is the whole tenant (not regional operators or business-unit admins)."
        ),
    )
    def put(self, request):
        data = s.FraudSettingsSerializer(
            data=request.data, context={"tenant": self.tenant, "actor": self.actor}
        )
        data.is_valid(raise_exception=True)
        row = services.fraud_settings_update(
            tenant=self.tenant, actor=self.actor, **data.service_kwargs()
        )
        return Response(s.FraudSettingsSerializer(self._body(row)).data)


class SuspiciousClustersView(TenantAPIView):
    @extend_schema(
        tags=TAGS,
        parameters=[
            OpenApiParameter("days", int),
            OpenApiParameter("min_customers", int),
            OpenApiParameter(
                "region", str, description="A region code: that region and everything below it."
            ),
        ],
        responses={200: s.ClusterSerializer(many=True)},
        description=(
            "Device and phone fingerprints shared by many customers lately (events and "
            "redemptions), most customers first."
        ),
    )
    def get(self, request):
        clusters = selectors.suspicious_clusters(
            tenant=self.tenant, actor=self.actor, filters=request.query_params
        )
        return Response(s.ClusterSerializer(clusters, many=True).data)
