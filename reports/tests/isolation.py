"""Where the tenant-isolation test finds the other tenant's identifiers for reports' routes."""

from datetime import date

from core.testing import route_param
from reports import api
from reports.models import Settlement


def settlement_prepared(world):
    from reports import services

    return services.settlement_prepare(
        tenant=world.tenant, actor=world.system, first_day=date(2026, 10, 1),
        last_day=date(2026, 10, 31),
    )  # fmt: skip


for view in (api.SettlementDetailView, api.SettlementCloseView, api.SettlementDiscardView):
    route_param(view, "id", Settlement, make=settlement_prepared)
