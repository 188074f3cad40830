"""Role by action, straight from SPEC §7, and the role checks of the API.

The expected table is written here from the SPEC's text, independently of accounts/roles.py,
and compared with it both ways: a right added or lost in roles.py fails this test.
"""

import pytest

from accounts.models import ApiKey, Merchant, MerchantStaff
from accounts.permissions import SCOPE_ACTIONS, Actor
from accounts.roles import ROLE_ACTIONS, Action, Role
from accounts.tests.factories import MerchantFactory, StaffFactory
from core.errors import PermissionDeniedError

ROLES = (
    "tenant_admin",
    "bu_admin",
    "operator",
    "regional_operator",
    "finance",
    "auditor",
    "merchant_admin",
    "merchant_staff",
)

# SPEC §7's table, cells as written. A cell with "read" grants the row's read actions; any other
# non-empty cell (✓, "own BU", "own regions", …) grants the full row (the scope is the selectors'
# job, tested below through the API); an empty cell grants nothing of the row.
# (row, full actions, read actions, cells in the order of ROLES)
SPEC_TABLE = [
    (
        "users, roles, API keys, business units",
        {"users.manage", "users.read"},
        {"users.read"},
        ["✓", "own BU's users", "", "", "", "read", "", ""],
    ),
    (
        "master data (regions, merchants, staff, customers)",
        {"master_data.manage", "master_data.read"},
        {"master_data.read"},
        ["✓", "✓", "✓", "own regions", "read", "read", "own merchant's staff, read", ""],
    ),
    (
        "budgets: draft, submit",
        {"budgets.draft", "budgets.read"},
        {"budgets.read"},
        ["✓", "", "", "", "✓", "read", "", ""],
    ),
    (
        "budgets and adjustments: approve, reject",
        {"budgets.approve", "budgets.read"},
        {"budgets.read"},
        ["", "", "", "", "✓ (not own)", "read", "", ""],
    ),
    (
        "campaigns, batches, rules, prizes, lotteries",
        {"campaigns.manage", "campaigns.read"},
        {"campaigns.read"},
        ["✓", "own BU", "✓", "own regions", "read", "read", "", ""],
    ),
    (
        "issue coupons, run jobs",
        {"coupons.issue"},
        set(),
        ["✓", "own BU", "✓", "own regions", "", "", "", ""],
    ),
    (
        "coupon lookup, rollback (support)",
        {"coupons.support", "coupons.support_read"},
        {"coupons.support_read"},
        ["✓", "own BU", "✓", "own regions", "read", "read", "", ""],
    ),
    (
        "points adjustments",
        {"points.adjust", "points.read"},
        {"points.read"},
        ["✓", "own BU", "✓", "own regions", "", "read", "", ""],
    ),
    (
        "reports",
        {"reports.read"},
        {"reports.read"},
        ["✓", "own BU", "✓", "own regions", "✓ (money)", "✓", "own merchant", ""],
    ),
    (
        "own points, prizes, lottery (portal)",
        {"portal.own"},
        {"portal.merchant"},
        ["", "", "", "", "", "", "own merchant's staff, read", "✓"],
    ),
    (
        "audit log",
        {"audit.read"},
        {"audit.read"},
        ["✓", "own BU", "", "", "read", "✓", "", ""],
    ),
]

# Reads the table implies without a row of their own, each with the SPEC's reason.
IMPLIED = {
    # Operators build campaigns under a budget (§8 POST /campaigns `budget`).
    "budgets.read": {"bu_admin", "operator", "regional_operator"},
    # Finance reconciles points' money; a merchant admin sees their staff's points (portal row).
    "points.read": {"finance", "merchant_admin"},
    # §7 data scope: "campaigns, customers, orders and reports of their regions" are read by
    # the operating roles; finance and auditors read everything; merchants their own.
    "orders.read": {
        "tenant_admin",
        "bu_admin",
        "operator",
        "regional_operator",
        "finance",
        "auditor",
        "merchant_admin",
    },
    # Orders are written by integrators only (API key scope `orders`), never by a role.
    "orders.write": set(),
    # §1: finance "reconciles redemptions, exports settlement reports"; §5: a settlement is
    # closed by finance under maker-checker.
    "settlements.manage": {"finance"},
}

# §7: scopes `orders`, `coupons`, `points`, `master_data` of the integration endpoints (§8).
SCOPE_TABLE = {
    "master_data": {"master_data.manage", "master_data.read"},
    "orders": {"orders.write", "orders.read"},
    "coupons": {"coupons.support", "coupons.support_read", "coupons.issue"},
    "points": {"points.read"},
}


def expected_actions() -> dict[str, set[str]]:
    expected: dict[str, set[str]] = {role: set() for role in ROLES}
    for _row, full, read, cells in SPEC_TABLE:
        assert len(cells) == len(ROLES)
        for role, cell in zip(ROLES, cells, strict=True):
            if "read" in cell:
                expected[role] |= read
            elif cell:
                expected[role] |= full
    for action, roles in IMPLIED.items():
        for role in roles:
            expected[role].add(action)
    return expected


EXPECTED = expected_actions()


def test_roles_are_the_spec_roles():
    assert set(Role.values) == set(ROLES)


def test_every_action_is_in_the_table():
    named = {a for _r, full, read, _c in SPEC_TABLE for a in full | read} | set(IMPLIED)
    assert set(Action) == named, "a new Action needs its row (or reason) in this table"


@pytest.mark.parametrize("role", ROLES)
def test_role_table_matches_spec(role):
    granted = {str(action) for action in ROLE_ACTIONS[role]}
    assert granted - EXPECTED[role] == set(), f"{role} may do more than SPEC §7 says"
    assert EXPECTED[role] - granted == set(), f"{role} may do less than SPEC §7 says"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_the_one_check_follows_the_table(world, role):
    actor = world.actor(role)
    for action in Action:
        assert actor.can(action) == (str(action) in EXPECTED[role]), (role, action)
        if str(action) not in EXPECTED[role]:
            with pytest.raises(PermissionDeniedError):
                actor.require(action)


@pytest.mark.django_db
def test_api_key_scopes(world):
    assert {str(k): {str(a) for a in v} for k, v in SCOPE_ACTIONS.items()} == SCOPE_TABLE
    for scope, actions in SCOPE_TABLE.items():
        actor = Actor(tenant=world.tenant, api_key=ApiKey(tenant=world.tenant, scopes=[scope]))
        for action in Action:
            assert actor.can(action) == (str(action) in actions), (scope, action)


@pytest.mark.django_db
def test_system_actor_may_do_everything(world):
    assert all(world.system.can(action) for action in Action)


# --- the API's role checks ------------------------------------------------------------------------


def user_body(**extra):
    return {"username": "new-user", "password": "Long-enough-42", "role": "operator", **extra}


@pytest.mark.django_db
class TestPostUsers:
    def test_tenant_admin_creates_users(self, world):
        response = world.client(Role.TENANT_ADMIN).post("/api/v1/users", user_body(), format="json")
        assert response.status_code == 201

    @pytest.mark.parametrize(
        "role",
        [
            Role.OPERATOR,
            Role.REGIONAL_OPERATOR,
            Role.FINANCE,
            Role.AUDITOR,
            Role.MERCHANT_ADMIN,
            Role.MERCHANT_STAFF,
        ],
    )
    def test_other_roles_cannot(self, world, role):
        response = world.client(role).post("/api/v1/users", user_body(), format="json")
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"

    def test_bu_admin_creates_users_of_own_unit_only(self, world):
        client = world.client(Role.BU_ADMIN)
        own = client.post("/api/v1/users", user_body(username="a", role="bu_admin"), format="json")
        assert own.status_code == 201
        assert own.json()["business_unit"] == world.unit.code  # defaulted to their unit
        named = client.post(
            "/api/v1/users",
            user_body(username="b", role="bu_admin", business_unit=world.unit.code),
            format="json",
        )
        assert named.status_code == 201
        other = client.post(
            "/api/v1/users",
            user_body(username="c", role="bu_admin", business_unit=world.other_unit.code),
            format="json",
        )
        assert other.status_code == 403
        above = client.post(
            "/api/v1/users", user_body(username="d", role="tenant_admin"), format="json"
        )
        assert above.status_code == 403

    def test_bu_admin_sees_and_edits_own_unit_only(self, world):
        client = world.client(Role.BU_ADMIN)
        listed = {m["username"] for m in client.get("/api/v1/users").json()["results"]}
        assert listed == {world.members[Role.BU_ADMIN].user.username}
        outsider = world.members[Role.OPERATOR]
        assert client.get(f"/api/v1/users/{outsider.pk}").status_code == 404
        response = client.patch(f"/api/v1/users/{outsider.pk}", {"role": "auditor"}, format="json")
        assert response.status_code == 404

    def test_bu_admin_cannot_create_business_units(self, world):
        response = world.client(Role.BU_ADMIN).post(
            "/api/v1/business-units", {"code": "x", "name": "X"}, format="json"
        )
        assert response.status_code == 403


@pytest.fixture
def far(world):
    """A merchant with staff in the region the regional operator was NOT granted."""
    merchant = MerchantFactory(tenant=world.tenant, region=world.other_region, code="far-m")
    StaffFactory(tenant=world.tenant, merchant=merchant, code="far-s")
    return merchant


@pytest.mark.django_db
class TestMasterData:
    @pytest.mark.parametrize("role", [Role.TENANT_ADMIN, Role.BU_ADMIN, Role.OPERATOR])
    def test_writers(self, world, role):
        client = world.client(role)
        body = {"name": "M", "region": world.other_region.code}
        assert client.put("/api/v1/merchants/m-x", body, format="json").status_code == 201
        assert client.put("/api/v1/regions/r-x", {"name": "R"}, format="json").status_code == 201
        staff = {"name": "S", "merchant": "m-x"}
        assert client.put("/api/v1/staff/s-x", staff, format="json").status_code == 201
        customer = {"region": world.region.code}
        assert client.put("/api/v1/customers/c-x", customer, format="json").status_code == 201

    @pytest.mark.parametrize(
        "role", [Role.FINANCE, Role.AUDITOR, Role.MERCHANT_ADMIN, Role.MERCHANT_STAFF]
    )
    def test_no_writes(self, world, role):
        client = world.client(role)
        for url, body in (
            ("/api/v1/regions/r-x", {"name": "R"}),
            ("/api/v1/merchants/m-x", {"name": "M"}),
            ("/api/v1/staff/s-x", {"name": "S", "merchant": world.merchant.code}),
            ("/api/v1/customers/c-x", {}),
        ):
            response = client.put(url, body, format="json")
            assert response.status_code == 403, (url, response.content)
        assert not Merchant.objects.for_tenant(world.tenant).filter(code="m-x").exists()

    @pytest.mark.parametrize("role", [Role.FINANCE, Role.AUDITOR])
    def test_finance_and_auditor_read_everything(self, world, far, role):
        client = world.client(role)
        codes = {m["code"] for m in client.get("/api/v1/merchants").json()["results"]}
        assert codes == {world.merchant.code, far.code}
        assert client.get("/api/v1/customers?search=x").status_code == 200

    def test_merchant_staff_reads_no_master_data(self, world):
        assert world.client(Role.MERCHANT_STAFF).get("/api/v1/staff").status_code == 403

    def test_regional_operator_inside_own_regions(self, world, far):
        client = world.client(Role.REGIONAL_OPERATOR)
        inside = {"name": "Near", "region": world.region.code}
        assert client.put("/api/v1/merchants/near", inside, format="json").status_code == 201
        outside = {"name": "Far", "region": world.other_region.code}
        response = client.put("/api/v1/merchants/far-new", outside, format="json")
        assert response.status_code == 403
        assert response.json()["code"] == "out_of_scope"
        assert client.put("/api/v1/regions/r-y", {"name": "R"}, format="json").status_code == 403
        customer = {"region": world.other_region.code}
        assert client.put("/api/v1/customers/c-far", customer, format="json").status_code == 403

    def test_regional_operator_sees_only_own_regions(self, world, far):
        client = world.client(Role.REGIONAL_OPERATOR)
        merchants = {m["code"] for m in client.get("/api/v1/merchants").json()["results"]}
        assert merchants == {world.merchant.code}
        regions = {r["code"] for r in client.get("/api/v1/regions").json()["results"]}
        assert regions == {world.region.code}
        assert client.get(f"/api/v1/merchants/{far.code}").status_code == 404
        assert client.get("/api/v1/staff/far-s").status_code == 404

    def test_regional_operator_cannot_take_over_a_row_outside(self, world, far):
        client = world.client(Role.REGIONAL_OPERATOR)
        body = {"name": "Mine now", "region": world.region.code}
        response = client.put(f"/api/v1/merchants/{far.code}", body, format="json")
        assert response.status_code == 404
        far.refresh_from_db()
        assert far.region_id == world.other_region.pk and far.name != "Mine now"
        staff = {"name": "Moved", "merchant": world.merchant.code}
        assert client.put("/api/v1/staff/far-s", staff, format="json").status_code == 404
        moved = MerchantStaff.objects.for_tenant(world.tenant).get(code="far-s")
        assert moved.merchant_id == far.pk

    def test_merchant_admin_sees_only_own_merchants_staff(self, world, far):
        client = world.client(Role.MERCHANT_ADMIN)
        staff = {s["code"] for s in client.get("/api/v1/staff").json()["results"]}
        assert staff == {world.staff.code}
        assert client.get("/api/v1/staff/far-s").status_code == 404
        merchants = {m["code"] for m in client.get("/api/v1/merchants").json()["results"]}
        assert merchants == {world.merchant.code}
        assert client.get("/api/v1/customers").json()["count"] == 0


@pytest.mark.django_db
class TestReadOnlyAndAudit:
    @pytest.mark.parametrize(
        ("role", "status"),
        [
            (Role.TENANT_ADMIN, 200),
            (Role.BU_ADMIN, 200),
            (Role.AUDITOR, 200),
            (Role.FINANCE, 200),
            (Role.OPERATOR, 403),
            (Role.REGIONAL_OPERATOR, 403),
            (Role.MERCHANT_ADMIN, 403),
            (Role.MERCHANT_STAFF, 403),
        ],
    )
    def test_audit_log(self, world, role, status):
        assert world.client(role).get("/api/v1/audit-log").status_code == status

    @pytest.mark.parametrize(
        ("role", "status"),
        [(Role.AUDITOR, 200), (Role.FINANCE, 403), (Role.OPERATOR, 403)],
    )
    def test_user_list(self, world, role, status):
        assert world.client(role).get("/api/v1/users").status_code == status
