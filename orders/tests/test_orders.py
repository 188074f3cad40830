import pytest

from accounts.roles import Role
from accounts.tests.factories import MerchantFactory, RegionFactory, StaffFactory
from core.testing import run_at_once
from orders.models import Order, OrderStatus
from orders.tests.factories import order_body
from tests.test_error_shape import assert_error


@pytest.mark.django_db
class TestOrderEvents:
    def test_place_then_resend_same_body_is_200_with_the_same_order(self, world):
        client = world.key_client()
        first = client.post("/api/v1/orders", order_body(world), format="json")
        again = client.post("/api/v1/orders", order_body(world), format="json")
        assert first.status_code == 201, first.json()
        assert again.status_code == 200
        assert again.json() == first.json()
        assert Order.objects.for_tenant(world.tenant).count() == 1

    def test_same_external_id_with_other_details_is_409_duplicate_order(self, world):
        client = world.key_client()
        client.post("/api/v1/orders", order_body(world), format="json")
        response = client.post("/api/v1/orders", order_body(world, amount="99.00"), format="json")
        assert response.status_code == 409
        assert response.json()["code"] == "duplicate_order"

    def test_staff_of_another_merchant_is_refused(self, world):
        stranger = StaffFactory(tenant=world.tenant)
        response = world.key_client().post(
            "/api/v1/orders", order_body(world, staff=stranger.code), format="json"
        )
        assert response.status_code == 400
        assert response.json()["code"] == "staff_not_of_merchant"
        assert not Order.objects.for_tenant(world.tenant).exists()

    def test_unknown_codes_are_field_errors(self, world, other_world):
        response = world.key_client().post(
            "/api/v1/orders", order_body(world, region=other_world.region.code), format="json"
        )
        assert response.status_code == 400
        assert "region" in response.json()["fields"]

    def test_merchant_and_staff_are_checked_each_on_its_own(self, world, other_world):
        client = world.key_client()
        unknown_merchant = client.post(
            "/api/v1/orders", order_body(world, merchant="NOPE"), format="json"
        )
        assert unknown_merchant.status_code == 400
        assert set(unknown_merchant.json()["fields"]) == {"merchant"}
        both = client.post(
            "/api/v1/orders",
            order_body(world, merchant=other_world.merchant.code, staff="NOPE"),
            format="json",
        )
        assert set(both.json()["fields"]) == {"merchant", "staff"}
        # Staff of another merchant of the tenant: both exist, the pair is refused.
        other = MerchantFactory(tenant=world.tenant)
        refused = client.post(
            "/api/v1/orders", order_body(world, merchant=other.code), format="json"
        )
        assert refused.json()["code"] == "staff_not_of_merchant"

    def test_life_cycle_and_retries(self, world):
        client = world.key_client()
        client.post("/api/v1/orders", order_body(world), format="json")
        assert client.post("/api/v1/orders/O-1/complete").json()["status"] == "completed"
        assert client.post("/api/v1/orders/O-1/complete").status_code == 200  # a retry
        assert client.post("/api/v1/orders/O-1/close").json()["status"] == "closed"
        refused = client.post("/api/v1/orders/O-1/complete")
        assert refused.status_code == 409
        assert refused.json()["code"] == "invalid_transition"

    def test_open_order_can_be_closed(self, world):
        client = world.key_client()
        client.post("/api/v1/orders", order_body(world), format="json")
        assert client.post("/api/v1/orders/O-1/close").json()["status"] == "closed"

    def test_customer_last_order_date_moves_forward_only(self, world):
        from accounts.tests.factories import CustomerFactory

        customer = CustomerFactory(tenant=world.tenant)
        client = world.key_client()
        client.post("/api/v1/orders", order_body(world, customer=customer.code), format="json")
        client.post(
            "/api/v1/orders",
            order_body(world, "O-2", customer=customer.code, placed_at="2026-11-01T10:00:00Z"),
            format="json",
        )
        customer.refresh_from_db()
        assert str(customer.last_order_on) == "2026-11-11"

    def test_key_without_orders_scope_is_refused(self, world):
        response = world.key_client(scopes=["coupons"]).post(
            "/api/v1/orders", order_body(world), format="json"
        )
        assert response.status_code == 403

    @pytest.mark.parametrize("role", [r for r in Role.values])
    def test_console_users_read_but_never_write_orders(self, world, role):
        world.key_client().post("/api/v1/orders", order_body(world), format="json")
        client = world.client(role)
        assert (
            client.post("/api/v1/orders", order_body(world, "O-9"), format="json").status_code
            == 403
        )
        listed = client.get("/api/v1/orders")
        readers = {
            Role.TENANT_ADMIN,
            Role.BU_ADMIN,
            Role.OPERATOR,
            Role.REGIONAL_OPERATOR,
            Role.FINANCE,
            Role.AUDITOR,
            Role.MERCHANT_ADMIN,
        }
        assert listed.status_code == (200 if role in readers else 403)

    def test_regional_operator_sees_only_orders_of_their_regions(self, world):
        client = world.key_client()
        elsewhere = RegionFactory(tenant=world.tenant)
        client.post("/api/v1/orders", order_body(world, "IN"), format="json")
        client.post(
            "/api/v1/orders", order_body(world, "OUT", region=elsewhere.code), format="json"
        )
        regional = world.client(Role.REGIONAL_OPERATOR)
        assert [o["external_id"] for o in regional.get("/api/v1/orders").json()["results"]] == [
            "IN"
        ]
        assert regional.get("/api/v1/orders/OUT").status_code == 404


@pytest.mark.django_db(transaction=True)
@pytest.mark.xdist_group("concurrency")
def test_same_order_sent_twenty_times_at_once_is_recorded_once(world):
    client_key = world.key_client()

    def send():
        return client_key.post("/api/v1/orders", order_body(world), format="json").status_code

    codes = run_at_once([send] * 20)
    assert sorted(codes) == [200] * 19 + [201]
    assert Order.objects.for_tenant(world.tenant).count() == 1
    assert Order.objects.for_tenant(world.tenant).get().status == OrderStatus.OPEN


@pytest.mark.django_db
def test_status_endpoint_answers_with_the_status_alone(world):
    client = world.key_client()
    client.post("/api/v1/orders", order_body(world), format="json")
    client.post("/api/v1/orders/O-1/complete")
    response = client.get("/api/v1/orders/O-1/status")
    assert response.status_code == 200
    assert response.json()["status"] == "completed"
    assert set(response.json()) == {"external_id", "status", "completed_at", "closed_at"}
    assert client.get("/api/v1/orders/nope/status").status_code == 404


@pytest.mark.django_db
def test_list_filters_and_a_junk_status_is_400_naming_it(world):
    # Orders have no console page: the API is the only list to check.
    client = world.key_client()
    client.post("/api/v1/orders", order_body(world, "O-1"), format="json")
    client.post("/api/v1/orders", order_body(world, "O-2"), format="json")
    client.post("/api/v1/orders/O-2/complete")

    def ids(**params):
        return sorted(
            o["external_id"] for o in client.get("/api/v1/orders", params).json()["results"]
        )

    assert ids() == ids(status="", merchant="", staff="", region="") == ["O-1", "O-2"]
    assert ids(status="completed") == ["O-2"]
    assert ids(merchant=world.merchant.code, staff=world.staff.code) == ["O-1", "O-2"]
    assert ids(staff="someone-else") == []
    assert ids(region=world.region.code) == ["O-1", "O-2"]
    body = assert_error(client.get("/api/v1/orders?status=lost"), 400, "invalid", fields={"status"})
    assert body["detail"] == "Check the filters."
