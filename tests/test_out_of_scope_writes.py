"""A write that names a second object checks it against the actor's scope too (issue 12, item 2).

The URL is the first object and its selector scopes it; the body names more: a transfer's
target, a coupon's customer, a redemption's merchant, a batch's scope regions, a prize's batch.
Each is checked in the service (accounts.scope), so API, console and tasks share the rule.

Every API write route comes from the URL resolver (as in test_tenant_isolation) and must be
either tried here with an out-of-scope second object (CASES: a regional operator granted only
`world.region`, or a business-unit admin of `world.unit`) or declared in NO_SECOND_OBJECT with
the reason, so a route added later can't slip past. Each case asserts the 4xx and that no row
of the tenant changed.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import CustomerFactory, MerchantFactory, StaffFactory
from budgets.tests.factories import approved_budget
from campaigns import services as campaign_services
from core.models import TenantScoped
from coupons import services as coupon_services
from coupons.models import Coupon, IssuanceError, IssuanceJob
from coupons.tests.factories import active_batch, batch_fields, draft_batch
from orders.services import OrderFacts, order_place
from points import services as points_services
from points.models import PointsAdjustmentRequest
from points.tests.factories import program
from redemption import services as redemption_services
from redemption.tests.factories import give_points
from tests.test_tenant_isolation import API_PREFIX, api_routes

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
RO, BU = Role.REGIONAL_OPERATOR, Role.BU_ADMIN

# Write routes that name nothing but their first object (scoped by its selector), or whose
# second objects are someone else's rule; the reason says which.
NO_SECOND_OBJECT = {
    ("auth/token", "POST"): "credentials, no tenant object",
    ("auth/tokens/<int:id>", "DELETE"): "first object only: one's own token (issue 12 item 7)",
    ("users/<int:id>/tokens", "DELETE"): "first object only: a member's tokens (issue 12 item 7)",
    ("users", "POST"): "roles and scopes granted: issue 12 item 1 (accounts tests)",
    ("users/<int:id>", "PATCH"): "roles and scopes granted: issue 12 item 1 (accounts tests)",
    ("business-units", "POST"): "tenant-level users' work: issue 12 item 1",
    ("api-keys", "POST"): "tenant admins only (_require_tenant_wide)",
    ("api-keys/<int:id>/revoke", "POST"): "tenant admins only (_require_tenant_wide)",
    ("regions/<str:code>", "PUT"): "regional operators may not change the tree at all; every "
    "other role with master_data.manage is tenant-wide for regions",
    ("budgets", "POST"): "budgets.draft: tenant admin and finance, both tenant-wide",
    ("budgets/<int:id>", "PATCH"): "budgets.draft: tenant-wide roles only",
    ("budgets/<int:id>/submit", "POST"): "first object only",
    ("budgets/<int:id>/approve", "POST"): "first object only (finance, tenant-wide)",
    ("budgets/<int:id>/reject", "POST"): "first object only (finance, tenant-wide)",
    ("budgets/<int:id>/reopen", "POST"): "first object only",
    ("budgets/<int:id>/close", "POST"): "first object only",
    ("budgets/<int:id>/adjustments", "POST"): "budgets.draft: tenant-wide roles only",
    ("budget-adjustments/<int:id>/approve", "POST"): "first object only (finance)",
    ("settlements", "POST"): "settlements.manage: finance only, tenant-wide",
    ("settlements/<int:id>/close", "POST"): "first object only (finance, tenant-wide)",
    ("settlements/<int:id>/discard", "POST"): "first object only (finance, tenant-wide)",
    ("budget-adjustments/<int:id>/reject", "POST"): "first object only (finance)",
    ("campaigns/<int:id>/schedule", "POST"): "first object only",
    ("campaigns/<int:id>/pause", "POST"): "first object only",
    ("campaigns/<int:id>/resume", "POST"): "first object only",
    ("campaigns/<int:id>/end", "POST"): "first object only",
    ("channels", "POST"): "tenant-wide campaign managers only (_require_channel_admin)",
    ("channels/<str:code>", "PATCH"): "tenant-wide campaign managers only",
    ("coupon-batches/<int:id>/activate", "POST"): "first object only",
    ("coupon-batches/<int:id>/pause", "POST"): "first object only",
    ("coupon-batches/<int:id>/resume", "POST"): "first object only",
    ("coupon-batches/<int:id>/end", "POST"): "first object only",
    ("coupon-batches/<int:id>/generate", "POST"): "first object and a count: codes nobody holds",
    ("coupons/validate", "POST"): "changes nothing: a read (see the report of issue 12 item 2)",
    ("issuance-rules/<int:id>", "PATCH"): "first object and a frequency cap",
    ("issuance-rules/<int:id>/activate", "POST"): "first object only",
    ("issuance-rules/<int:id>/deactivate", "POST"): "first object only",
    ("blocked-customers/<str:code>", "DELETE"): "the customer is the first object (scoped)",
    ("fraud/settings", "PUT"): "tenant-wide campaign managers only (fraud_settings_changeable)",
    ("points-programs", "POST"): "names no other object",
    ("points-programs/<int:id>", "PATCH"): "first object only (all rules in scope)",
    ("points-programs/<int:id>/deactivate", "POST"): "first object only",
    ("points-programs/<int:id>/activate", "POST"): "first object only",
    ("points-rules/<int:id>/deactivate", "POST"): "first object only",
    ("points-rules/<int:id>/activate", "POST"): "first object only",
    ("lotteries/<int:id>/activate", "POST"): "first object only",
    ("prizes/<int:id>/stock-adjustments", "POST"): "first object only (prizes have no region)",
    ("lotteries/<int:id>/end", "POST"): "first object only",
}

# Routes whose out-of-scope second object is tried by a dedicated test below, not a CASE.
TESTED_BELOW = {
    ("coupon-batches/<int:id>/issue", "POST"): "test_issue_job_skips_out_of_scope_customers",
}


class Scene:
    """`world` plus what lies outside the regional operator's region and the BU admin's unit."""

    def __init__(self, world):
        t = world.tenant
        self.world = world
        now = timezone.now()
        self.far_merchant = MerchantFactory(tenant=t, region=world.other_region, code="FAR-M")
        self.far_staff = StaffFactory(tenant=t, merchant=self.far_merchant, code="FAR-S")
        self.near_customer = CustomerFactory(tenant=t, region=world.region, code="NEAR-C")
        self.far_customer = CustomerFactory(tenant=t, region=world.other_region, code="FAR-C")
        # Points: a transferable staff program, both staff members holding points.
        self.program = program(world, transferable=True)
        self.near_account = give_points(world, self.program, world.staff, 500)
        self.far_account = give_points(world, self.program, self.far_staff, 500)
        # Coupons: a campaign of the near region (the regional operator's, world.unit's), one
        # spanning both regions (visible to them, not changeable) and one of the other unit.
        self.campaign = self._running(regions=[world.region], unit=world.unit)
        self.wide_campaign = self._running(
            regions=[world.region, world.other_region], unit=world.unit
        )
        self.other_campaign = self._running(regions=[world.region], unit=world.other_unit)
        fields = {"claimable": True, "per_customer_limit": 5}
        self.batch = active_batch(world, self.campaign, **fields)
        self.wide_batch = active_batch(world, self.wide_campaign, **fields)
        self.other_batch = active_batch(world, self.other_campaign, **fields)
        self.draft_batch = draft_batch(world, self.campaign, name="Draft")
        system = world.system
        issue = coupon_services.coupon_issue
        self.far_coupon = issue(
            tenant=t, actor=system, batch=self.batch, customer=self.far_customer
        )
        self.far_redeemed = issue(
            tenant=t, actor=system, batch=self.batch, customer=self.far_customer
        )
        self.near_coupon = issue(
            tenant=t, actor=system, batch=self.batch, customer=self.near_customer
        )
        self.other_coupon = issue(
            tenant=t, actor=system, batch=self.other_batch, customer=self.near_customer
        )
        self.other_redeemed = issue(
            tenant=t, actor=system, batch=self.other_batch, customer=self.near_customer
        )
        for coupon, customer, order in (
            (self.far_redeemed, self.far_customer, "FAR-O"),
            (self.other_redeemed, self.near_customer, "UNIT-O"),
        ):
            coupon_services.coupon_redeem(
                tenant=t, actor=system, code=coupon.code, customer=customer, order=order,
                amount=Decimal("200.00"),
            )  # fmt: skip
        coupon_services.customer_block(tenant=t, actor=system, customer=self.far_customer)
        # Budgets for campaigns: the BU admin's unit and the other one.
        self.other_budget = approved_budget(world, unit=world.other_unit)
        self.draft_campaign = campaign_services.campaign_create(
            tenant=t, actor=world.actor(Role.OPERATOR), name="Draft", budget=approved_budget(world),
            starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=5),
            regions=[world.region],
        )  # fmt: skip
        # Points rules, prizes and lotteries.
        self.rule = points_services.rule_create(
            tenant=t, actor=world.actor(Role.OPERATOR), campaign=self.campaign,
            program=self.program, regions=[world.region], kind="per_order", points=5,
        )  # fmt: skip
        self.prize = redemption_services.prize_create(
            tenant=t, actor=world.actor(Role.OPERATOR), program=self.program, name="Mug",
            kind="virtual", points_cost=10, value=Decimal("0.10"), stock=10,
        )  # fmt: skip
        self.far_redemption = redemption_services.prize_redeem(
            tenant=t, actor=system, staff=self.far_staff, prize=self.prize
        )
        self.draft_lottery = redemption_services.lottery_create(
            tenant=t, actor=world.actor(Role.OPERATOR), program=self.program, name="Draft spin",
            cost_points=10, outcomes=[{"kind": "nothing", "probability": Decimal("1")}],
        )  # fmt: skip
        self.lottery = redemption_services.lottery_activate(
            tenant=t,
            actor=world.actor(Role.OPERATOR),
            lottery=redemption_services.lottery_create(
                tenant=t, actor=world.actor(Role.OPERATOR), program=self.program, name="Spin",
                cost_points=10, outcomes=[{"kind": "nothing", "probability": Decimal("1")}],
            ),
        )  # fmt: skip
        self.far_order, _created = order_place(
            tenant=t,
            actor=system,
            facts=OrderFacts(
                external_id="FAR-ORDER", merchant=self.far_merchant, staff=self.far_staff,
                region=world.other_region, amount=Decimal("50.00"), placed_at=now,
            ),
        )  # fmt: skip

    def _running(self, *, regions, unit):
        world, now = self.world, timezone.now()
        today = timezone.localdate()
        budget = approved_budget(
            world, unit=unit, amount="100000.00", starts_on=today - timedelta(days=2),
            ends_on=today + timedelta(days=30),
        )  # fmt: skip
        campaign = campaign_services.campaign_create(
            tenant=world.tenant, actor=world.actor(Role.OPERATOR), name="Campaign", budget=budget,
            starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=10), regions=regions,
        )  # fmt: skip
        return campaign_services.campaign_schedule(
            tenant=world.tenant, actor=world.actor(Role.OPERATOR), campaign=campaign,
            acknowledge_warnings=True,
        )  # fmt: skip


@dataclass
class Case:
    route: str  # the template below /api/v1/, as the resolver spells it
    method: str
    role: str
    request: object  # scene -> (url below /api/v1/, body)
    status: int
    why: str

    @property
    def id(self) -> str:
        return f"{self.method} {self.route} {self.role}: {self.why}"


def _redeem(scene, coupon, customer, **extra):
    body = {"code": coupon.code, "customer": customer.code, "amount": "200.00", "order": "NEW-O"}
    return "coupons/redeem", {**body, **extra}


def _batch_body(scene, **extra):
    fields = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in batch_fields().items()}
    return {"campaign": scene.campaign.pk, **fields, **extra}


def _rule_body(scene, campaign, regions):
    return {"campaign": campaign.pk, "program": scene.program.pk, "kind": "per_order",
            "points": 5, "regions": [r.code for r in regions]}  # fmt: skip


def _campaign_body(scene, budget, regions):
    now = timezone.now()
    return {"name": "New", "budget": budget.pk, "regions": [r.code for r in regions],
            "starts_at": (now + timedelta(days=1)).isoformat(),
            "ends_at": (now + timedelta(days=5)).isoformat()}  # fmt: skip


def _far_request(scene):
    return PointsAdjustmentRequest.objects.create(
        tenant=scene.world.tenant, account=scene.far_account, points=1, reason="far"
    )


def _coupon_prize(scene, batch):
    return {"program": scene.program.pk, "name": "Voucher", "kind": "coupon", "points_cost": 10,
            "value": "0", "stock": 5, "coupon_batch": batch.pk}  # fmt: skip


CASES = [
    # --- points ---
    Case("points-transfers", "POST", RO,
         lambda s: ("points-transfers", {"program": s.program.pk, "from_staff": s.world.staff.code,
                                         "to_staff": s.far_staff.code, "points": 5}),
         404, "to a staff member of another region"),
    Case("points-accounts/<int:id>/adjustments", "POST", RO,
         lambda s: (f"points-accounts/{s.far_account.pk}/adjustments",
                    {"points": 5, "reason": "x"}),
         404, "an account held in another region"),
    Case("points-adjustment-requests/<int:id>/approve", "POST", RO,
         lambda s: (f"points-adjustment-requests/{_far_request(s).pk}/approve", {}),
         404, "a request on an account held in another region"),
    Case("points-adjustment-requests/<int:id>/reject", "POST", RO,
         lambda s: (f"points-adjustment-requests/{_far_request(s).pk}/reject", {"note": "x"}),
         404, "a request on an account held in another region"),
    Case("points-rules", "POST", RO,
         lambda s: ("points-rules", _rule_body(s, s.campaign, [s.world.other_region])),
         404, "a rule naming another region"),
    Case("points-rules", "POST", BU,
         lambda s: ("points-rules", _rule_body(s, s.other_campaign, [s.world.region])),
         404, "a rule in another unit's campaign"),
    Case("points-rules/<int:id>", "PATCH", RO,
         lambda s: (f"points-rules/{s.rule.pk}", {"regions": [s.world.other_region.code]}),
         403, "moving a rule to another region"),
    # --- prizes and lotteries ---
    Case("prize-redemptions", "POST", RO,
         lambda s: ("prize-redemptions", {"staff": s.far_staff.code, "prize": s.prize.pk}),
         404, "for a staff member of another region"),
    Case("prize-redemptions/<int:id>/cancel", "POST", RO,
         lambda s: (f"prize-redemptions/{s.far_redemption.pk}/cancel", {}),
         404, "another region's staff member's redemption"),
    Case("prize-redemptions/<int:id>/ship", "POST", RO,
         lambda s: (f"prize-redemptions/{s.far_redemption.pk}/ship",
                    {"carrier": "SF", "tracking_number": "1"}),
         404, "shipping another region's staff member's prize"),
    Case("prize-redemptions/<int:id>/deliver", "POST", RO,
         lambda s: (f"prize-redemptions/{s.far_redemption.pk}/deliver", {}),
         404, "delivering another region's staff member's prize"),
    Case("lotteries/<int:id>", "PUT", RO,
         lambda s: (f"lotteries/{s.draft_lottery.pk}", {"name": "Wide", "cost_points": 10,
                    "outcomes": [{"kind": "coupon", "batch": s.wide_batch.pk,
                                  "probability": "1"}]}),
         403, "a draft's outcome of a batch whose campaign spans other regions"),
    Case("lotteries/<int:id>/draws", "POST", RO,
         lambda s: (f"lotteries/{s.lottery.pk}/draws", {"staff": s.far_staff.code}),
         404, "a draw for a staff member of another region"),
    Case("prizes", "POST", RO, lambda s: ("prizes", _coupon_prize(s, s.wide_batch)),
         403, "a coupon prize of a batch whose campaign spans other regions"),
    Case("prizes", "POST", BU, lambda s: ("prizes", _coupon_prize(s, s.other_batch)),
         404, "a coupon prize of another unit's batch"),
    Case("prizes/<int:id>", "PATCH", RO,
         lambda s: (f"prizes/{s.prize.pk}", {"kind": "coupon", "coupon_batch": s.wide_batch.pk}),
         403, "turning a prize into coupons of a batch spanning other regions"),
    Case("lotteries", "POST", RO,
         lambda s: ("lotteries", {"program": s.program.pk, "name": "Wide", "cost_points": 10,
                                  "outcomes": [{"kind": "coupon", "batch": s.wide_batch.pk,
                                                "probability": "1"}]}),
         403, "an outcome of a batch whose campaign spans other regions"),
    # --- coupons ---
    Case("coupon-batches", "POST", RO,
         lambda s: ("coupon-batches", _batch_body(s, scope={"regions": [s.world.other_region.code]})),
         404, "a batch scoped to another region"),
    Case("coupon-batches", "POST", RO,
         lambda s: ("coupon-batches", _batch_body(s, scope={"merchants": [s.far_merchant.code]})),
         404, "a batch scoped to another region's merchant"),
    Case("coupon-batches", "POST", BU,
         lambda s: ("coupon-batches", {**_batch_body(s), "campaign": s.other_campaign.pk}),
         400, "a batch in another unit's campaign (unknown campaign)"),
    Case("coupon-batches/<int:id>", "PATCH", RO,
         lambda s: (f"coupon-batches/{s.draft_batch.pk}",
                    {"scope": {"regions": [s.world.other_region.code]}}),
         404, "rescoping a draft batch to another region"),
    Case("coupon-batches/<int:id>/claim", "POST", RO,
         lambda s: (f"coupon-batches/{s.batch.pk}/claim", {"customer": s.far_customer.code}),
         404, "a claim for another region's customer"),
    Case("coupons/redeem", "POST", RO, lambda s: _redeem(s, s.far_coupon, s.far_customer),
         404, "another region's customer's coupon"),
    Case("coupons/redeem", "POST", RO,
         lambda s: _redeem(s, s.near_coupon, s.near_customer, merchant=s.far_merchant.code),
         404, "at another region's merchant"),
    Case("coupons/redeem", "POST", RO,
         lambda s: _redeem(s, s.near_coupon, s.near_customer, region=s.world.other_region.code),
         404, "an order placed in another region"),
    Case("coupons/redeem", "POST", BU, lambda s: _redeem(s, s.other_coupon, s.near_customer),
         404, "a coupon of another unit's campaign"),
    Case("coupons/<str:code>/rollback", "POST", RO,
         lambda s: (f"coupons/{s.far_redeemed.code}/rollback", {}),
         404, "another region's customer's coupon"),
    Case("coupons/<str:code>/rollback", "POST", BU,
         lambda s: (f"coupons/{s.other_redeemed.code}/rollback", {}),
         404, "a coupon of another unit's campaign"),
    Case("events", "POST", RO,
         lambda s: ("events", {"id": "E-1", "type": "registration", "customer": s.far_customer.code}),
         404, "an event of another region's customer"),
    Case("events", "POST", RO,
         lambda s: ("events", {"id": "E-2", "type": "referral", "customer": s.near_customer.code,
                               "inviter": s.far_customer.code}),
         404, "a referral by another region's customer"),
    Case("issuance-rules", "POST", RO,
         lambda s: ("issuance-rules", {"batch": s.wide_batch.pk, "event": "registration"}),
         403, "a rule for a batch whose campaign spans other regions"),
    Case("issuance-rules", "POST", BU,
         lambda s: ("issuance-rules", {"batch": s.other_batch.pk, "event": "registration"}),
         404, "a rule for another unit's batch"),
    Case("blocked-customers", "POST", RO,
         lambda s: ("blocked-customers", {"customer": s.far_customer.code}),
         404, "blocking another region's customer"),
    Case("segments", "POST", RO,
         lambda s: ("segments", {"name": "Far", "filters": {"regions": [s.world.other_region.code]}}),
         404, "a segment of another region"),
    # --- campaigns ---
    Case("campaigns", "POST", RO,
         lambda s: ("campaigns", _campaign_body(s, approved_budget(s.world),
                                                [s.world.other_region])),
         403, "a campaign for another region"),
    Case("campaigns", "POST", BU,
         lambda s: ("campaigns", _campaign_body(s, s.other_budget, [s.world.region])),
         400, "a campaign on another unit's budget (unknown budget)"),
    Case("campaigns/<int:id>", "PATCH", RO,
         lambda s: (f"campaigns/{s.draft_campaign.pk}", {"regions": [s.world.other_region.code]}),
         403, "retargeting a campaign to another region"),
    Case("campaigns/<int:id>", "PATCH", BU,
         lambda s: (f"campaigns/{s.draft_campaign.pk}", {"budget": s.other_budget.pk}),
         400, "moving a campaign to another unit's budget (unknown budget)"),
    # --- master data ---
    Case("merchants/<str:code>", "PUT", RO,
         lambda s: ("merchants/NEW-M", {"name": "New", "region": s.world.other_region.code}),
         403, "a merchant in another region"),
    Case("staff/<str:code>", "PUT", RO,
         lambda s: ("staff/NEW-S", {"name": "New", "merchant": s.far_merchant.code}),
         403, "a staff member of another region's merchant"),
    Case("customers/<str:code>", "PUT", RO,
         lambda s: ("customers/NEW-C", {"region": s.world.other_region.code}),
         403, "a customer in another region"),
    # --- orders: integrators' keys only; no user role may place or move an order ---
    Case("orders", "POST", RO,
         lambda s: ("orders", {"external_id": "NEW-ORDER", "merchant": s.far_merchant.code,
                               "staff": s.far_staff.code, "region": s.world.other_region.code,
                               "amount": "10.00", "placed_at": timezone.now().isoformat()}),
         403, "an order for another region's merchant and staff"),
    Case("orders/<str:external_id>/complete", "POST", RO,
         lambda s: (f"orders/{s.far_order.external_id}/complete", {}),
         404, "another region's order"),
    Case("orders/<str:external_id>/close", "POST", RO,
         lambda s: (f"orders/{s.far_order.external_id}/close", {}),
         404, "another region's order"),
]  # fmt: skip


def _write_routes() -> set[tuple[str, str]]:
    return {
        (route.template.removeprefix(API_PREFIX), method)
        for route in api_routes()
        for method in route.methods
        if method in WRITE_METHODS
    }


def test_every_write_route_is_tried_or_declared():
    routes = _write_routes()
    covered = {(case.route, case.method) for case in CASES} | set(TESTED_BELOW)
    missing = routes - covered - set(NO_SECOND_OBJECT)
    assert not missing, (
        "Write routes without an out-of-scope case: add a Case (a regional operator and, where "
        "a unit matters, a BU admin naming an object outside their scope) or declare the route "
        f"in NO_SECOND_OBJECT with the reason: {sorted(missing)}"
    )
    stale = (covered | set(NO_SECOND_OBJECT)) - routes
    assert not stale, f"Declared routes that no longer exist: {sorted(stale)}"
    both = covered & set(NO_SECOND_OBJECT)
    assert not both, f"Both tried and declared as naming no second object: {sorted(both)}"
    for name in TESTED_BELOW.values():
        assert callable(globals().get(name)), name


def tenant_state(tenant) -> dict:
    """Every row of the tenant (and its many-to-many links), to compare before and after."""
    state = {}
    for model in apps.get_models():
        if not issubclass(model, TenantScoped) or model._meta.proxy or model._meta.abstract:
            continue
        fields = [f.attname for f in model._meta.concrete_fields if f.name != "last_used_at"]
        rows = model.objects.for_tenant(tenant).order_by("pk")
        state[model._meta.label] = list(rows.values_list(*fields))
        for m2m in model._meta.many_to_many:
            state[f"{model._meta.label}.{m2m.name}"] = sorted(
                rows.values_list("pk", m2m.name).exclude(**{m2m.name: None})
            )
    return state


@pytest.fixture
def scene(world):
    return Scene(world)


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_out_of_scope_second_object_changes_nothing(scene, case):
    url, body = case.request(scene)
    client = scene.world.client(case.role)  # its token exists before the snapshot
    before = tenant_state(scene.world.tenant)
    response = getattr(client, case.method.lower())(f"/{API_PREFIX}{url}", body, format="json")
    assert response.status_code == case.status, response.content
    assert 400 <= response.status_code < 500
    assert response.json()["code"]
    assert tenant_state(scene.world.tenant) == before


# --- what a case can't say in one request ------------------------------------------------------


@pytest.mark.django_db
def test_issue_job_skips_out_of_scope_customers(scene, django_capture_on_commit_callbacks):
    """A regional operator's issuance job reports another region's customer as unknown (the
    file and list modes can't refuse the whole job for one row) and gives them nothing."""
    world = scene.world
    client = world.client(RO)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            f"/{API_PREFIX}coupon-batches/{scene.batch.pk}/issue",
            {"customers": [scene.far_customer.code, scene.near_customer.code]},
            format="json",
        )
    assert response.status_code == 202, response.content
    job = IssuanceJob.objects.for_tenant(world.tenant).get(pk=response.json()["id"])
    coupon_services.issuance_job_run(tenant=world.tenant, job_id=job.pk)
    far = Coupon.objects.for_tenant(world.tenant).filter(customer=scene.far_customer)
    assert far.count() == 2  # the two of the scene, none more
    errors = IssuanceError.objects.for_tenant(world.tenant).filter(job=job)
    assert list(errors.values_list("value", "reason")) == [
        (scene.far_customer.code, "unknown_customer")
    ]


@pytest.mark.django_db
def test_transfer_inside_the_region_still_works(scene):
    """The check narrows, it doesn't forbid: two staff members of the operator's region."""
    world = scene.world
    near_colleague = StaffFactory(tenant=world.tenant, merchant=world.merchant, code="NEAR-S2")
    body = {"program": scene.program.pk, "from_staff": world.staff.code,
            "to_staff": near_colleague.code, "points": 5}  # fmt: skip
    response = world.client(RO).post(f"/{API_PREFIX}points-transfers", body, format="json")
    assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_transfer_service_checks_both_holders(scene):
    """The rule sits in the service, so the console and tasks get it too: both directions."""
    from core.errors import NotFoundError

    world = scene.world
    for source, target in ((world.staff, scene.far_staff), (scene.far_staff, world.staff)):
        with pytest.raises(NotFoundError):
            points_services.points_transfer(
                tenant=world.tenant, actor=world.actor(RO), program=scene.program,
                from_holder=source, to_holder=target, points=1,
            )  # fmt: skip
    # A merchant staff member transfers within their merchant only.
    with pytest.raises(NotFoundError):
        points_services.points_transfer(
            tenant=world.tenant, actor=world.actor(Role.MERCHANT_STAFF), program=scene.program,
            from_holder=world.staff, to_holder=scene.far_staff, points=1,
        )  # fmt: skip


@pytest.mark.django_db
def test_rollback_and_redeem_in_scope_still_work(scene):
    world = scene.world
    client = world.client(RO)
    url, body = _redeem(scene, scene.near_coupon, scene.near_customer)
    assert client.post(f"/{API_PREFIX}{url}", body, format="json").status_code == 200
    rollback = client.post(f"/{API_PREFIX}coupons/{scene.near_coupon.code}/rollback", {})
    assert rollback.status_code == 200, rollback.content


@pytest.mark.django_db
def test_a_scoped_users_event_fires_only_their_rules(scene):
    """An event a BU admin sends issues coupons of their unit's rules only, never another
    unit's (an integrator's key fires every rule)."""
    world = scene.world
    system = world.system
    for batch in (scene.batch, scene.other_batch):
        coupon_services.issuance_rule_create(
            tenant=world.tenant, actor=system, batch=batch, event="registration"
        )
    newcomer = CustomerFactory(tenant=world.tenant, region=world.region, code="NEW-C")
    response = world.client(BU).post(
        f"/{API_PREFIX}events",
        {"id": "E-BU", "type": "registration", "customer": newcomer.code},
        format="json",
    )
    assert response.status_code == 201, response.content
    batches = set(
        Coupon.objects.for_tenant(world.tenant)
        .filter(customer=newcomer)
        .values_list("batch_id", flat=True)
    )
    assert batches == {scene.batch.pk}
