"""Where the tenant-isolation test finds the other tenant's identifiers for coupons' routes."""

from accounts.models import Customer
from accounts.roles import Role
from core.testing import route_param
from coupons import services
from coupons.models import Coupon, CouponBatch, IssuanceJob, IssuanceRule, Segment
from coupons.tests.factories import active_batch


def _job(world):
    batch = active_batch(world, quantity=5)
    return services.generation_job_create(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), batch=batch, count=1
    )


def _segment(world):
    return services.segment_create(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), name="all", filters={}
    )


route_param("coupon-batches/<int:id>", "id", CouponBatch, make=active_batch)
route_param("issuance-jobs/<int:id>", "id", IssuanceJob, make=_job)
route_param("segments/<int:id>", "id", Segment, make=_segment)


def _coupon(world):
    from accounts.tests.factories import CustomerFactory

    batch = active_batch(world, quantity=5)
    customer = CustomerFactory(tenant=world.tenant, region=world.region)
    return services.coupon_issue(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), batch=batch, customer=customer
    )


route_param("coupons/<str:code>", "code", Coupon, field="code", make=_coupon)


def _rule(world):
    batch = active_batch(world, quantity=5)
    return services.issuance_rule_create(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), batch=batch, event="registration"
    )


def _blocked(world):
    from accounts.tests.factories import CustomerFactory

    customer = CustomerFactory(tenant=world.tenant, region=world.region)
    services.customer_block(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), customer=customer
    )
    return customer


route_param("issuance-rules/<int:id>", "id", IssuanceRule, make=_rule)
route_param("blocked-customers/<str:code>", "code", Customer, field="code", make=_blocked)
