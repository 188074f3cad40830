"""The demo tenant has coupon redemptions and rollbacks, and the budgets still agree."""

import pytest
from django.core.management import call_command

from accounts.demo import demo_tenant_get
from coupons.models import CouponRedemption

pytestmark = pytest.mark.django_db


def test_seed_demo_redeems_and_rolls_back_coupons(capsys):
    call_command("seed_demo", size="tiny")
    call_command("seed_demo", size="tiny")  # a second run adds nothing
    tenant = demo_tenant_get()
    rows = CouponRedemption.objects.for_tenant(tenant)
    assert rows.filter(rolled_back_at__isnull=True).exists()
    assert rows.filter(rolled_back_at__isnull=False).exists()
    first_count = rows.count()
    call_command("seed_demo", size="tiny")
    assert rows.count() == first_count
    call_command("check_budgets")


def test_the_demo_regional_operator_sees_redemptions_of_their_regions():
    """Customers redeem at merchants of their own province, so demo-regional (GD, ZJ) has a
    redemptions page with rows, every one inside their regions."""
    from accounts.models import Membership
    from accounts.permissions import Actor
    from coupons.selectors import redemption_list

    call_command("seed_demo", size="tiny")
    tenant = demo_tenant_get()
    regional = Membership.objects.for_tenant(tenant).get(user__username="demo-regional")
    actor = Actor(tenant=tenant, membership=regional)
    rows = list(redemption_list(tenant=tenant, actor=actor))
    assert rows
    assert all(r.customer.region_id in actor.region_ids for r in rows)
    assert all(r.merchant.region_id in actor.region_ids for r in rows)
