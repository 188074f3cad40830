"""Where the tenant-isolation test finds the other tenant's identifiers for accounts' routes."""

from accounts import api
from accounts.models import ApiKey, Customer, Membership, Merchant, MerchantStaff, Region
from accounts.tests.factories import CustomerFactory
from core.testing import route_param

route_param(api.UserDetailView, "id", Membership)
route_param(api.RegionDetailView, "code", Region, field="code")
route_param(api.MerchantDetailView, "code", Merchant, field="code")
route_param(api.StaffDetailView, "code", MerchantStaff, field="code")
route_param(
    api.CustomerDetailView,
    "code",
    Customer,
    field="code",
    make=lambda world: CustomerFactory(
        tenant=world.tenant, region=world.region, name=f"{world.tenant.slug} customer"
    ),
)
route_param(api.ApiKeyRevokeView, "id", ApiKey, make=lambda world: world.key_client())
