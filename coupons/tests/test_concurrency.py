"""A flash claim with real threads on PostgreSQL: exactly as many succeed as there are coupons."""

import threading
from collections import Counter

import pytest
from django.db import connection, connections

from accounts.roles import Role
from core.errors import DomainError
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
    start = threading.Barrier(len(claimants))
    results: list[str] = []
    lock = threading.Lock()

    def claim(customer):
        try:
            start.wait()
            services.coupon_claim(tenant=world.tenant, actor=actor, batch=batch, customer=customer)
            outcome = "ok"
        except DomainError as exc:
            outcome = exc.code
        finally:
            connections.close_all()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=claim, args=(c,)) for c in claimants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

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
    start = threading.Barrier(len(people) + 1)
    errors: list[BaseException] = []

    def run_job():
        try:
            start.wait()
            services.issuance_job_run(tenant=world.tenant, job_id=job.pk)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def claim(customer):
        try:
            start.wait()
            services.coupon_claim(tenant=world.tenant, actor=actor, batch=batch, customer=customer)
        except DomainError as exc:
            if exc.code != "limit_reached":
                errors.append(exc)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run_job)]
    threads += [threading.Thread(target=claim, args=(c,)) for c in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    per_customer = Counter(
        Coupon.objects.for_tenant(world.tenant)
        .filter(batch=batch)
        .values_list("customer_id", flat=True)
    )
    assert per_customer == Counter({c.pk: 1 for c in people})
    job.refresh_from_db()
    claimed = CouponBatch.objects.for_tenant(world.tenant).get(pk=batch.pk).claimed
    assert (job.status, job.done, job.failed) == ("done", 20, claimed)
