"""Every API error is {code, detail, fields} with a fitting status (SPEC §8, §10 Errors)."""

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.test import Client
from django.urls import path
from rest_framework.test import APIClient

from accounts import api as accounts_api
from accounts.roles import Role
from core.testing import throttle_rates
from web.api.views import TenantAPIView

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str, *, fields=None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "detail", "fields"}, body
    assert body["code"] == code, body
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["fields"], dict)
    if fields is not None:
        assert set(body["fields"]) == set(fields), body
        for messages in body["fields"].values():
            assert messages and all(isinstance(m, str) for m in messages)
    return body


def test_400_validation_names_the_fields(world):
    response = world.key_client().put("/api/v1/merchants/m-1", {"region": 7}, format="json")
    body = assert_error(response, 400, "invalid", fields={"name", "region"})
    assert "name" in body["detail"]


def test_400_single_kind_of_problem_keeps_drf_code(world):
    response = world.key_client().put("/api/v1/regions/r-1", {}, format="json")
    assert_error(response, 400, "required", fields={"name"})


def test_400_malformed_json(world):
    response = world.key_client().put(
        "/api/v1/regions/r-1", "{not json", content_type="application/json"
    )
    assert_error(response, 400, "parse_error", fields={})


def test_400_domain_error_with_fields(world):
    response = world.client(Role.TENANT_ADMIN).post(
        "/api/v1/users",
        {"username": "ro", "password": "Long-enough-42", "role": Role.REGIONAL_OPERATOR},
        format="json",
    )
    assert_error(response, 400, "invalid", fields={"regions"})


def test_401_not_authenticated():
    response = APIClient().get("/api/v1/regions")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"]


@pytest.mark.parametrize("header", ["Api-Key pk_nope_nope", "Token pt_nope_nope", "Token "])
def test_401_authentication_failed(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert_error(client.get("/api/v1/regions"), 401, "authentication_failed")


def test_403_permission_denied(world):
    response = world.client(Role.AUDITOR).put("/api/v1/regions/r-1", {"name": "x"}, format="json")
    assert_error(response, 403, "permission_denied")
    response = world.key_client().get("/api/v1/users")
    assert_error(response, 403, "permission_denied")


def test_404_not_found(world):
    assert_error(world.key_client().get("/api/v1/regions/nope"), 404, "not_found")


@pytest.mark.parametrize("url", ["/api/v1/no-such-thing", "/api/nothing/here", "/api/v1/users/x"])
def test_404_unknown_api_url(db, url):
    assert_error(Client().get(url), 404, "not_found")


def test_405_method_not_allowed(world):
    response = world.key_client().delete("/api/v1/regions/" + world.region.code)
    assert_error(response, 405, "method_not_allowed")


def test_409_idempotency_conflict(world):
    client = world.key_client()
    url = "/api/v1/regions/r-9"
    first = client.put(url, {"name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == 201
    response = client.put(url, {"name": "B"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert_error(response, 409, "idempotency_conflict")


def test_429_throttled_with_retry_after(world):
    client = world.key_client()
    with throttle_rates(api_key="2/min"):
        for _ in range(2):
            assert client.get("/api/v1/regions").status_code == 200
        response = client.get("/api/v1/regions")
    body = assert_error(response, 429, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert body["detail"]


class _Boom(TenantAPIView):
    def get(self, request):
        raise RuntimeError("secret detail of a bug at /srv/app/settings.py line 42")


class _ModelRule(TenantAPIView):
    def post(self, request):
        raise DjangoValidationError({"ends_on": ["Ends before it starts."]})


def _plain_django_boom(request):
    raise RuntimeError("secret detail of a bug outside DRF")


urlpatterns = [
    path("api/v1/boom", _Boom.as_view()),
    path("api/v1/plain-boom", _plain_django_boom),
    path("api/v1/model-rule", _ModelRule.as_view()),
]
handler404 = "config.views.not_found"
handler500 = "config.views.server_error"


def _assert_no_traceback(response):
    text = response.content.decode()
    for leak in ("Traceback", "RuntimeError", "secret detail", "settings.py", 'File "'):
        assert leak not in text


@pytest.mark.urls("tests.test_error_shape")
def test_400_from_a_model_rule(world):
    response = world.client(Role.TENANT_ADMIN).post("/api/v1/model-rule", {}, format="json")
    assert_error(response, 400, "invalid", fields={"ends_on"})


@pytest.mark.urls("tests.test_error_shape")
def test_500_inside_drf_is_internal_error_without_traceback(world):
    response = world.client(Role.TENANT_ADMIN).get("/api/v1/boom")
    assert_error(response, 500, "internal_error")
    _assert_no_traceback(response)


@pytest.mark.urls("tests.test_error_shape")
def test_500_outside_drf_is_internal_error_without_traceback(db):
    response = Client(raise_request_exception=False).get("/api/v1/plain-boom")
    assert_error(response, 500, "internal_error")
    _assert_no_traceback(response)


def test_500_in_a_real_view(world, monkeypatch):
    def broken(**kwargs):
        raise ZeroDivisionError("secret detail")

    monkeypatch.setattr(accounts_api.selectors, "region_list", broken)
    monkeypatch.setattr(accounts_api.RegionListView, "selector", staticmethod(broken))
    response = world.key_client().get("/api/v1/regions")
    assert_error(response, 500, "internal_error")
    _assert_no_traceback(response)


def test_error_codes_are_listed_in_the_schema(db):
    from web.api.schema import FRAMEWORK_CODES, domain_error_codes

    schema = APIClient().get("/api/schema/?format=json").json()
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["code", "detail", "fields"]
    listed = set(error["properties"]["code"]["x-codes"])
    framework = {c for codes in FRAMEWORK_CODES.values() for c in codes}
    assert framework | set(domain_error_codes()) <= listed
    assert {"idempotency_conflict", "tenant_required", "method_not_allowed"} <= listed
