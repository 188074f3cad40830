"""Template context of console and portal pages: who is acting, and the navigation their role may see."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.apps import apps
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _

from accounts.roles import Action
from accounts.selectors import membership_list_for_user

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


@dataclass(frozen=True)
class NavItem:
    """One console navigation link, shown when the actor's role may do `action`.

    Other apps add theirs without touching this file: set `console_nav = [NavItem(...)]` on the
    app's AppConfig. A link whose URL name does not resolve yet is skipped.
    """

    label: "StrOrPromise"  # usually gettext_lazy(…), translated when the page renders
    url_name: str
    action: Action | None = None
    section: str = "operations"
    tenant_wide: bool = False  # hidden from actors limited to one business unit


SECTIONS = {
    "operations": _("Operations"),
    "reports": _("Reports"),
    "master_data": _("Master data"),
    "admin": _("Administration"),
}

ACCOUNTS_NAV = [
    NavItem(_("Regions"), "accounts:region_list", Action.MASTER_DATA_READ, "master_data"),
    NavItem(_("Merchants"), "accounts:merchant_list", Action.MASTER_DATA_READ, "master_data"),
    NavItem(_("Customers"), "accounts:customer_list", Action.MASTER_DATA_READ, "master_data"),
    NavItem(_("Users & roles"), "accounts:user_list", Action.USERS_READ, "admin"),
    NavItem(_("Business units"), "accounts:business_unit_list", Action.USERS_READ, "admin"),
    NavItem(_("API keys"), "accounts:api_key_list", Action.USERS_READ, "admin", tenant_wide=True),
    NavItem(_("Audit log"), "accounts:audit_list", Action.AUDIT_READ, "admin"),
]


def _all_items() -> list[NavItem]:
    items = list(ACCOUNTS_NAV)
    for config in apps.get_app_configs():
        items.extend(getattr(config, "console_nav", []))
    return items


def navigation(actor, path: str = "") -> list[dict]:
    """[{title, items: [{label, url, active}]}] for the actor, sections in a fixed order."""
    if actor is None:
        return []
    sections: dict[str, list[dict]] = {key: [] for key in SECTIONS}
    for item in _all_items():
        if item.action is not None and not actor.can(item.action):
            continue
        if item.tenant_wide and actor.business_unit_id is not None:
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        sections.setdefault(item.section, []).append(
            {"label": item.label, "url": url, "active": path.startswith(url)}
        )
    return [
        {"title": SECTIONS.get(key, key), "items": items, "active": any(i["active"] for i in items)}
        for key, items in sections.items()
        if items
    ]


def console(request):
    actor = getattr(request, "actor", None)
    user = getattr(request, "user", None)

    def tenant_count() -> int:
        if user is None or not user.is_authenticated:
            return 0
        return membership_list_for_user(user=user).count()

    return {
        "actor": actor,
        "membership": getattr(request, "membership", None),
        "nav_sections": SimpleLazyObject(lambda: navigation(actor, request.path)),
        # Lazy: only pages that show the tenant switcher pay for the query.
        "tenant_count": SimpleLazyObject(tenant_count),
    }
