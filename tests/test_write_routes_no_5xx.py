"""No write route of the API answers 5xx to a field left out or sent as null (SPEC §10).

Every POST/PUT/PATCH route under /api/v1/ comes from the URL resolver (as in
tests/test_tenant_isolation.py), so a route added later is walked without editing this file,
and it fails until EXAMPLES below gives it a valid body (or NO_JSON_BODY says why it has none).

For each route the test sends the complete example first, which must succeed (2xx: the example
stays valid, or the rest proves nothing), then the example with one field at a time left out,
and set to null. The fields are those of the example and those the OpenAPI schema
(/api/schema/) documents for the request, nested ones included (`code.length`,
`frequency_cap.count`, `tiers[0].points`). Any 5xx fails. Each request runs in a savepoint
that is rolled back, so every variant meets the same state the route's `setup` made.

This is the cheap net before the schemathesis work; it proves no 5xx, not the right 4xx.
"""

import copy
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.roles import Role
from accounts.tests.factories import PASSWORD, CustomerFactory, StaffFactory
from budgets import services as budget_services
from budgets.tests.factories import approved_budget, draft_budget, submitted_budget
from campaigns import services as campaign_services
from campaigns.tests.factories import new_campaign
from core.testing import throttle_rates
from coupons import services as coupon_services
from coupons.tests.factories import active_batch, draft_batch, running_campaign
from points import services as points_services
from points.models import PointsRule
from points.tests.factories import running_campaign as points_campaign
from redemption import services as redemption_services
from redemption.tests.factories import give_points, lottery, prize, staff_program
from tests.test_tenant_isolation import API_PREFIX, PARAM, Route, api_routes

WRITE_METHODS = ("POST", "PUT", "PATCH")
TA, OP, FIN = Role.TENANT_ADMIN, Role.OPERATOR, Role.FINANCE
KEY, ANON = "api_key", "anonymous"


@dataclass
class Example:
    """A valid request to one route.

    `setup(world)` makes what the request needs and returns a context: the path parameters by
    name, and anything `body` wants. `body(world, ctx)` is the complete, valid JSON body.
    `client` is a role (a personal token of that member), KEY (an API key with every scope) or
    ANON (no credential).
    """

    body: Callable[..., dict]
    setup: Callable[..., dict] = field(default=lambda w: {})
    client: str = TA
    method: str | None = None  # only where a path has more than one write method


def _today(w):
    return timezone.localdate(timezone=w.tenant.zone)


def _iso(days=0, hours=0):
    return (timezone.now() + timedelta(days=days, hours=hours)).isoformat()


def _customer(w, code="C-NET-1", **fields):
    return CustomerFactory(tenant=w.tenant, region=w.region, code=code, **fields)


def _issued_coupon(w):
    batch = active_batch(w, quantity=10, kind="cash", value=Decimal("5.00"), threshold=None)
    customer = _customer(w)
    coupon = coupon_services.coupon_issue(
        tenant=w.tenant, actor=w.actor(OP), batch=batch, customer=customer
    )
    return {"coupon": coupon, "customer": customer}


def _redeemed_coupon(w):
    ctx = _issued_coupon(w)
    coupon_services.coupon_redeem(
        tenant=w.tenant,
        actor=w.system,
        code=ctx["coupon"].code,
        customer=ctx["customer"],
        amount=Decimal("50.00"),
        merchant=w.merchant,
        region=w.region,
        order="O-NET-1",
    )
    return {"code": ctx["coupon"].code}


def _redeem_body(w, ctx):
    return {
        "code": ctx["coupon"].code,
        "customer": ctx["customer"].code,
        "amount": "50.00",
        "merchant": w.merchant.code,
        "region": w.region.code,
        "categories": ["phones"],
        "order": "O-NET-2",
        "device_id": "device-net",
        "phone": "13800000009",
    }


def _settlement(w):
    from reports.tests.isolation import settlement_prepared as prepared

    return prepared(w)


def _rejected_budget(w):
    budget = submitted_budget(w)
    return budget_services.budget_reject(
        tenant=w.tenant, actor=w.actor(FIN), budget=budget, note="no"
    )


def _adjustment(w):
    return budget_services.budget_adjustment_create(
        tenant=w.tenant,
        actor=w.actor(TA),
        budget=approved_budget(w),
        amount_delta=Decimal("10.00"),
        reason="more",
    )


def _campaign_in(w, status: str):
    campaign = running_campaign(w)  # scheduled an hour into its period: running
    if status == "paused":
        campaign = campaign_services.campaign_pause(
            tenant=w.tenant, actor=w.actor(OP), campaign=campaign
        )
    return {"id": campaign.pk}


def _batch_body(w, ctx):
    return {
        "campaign": ctx["campaign"].pk if "campaign" in ctx else None,
        "name": "Net batch",
        "kind": "amount_off",
        "value": "20.00",
        "threshold": "100.00",
        "valid_from": _iso(hours=1),
        "valid_until": _iso(days=5),
        "extend_past_campaign": False,
        "scope": {
            "merchants": [w.merchant.code],
            "regions": [w.region.code],
            "categories": ["phones"],
        },
        "quantity": 10,
        "per_customer_limit": 1,
        "frequency_cap": {"count": 1, "days": 30},
        "stackable": False,
        "claimable": True,
        "code": {"mode": "unique", "length": 12, "prefix": "NET"},
    }


def _program_body(w, ctx):
    return {
        "name": "Net points",
        "holder": "staff",
        "point_value": "0.010000",
        "point_value_range": {"min": "0.005000", "max": "0.015000"},
        "expiry": {"policy": "days", "days": 90, "period": ""},
        "pending": "until_completed",
        "pending_days": None,
        "weekly_cap": 500,
        "monthly_cap": 2000,
        "allow_negative": False,
        "transferable": True,
        "transfer_limits": {"per_transfer": 100, "per_month": 1000},
        "tiers": [{"name": "gold", "threshold": 1000, "multiplier": "1.5"}],
        "tier_basis": "lifetime",
    }


def _points_rule_ctx(w, **fields):
    program = staff_program(w)
    campaign = points_campaign(w)
    rule = points_services.rule_create(
        tenant=w.tenant,
        actor=w.actor(OP),
        campaign=campaign,
        program=program,
        regions=[w.region],
        **({"kind": "per_order", "points": 1} | fields),
    )
    return {"id": rule.pk, "program": program, "campaign": campaign}


def _inactive_points_rule(w):
    ctx = _points_rule_ctx(w)
    points_services.rule_deactivate(
        tenant=w.tenant,
        actor=w.actor(OP),
        rule=PointsRule.objects.for_tenant(w.tenant).get(pk=ctx["id"]),
    )
    return ctx


def _account_ctx(w):
    program = staff_program(w)
    account = give_points(w, program, w.staff, 500)
    return {"id": account.pk, "program": program}


def _points_request(w):
    """A large adjustment an operator asked for; the tenant admin decides it."""
    account = give_points(w, staff_program(w), w.staff, 500)
    w.tenant.max_points_adjustment = 10
    w.tenant.save()
    request = points_services.points_adjustment_submit(
        tenant=w.tenant, actor=w.actor(OP), account=account, points=50, reason="big"
    )
    return {"id": request.pk}


def _transferable(w):
    program = points_services.program_create(
        tenant=w.tenant,
        actor=w.actor(OP),
        name="Transferable",
        holder="staff",
        point_value=Decimal("0.01"),
        transferable=True,
    )
    give_points(w, program, w.staff, 500)
    other = StaffFactory(tenant=w.tenant, merchant=w.merchant, code="S-NET-2")
    return {"program": program, "to": other}


def _prize_body(w, ctx):
    return {
        "program": ctx["program"].pk,
        "name": "Mug",
        "kind": "virtual",
        "group": "Mugs",
        "points_cost": 100,
        "value": "1.00",
        "stock": 5,
        "per_holder_limit": 2,
        "available_from": _iso(),
        "available_until": _iso(days=30),
        "coupon_batch": None,
        "is_active": True,
    }


def _prize_ctx(w):
    program = staff_program(w)
    made = prize(w, program, points_cost=100, value=Decimal("1.00"))
    give_points(w, program, w.staff, 1000)
    return {"id": made.pk, "prize": made, "program": program}


def _physical_redemption(w):
    program = staff_program(w)
    made = prize(w, program, kind="physical", points_cost=100, value=Decimal("1.00"))
    give_points(w, program, w.staff, 1000)
    redemption = redemption_services.prize_redeem(
        tenant=w.tenant, actor=w.system, staff=w.staff, prize=made, shipping_address="1 Net Road"
    )
    return {"id": redemption.pk}


def _lottery_body(w, c):
    return {
        "name": "Net lottery",
        "cost_points": 100,
        "outcomes": [
            {
                "kind": "points",
                "points": 50,
                "prize": None,
                "batch": None,
                "probability": "0.5",
                "inventory": 10,
            },
            {"kind": "nothing", "probability": "0.5"},
        ],
    }


def _active_lottery(w):
    program = staff_program(w)
    made = lottery(w, program, activate=True)
    give_points(w, program, w.staff, 1000)
    return {"id": made.pk}


# Keyed by the route template below /api/v1/ (as the URL resolver spells it); a list where one
# body can't reach every field (a rule's tiers and its milestone belong to different kinds).
EXAMPLES: dict[str, Example | list[Example]] = {
    # --- accounts --------------------------------------------------------------------------
    "auth/token": Example(
        client=ANON,
        body=lambda w, c: {
            "username": w.members[TA].user.username,
            "password": PASSWORD,
            "tenant": w.tenant.slug,
        },
    ),
    "users": Example(
        body=lambda w, c: {
            "username": "net-newbie",
            "password": "Another-horse-43",
            "email": "newbie@example.test",
            "first_name": "New",
            "last_name": "Bie",
            "role": "regional_operator",
            "business_unit": None,
            "regions": [w.region.code],
            "merchant": None,
            "staff": None,
        },
    ),
    "users/<int:id>": Example(
        setup=lambda w: {"id": w.members[OP].pk},
        body=lambda w, c: {
            "role": "regional_operator",
            "business_unit": None,
            "regions": [w.region.code],
            "merchant": None,
            "staff": None,
            "is_active": True,
        },
    ),
    "business-units": Example(body=lambda w, c: {"code": "net-bu", "name": "Net unit"}),
    "regions/<str:code>": Example(
        setup=lambda w: {"code": "NET-R"},
        body=lambda w, c: {"name": "Net region", "parent": w.region.code},
    ),
    "merchants/<str:code>": Example(
        setup=lambda w: {"code": "M-NET"},
        body=lambda w, c: {"name": "Net merchant", "region": w.region.code, "is_active": True},
    ),
    "staff/<str:code>": Example(
        setup=lambda w: {"code": "S-NET"},
        body=lambda w, c: {
            "name": "Net staff",
            "merchant": w.merchant.code,
            "phone": "13800000001",
            "is_active": True,
        },
    ),
    "customers/<str:code>": Example(
        setup=lambda w: {"code": "C-NET"},
        body=lambda w, c: {
            "name": "Net customer",
            "registered_on": "2026-01-05",
            "region": w.region.code,
            "tags": ["vip"],
            "last_order_on": "2026-02-01",
            "phone": "13800000002",
            "device_id": "device-net",
        },
    ),
    "api-keys": Example(body=lambda w, c: {"name": "net", "scopes": ["orders", "coupons"]}),
    # --- budgets ---------------------------------------------------------------------------
    "budgets": Example(
        body=lambda w, c: {
            "business_unit": w.unit.code,
            "name": "Net budget",
            "purpose": "coupons",
            "amount": "500.00",
            "starts_on": str(_today(w)),
            "ends_on": str(_today(w) + timedelta(days=30)),
        },
    ),
    "budgets/<int:id>": Example(
        setup=lambda w: {"id": draft_budget(w).pk},
        body=lambda w, c: {
            "business_unit": w.unit.code,
            "name": "Renamed budget",
            "purpose": "coupons",
            "amount": "600.00",
            "starts_on": str(_today(w)),
            "ends_on": str(_today(w) + timedelta(days=40)),
            "note": "bigger",
        },
    ),
    "budgets/<int:id>/submit": Example(
        setup=lambda w: {"id": draft_budget(w).pk}, body=lambda w, c: {"note": "please"}
    ),
    "budgets/<int:id>/approve": Example(
        client=FIN, setup=lambda w: {"id": submitted_budget(w).pk}, body=lambda w, c: {"note": "ok"}
    ),
    "budgets/<int:id>/reject": Example(
        client=FIN, setup=lambda w: {"id": submitted_budget(w).pk}, body=lambda w, c: {"note": "no"}
    ),
    "budgets/<int:id>/reopen": Example(
        setup=lambda w: {"id": _rejected_budget(w).pk}, body=lambda w, c: {"note": "again"}
    ),
    "budgets/<int:id>/close": Example(
        client=FIN,
        setup=lambda w: {"id": approved_budget(w).pk},
        body=lambda w, c: {"note": "done"},
    ),
    "budgets/<int:id>/adjustments": Example(
        setup=lambda w: {"id": approved_budget(w).pk},
        body=lambda w, c: {"amount_delta": "50.00", "reason": "more"},
    ),
    "budget-adjustments/<int:id>/approve": Example(
        client=FIN, setup=lambda w: {"id": _adjustment(w).pk}, body=lambda w, c: {"note": "ok"}
    ),
    "budget-adjustments/<int:id>/reject": Example(
        client=FIN, setup=lambda w: {"id": _adjustment(w).pk}, body=lambda w, c: {"note": "no"}
    ),
    # --- settlements -----------------------------------------------------------------------
    "settlements": Example(
        client=FIN, body=lambda w, c: {"from": "2026-10-01", "to": "2026-10-31", "note": "Oct"}
    ),
    "settlements/<int:id>/close": Example(
        client=FIN, setup=lambda w: {"id": _settlement(w).pk}, body=lambda w, c: {"note": "ok"}
    ),
    "settlements/<int:id>/discard": Example(
        client=FIN, setup=lambda w: {"id": _settlement(w).pk}, body=lambda w, c: {"note": "no"}
    ),
    # --- campaigns -------------------------------------------------------------------------
    "campaigns": Example(
        setup=lambda w: {"budget": approved_budget(w)},
        body=lambda w, c: {
            "name": "Net campaign",
            "description": "Spring",
            "budget": c["budget"].pk,
            "starts_at": _iso(days=1),
            "ends_at": _iso(days=10),
            "channels": ["app"],
            "regions": [w.region.code],
            "owner": w.members[OP].user.username,
        },
    ),
    "campaigns/<int:id>": Example(
        setup=lambda w: {"id": new_campaign(w, budget=approved_budget(w)).pk},
        body=lambda w, c: {
            "name": "Renamed campaign",
            "description": "Later",
            "starts_at": _iso(days=2),
            "ends_at": _iso(days=9),
            "channels": ["app"],
            "regions": [w.region.code],
            "owner": w.members[OP].user.username,
        },
    ),
    "campaigns/<int:id>/schedule": Example(
        setup=lambda w: {"id": new_campaign(w, budget=approved_budget(w)).pk},
        body=lambda w, c: {"acknowledge_warnings": True},
    ),
    "campaigns/<int:id>/pause": Example(
        setup=lambda w: _campaign_in(w, "running"), body=lambda w, c: {"note": "hold"}
    ),
    "campaigns/<int:id>/resume": Example(
        setup=lambda w: _campaign_in(w, "paused"), body=lambda w, c: {"note": "go"}
    ),
    "campaigns/<int:id>/end": Example(
        setup=lambda w: _campaign_in(w, "running"), body=lambda w, c: {"note": "over"}
    ),
    "channels": Example(body=lambda w, c: {"code": "net-kiosk", "name": "Kiosk"}),
    "channels/<str:code>": Example(
        setup=lambda w: {"code": "app"}, body=lambda w, c: {"name": "App", "is_active": True}
    ),
    # --- orders ----------------------------------------------------------------------------
    "orders": Example(
        client=KEY,
        setup=lambda w: {"customer": _customer(w)},
        body=lambda w, c: {
            "external_id": "O-NET",
            "staff": w.staff.code,
            "merchant": w.merchant.code,
            "region": w.region.code,
            "amount": "120.50",
            "placed_at": _iso(hours=-1),
            "customer": c["customer"].code,
            "channel": "app",
            "device_id": "device-net",
            "phone": "13800000003",
        },
    ),
    # --- coupons ---------------------------------------------------------------------------
    # A shared code here (issue 11: its missing length was a 500), unique codes in the PATCH.
    "coupon-batches": Example(
        setup=lambda w: {"campaign": running_campaign(w)},
        body=lambda w, c: {
            **_batch_body(w, c),
            "code": {"mode": "shared", "shared_code": "NETCASH5"},
        },
    ),
    "coupon-batches/<int:id>": Example(
        setup=lambda w: {"id": draft_batch(w).pk},
        body=lambda w, c: {
            **{k: v for k, v in _batch_body(w, c).items() if k != "campaign"},
            "valid_days": None,  # the draft had days; this switches it to a fixed window
        },
    ),
    "coupon-batches/<int:id>/claim": Example(
        client=KEY,
        setup=lambda w: {"id": active_batch(w, claimable=True).pk, "customer": _customer(w)},
        body=lambda w, c: {"customer": c["customer"].code},
    ),
    "coupon-batches/<int:id>/issue": Example(
        setup=lambda w: {"id": active_batch(w).pk, "customer": _customer(w)},
        body=lambda w, c: {"customers": [c["customer"].code]},
    ),
    "coupon-batches/<int:id>/generate": Example(
        setup=lambda w: {"id": active_batch(w).pk}, body=lambda w, c: {"count": 5}
    ),
    "coupons/validate": Example(client=KEY, setup=_issued_coupon, body=_redeem_body),
    "coupons/redeem": Example(client=KEY, setup=_issued_coupon, body=_redeem_body),
    "coupons/<str:code>/rollback": Example(
        client=KEY, setup=_redeemed_coupon, body=lambda w, c: {"order": "O-NET-1"}
    ),
    "events": Example(
        client=KEY,
        setup=lambda w: {"customer": _customer(w), "inviter": _customer(w, "C-NET-2")},
        body=lambda w, c: {
            "id": "evt-net",
            "type": "referral",
            "customer": c["customer"].code,
            "inviter": c["inviter"].code,
            "device_id": "device-net",
            "phone": "13800000004",
        },
    ),
    "issuance-rules": Example(
        setup=lambda w: {"batch": active_batch(w)},
        body=lambda w, c: {
            "batch": c["batch"].pk,
            "event": "registration",
            "frequency_cap": {"count": 1, "days": 30},
        },
    ),
    "issuance-rules/<int:id>": Example(
        setup=lambda w: {
            "id": coupon_services.issuance_rule_create(
                tenant=w.tenant, actor=w.actor(OP), batch=active_batch(w), event="registration"
            ).pk
        },
        body=lambda w, c: {"frequency_cap": {"count": 2, "days": 7}},
    ),
    "blocked-customers": Example(
        setup=lambda w: {"customer": _customer(w)},
        body=lambda w, c: {"customer": c["customer"].code, "reason": "abuse"},
    ),
    "fraud/settings": Example(
        setup=lambda w: {"campaign": running_campaign(w)},
        body=lambda w, c: {
            "customer_daily": 5,
            "fingerprint_customers": 3,
            "campaign_limits": [{"campaign": c["campaign"].pk, "max_redemptions_per_customer": 2}],
        },
    ),
    "segments": Example(
        body=lambda w, c: {
            "name": "Net segment",
            "filters": {
                "regions": [w.region.code],
                "tags_any": ["vip"],
                "registered_after": "2025-01-01",
                "registered_before": "2026-12-31",
                "last_order_after": "2025-06-01",
                "last_order_before": "2026-12-31",
            },
        },
    ),
    # --- points ----------------------------------------------------------------------------
    "points-programs": Example(body=_program_body),
    "points-programs/<int:id>": Example(
        setup=lambda w: {"id": staff_program(w).pk},
        body=lambda w, c: {k: v for k, v in _program_body(w, c).items() if k != "holder"},
    ),
    "points-programs/<int:id>/deactivate": Example(
        setup=lambda w: {"id": staff_program(w).pk}, body=lambda w, c: {"note": "pause"}
    ),
    "points-programs/<int:id>/activate": Example(
        setup=lambda w: {
            "id": points_services.program_deactivate(
                tenant=w.tenant, actor=w.actor(OP), program=staff_program(w)
            ).pk
        },
        body=lambda w, c: {"note": "back"},
    ),
    "points-rules": Example(
        setup=lambda w: {"program": staff_program(w), "campaign": points_campaign(w)},
        body=lambda w, c: {
            "campaign": c["campaign"].pk,
            "program": c["program"].pk,
            "name": "First orders",
            "kind": "region_first_n",
            "min_amount": "10.00",
            "regions": [w.region.code],
            "tiers": [{"from": 1, "to": 10, "points": 5}, {"from": 11, "to": 20, "points": 2}],
            "cap_total": 1000,
            "cap_per_holder_week": 50,
            "cap_per_region": 500,
        },
    ),
    "points-rules/<int:id>": [
        Example(
            setup=_points_rule_ctx,
            body=lambda w, c: {
                "name": "Per order",
                "points": 2,
                "min_amount": "10.00",
                "regions": [w.region.code],
                "cap_total": 1000,
                "cap_per_holder_week": 50,
                "cap_per_region": 500,
            },
        ),
        Example(
            setup=lambda w: _points_rule_ctx(
                w, kind="region_first_n", points=None, tiers=[{"from": 1, "to": 5, "points": 3}]
            ),
            body=lambda w, c: {"tiers": [{"from": 1, "to": 10, "points": 5}]},
        ),
        Example(
            setup=lambda w: _points_rule_ctx(
                w,
                kind="milestone",
                points=None,
                milestone={"count": 5, "period": "week", "points": 20},
            ),
            body=lambda w, c: {"milestone": {"count": 3, "period": "month", "points": 10}},
        ),
    ],
    "points-rules/<int:id>/deactivate": Example(
        setup=_points_rule_ctx, body=lambda w, c: {"note": "pause"}
    ),
    "points-rules/<int:id>/activate": Example(
        setup=_inactive_points_rule, body=lambda w, c: {"note": "back"}
    ),
    "points-accounts/<int:id>/adjustments": Example(
        setup=_account_ctx, body=lambda w, c: {"points": 7, "reason": "Goodwill"}
    ),
    "points-adjustment-requests/<int:id>/approve": Example(
        setup=_points_request, body=lambda w, c: {"note": "checked"}
    ),
    "points-adjustment-requests/<int:id>/reject": Example(
        setup=_points_request, body=lambda w, c: {"note": "no receipts"}
    ),
    "points-transfers": Example(
        setup=_transferable,
        body=lambda w, c: {
            "program": c["program"].pk,
            "from_staff": w.staff.code,
            "to_staff": c["to"].code,
            "points": 3,
        },
    ),
    # --- redemption ------------------------------------------------------------------------
    "prizes": Example(setup=lambda w: {"program": staff_program(w)}, body=_prize_body),
    "prizes/<int:id>": Example(
        setup=_prize_ctx,
        body=lambda w, c: {k: v for k, v in _prize_body(w, c).items() if k != "program"},
    ),
    "prize-redemptions": Example(
        setup=_prize_ctx,
        body=lambda w, c: {
            "staff": w.staff.code,
            "prize": c["prize"].pk,
            "quantity": 1,
            "shipping_address": "1 Net Road",
        },
    ),
    "lotteries": Example(
        setup=lambda w: {"program": staff_program(w)},
        body=lambda w, c: {"program": c["program"].pk, **_lottery_body(w, c)},
    ),
    "lotteries/<int:id>": Example(
        setup=lambda w: {"id": lottery(w, staff_program(w)).pk}, body=_lottery_body
    ),
    "prizes/<int:id>/stock-adjustments": Example(
        setup=_prize_ctx, body=lambda w, c: {"delta": 3, "reason": "A delivery arrived"}
    ),
    "prize-redemptions/<int:id>/ship": Example(
        setup=_physical_redemption,
        body=lambda w, c: {"carrier": "SF Express", "tracking_number": "SF1", "note": ""},
    ),
    "lotteries/<int:id>/draws": Example(
        setup=_active_lottery, body=lambda w, c: {"staff": w.staff.code}
    ),
}

# Write routes that take no JSON body, and why. The schema must agree (no request body).
NO_JSON_BODY: dict[str, str] = {
    "api-keys/<int:id>/revoke": "an action on the key; nothing to send",
    "orders/<str:external_id>/complete": "an order event; the path says everything",
    "orders/<str:external_id>/close": "an order event; the path says everything",
    "coupon-batches/<int:id>/activate": "a life-cycle move without a note",
    "coupon-batches/<int:id>/pause": "a life-cycle move without a note",
    "coupon-batches/<int:id>/resume": "a life-cycle move without a note",
    "coupon-batches/<int:id>/end": "a life-cycle move without a note",
    "issuance-rules/<int:id>/activate": "a life-cycle move without a note",
    "issuance-rules/<int:id>/deactivate": "a life-cycle move without a note",
    "prize-redemptions/<int:id>/cancel": "a life-cycle move without a note",
    "prize-redemptions/<int:id>/deliver": "a life-cycle move without a note",
    "lotteries/<int:id>/activate": "a life-cycle move without a note",
    "lotteries/<int:id>/end": "a life-cycle move without a note",
}


# --- the routes and their documented fields ---------------------------------------------------


def _write_routes() -> list[tuple[Route, str]]:
    return [(r, m) for r in api_routes() for m in r.methods if m in WRITE_METHODS]


def _key(route: Route) -> str:
    return route.template.removeprefix(API_PREFIX)


def _openapi_path(route: Route) -> str:
    return "/" + PARAM.sub(lambda m: "{" + m.group("name") + "}", route.template)


_SCHEMA: dict = {}


@pytest.fixture
def schema(db):
    if not _SCHEMA:
        response = APIClient().get("/api/schema/?format=json")
        assert response.status_code == 200, response.content[:2000]
        _SCHEMA.update(response.json())
    return _SCHEMA


def _resolve(schema: dict, node: dict) -> dict:
    for _ in range(10):
        if "$ref" in node:
            node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
        elif "allOf" in node and len(node["allOf"]) == 1:
            node = node["allOf"][0]
        else:
            break
    return node


def _request_schema(schema: dict, route: Route, method: str) -> dict | None:
    operation = schema["paths"].get(_openapi_path(route), {}).get(method.lower())
    assert operation is not None, f"{method} {route}: not in the OpenAPI schema"
    content = (operation.get("requestBody") or {}).get("content", {})
    if "application/json" not in content:
        return None
    return _resolve(schema, content["application/json"]["schema"])


def _schema_paths(schema: dict, node: dict, prefix=(), depth=0) -> list[tuple]:
    """Every documented field of a request, as a path of keys (0 for a list's first item)."""
    paths: list[tuple] = []
    if depth > 4:
        return paths
    for name, prop in _resolve(schema, node).get("properties", {}).items():
        if prop.get("readOnly"):
            continue
        path = (*prefix, name)
        paths.append(path)
        prop = _resolve(schema, prop)
        if prop.get("type") == "object" or "properties" in prop:
            paths += _schema_paths(schema, prop, path, depth + 1)
        elif prop.get("type") == "array":
            item = _resolve(schema, prop.get("items", {}))
            paths.append((*path, 0))
            if "properties" in item:
                paths += _schema_paths(schema, item, (*path, 0), depth + 1)
    return paths


def _body_paths(value, prefix=()) -> list[tuple]:
    """Every field of the example body, nested objects and a list's first item included."""
    paths = []
    if isinstance(value, dict):
        for name, child in value.items():
            paths.append((*prefix, name))
            paths += _body_paths(child, (*prefix, name))
    elif isinstance(value, list) and value:
        paths.append((*prefix, 0))
        paths += _body_paths(value[0], (*prefix, 0))
    return paths


def _child(parent, step):
    if isinstance(parent, dict):
        return parent.get(step)
    return parent[step] if isinstance(step, int) and step < len(parent) else None


def _variant(body: dict, path: tuple, how: str):
    """The body with the field at `path` left out or set to null; None when it makes no
    difference (the field isn't there to leave out, or its parent isn't sent at all)."""
    body = copy.deepcopy(body)
    parent = body
    for step in path[:-1]:
        parent = _child(parent, step)
        if not isinstance(parent, dict | list):
            return None
    last = path[-1]
    if isinstance(parent, dict) and isinstance(last, str):
        if how == "missing":
            if last not in parent:
                return None
            del parent[last]
        else:
            parent[last] = None
        return body
    if isinstance(parent, list) and isinstance(last, int) and last < len(parent):
        if how == "missing":
            del parent[last]
        else:
            parent[last] = None
        return body
    return None


def _label(path: tuple) -> str:
    return "".join(
        f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(path)
    )


class _Errors(logging.Handler):
    """The unhandled exceptions the API logged (the 500's cause, for the failure message)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def _cause(errors: _Errors) -> str:
    return "; ".join(
        f"{r.exc_info[0].__name__}: {str(r.exc_info[1])[:200]}"
        for r in errors.records
        if r.exc_info and r.exc_info[0]
    )


def _client(world, who: str) -> APIClient:
    if who == ANON:
        client = APIClient()
    elif who == KEY:
        client = world.key_client()
    else:
        client = world.client(who)
    client.raise_request_exception = False  # a crash is a 500 answer, judged below
    return client


# --- the tests ---------------------------------------------------------------------------------

ROUTES = _write_routes()


def test_every_write_route_is_declared(schema):
    declared = set(EXAMPLES) | set(NO_JSON_BODY)
    keys = {_key(route) for route, _method in ROUTES}
    missing = sorted(keys - declared)
    assert not missing, (
        "Write routes without an example body: declare one in EXAMPLES of "
        f"{__name__} (or list it in NO_JSON_BODY with a reason): {missing}"
    )
    assert not (stale := sorted(declared - keys)), f"Declared routes that don't exist: {stale}"
    assert not set(EXAMPLES) & set(NO_JSON_BODY)
    for route, method in ROUTES:
        if _key(route) in NO_JSON_BODY:
            assert _request_schema(schema, route, method) is None, (
                f"{method} {route} documents a JSON body: give it an example, "
                "it is not a route without a body"
            )


@pytest.mark.parametrize(
    ("route", "method"),
    [pytest.param(r, m, id=f"{m} {_key(r)}") for r, m in ROUTES if _key(r) not in NO_JSON_BODY],
)
def test_no_5xx_for_a_field_left_out_or_null(world, schema, route, method):
    examples = EXAMPLES.get(_key(route))
    if examples is None:
        pytest.fail(f"{method} {route}: no example body (see test_every_write_route_is_declared)")
    failures = []
    for example in examples if isinstance(examples, list) else [examples]:
        if example.method in (None, method):
            failures += _probe(world, schema, route, method, example)
    assert not failures, "\n".join(failures)


def _probe(world, schema, route: Route, method: str, example: Example) -> list[str]:
    """The complete example (must be 2xx), then each field left out and null: the 5xx."""
    ctx = example.setup(world)
    url = route.url({name: ctx[name] for name in route.params})
    body = example.body(world, ctx)
    client = _client(world, example.client)
    documented = _request_schema(schema, route, method)
    paths = list(dict.fromkeys(_body_paths(body) + _schema_paths(schema, documented or {})))

    errors = _Errors()
    logger = logging.getLogger("pointsops.api")
    logger.addHandler(errors)

    def send(payload):
        errors.records.clear()
        with transaction.atomic():  # a savepoint: every variant meets the same state
            response = client.generic(
                method, url, json.dumps(payload, default=str), content_type="application/json"
            )
            transaction.set_rollback(True)
        return response

    failures = []
    try:
        with throttle_rates(
            user="100000/min", api_key="100000/min", anon="100000/min", login="100000/min"
        ):
            response = send(body)
            if response.status_code >= 500:
                return [
                    f"{method} {url} with the complete example → {response.status_code} "
                    + _cause(errors)
                ]
            assert 200 <= response.status_code < 300, (
                f"{method} {url}: the complete example must succeed, got "
                f"{response.status_code}: {response.content[:1000]!r} — fix EXAMPLES"
            )
            for path in paths:
                for how in ("missing", "null"):
                    payload = _variant(body, path, how)
                    if payload is None:
                        continue
                    response = send(payload)
                    if response.status_code >= 500:
                        failures.append(
                            f"{method} {url} with {_label(path)} {how} → "
                            f"{response.status_code} {_cause(errors)}"
                        )
    finally:
        logger.removeHandler(errors)
    return failures
