"""Console and portal forms: they parse and check input; the services decide and write."""

from django import forms
from django.contrib.auth import forms as auth_forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from web.forms import BootstrapMixin, ConsoleForm

from .lockout import LockoutMessageMixin
from .models import ApiKeyScope, BusinessUnit, MerchantStaff, Region
from .roles import Role
from .selectors import (
    business_unit_list,
    customer_get,
    membership_list_for_user,
    membership_regions,
    membership_staff,
    merchant_get,
    region_get,
    region_list,
    staff_get,
)

# --- auth ----------------------------------------------------------------------------------------


class LoginForm(LockoutMessageMixin, BootstrapMixin, auth_forms.AuthenticationForm):
    username = auth_forms.UsernameField(
        label=_("Username or e-mail"),
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )

    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        "invalid_login": _("Wrong username, e-mail or password."),
        "no_tenant": _("Your account is not a member of any active tenant."),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not membership_list_for_user(user=user).exists():
            raise ValidationError(self.error_messages["no_tenant"], code="no_tenant")


class PasswordChangeForm(BootstrapMixin, auth_forms.PasswordChangeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class TenantPickForm(forms.Form):
    membership = forms.IntegerField()

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_membership(self):
        membership = (
            membership_list_for_user(user=self.user)
            .filter(pk=self.cleaned_data["membership"])
            .first()
        )
        if membership is None:
            raise ValidationError(_("Choose one of your tenants."))
        return membership


# --- users and roles ---------------------------------------------------------------------------------

REGION_HELP = _("Regional operators only: the regions they operate (and all regions below them).")


class RoleScopeFields(ConsoleForm):
    """Role and its scope, shared by the create and edit forms."""

    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    business_unit: "forms.ModelChoiceField[BusinessUnit]" = forms.ModelChoiceField(
        label=_("Business unit"),
        queryset=None,
        required=False,
        help_text=_("Required for business-unit admins."),
    )
    regions: "forms.ModelMultipleChoiceField[Region]" = forms.ModelMultipleChoiceField(
        label=_("Regions"), queryset=None, required=False, help_text=REGION_HELP
    )
    merchant = forms.CharField(
        label=_("Merchant code"),
        required=False,
        max_length=50,
        help_text=_("Merchant admins and staff: the merchant they belong to."),
    )
    staff = forms.CharField(
        label=_("Staff record code"),
        required=False,
        max_length=50,
        help_text=_("Merchant staff: links the login to their staff record for the portal."),
    )

    def setup(self):
        self.fields["business_unit"].queryset = business_unit_list(
            tenant=self.tenant, actor=self.actor
        )
        self.fields["regions"].queryset = region_list(tenant=self.tenant, actor=self.actor)
        self.fields["regions"].widget.attrs.update({"size": 8, "data-filterable": "true"})
        # Only roles the actor may give (the service decides; this just hides the rest).
        grantable = set(self.actor.grantable_roles())
        self.fields["role"].choices = [c for c in Role.choices if c[0] in grantable]

    def clean_merchant(self):
        return self._lookup("merchant", merchant_get, _("No merchant with this code."))

    def clean_staff(self):
        return self._lookup("staff", staff_get, _("No staff record with this code."))

    def scope_values(self) -> dict:
        data = self.cleaned_data
        return {
            "role": data["role"],
            "business_unit": data.get("business_unit"),
            "regions": list(data.get("regions") or []),
            "merchant": data.get("merchant"),
            "staff": data.get("staff"),
        }


class UserCreateForm(RoleScopeFields):
    username = forms.CharField(label=_("Username"), max_length=150)
    email = forms.EmailField(label=_("E-mail"), required=False)
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 8 characters, not only digits, not a common password."),
    )
    password_again = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    field_order = ["username", "email", "first_name", "last_name", "password", "password_again"]

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", _("The two passwords differ."))
        return data


class MembershipForm(RoleScopeFields):
    is_active = forms.BooleanField(
        label=_("Active"),
        required=False,
        help_text=_("An inactive member cannot log in to this tenant; their tokens are revoked."),
    )

    @classmethod
    def initial_for(cls, membership) -> dict:
        staff: MerchantStaff | None = membership_staff(membership=membership)
        return {
            "role": membership.role,
            "business_unit": membership.business_unit,
            "regions": membership_regions(membership=membership),
            "merchant": membership.merchant.code if membership.merchant else "",
            "staff": staff.code if staff else "",
            "is_active": membership.is_active,
        }


class BusinessUnitForm(ConsoleForm):
    code = forms.SlugField(label=_("Code"), max_length=50)
    name = forms.CharField(label=_("Name"), max_length=200)


# --- master data -----------------------------------------------------------------------------------


class UpsertForm(ConsoleForm):
    """Master data is written by code (the integrator's upsert); the code is fixed once created."""

    code = forms.CharField(label=_("Code"), max_length=50)

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["code"].disabled = True


class RegionForm(UpsertForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    parent = forms.CharField(
        label=_("Parent region code"),
        required=False,
        max_length=50,
        help_text=_("Leave empty for a top-level region."),
    )

    def clean_parent(self):
        return self._lookup("parent", region_get, _("No region with this code."))


class MerchantForm(UpsertForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    region = forms.CharField(label=_("Region code"), required=False, max_length=50)
    customer = forms.CharField(
        label=_("Customer code"),
        required=False,
        max_length=50,
        help_text=_("The merchant's own customer record: coupon prizes its staff redeem go to it."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def clean_region(self):
        return self._lookup("region", region_get, _("No region with this code in your scope."))

    def clean_customer(self):
        return self._lookup(
            "customer", customer_get, _("No customer with this code in your scope.")
        )


class StaffForm(UpsertForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    merchant = forms.CharField(label=_("Merchant code"), max_length=50)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=32)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def clean_merchant(self):
        return self._lookup("merchant", merchant_get, _("No merchant with this code."))


class CustomerForm(UpsertForm):
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    registered_on = forms.DateField(
        label=_("Registered on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    region = forms.CharField(label=_("Region code"), required=False, max_length=50)
    tags = forms.CharField(
        label=_("Tags"), required=False, help_text=_("Separate tags with commas.")
    )
    last_order_on = forms.DateField(
        label=_("Last order on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_region(self):
        return self._lookup("region", region_get, _("No region with this code in your scope."))

    def clean_tags(self):
        raw = self.cleaned_data.get("tags") or ""
        return sorted({t.strip() for t in raw.split(",") if t.strip()})


# --- API keys -------------------------------------------------------------------------------------


class ApiKeyForm(ConsoleForm):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("Who uses it, e.g. “ERP order sync”.")
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=ApiKeyScope.choices,
        initial=list(ApiKeyScope.values),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The integration endpoints this key may call."),
    )
