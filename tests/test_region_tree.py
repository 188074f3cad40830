"""Naming a region means that region and everything below it (SPEC §2, §3, issue: region tree).

Regions are provinces → cities → service zones, and customers, merchants and orders sit on the
zones. Each test names the province (or a city) and expects what sits below it.
"""

from decimal import Decimal

import pytest

from accounts.regions import (
    region_ancestor_ids,
    region_descendant_ids,
    region_path,
    region_subtree_ids,
)
from accounts.roles import Role
from accounts.tests.factories import CustomerFactory, MerchantFactory, RegionFactory
from coupons import selectors as coupon_selectors
from coupons.tests.factories import active_batch
from coupons.tests.factories import running_campaign as coupon_campaign
from orders.services import order_close
from points.models import OrderAward, RuleRegionCounter
from points.tests.factories import place, program, rule, running_campaign


class Tree:
    """world.region (the province) → city → zone, and a second city with its zone."""

    def __init__(self, world):
        tenant = world.tenant
        self.province = world.region
        self.city = RegionFactory(tenant=tenant, code="P-C1", parent=self.province)
        self.zone = RegionFactory(tenant=tenant, code="P-C1-Z1", parent=self.city)
        self.city2 = RegionFactory(tenant=tenant, code="P-C2", parent=self.province)
        self.zone2 = RegionFactory(tenant=tenant, code="P-C2-Z1", parent=self.city2)
        self.outside = world.other_region  # a province of its own


@pytest.fixture
def tree(world) -> Tree:
    return Tree(world)


def test_the_tree_helpers_walk_down_and_up_inside_the_tenant(world, other_world, tree):
    # The other tenant has a region of the same code below its own province: never reached.
    RegionFactory(tenant=other_world.tenant, code="P-C1-Z1", parent=other_world.region)
    below = {tree.province.pk, tree.city.pk, tree.zone.pk, tree.city2.pk, tree.zone2.pk}
    assert region_descendant_ids(tenant=world.tenant, region_ids=[tree.province.pk]) == below
    assert region_subtree_ids(tenant=world.tenant, codes=["P-C1"]) == {tree.city.pk, tree.zone.pk}
    assert region_subtree_ids(tenant=world.tenant, codes=["nowhere"]) == set()
    assert region_ancestor_ids(tenant=world.tenant, region_ids=[tree.zone.pk]) == {
        tree.zone.pk,
        tree.city.pk,
        tree.province.pk,
    }
    assert region_path(tenant=world.tenant, region_id=tree.zone.pk) == [
        tree.zone.pk,
        tree.city.pk,
        tree.province.pk,
    ]


def test_list_filters_by_a_province_find_what_sits_on_its_zones(world, tree):
    CustomerFactory(tenant=world.tenant, code="ZONE-CUST", region=tree.zone)
    CustomerFactory(tenant=world.tenant, code="AWAY-CUST", region=tree.outside)
    MerchantFactory(tenant=world.tenant, code="ZONE-M", region=tree.zone2)
    MerchantFactory(tenant=world.tenant, code="AWAY-M", region=tree.outside)
    api = world.client(Role.OPERATOR)
    code = tree.province.code

    customers = api.get(f"/api/v1/customers?region={code}").json()["results"]
    assert [c["code"] for c in customers] == ["ZONE-CUST"]
    merchants = {m["code"] for m in api.get(f"/api/v1/merchants?region={code}").json()["results"]}
    assert "ZONE-M" in merchants and "AWAY-M" not in merchants
    # A city takes only its own zones.
    assert api.get("/api/v1/merchants?region=P-C1").json()["count"] == 0


def test_orders_filtered_by_a_province_include_its_zones(world, tree):
    campaign = running_campaign(world)
    prog = program(world)
    rule(world, campaign, prog, kind="per_order", points=5)
    place(world, region=tree.zone, external_id="IN-ZONE")
    place(world, region=tree.outside, external_id="AWAY")
    api = world.client(Role.OPERATOR)
    found = api.get(f"/api/v1/orders?region={tree.province.code}").json()["results"]
    assert [o["external_id"] for o in found] == ["IN-ZONE"]


def test_a_segment_naming_a_province_counts_its_zones_customers(world, tree):
    for i, region in enumerate([tree.zone, tree.zone2, tree.city, tree.outside]):
        CustomerFactory(tenant=world.tenant, code=f"SEG{i}", region=region)
    preview = coupon_selectors.segment_preview(
        tenant=world.tenant,
        actor=world.actor(Role.OPERATOR),
        filters={"regions": [tree.province.code]},
    )
    assert preview["count"] == 3 and preview["sample"] == ["SEG0", "SEG1", "SEG2"]


def test_a_batch_scoped_to_a_province_takes_orders_in_its_cities_and_zones(world, tree):
    campaign = coupon_campaign(world)
    batch = active_batch(
        world, campaign, kind="cash", threshold=None, scope_regions=[tree.province]
    )
    customer = CustomerFactory(tenant=world.tenant, code="SCOPED", region=tree.zone)
    from coupons import services as coupon_services

    coupon = coupon_services.coupon_issue(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), batch=batch, customer=customer
    )
    client = world.key_client(scopes=["coupons"])

    def validate(region):
        body = {"code": coupon.code, "customer": "SCOPED", "amount": "50.00", "region": region}
        return client.post("/api/v1/coupons/validate", body, format="json").json()

    for region in (tree.province.code, tree.city.code, tree.zone.code, tree.zone2.code):
        answer = validate(region)
        assert answer["valid"] is True and Decimal(answer["discount"]) == Decimal("20.00"), region
    assert validate(tree.outside.code)["reason"] == "out_of_scope_region"


def test_fraud_clusters_by_region_and_within_a_regional_operators_regions(world, tree):
    from coupons.tests.test_events import _limits, _send

    _limits(world, fingerprint_customers=100)
    key = world.key_client(scopes=["coupons"])
    for i, region in enumerate([tree.zone, tree.zone2, tree.outside, tree.outside]):
        CustomerFactory(tenant=world.tenant, code=f"FR{i}", region=region)
        _send(key, id=f"fr-{i}", type="share", customer=f"FR{i}", device_id="dev-shared")
    url = "/api/v1/fraud/clusters?min_customers=2"
    everyone = world.client(Role.OPERATOR)
    assert [c["customers"] for c in everyone.get(url).json()] == [4]
    assert [c["customers"] for c in everyone.get(f"{url}&region=P").json()] == []
    in_province = everyone.get(f"{url}&region={tree.province.code}").json()
    assert [c["customers"] for c in in_province] == [2]
    # The regional operator holds the province only: the two customers outside don't count.
    regional = world.client(Role.REGIONAL_OPERATOR).get(url).json()
    assert [c["customers"] for c in regional] == [2]


def test_campaigns_filtered_by_a_zone_include_those_targeting_its_province(world, tree):
    campaign = coupon_campaign(world, regions=[tree.province])
    api = world.client(Role.OPERATOR)
    for code in (tree.zone.code, tree.province.code):
        ids = [c["id"] for c in api.get(f"/api/v1/campaigns?region={code}").json()["results"]]
        assert ids == [campaign.pk], code
    assert api.get(f"/api/v1/campaigns?region={tree.outside.code}").json()["count"] == 0


# --- points rules: one first-N counter per region the rule names --------------------------------------


TIERS = [{"from": 1, "to": 1, "points": 50}, {"from": 2, "to": 10, "points": 10}]


def _first_n(world, regions):
    return rule(
        world, running_campaign(world), program(world), regions, kind="region_first_n", tiers=TIERS
    )


def test_a_first_n_rule_naming_a_province_counts_its_zones_orders_in_one_counter(world, tree):
    first_n = _first_n(world, [tree.province])
    first = place(world, region=tree.zone)
    second = place(world, region=tree.zone2)
    place(world, region=tree.outside)  # not under the province: not the rule's
    awards = OrderAward.objects.for_tenant(world.tenant).filter(rule=first_n).order_by("rank")
    assert [(a.order_id, a.rank, a.points, a.region_id) for a in awards] == [
        (first.pk, 1, 50, tree.province.pk),
        (second.pk, 2, 10, tree.province.pk),
    ]
    counter = RuleRegionCounter.objects.for_tenant(world.tenant).get(rule=first_n)
    assert (counter.region_id, counter.orders, counter.awarded) == (tree.province.pk, 2, 60)

    # A closed order keeps its rank; its points leave the counter's award sum.
    order_close(tenant=world.tenant, actor=world.system, order=first)
    counter.refresh_from_db()
    assert (counter.orders, counter.awarded) == (2, 10)
    assert place(world, region=tree.zone).awards.get().rank == 3


def test_an_order_counts_in_the_nearest_region_the_rule_names(world, tree):
    first_n = _first_n(world, [tree.province, tree.city])
    in_city = place(world, region=tree.zone)  # zone → city (named) → province (named)
    in_province = place(world, region=tree.zone2)  # zone2 → city2 (not named) → province
    ranks = {
        a.order_id: (a.region_id, a.rank)
        for a in OrderAward.objects.for_tenant(world.tenant).filter(rule=first_n)
    }
    assert ranks == {in_city.pk: (tree.city.pk, 1), in_province.pk: (tree.province.pk, 1)}
