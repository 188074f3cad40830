"""Where the tenant-isolation test finds the other tenant's identifiers for accounts' routes.

Registered by path prefix, so other apps' routes below these paths (say
/customers/{code}/coupons) are filled with the same identifiers.
"""

from accounts.models import (
    ApiKey,
    Customer,
    Membership,
    Merchant,
    MerchantStaff,
    PersonalToken,
    Region,
)
from accounts.roles import Role
from accounts.services import personal_token_create
from accounts.tests.factories import CustomerFactory
from core.testing import route_param


def _customer(world):
    return CustomerFactory(
        tenant=world.tenant, region=world.region, name=f"{world.tenant.slug} customer"
    )


route_param("users/<int:id>", "id", Membership)
route_param("regions/<str:code>", "code", Region, field="code")
route_param("merchants/<str:code>", "code", Merchant, field="code")
route_param("staff/<str:code>", "code", MerchantStaff, field="code")
route_param("customers/<str:code>", "code", Customer, field="code", make=_customer)
route_param("api-keys/<int:id>", "id", ApiKey, make=lambda world: world.key_client())
route_param(
    "auth/tokens/<int:id>",
    "id",
    PersonalToken,
    make=lambda world: personal_token_create(membership=world.members[Role.OPERATOR])[0],
)
