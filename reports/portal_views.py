"""The merchant admin's view of their staff in the portal (SPEC §5, merchant view): what each of
them earned, holds, spent and redeemed, with a drill-down and an export. Rewards to staff are
never hidden from the merchant who pays for them."""

from django.core.paginator import Page, Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from accounts.roles import Action
from core.exports import download
from points import selectors as points_selectors
from web.pages import paginate, portal_view

from . import selectors
from .filters import StaffOverviewFilter

SUBLIST_SIZE = 10  # redemptions and draws on the drill-down, per page


def _overview_filter(request) -> StaffOverviewFilter:
    actor = request.actor
    staff = selectors.merchant_staff_overview(tenant=actor.tenant, actor=actor)
    return StaffOverviewFilter(request.GET, queryset=staff, request=request)


@portal_view(Action.PORTAL_MERCHANT)
def staff_list(request):
    """Every staff member of the merchant with their figures, the merchant's totals on top."""
    actor = request.actor
    overview = _overview_filter(request)
    context = {
        "filter": overview,
        "page": paginate(request, overview.qs),
        "totals": selectors.merchant_staff_totals(tenant=actor.tenant, actor=actor),
        "merchant": actor.membership.merchant,
        "sort": overview.sort_value,
    }
    return render(request, "portal/staff/list.html", context)


@portal_view(Action.PORTAL_MERCHANT)
def staff_detail(request, code: str):
    """One staff member: their figures, their points history, their redemptions and draws."""
    actor = request.actor
    staff = selectors.merchant_staff_get(tenant=actor.tenant, actor=actor, code=code)
    redemptions = selectors.staff_redemption_list(tenant=actor.tenant, actor=actor, staff=staff)
    draws = selectors.staff_draw_list(tenant=actor.tenant, actor=actor, staff=staff)
    history = points_selectors.staff_history(tenant=actor.tenant, actor=actor, staff=staff)
    context = {
        "staff": staff,
        "page": paginate(request, history),
        "show_program": staff.account_count > 1,  # type: ignore[attr-defined]  # name each entry's program
        "redemptions": _subpage(request, redemptions, "redemptions_page"),
        "draws": _subpage(request, draws, "draws_page"),
    }
    return render(request, "portal/staff/detail.html", context)


def _subpage(request, queryset, param: str) -> Page:
    """A second (third) list on a page, paged by its own `param`; the page carries
    `previous_url` / `next_url`, which keep the other lists' pages."""
    page = Paginator(queryset, SUBLIST_SIZE).get_page(request.GET.get(param))
    query = request.GET.copy()

    def url(number):
        query[param] = number
        return f"?{query.urlencode()}"

    # Attributes for the template; django-stubs' Page declares no extra ones.
    page.previous_url = url(page.previous_page_number()) if page.has_previous() else ""  # type: ignore[attr-defined]
    page.next_url = url(page.next_page_number()) if page.has_next() else ""  # type: ignore[attr-defined]
    return page


def _export_columns(fmt: str):
    """The export's columns: each header and how a row of the overview gives its cell."""
    # Read now: a streamed CSV writes its rows after the view has returned.
    zone = timezone.get_current_timezone()
    yes, no = _("yes"), _("no")

    def moment(value):
        if value is None:
            return None
        local = value.astimezone(zone).replace(microsecond=0)
        # A spreadsheet's date cell has no zone: the tenant's local time, sortable as a date.
        return local.replace(tzinfo=None) if fmt == "xlsx" else local.isoformat()

    return [
        (_("Code"), lambda s: s.code),
        (_("Name"), lambda s: s.name),
        (_("Phone"), lambda s: s.phone),
        (_("Active"), lambda s: yes if s.is_active else no),
        (_("Earned"), lambda s: s.earned),
        (_("Pending"), lambda s: s.pending),
        (_("Spent"), lambda s: s.spent),
        (_("Balance"), lambda s: s.balance),
        (_("Expiring in 30 days"), lambda s: s.expiring),
        (pgettext("prizes", "Redemptions"), lambda s: s.redemptions),
        (_("Draws"), lambda s: s.draws),
        (_("Last activity"), lambda s: moment(s.last_activity)),
    ]


@portal_view(Action.PORTAL_MERCHANT)
def staff_export(request, fmt: str):
    """The overview as the page shows it (search, status and sort), every page: CSV streamed,
    XLSX built in memory (a merchant's staff fit in it)."""
    if fmt not in ("csv", "xlsx"):
        raise Http404(_("Not found."))
    actor = request.actor
    columns = _export_columns(fmt)
    header = [title for title, _cell in columns]
    rows = (
        [cell(staff) for _title, cell in columns]
        for staff in _overview_filter(request).qs.iterator(chunk_size=500)
    )
    merchant = actor.membership.merchant
    stamp = timezone.localdate().isoformat()
    filename = f"staff-{slugify(merchant.code if merchant else 'all')}-{stamp}.{fmt}"
    return download(fmt, header, rows, filename, sheet=_("Staff"))
