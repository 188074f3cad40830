"""Where the tenant-isolation test finds the other tenant's identifiers for points' routes."""

from accounts.models import MerchantStaff
from core.testing import route_param
from points import api, services
from points.models import PointsAccount, PointsAdjustmentRequest, PointsProgram, PointsRule


def _program(world):
    existing = PointsProgram.objects.for_tenant(world.tenant).first()
    if existing is not None:
        return existing
    return services.program_create(
        tenant=world.tenant,
        actor=world.system,
        name=f"{world.tenant.slug} points",
        holder="staff",
        point_value="0.01",
    )


def _account(world):
    program = _program(world)
    return services.account_for_holder(tenant=world.tenant, program=program, holder=world.staff)


def _rule(world):
    from points.tests.factories import rule, running_campaign

    program = _program(world)
    return rule(world, running_campaign(world), program, kind="per_order", points=1)


for staff_view in (api.StaffPointsView, api.StaffEntriesView):
    route_param(staff_view, "code", MerchantStaff, field="code")
for program_view in (api.ProgramDetailView, api.ProgramDeactivateView, api.ProgramActivateView):
    route_param(program_view, "id", PointsProgram, make=_program)
for rule_view in (api.RuleDetailView, api.RuleDeactivateView, api.RuleActivateView):
    route_param(rule_view, "id", PointsRule, make=_rule)
for account_view in (api.AccountDetailView, api.AccountEntriesView, api.AdjustmentView):
    route_param(account_view, "id", PointsAccount, make=_account)


def _adjustment_request(world):
    return PointsAdjustmentRequest.objects.create(
        tenant=world.tenant, account=_account(world), points=1, reason="isolation"
    )


for request_view in (
    api.AdjustmentRequestDetailView,
    api.AdjustmentRequestApproveView,
    api.AdjustmentRequestRejectView,
):
    route_param(request_view, "id", PointsAdjustmentRequest, make=_adjustment_request)
