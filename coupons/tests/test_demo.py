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
