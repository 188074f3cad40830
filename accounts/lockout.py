"""The login brake (issue 12): django-axes on every password login, keyed by username and address.

Console and portal (/console/login/), admin (/admin/login/) and POST /api/v1/auth/token all go
through `django.contrib.auth.authenticate(request, …)`, where axes' backend (first in
AUTHENTICATION_BACKENDS) refuses a (username, client address) pair that failed
AXES_FAILURE_LIMIT times within AXES_COOLOFF_TIME. The same user from another address is not
refused, so an attacker cannot lock a person out of their account.

What is here: the username axes counts (`lockout_username`), the answers to a locked-out login
(the login form's message, `lockout_response` for AxesMiddleware, `api_lockout_response` for the
token endpoint) and the audit entry the lock writes (`login_lockout_record`).
"""

import logging
import math

from axes.helpers import get_cool_off, get_failure_limit
from axes.signals import user_locked_out
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse
from django.utils.translation import ngettext

from core.services import audit_record
from web.api.errors import error_body

from .errors import AccountsErrorCode
from .models import Membership
from .permissions import Actor

logger = logging.getLogger("pointsops.accounts")

# AccessAttempt.username's length; longer input is cut rather than failing the insert.
_USERNAME_MAX = 255


def cool_off_seconds() -> int:
    cool_off = get_cool_off()  # AXES_COOLOFF_TIME as a timedelta, whatever form it was given in
    return int(cool_off.total_seconds()) if cool_off else 0


def lockout_message() -> str:
    minutes = max(1, math.ceil(cool_off_seconds() / 60))
    return ngettext(
        "Too many failed logins for this account from your address. "
        "Try again in %(minutes)d minute.",
        "Too many failed logins for this account from your address. "
        "Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


# --- what axes counts ----------------------------------------------------------------------------


def lockout_username(request, credentials=None) -> str | None:
    """AXES_USERNAME_CALLABLE: the account a login names, the same whether it was typed as the
    username or as the e-mail in any case (UsernameOrEmailBackend accepts both), so neither
    spelling nor case buys an attacker fresh attempts."""
    raw = (credentials or {}).get("username")
    if raw is None:
        data = getattr(request, "data", None)
        raw = (data if data is not None and hasattr(data, "get") else request.POST).get("username")
    if not isinstance(raw, str) or not raw.strip():
        return None
    raw = raw.strip().replace("\x00", "")
    if "@" not in raw:
        return raw[:_USERNAME_MAX]
    cache = request.__dict__.setdefault("_lockout_usernames", {})
    if raw not in cache:
        username = (
            get_user_model()
            ._default_manager.filter(email__iexact=raw)
            .values_list("username", flat=True)
            .first()
        )
        cache[raw] = (username or raw.lower())[:_USERNAME_MAX]
    return cache[raw]


# --- the answers to a locked-out login -------------------------------------------------------------


class LockoutMessageMixin:
    """For an AuthenticationForm: say the login is locked, not that the password is wrong (the
    right password is refused too while the lock holds)."""

    def get_invalid_login_error(self):
        if getattr(self.request, "axes_locked_out", False):
            return ValidationError(lockout_message(), code=AccountsErrorCode.LOCKED_OUT)
        return super().get_invalid_login_error()


class AdminLoginForm(LockoutMessageMixin, AdminAuthenticationForm):
    """The admin's login form (admin.site.login_form, accounts/admin.py)."""


def api_lockout_response(request) -> JsonResponse:
    """429 in the error shape, with the cool-off as Retry-After."""
    response = JsonResponse(error_body(AccountsErrorCode.LOCKED_OUT, lockout_message()), status=429)
    response["Retry-After"] = str(max(1, cool_off_seconds()))
    return response


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE, called by AxesMiddleware for a locked-out login: the login page as
    the view rendered it (its form carries `lockout_message`) with status 429, never axes'
    bare text page."""
    if request.path.startswith("/api/"):
        return api_lockout_response(request)
    if original_response is not None and original_response.status_code == 200:
        original_response.status_code = 429
        return original_response
    return HttpResponse(lockout_message(), status=429, content_type="text/plain; charset=utf-8")


# --- the audit entry -----------------------------------------------------------------------------


@transaction.atomic
def login_lockout_record(*, username: str, ip_address: str | None, path: str, failures: int):
    """Audit a new lock in each tenant the account belongs to (an audit entry always has a
    tenant; a login does not name one). A username nobody has is only logged."""
    user = get_user_model()._default_manager.filter(username=username).first()
    memberships = (
        Membership.objects.unscoped()
        .select_related("tenant")
        .filter(user=user, tenant__is_active=True)
        if user is not None
        else []
    )
    entries = [
        audit_record(
            tenant=membership.tenant,
            actor=Actor.for_system(membership.tenant),
            action="user.locked_out",
            obj=user,
            after={
                "username": username,
                "ip_address": ip_address,
                "path": path[:200],
                "failures": failures,
                "cool_off_seconds": cool_off_seconds(),
            },
            note=f"Login locked for {username} from {ip_address} after {failures} failures.",
        )
        for membership in memberships
    ]
    logger.warning(
        "Login locked for %r from %s after %d failures (%d audit entries).",
        username,
        ip_address,
        failures,
        len(entries),
    )
    return entries


@receiver(user_locked_out, dispatch_uid="accounts.lockout.audit")
def _audit_lock(sender, request, username, ip_address, **kwargs):
    # axes signals every refused attempt while the lock holds; the audit wants the lock itself,
    # the attempt that reached the limit.
    failures = getattr(request, "axes_failures_since_start", None)
    if failures is None or failures != get_failure_limit(request, None) or not username:
        return
    login_lockout_record(
        username=username, ip_address=ip_address, path=request.path, failures=failures
    )
