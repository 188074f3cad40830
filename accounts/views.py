"""Console and portal pages of accounts: login, tenant choice, users, business units,
regions, merchants and staff, customers, API keys, the audit log, the portal's home."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError, NotFoundError
from web.dashboard import dashboard_panels
from web.pages import console_view, filtered_list, portal_view, role_home, safe_next

from . import filters, forms, selectors, services
from .authentication import SESSION_TENANT_KEY
from .roles import PORTAL_ROLES, Action

# --- login, logout, password, tenant ------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = forms.LoginForm
    redirect_authenticated_user = True

    def get_success_url(self):
        memberships = list(selectors.membership_list_for_user(user=self.request.user)[:2])
        if len(memberships) != 1:
            # Several tenants: the user picks one; a stale choice from an old session is dropped.
            self.request.session.pop(SESSION_TENANT_KEY, None)
            url = reverse("accounts:tenant_pick")
            next_url = self.get_redirect_url()
            return f"{url}?next={next_url}" if next_url else url
        membership = memberships[0]
        self.request.session[SESSION_TENANT_KEY] = membership.tenant_id
        if membership.role in PORTAL_ROLES:
            return reverse("portal:home")
        return self.get_redirect_url() or reverse("accounts:home")


class LogoutView(auth_views.LogoutView):
    # resolve_url() takes a lazy URL; the stubs type next_page as a plain str.
    next_page = reverse_lazy("accounts:login")  # type: ignore[assignment]


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    form_class = forms.PasswordChangeForm

    def get_success_url(self):
        membership = self.request.membership
        return role_home(membership.role) if membership else reverse("accounts:tenant_pick")

    def form_valid(self, form):
        messages.success(self.request, _("Your password was changed."))
        return super().form_valid(form)


@login_required
def tenant_pick(request):
    memberships = selectors.membership_list_for_user(user=request.user)
    form = forms.TenantPickForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        membership = form.cleaned_data["membership"]
        request.session[SESSION_TENANT_KEY] = membership.tenant_id
        messages.success(
            request, _("You are working in %(tenant)s.") % {"tenant": membership.tenant}
        )
        home = role_home(membership.role)
        if membership.role in PORTAL_ROLES:
            return redirect(home)
        return redirect(safe_next(request, home))
    return render(
        request,
        "accounts/tenant_pick.html",
        {
            "memberships": memberships,
            "form": form,
            "next": safe_next(request, ""),
            "current_tenant_id": request.session.get(SESSION_TENANT_KEY),
        },
    )


# --- dashboard ---------------------------------------------------------------------------------------


@console_view()
def home(request):
    actor = request.actor
    counts = selectors.console_counts(tenant=actor.tenant, actor=actor)
    panels = dashboard_panels(request)
    return render(request, "accounts/home.html", {"counts": counts, "panels": panels})


# --- users and roles -------------------------------------------------------------------------------------


@console_view(Action.USERS_READ)
def user_list(request):
    actor = request.actor
    qs = selectors.membership_list(tenant=actor.tenant, actor=actor)
    return filtered_list(
        request,
        "accounts/user_list.html",
        filters.MembershipConsoleFilter(request.GET, queryset=qs, request=request),
    )


@console_view(Action.USERS_MANAGE)
def user_create(request):
    actor = request.actor
    form = forms.UserCreateForm(request.POST or None, actor=actor)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            membership = services.user_create(
                tenant=actor.tenant,
                actor=actor,
                username=data["username"],
                password=data["password"],
                email=data["email"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                **form.scope_values(),
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("User %(name)s was created.") % {"name": membership.user})
            return redirect("accounts:user_list")
    return render(request, "accounts/user_form.html", {"form": form, "creating": True})


@console_view(Action.USERS_MANAGE)
def membership_edit(request, pk: int):
    actor = request.actor
    membership = selectors.membership_get(tenant=actor.tenant, actor=actor, id=pk)
    form = forms.MembershipForm(
        request.POST or None, actor=actor, initial=forms.MembershipForm.initial_for(membership)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.membership_update(
                tenant=actor.tenant,
                actor=actor,
                membership=membership,
                is_active=form.cleaned_data["is_active"],
                **form.scope_values(),
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("%(name)s was updated.") % {"name": membership.user})
            return redirect("accounts:user_list")
    return render(request, "accounts/user_form.html", {"form": form, "member": membership})


# --- business units -----------------------------------------------------------------------------------


@console_view(Action.USERS_READ)
def business_unit_list(request):
    actor = request.actor
    form = None
    # Only tenant admins create units (the service refuses business-unit admins too).
    may_create = actor.can(Action.USERS_MANAGE) and actor.business_unit_id is None
    if may_create:
        form = forms.BusinessUnitForm(request.POST or None, actor=actor)
        if request.method == "POST" and form.is_valid():
            try:
                unit = services.business_unit_create(
                    tenant=actor.tenant, actor=actor, **form.cleaned_data
                )
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, _("Business unit %(unit)s was created.") % {"unit": unit})
                return redirect("accounts:business_unit_list")
    elif request.method == "POST":
        raise PermissionDenied
    units = selectors.business_unit_list(tenant=actor.tenant, actor=actor)
    return filtered_list(
        request,
        "accounts/business_unit_list.html",
        filters.BusinessUnitConsoleFilter(request.GET, queryset=units, request=request),
        form=form,
    )


# --- regions ---------------------------------------------------------------------------------------------


def _may_edit_regions(actor) -> bool:
    # Regional operators work inside the tree; they never change it (region_upsert refuses).
    return actor.can(Action.MASTER_DATA_MANAGE) and not actor.is_regional


@console_view(Action.MASTER_DATA_READ)
def region_list(request):
    actor = request.actor
    qs = selectors.region_list(tenant=actor.tenant, actor=actor)
    return filtered_list(
        request,
        "accounts/region_list.html",
        filters.RegionConsoleFilter(request.GET, queryset=qs, request=request),
        may_edit=_may_edit_regions(actor),
    )


@console_view(Action.MASTER_DATA_MANAGE)
def region_form(request, code: str | None = None):
    actor = request.actor
    if not _may_edit_regions(actor):
        raise PermissionDenied
    region = selectors.region_get(tenant=actor.tenant, actor=actor, code=code) if code else None
    initial = (
        {
            "code": region.code,
            "name": region.name,
            "parent": region.parent.code if region.parent else "",
        }
        if region
        else {}
    )
    form = forms.RegionForm(
        request.POST or None, actor=actor, initial=initial, editing=bool(region)
    )
    saved = _save_master_data(
        request,
        form,
        existing=region,
        getter=selectors.region_get,
        service=services.region_upsert,
        fields=("code", "name", "parent"),
        taken=_("This code is taken; edit that region instead."),
    )
    if saved:
        return redirect("accounts:region_list")
    title = _("Edit region") if region else _("New region")
    return _form_page(request, form, region, title, reverse("accounts:region_list"), _("Regions"))


def _exists(getter, actor, code: str) -> bool:
    try:
        getter(tenant=actor.tenant, actor=actor, code=code)
    except NotFoundError:
        return False
    return True


def _save_master_data(request, form, *, existing, getter, service, fields, taken="", **extra):
    """The POST half of the master-data forms: a new row may not take a code in use; otherwise
    upsert the form's `fields` (plus `extra`). The saved row, or None to show the form again."""
    if request.method != "POST" or not form.is_valid():
        return None
    data = form.cleaned_data
    if existing is None and _exists(getter, request.actor, data["code"]):
        form.add_error("code", taken)
        return None
    actor = request.actor
    values = {name: data[name] for name in fields} | extra
    try:
        row, created = service(tenant=actor.tenant, actor=actor, **values)
    except DomainError as exc:
        form.add_domain_error(exc)
        return None
    message = _("%(object)s was created.") if created else _("%(object)s was saved.")
    messages.success(request, message % {"object": row})
    return row


def _form_page(request, form, obj, title, list_url, list_label):
    context = {
        "form": form,
        "object": obj,
        "title": title,
        "list_url": list_url,
        "list_label": list_label,
    }
    return render(request, "accounts/object_form.html", context)


# --- merchants and staff -------------------------------------------------------------------------------


@console_view(Action.MASTER_DATA_READ)
def merchant_list(request):
    actor = request.actor
    qs = selectors.merchant_list(tenant=actor.tenant, actor=actor)
    return filtered_list(
        request,
        "accounts/merchant_list.html",
        filters.MerchantConsoleFilter(request.GET, queryset=qs, request=request),
    )


@console_view(Action.MASTER_DATA_READ)
def merchant_detail(request, code: str):
    actor = request.actor
    merchant = selectors.merchant_get(tenant=actor.tenant, actor=actor, code=code)
    staff = selectors.staff_list(
        tenant=actor.tenant, actor=actor, filters={"merchant": merchant.code}
    )
    return filtered_list(
        request,
        "accounts/merchant_detail.html",
        filters.StaffConsoleFilter(request.GET, queryset=staff, request=request),
        merchant=merchant,
    )


@console_view(Action.MASTER_DATA_MANAGE)
def merchant_form(request, code: str | None = None):
    actor = request.actor
    merchant = selectors.merchant_get(tenant=actor.tenant, actor=actor, code=code) if code else None
    initial = (
        {
            "code": merchant.code,
            "name": merchant.name,
            "region": merchant.region.code if merchant.region else "",
            "customer": merchant.customer.code if merchant.customer else "",
            "is_active": merchant.is_active,
        }
        if merchant
        else {"is_active": True}
    )
    form = forms.MerchantForm(
        request.POST or None, actor=actor, initial=initial, editing=bool(merchant)
    )
    saved = _save_master_data(
        request,
        form,
        existing=merchant,
        getter=selectors.merchant_get,
        service=services.merchant_upsert,
        fields=("code", "name", "region", "customer", "is_active"),
        taken=_("This code is taken; edit that merchant instead."),
    )
    if saved:
        return redirect("accounts:merchant_detail", code=saved.code)
    title = _("Edit merchant") if merchant else _("New merchant")
    list_url = reverse("accounts:merchant_list")
    return _form_page(request, form, merchant, title, list_url, _("Merchants"))


@console_view(Action.MASTER_DATA_MANAGE)
def staff_form(request, code: str | None = None, merchant_code: str | None = None):
    actor = request.actor
    staff = selectors.staff_get(tenant=actor.tenant, actor=actor, code=code) if code else None
    merchant = (
        staff.merchant
        if staff
        # The create route always names the merchant; "" finds none, as None would.
        else selectors.merchant_get(tenant=actor.tenant, actor=actor, code=merchant_code or "")
    )
    initial = {"merchant": merchant.code, "is_active": True}
    if staff:
        initial.update(
            code=staff.code, name=staff.name, phone=staff.phone, is_active=staff.is_active
        )
    form = forms.StaffForm(request.POST or None, actor=actor, initial=initial, editing=bool(staff))
    saved = _save_master_data(
        request,
        form,
        existing=staff,
        getter=selectors.staff_get,
        service=services.staff_upsert,
        fields=("code", "name", "merchant", "phone", "is_active"),
        taken=_("This code is taken; edit that staff member instead."),
    )
    if saved:
        return redirect("accounts:merchant_detail", code=saved.merchant.code)
    title = _("Edit staff member") if staff else _("New staff member")
    list_url = reverse("accounts:merchant_detail", args=[merchant.code])
    return _form_page(request, form, staff, title, list_url, str(merchant))


# --- customers -------------------------------------------------------------------------------------------


@console_view(Action.MASTER_DATA_READ)
def customer_list(request):
    actor = request.actor
    qs = selectors.customer_list(tenant=actor.tenant, actor=actor)
    return filtered_list(
        request,
        "accounts/customer_list.html",
        filters.CustomerConsoleFilter(request.GET, queryset=qs, request=request),
    )


@console_view(Action.MASTER_DATA_MANAGE)
def customer_edit(request, code: str):
    actor = request.actor
    customer = selectors.customer_get(tenant=actor.tenant, actor=actor, code=code)
    initial = {
        "code": customer.code,
        "name": customer.name,
        "registered_on": customer.registered_on,
        "region": customer.region.code if customer.region else "",
        "tags": ", ".join(customer.tags or []),
        "last_order_on": customer.last_order_on,
    }
    form = forms.CustomerForm(request.POST or None, actor=actor, initial=initial, editing=True)
    saved = _save_master_data(
        request,
        form,
        existing=customer,
        getter=selectors.customer_get,
        service=services.customer_upsert,
        fields=("name", "registered_on", "region", "tags", "last_order_on"),
        code=customer.code,
        # The fingerprints come from integrators; the console keeps them as they are.
        phone_fingerprint=customer.phone_fingerprint,
        device_fingerprint=customer.device_fingerprint,
    )
    if saved:
        return redirect("accounts:customer_list")
    list_url = reverse("accounts:customer_list")
    return _form_page(request, form, customer, _("Edit customer"), list_url, _("Customers"))


# --- API keys --------------------------------------------------------------------------------------------


@console_view(Action.USERS_READ)
def api_key_list(request):
    actor = request.actor
    qs = selectors.api_key_list(tenant=actor.tenant, actor=actor)
    return filtered_list(
        request,
        "accounts/api_key_list.html",
        filters.ApiKeyConsoleFilter(request.GET, queryset=qs, request=request),
    )


@console_view(Action.USERS_MANAGE)
def api_key_create(request):
    actor = request.actor
    # Keys are tenant-wide: whoever may not list them (a business-unit admin) gets no form either.
    selectors.api_key_list(tenant=actor.tenant, actor=actor)
    form = forms.ApiKeyForm(request.POST or None, actor=actor)
    if request.method == "POST" and form.is_valid():
        try:
            api_key, key = services.api_key_create(
                tenant=actor.tenant,
                actor=actor,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            # The key exists only in this response: it is stored hashed and never shown again,
            # so the page must not be cached or replayed from history.
            response = render(
                request, "accounts/api_key_created.html", {"api_key": api_key, "key": key}
            )
            response["Cache-Control"] = "no-store"
            return response
    return render(request, "accounts/api_key_form.html", {"form": form})


@require_POST
@console_view(Action.USERS_MANAGE)
def api_key_revoke(request, pk: int):
    actor = request.actor
    api_key = selectors.api_key_get(tenant=actor.tenant, actor=actor, id=pk)
    services.api_key_revoke(tenant=actor.tenant, actor=actor, api_key=api_key)
    messages.success(request, _("API key %(key)s was revoked.") % {"key": api_key})
    return redirect("accounts:api_key_list")


# --- audit log -------------------------------------------------------------------------------------------


@console_view(Action.AUDIT_READ)
def audit_list(request):
    actor = request.actor
    qs = selectors.audit_entry_list(tenant=actor.tenant, actor=actor).select_related(
        "actor_user", "actor_api_key"
    )
    return filtered_list(
        request,
        "accounts/audit_list.html",
        filters.AuditConsoleFilter(request.GET, queryset=qs, request=request),
    )


# --- portal ----------------------------------------------------------------------------------------------


@portal_view()
def portal_profile(request):
    """Who I am here: my staff record (a staff member) or the merchant I administer."""
    actor = request.actor
    staff = None
    if actor.can(Action.PORTAL_OWN):
        staff = selectors.staff_own_get(tenant=actor.tenant, actor=actor)
    context = {"staff": staff, "merchant": actor.membership.merchant}
    return render(request, "portal/profile.html", context)
