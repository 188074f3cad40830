"""The base of every console (/console/) and portal (/portal/) page.

Every page goes through `console_view(action)` or `portal_view(action)`: logged in, a tenant
chosen, the role allowed. A service's PermissionDeniedError becomes the 403 page and its
NotFoundError the 404 page, so out-of-scope and missing look the same here as in the API.
"""

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.roles import CONSOLE_ROLES, PORTAL_ROLES, Action
from core.errors import DomainError, NotFoundError, PermissionDeniedError

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

PAGE_SIZE = 25

# A page's life-cycle buttons: verb → (the service the button calls, the message on success).
LifeCycleActions: TypeAlias = "dict[str, tuple[Callable[..., Any], StrPromise]]"


def role_home(role: str) -> str:
    """Where a member of this role lands: the portal for merchant roles, the console else."""
    return reverse("portal:home") if role in PORTAL_ROLES else reverse("accounts:home")


def safe_next(request, fallback: str) -> str:
    """The `next` the form carries when it stays on this site; the fallback otherwise."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _guarded(view, *, action: Action | None, roles: frozenset, elsewhere: str):
    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        actor = request.actor
        if actor is None:  # no tenant chosen yet (or the chosen membership was deactivated)
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('accounts:tenant_pick')}?{query}")
        if actor.role not in roles:
            return redirect(elsewhere)
        try:
            if action is not None:
                actor.require(action)
            return view(request, *args, **kwargs)
        except PermissionDeniedError as exc:
            raise PermissionDenied(exc.detail) from exc
        except NotFoundError as exc:
            raise Http404(exc.detail) from exc

    return wrapped


def console_view(action: Action | None = None):
    """Console page: login, chosen tenant, a console role, and `action` if given."""

    def decorator(view):
        return _guarded(view, action=action, roles=CONSOLE_ROLES, elsewhere="portal:home")

    return decorator


def portal_view(action: Action | None = None):
    """Portal page: login, chosen tenant, a merchant role, and `action` if given."""

    def decorator(view):
        return _guarded(view, action=action, roles=PORTAL_ROLES, elsewhere="accounts:home")

    return decorator


def paginate(request, queryset, *, per_page: int = PAGE_SIZE) -> Page:
    """The page `?page=` asks for; out-of-range and junk give the nearest real page."""
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def filtered_list(request, template: str, filterset, **context):
    """A list page: the filter form, one page of its results, and the caller's context."""
    return render(
        request,
        template,
        {"filter": filterset, "page": paginate(request, filterset.qs), **context},
    )


def run_action(request, service, done: "StrPromise", /, **arguments) -> None:
    """A console button that calls one service: its refusal becomes an error message on the
    page the user goes back to, its success `done`. `arguments` name the object and, for a
    life-cycle move, the form's note (positional-only above, so one may be called `request`)."""
    actor = request.actor
    try:
        service(tenant=actor.tenant, actor=actor, **arguments)
    except DomainError as exc:
        messages.error(request, exc.full_text())
    else:
        messages.success(request, done)
