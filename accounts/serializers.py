from rest_framework import serializers

from core.fingerprints import fingerprint
from web.api.fields import TenantCodeField

from .models import ApiKeyScope, BusinessUnit, Customer, Merchant, MerchantStaff, Region
from .roles import Role

# --- auth ---------------------------------------------------------------------------------------


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(help_text="Username or e-mail address.")
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    tenant = serializers.SlugField(
        required=False, help_text="Tenant slug; required for a user of several tenants."
    )


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    tenant = serializers.CharField()
    role = serializers.CharField()


class PersonalTokenSerializer(serializers.Serializer):
    """A personal token as listed: never the token itself, which is shown once and kept hashed."""

    id = serializers.IntegerField()
    prefix = serializers.CharField(help_text="The token starts with `pt_<prefix>_`.")
    username = serializers.CharField(source="membership.user.username")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(
        help_text="After this the token is refused; a password or role change revokes it sooner."
    )


# --- users ---------------------------------------------------------------------------------------


class UserCreateSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(trim_whitespace=False, write_only=True)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    first_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=150)
    last_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)
    business_unit = TenantCodeField(BusinessUnit, required=False, allow_null=True, default=None)
    regions = serializers.ListField(child=TenantCodeField(Region), required=False, default=list)
    merchant = TenantCodeField(Merchant, required=False, allow_null=True, default=None)
    staff = TenantCodeField(MerchantStaff, required=False, allow_null=True, default=None)


class MembershipUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)
    business_unit = TenantCodeField(BusinessUnit, required=False, allow_null=True, default=None)
    regions = serializers.ListField(child=TenantCodeField(Region), required=False, default=list)
    merchant = TenantCodeField(Merchant, required=False, allow_null=True, default=None)
    staff = TenantCodeField(MerchantStaff, required=False, allow_null=True, default=None)
    is_active = serializers.BooleanField(required=False, default=True)


class MembershipSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField(source="user.username")
    email = serializers.CharField(source="user.email")
    role = serializers.CharField()
    business_unit = serializers.CharField(source="business_unit.code", default=None)
    merchant = serializers.CharField(source="merchant.code", default=None)
    regions = serializers.SerializerMethodField()
    is_active = serializers.BooleanField()

    def get_regions(self, membership) -> list[str]:
        from .selectors import membership_regions

        if membership.role != Role.REGIONAL_OPERATOR:
            return []
        return sorted(r.code for r in membership_regions(membership=membership))


class MeSerializer(serializers.Serializer):
    """GET /me: a member's membership, or for an API key its name; always the tenant."""

    tenant = serializers.CharField()
    api_key = serializers.CharField(required=False, help_text="API keys only: the key's name.")
    id = serializers.IntegerField(required=False)
    username = serializers.CharField(required=False)
    email = serializers.CharField(required=False)
    role = serializers.CharField(required=False)
    business_unit = serializers.CharField(required=False, allow_null=True)
    merchant = serializers.CharField(required=False, allow_null=True)
    regions = serializers.ListField(child=serializers.CharField(), required=False)
    is_active = serializers.BooleanField(required=False)


# --- business units and master data ---------------------------------------------------------------


class BusinessUnitSerializer(serializers.Serializer):
    code = serializers.SlugField(max_length=50)
    name = serializers.CharField(max_length=200)


class RegionUpsertSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    # A field, not Field.parent: DRF's metaclass takes declared fields off the class.
    parent = TenantCodeField(Region, required=False, allow_null=True, default=None)  # type: ignore[assignment]


class RegionSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    # A field, not Field.parent: DRF's metaclass takes declared fields off the class.
    parent = serializers.CharField(source="parent.code", default=None)  # type: ignore[assignment]


class MerchantUpsertSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    region = TenantCodeField(Region, required=False, allow_null=True, default=None)
    customer = TenantCodeField(
        Customer,
        related=("region",),
        required=False,
        allow_null=True,
        default=None,
        help_text="The merchant's own customer record: coupon prizes its staff redeem go to it.",
    )
    is_active = serializers.BooleanField(required=False, default=True)


class MerchantSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    region = serializers.CharField(source="region.code", default=None)
    customer = serializers.CharField(source="customer.code", default=None)
    is_active = serializers.BooleanField()


class StaffUpsertSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    merchant = TenantCodeField(Merchant)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    is_active = serializers.BooleanField(required=False, default=True)


class StaffSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    merchant = serializers.CharField(source="merchant.code")
    phone = serializers.CharField()
    is_active = serializers.BooleanField()
    portal_user = serializers.CharField(source="user.username", default=None)


class CustomerUpsertSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    registered_on = serializers.DateField(required=False, allow_null=True, default=None)
    region = TenantCodeField(Region, required=False, allow_null=True, default=None)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, default=list, max_length=50
    )
    last_order_on = serializers.DateField(required=False, allow_null=True, default=None)
    phone = serializers.CharField(required=False, allow_blank=True, default="", write_only=True)
    device_id = serializers.CharField(required=False, allow_blank=True, default="", write_only=True)

    def service_kwargs(self) -> dict:
        data = dict(self.validated_data)
        data["phone_fingerprint"] = fingerprint(data.pop("phone"))
        data["device_fingerprint"] = fingerprint(data.pop("device_id"))
        return data


class CustomerSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    registered_on = serializers.DateField()
    region = serializers.CharField(source="region.code", default=None)
    tags = serializers.ListField(child=serializers.CharField())
    last_order_on = serializers.DateField()


# --- API keys and audit ----------------------------------------------------------------------------


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=ApiKeyScope.choices), required=False, default=list
    )


class ApiKeySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField()


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(help_text="Shown once; only its hash is stored.")


class AuditEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor_label")
    action = serializers.CharField()
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    object_repr = serializers.CharField()
    before = serializers.JSONField()
    after = serializers.JSONField()
    note = serializers.CharField()
