"""Batch design, life cycle and budget, claims, jobs run in-process (the worker tests run them
in a real Celery worker)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.roles import Role
from budgets.models import Budget
from core.errors import ConflictError, PermissionDeniedError, RuleRefusal, ValidationFailed
from coupons import codes, selectors, services
from coupons.models import BatchStatus, Coupon, CouponStatus, IssuanceChunk, JobStatus
from coupons.tests.factories import active_batch, customers, draft_batch, running_campaign

pytestmark = pytest.mark.django_db


# --- codes ------------------------------------------------------------------------------------


def test_codes_have_forty_bits_and_no_look_alikes():
    assert codes.MIN_LENGTH == 9  # 9 x log2(31) = 44.6 bits; 8 would be 39.6
    made = codes.generate_codes(5000, length=9, prefix="DX-")
    assert len(set(made)) == 5000
    for code in made:
        assert code.startswith("DX-") and len(code) == 12
        assert set(code[3:]) <= set(codes.ALPHABET)
    assert not set("01OIL") & set(codes.ALPHABET)
    with pytest.raises(ValueError):
        codes.generate_codes(1, length=8)


def test_code_characters_are_uniform():
    chars = codes.random_characters(310_000)
    counts = [chars.count(c) for c in codes.ALPHABET]
    assert min(counts) > 9000 and max(counts) < 11000  # 10,000 each expected


# --- design -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"kind": "percent_off", "value": Decimal("150"), "max_discount": Decimal("30")}, "value"),
        ({"kind": "percent_off", "value": Decimal("15"), "threshold": None}, "max_discount"),
        ({"value": Decimal("0")}, "value"),
        ({"threshold": Decimal("20.00")}, "threshold"),  # not above the amount off
        ({"threshold": None}, "threshold"),  # amount_off needs one
        ({"kind": "cash", "threshold": Decimal("50")}, "threshold"),
        ({"max_discount": Decimal("5")}, "max_discount"),  # only percent_off has a cap
        ({"quantity": 0}, "quantity"),
        ({"per_customer_limit": 0}, "per_customer_limit"),
        ({"valid_days": None}, "valid_until"),
        ({"valid_days": 0}, "valid_days"),
        ({"frequency_cap_count": 1}, "frequency_cap"),
        ({"frequency_cap_count": 0, "frequency_cap_days": 30}, "frequency_cap"),
        ({"code_length": 8}, "code.length"),
        ({"code_length": 33}, "code.length"),
        ({"code_prefix": "dx!"}, "code.prefix"),
        ({"code_mode": "shared"}, "code.shared_code"),
        ({"code_mode": "shared", "shared_code": "AB"}, "code.shared_code"),
        ({"code_mode": "nope"}, "code.mode"),
    ],
)
def test_batch_design_is_validated(world, overrides, field):
    campaign = running_campaign(world)
    with pytest.raises(ValidationFailed) as exc:
        draft_batch(world, campaign, **overrides)
    assert field in exc.value.fields


def test_validity_stays_inside_the_campaign_unless_extended(world):
    campaign = running_campaign(world)
    late = campaign.ends_at + timedelta(days=1)
    with pytest.raises(ValidationFailed) as exc:
        draft_batch(world, campaign, valid_days=None, valid_until=late)
    assert "valid_until" in exc.value.fields
    batch = draft_batch(
        world, campaign, valid_days=None, valid_until=late, extend_past_campaign=True
    )
    assert batch.valid_until == late
    with pytest.raises(ValidationFailed) as exc:
        draft_batch(
            world,
            campaign,
            valid_days=3,
            valid_until=campaign.ends_at,
        )
    assert "valid_days" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        draft_batch(
            world,
            campaign,
            valid_days=None,
            valid_from=campaign.starts_at + timedelta(days=2),
            valid_until=campaign.starts_at + timedelta(days=1),
        )
    assert "valid_until" in exc.value.fields


def test_shared_code_is_unique_in_the_tenant(world, other_world):
    campaign = running_campaign(world)
    batch = draft_batch(world, campaign, code_mode="shared", shared_code="double11")
    assert batch.shared_code == "DOUBLE11"
    with pytest.raises(ValidationFailed) as exc:
        draft_batch(world, campaign, code_mode="shared", shared_code="DOUBLE11")
    assert "code.shared_code" in exc.value.fields
    # another tenant may use the same code
    assert draft_batch(other_world, code_mode="shared", shared_code="DOUBLE11").pk


def test_design_needs_the_right_role_and_all_campaign_regions(world):
    campaign = running_campaign(world, regions=[world.region, world.other_region])
    for role in (Role.FINANCE, Role.AUDITOR, Role.MERCHANT_ADMIN):
        with pytest.raises(PermissionDeniedError):
            draft_batch(world, campaign, role=role)
    with pytest.raises(PermissionDeniedError) as exc:
        draft_batch(world, campaign, role=Role.REGIONAL_OPERATOR)
    assert exc.value.code == "out_of_scope"
    own = running_campaign(world)
    assert draft_batch(world, own, role=Role.REGIONAL_OPERATOR).pk


def test_only_a_draft_is_changed(world):
    batch = draft_batch(world)
    actor = world.actor(Role.OPERATOR)
    batch = services.batch_update(tenant=world.tenant, actor=actor, batch=batch, quantity=50)
    assert batch.quantity == 50
    with pytest.raises(ValidationFailed):
        services.batch_update(tenant=world.tenant, actor=actor, batch=batch, threshold=Decimal("5"))
    batch = services.batch_activate(tenant=world.tenant, actor=actor, batch=batch)
    with pytest.raises(ConflictError):
        services.batch_update(tenant=world.tenant, actor=actor, batch=batch, quantity=10)


# --- life cycle and budget --------------------------------------------------------------------


def _budget(batch) -> Budget:
    return Budget.objects.for_tenant(batch.tenant_id).get(pk=batch.campaign.budget_id)


@pytest.mark.parametrize(
    ("overrides", "reserved"),
    [
        ({}, Decimal("2000.00")),  # 100 x 20 off
        (
            {
                "kind": "percent_off",
                "value": Decimal("15"),
                "max_discount": Decimal("30"),
                "threshold": None,
            },
            Decimal("3000.00"),
        ),
        ({"kind": "cash", "value": Decimal("5"), "threshold": None}, Decimal("500.00")),
        ({"kind": "free_shipping", "value": Decimal("8"), "threshold": None}, Decimal("800.00")),
    ],
)
def test_activation_reserves_quantity_times_the_most_a_coupon_costs(world, overrides, reserved):
    batch = active_batch(world, **overrides)
    assert batch.status == BatchStatus.ACTIVE
    assert batch.reserved_amount == reserved
    assert _budget(batch).reserved == reserved


def test_activation_over_budget_is_refused(world):
    campaign = running_campaign(world, amount="1000.00")
    batch = draft_batch(world, campaign, quantity=51)  # 51 x 20 = 1020
    with pytest.raises(ConflictError) as exc:
        services.batch_activate(tenant=world.tenant, actor=world.actor(Role.OPERATOR), batch=batch)
    assert exc.value.code == "budget_exceeded"
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DRAFT
    assert _budget(batch).reserved == 0


def test_life_cycle_and_release_of_the_unused_part(world):
    actor = world.actor(Role.OPERATOR)
    batch = active_batch(world, quantity=10, claimable=True)
    with pytest.raises(ConflictError) as exc:
        services.batch_activate(tenant=world.tenant, actor=actor, batch=batch)
    assert exc.value.code == "invalid_transition"
    with pytest.raises(ConflictError):
        services.batch_resume(tenant=world.tenant, actor=actor, batch=batch)
    batch = services.batch_pause(tenant=world.tenant, actor=actor, batch=batch)
    batch = services.batch_resume(tenant=world.tenant, actor=actor, batch=batch)
    customer = customers(world, 3)
    for c in customer:
        services.coupon_claim(tenant=world.tenant, actor=actor, batch=batch, customer=c)
    batch = services.batch_end(tenant=world.tenant, actor=actor, batch=batch)
    assert batch.status == BatchStatus.ENDED
    assert batch.released_amount == Decimal("140.00")  # 7 never issued x 20
    assert _budget(batch).reserved == Decimal("60.00")  # the 3 issued still hold theirs
    for move in (services.batch_pause, services.batch_resume, services.batch_end):
        with pytest.raises(ConflictError):
            move(tenant=world.tenant, actor=actor, batch=batch)
    draft = draft_batch(world)
    for move in (services.batch_pause, services.batch_resume, services.batch_end):
        with pytest.raises(ConflictError) as exc:
            move(tenant=world.tenant, actor=actor, batch=draft)
        assert exc.value.code == "invalid_transition"
    paused = services.batch_pause(
        tenant=world.tenant, actor=actor, batch=active_batch(world, quantity=1)
    )
    with pytest.raises(ConflictError) as exc:
        services.batch_activate(tenant=world.tenant, actor=actor, batch=paused)
    assert exc.value.code == "invalid_transition"


# --- claims -----------------------------------------------------------------------------------


def test_claim_respects_limit_frequency_cap_and_stock(world):
    actor = world.actor(Role.OPERATOR)
    batch = active_batch(
        world,
        quantity=3,
        per_customer_limit=3,
        frequency_cap_count=2,
        frequency_cap_days=30,
        claimable=True,
    )
    alice, bob = customers(world, 2)
    first = services.coupon_claim(tenant=world.tenant, actor=actor, batch=batch, customer=alice)
    assert first.status == CouponStatus.ISSUED and first.seq == 1 and len(first.code) == 10
    assert first.valid_until <= batch.campaign.ends_at
    services.coupon_claim(tenant=world.tenant, actor=actor, batch=batch, customer=alice)
    with pytest.raises(RuleRefusal) as exc:
        services.coupon_claim(tenant=world.tenant, actor=actor, batch=batch, customer=alice)
    assert exc.value.code == "limit_reached" and exc.value.status == 422
    services.coupon_claim(tenant=world.tenant, actor=actor, batch=batch, customer=bob)
    with pytest.raises(ConflictError) as exc:
        services.coupon_claim(tenant=world.tenant, actor=actor, batch=batch, customer=bob)
    assert exc.value.code == "batch_exhausted"
    batch.refresh_from_db()
    assert (batch.issued, batch.claimed) == (3, 3)


def test_claim_refusals(world):
    actor = world.actor(Role.OPERATOR)
    (alice,) = customers(world, 1)
    closed = active_batch(world, claimable=False)
    with pytest.raises(RuleRefusal) as exc:
        services.coupon_claim(tenant=world.tenant, actor=actor, batch=closed, customer=alice)
    assert exc.value.code == "not_claimable"
    draft = draft_batch(world, claimable=True)
    with pytest.raises(ConflictError) as exc:
        services.coupon_claim(tenant=world.tenant, actor=actor, batch=draft, customer=alice)
    assert exc.value.code == "batch_not_active"
    with pytest.raises(PermissionDeniedError):
        services.coupon_claim(
            tenant=world.tenant, actor=world.actor(Role.FINANCE), batch=draft, customer=alice
        )


def test_shared_code_batch_has_one_row_per_holder(world):
    actor = world.actor(Role.OPERATOR)
    batch = active_batch(
        world, code_mode="shared", shared_code="WELCOME", claimable=True, per_customer_limit=2
    )
    (alice,) = customers(world, 1)
    one = services.coupon_claim(tenant=world.tenant, actor=actor, batch=batch, customer=alice)
    two = services.coupon_claim(tenant=world.tenant, actor=actor, batch=batch, customer=alice)
    assert one.code is None and (one.seq, two.seq) == (1, 2)


# --- jobs, in-process -------------------------------------------------------------------------


def test_issue_job_reports_every_bad_row(world, settings, django_capture_on_commit_callbacks):
    settings.COUPONS_CHUNK_SIZE = 4
    actor = world.actor(Role.OPERATOR)
    batch = active_batch(world, quantity=6, per_customer_limit=1)
    custs = customers(world, 8)
    codes_ = [c.code for c in custs[:6]] + ["NOPE", custs[0].code, custs[6].code]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = services.issuance_job_create(
            tenant=world.tenant, actor=actor, batch=batch, customers=codes_
        )
    assert len(callbacks) == 1 and job.status == JobStatus.QUEUED and job.total == 9
    job = services.issuance_job_run(tenant=world.tenant, job_id=job.pk)
    assert (job.status, job.done, job.failed) == (JobStatus.DONE, 9, 3)
    errors = list(
        selectors.job_errors(tenant=world.tenant, job=job).values_list("row_no", "value", "reason")
    )
    assert errors == [
        (7, "NOPE", "unknown_customer"),
        (8, custs[0].code, "limit_reached"),
        (9, custs[6].code, "batch_exhausted"),
    ]
    assert Coupon.objects.for_tenant(world.tenant).filter(batch=batch).count() == 6
    # running it again changes nothing
    services.issuance_job_run(tenant=world.tenant, job_id=job.pk)
    assert Coupon.objects.for_tenant(world.tenant).filter(batch=batch).count() == 6


def test_a_rerun_skips_finished_chunks(world, settings):
    settings.COUPONS_CHUNK_SIZE = 10
    actor = world.actor(Role.OPERATOR)
    batch = active_batch(world, quantity=100)
    job = services.generation_job_create(tenant=world.tenant, actor=actor, batch=batch, count=35)
    # As if a worker died after the first two chunks: they are done, the job still "running".
    services._run_chunk(world.tenant, job, 0)
    services._run_chunk(world.tenant, job, 1)
    assert services._run_chunk(world.tenant, job, 1) is False
    job = services.issuance_job_run(tenant=world.tenant, job_id=job.pk)
    assert (job.status, job.done, job.failed) == (JobStatus.DONE, 35, 0)
    coupons = Coupon.objects.for_tenant(world.tenant).filter(batch=batch)
    assert coupons.count() == 35 == len(set(coupons.values_list("code", flat=True)))
    assert set(coupons.values_list("status", flat=True)) == {CouponStatus.UNASSIGNED}
    assert IssuanceChunk.objects.for_tenant(world.tenant).filter(job=job).count() == 4
    batch.refresh_from_db()
    assert batch.issued == 35


def test_generation_needs_stock_and_unique_codes(world):
    actor = world.actor(Role.OPERATOR)
    batch = active_batch(world, quantity=5)
    with pytest.raises(ConflictError) as exc:
        services.generation_job_create(tenant=world.tenant, actor=actor, batch=batch, count=6)
    assert exc.value.code == "batch_exhausted"
    shared = active_batch(world, code_mode="shared", shared_code="SHARED1")
    with pytest.raises(ValidationFailed):
        services.generation_job_create(tenant=world.tenant, actor=actor, batch=shared, count=1)
    draft = draft_batch(world)
    with pytest.raises(ConflictError) as exc:
        services.issuance_job_create(tenant=world.tenant, actor=actor, batch=draft, customers=["x"])
    assert exc.value.code == "batch_not_active"
    with pytest.raises(PermissionDeniedError):
        services.generation_job_create(
            tenant=world.tenant, actor=world.actor(Role.FINANCE), batch=batch, count=1
        )


def test_code_collisions_draw_new_codes(world, monkeypatch):
    actor = world.actor(Role.OPERATOR)
    batch = active_batch(world, quantity=10, claimable=True, per_customer_limit=10)
    (alice,) = customers(world, 1)
    taken = services.coupon_claim(tenant=world.tenant, actor=actor, batch=batch, customer=alice)
    real = codes.generate_codes
    calls = []

    def colliding(count, **kwargs):
        calls.append(count)
        return [taken.code] if len(calls) == 1 else real(count, **kwargs)

    monkeypatch.setattr(codes, "generate_codes", colliding)
    again = services.coupon_claim(tenant=world.tenant, actor=actor, batch=batch, customer=alice)
    assert len(calls) == 2 and again.code != taken.code


def test_regional_operator_issues_only_to_own_customers(world, settings):
    actor = world.actor(Role.REGIONAL_OPERATOR)
    batch = active_batch(world)
    (mine,) = customers(world, 1)
    (theirs,) = customers(world, 1, prefix="S")
    theirs.region = world.other_region
    theirs.save()
    job = services.issuance_job_create(
        tenant=world.tenant, actor=actor, batch=batch, customers=[mine.code, theirs.code]
    )
    job = services.issuance_job_run(tenant=world.tenant, job_id=job.pk)
    assert (job.done, job.failed) == (2, 1)


def test_segment_filters_and_issue(world):
    actor = world.actor(Role.OPERATOR)
    today = timezone.localdate()
    vip = customers(world, 3, prefix="V", tags=["vip", "new"], registered_on=today)
    customers(world, 2, prefix="O", tags=["old"], registered_on=today - timedelta(days=400))
    segment = services.segment_create(
        tenant=world.tenant,
        actor=actor,
        name="VIPs",
        filters={"tags_any": ["vip", "gold"], "registered_after": today - timedelta(days=30)},
    )
    preview = selectors.segment_preview(tenant=world.tenant, actor=actor, filters=segment.filters)
    assert preview == {"count": 3, "sample": [c.code for c in vip]}
    with pytest.raises(ValidationFailed):
        services.segment_create(
            tenant=world.tenant, actor=actor, name="x", filters={"colour": "red"}
        )
    with pytest.raises(ValidationFailed):
        services.segment_create(
            tenant=world.tenant, actor=actor, name="x", filters={"regions": ["nowhere"]}
        )
    batch = active_batch(world)
    job = services.issuance_job_create(
        tenant=world.tenant, actor=actor, batch=batch, segment=segment
    )
    job = services.issuance_job_run(tenant=world.tenant, job_id=job.pk)
    assert (job.total, job.done, job.failed) == (3, 3, 0)


def test_file_parsing_csv_and_xlsx():
    from openpyxl import Workbook

    assert services.parse_customer_file(name="a.csv", content=b"customer\nC1\n\nC2,extra\n") == [
        "C1",
        "C2",
    ]
    book = Workbook()
    sheet = book.active
    for value in ("code", "C1", 12345, None, "C3"):
        sheet.append([value])
    import io

    out = io.BytesIO()
    book.save(out)
    assert services.parse_customer_file(name="a.xlsx", content=out.getvalue()) == [
        "C1",
        "12345",
        "C3",
    ]
    for name, content in (("a.pdf", b"x"), ("a.xlsx", b"not a zip"), ("a.csv", b"\n\n")):
        with pytest.raises(ValidationFailed):
            services.parse_customer_file(name=name, content=content)


def test_stale_jobs_are_enqueued_again(world, monkeypatch):
    from coupons import tasks

    actor = world.actor(Role.OPERATOR)
    batch = active_batch(world)
    job = services.generation_job_create(tenant=world.tenant, actor=actor, batch=batch, count=3)
    sent = []
    monkeypatch.setattr(tasks.issuance_job_run, "delay", lambda *a: sent.append(a))
    assert services.issuance_jobs_resume(now=timezone.now()) == 0
    assert services.issuance_jobs_resume(now=timezone.now() + timedelta(hours=1)) == 1
    assert sent == [(world.tenant.pk, job.pk)]


def test_a_coupon_cannot_point_at_another_tenants_batch(world, other_world):
    from django.db import IntegrityError, connection, transaction

    batch = active_batch(world)
    with pytest.raises(IntegrityError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        Coupon.objects.create(
            tenant=other_world.tenant, batch=batch, code="X" * 10, status="unassigned"
        )


def test_coupon_issue_for_rules_and_prizes_holds_the_limit(world):
    system = world.system
    batch = active_batch(world, quantity=2, per_customer_limit=1)  # not claimable: still issuable
    alice, bob, carol = customers(world, 3)
    coupon = services.coupon_issue(tenant=world.tenant, actor=system, batch=batch, customer=alice)
    assert coupon.customer_id == alice.pk and coupon.status == CouponStatus.ISSUED
    with pytest.raises(RuleRefusal):
        services.coupon_issue(tenant=world.tenant, actor=system, batch=batch, customer=alice)
    services.coupon_issue(tenant=world.tenant, actor=system, batch=batch, customer=bob)
    with pytest.raises(ConflictError) as exc:
        services.coupon_issue(tenant=world.tenant, actor=system, batch=batch, customer=carol)
    assert exc.value.code == "batch_exhausted"
    batch.refresh_from_db()
    assert (batch.issued, batch.claimed) == (2, 0)
