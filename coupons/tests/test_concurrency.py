"""A flash claim with real threads on PostgreSQL: exactly as many succeed as there are coupons."""

from collections import Counter
from functools import partial

import pytest
from django.db import connection

from accounts.roles import Role
from core.testing import run_at_once
from coupons import services
from coupons.models import Coupon, CouponBatch
from coupons.tests.factories import active_batch, customers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("concurrency")]


def test_forty_threads_claim_a_batch_of_twenty_five(world):
    assert connection.vendor == "postgresql"
    batch = active_batch(world, quantity=25, per_customer_limit=1, claimable=True)
    people = customers(world, 30)
    # 40 claims: every customer once, ten of them a second time (their limit is one).
    claimants = people + people[:10]
    actor = world.actor(Role.OPERATOR)

    def claim(customer):
        services.coupon_claim(tenant=world.tenant, actor=actor, batch=batch, customer=customer)
        return "ok"

    results = run_at_once([partial(claim, c) for c in claimants])

    outcomes = Counter(results)
    assert outcomes["ok"] == 25
    assert set(outcomes) <= {"ok", "batch_exhausted", "limit_reached"}
    assert sum(outcomes.values()) == 40
    coupons = Coupon.objects.for_tenant(world.tenant).filter(batch=batch)
    assert coupons.count() == 25
    per_customer = Counter(coupons.values_list("customer_id", flat=True))
    assert max(per_customer.values()) == 1
    batch = CouponBatch.objects.for_tenant(world.tenant).get(pk=batch.pk)
    assert (batch.issued, batch.claimed) == (25, 25)


def test_a_job_and_claims_racing_for_the_same_customers_keep_the_limit(world, settings):
    """A bulk job and customers' own claims lock in the same order: no deadlock, and nobody
    ends up over their limit of one."""
    settings.COUPONS_CHUNK_SIZE = 5
    batch = active_batch(world, quantity=100, per_customer_limit=1, claimable=True)
    people = customers(world, 20)
    actor = world.actor(Role.OPERATOR)
    job = services.issuance_job_create(
        tenant=world.tenant, actor=actor, batch=batch, customers=[c.code for c in people]
    )

    def claim(customer):
        services.coupon_claim(tenant=world.tenant, actor=actor, batch=batch, customer=customer)
        return "issued"

    outcomes = run_at_once(
        [partial(services.issuance_job_run, tenant=world.tenant, job_id=job.pk)]
        + [partial(claim, c) for c in people]
    )
    # The job is never refused, and a claim only by the limit the job may have used up.
    assert not isinstance(outcomes[0], str) and set(outcomes[1:]) <= {"issued", "limit_reached"}

    per_customer = Counter(
        Coupon.objects.for_tenant(world.tenant)
        .filter(batch=batch)
        .values_list("customer_id", flat=True)
    )
    assert per_customer == Counter({c.pk: 1 for c in people})
    job.refresh_from_db()
    claimed = CouponBatch.objects.for_tenant(world.tenant).get(pk=batch.pk).claimed
    assert (job.status, job.done, job.failed) == ("done", 20, claimed)
