"""Django admin for platform superusers only (tenant staff use the console).

The admin is a platform-wide tool, so it reads tenant tables with `.unscoped()`; the TenantScoped
manager would refuse a query without a tenant otherwise.
"""

from typing import ClassVar

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from guardian.admin import GuardedModelAdmin

from .lockout import AdminLoginForm
from .models import (
    ApiKey,
    BusinessUnit,
    Customer,
    Membership,
    Merchant,
    MerchantStaff,
    PersonalToken,
    Region,
    Tenant,
    User,
)


def _superuser_only(request) -> bool:
    return request.user.is_active and request.user.is_superuser


# is_staff alone must never open the admin: tenant roles live on memberships, and the admin
# shows every tenant's rows.
admin.site.has_permission = _superuser_only  # type: ignore[method-assign]  # on purpose
# A locked-out admin login says so (accounts/lockout.py), as the console's does.
admin.site.login_form = AdminLoginForm


class SuperuserOnlyMixin:
    def has_module_permission(self, request):
        return _superuser_only(request)

    def has_view_permission(self, request, obj=None):
        return _superuser_only(request)

    def has_add_permission(self, request, *args):
        return _superuser_only(request)

    def has_change_permission(self, request, obj=None):
        return _superuser_only(request)

    def has_delete_permission(self, request, obj=None):
        return _superuser_only(request)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Choices and validation of a tenant-owned foreign key would run unscoped queries.
        # (Hence autocomplete rather than raw-id widgets: those look rows up on the manager.)
        manager = db_field.related_model._default_manager
        if hasattr(manager, "unscoped"):
            kwargs.setdefault("queryset", manager.unscoped())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class TenantScopedAdmin(SuperuserOnlyMixin, admin.ModelAdmin):
    list_filter: ClassVar[tuple[str, ...]] = ("tenant",)
    list_select_related: ClassVar[tuple[str, ...]] = ("tenant",)

    def get_queryset(self, request):
        return self.model.objects.unscoped()


@admin.register(Tenant)
class TenantAdmin(SuperuserOnlyMixin, admin.ModelAdmin):
    list_display = ("slug", "name", "time_zone", "currency", "is_active", "created_at")
    search_fields = ("slug", "name")
    list_filter = ("is_active",)


@admin.register(User)
class PlatformUserAdmin(SuperuserOnlyMixin, UserAdmin):
    list_display = ("username", "email", "is_active", "is_superuser", "last_login")


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    list_display = ("user", "tenant", "role", "business_unit", "merchant", "is_active")
    list_filter = ("tenant", "role", "is_active")
    search_fields = ("user__username", "user__email")
    autocomplete_fields = ("user", "business_unit", "merchant")
    list_select_related = ("tenant", "user", "business_unit", "merchant")


@admin.register(BusinessUnit)
class BusinessUnitAdmin(TenantScopedAdmin):
    list_display = ("code", "name", "tenant")
    search_fields = ("code", "name")


@admin.register(Region)
class RegionAdmin(SuperuserOnlyMixin, GuardedModelAdmin):  # type: ignore[misc]  # guardian vs stubs: change_form_template
    list_display = ("code", "name", "parent", "tenant")
    list_filter = ("tenant",)
    search_fields = ("code", "name")
    autocomplete_fields = ("parent",)

    def get_queryset(self, request):
        return Region.objects.unscoped().select_related("tenant", "parent")


@admin.register(Merchant)
class MerchantAdmin(SuperuserOnlyMixin, GuardedModelAdmin):  # type: ignore[misc]  # guardian vs stubs: change_form_template
    list_display = ("code", "name", "region", "tenant", "is_active")
    list_filter = ("tenant", "is_active")
    search_fields = ("code", "name")
    autocomplete_fields = ("region",)

    def get_queryset(self, request):
        return Merchant.objects.unscoped().select_related("tenant", "region")


@admin.register(MerchantStaff)
class MerchantStaffAdmin(TenantScopedAdmin):
    list_display = ("code", "name", "merchant", "user", "tenant", "is_active")
    search_fields = ("code", "name", "phone")
    autocomplete_fields = ("merchant", "user")


@admin.register(Customer)
class CustomerAdmin(TenantScopedAdmin):
    list_display = ("code", "name", "region", "tenant", "registered_on", "last_order_on")
    search_fields = ("code", "name")
    autocomplete_fields = ("region",)


@admin.register(ApiKey)
class ApiKeyAdmin(TenantScopedAdmin):
    list_display = ("name", "prefix", "tenant", "scopes", "last_used_at", "revoked_at")
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "key_hash", "last_used_at")


@admin.register(PersonalToken)
class PersonalTokenAdmin(TenantScopedAdmin):
    list_display = ("prefix", "membership", "tenant", "last_used_at")
    readonly_fields = ("prefix", "key_hash", "last_used_at")
    autocomplete_fields = ("membership",)
