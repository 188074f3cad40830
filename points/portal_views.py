"""The staff member's points in the portal (/portal/): home, how to earn, history.

Thin: each page reads through points.selectors for the logged-in member's own staff record;
a login not linked to one gets the same friendly notice on every page.
"""

from django.shortcuts import redirect, render

from accounts.roles import Action
from accounts.selectors import staff_own_get
from web.pages import paginate, portal_view

from . import selectors


@portal_view()
def portal_home(request):
    """A staff member's points at a glance; a merchant admin starts at their staff list."""
    actor = request.actor
    if actor.can(Action.PORTAL_MERCHANT):
        return redirect("portal:staff_list")
    actor.require(Action.PORTAL_OWN)
    staff = staff_own_get(tenant=actor.tenant, actor=actor)
    cards = []
    if staff is not None:
        cards = selectors.staff_dashboard(tenant=actor.tenant, actor=actor, staff=staff)
    return render(request, "portal/home.html", {"staff": staff, "cards": cards})


@portal_view(Action.PORTAL_OWN)
def portal_earn(request):
    """The running campaigns' rules in plain words, with what my next order earns."""
    actor = request.actor
    staff = staff_own_get(tenant=actor.tenant, actor=actor)
    guides = []
    if staff is not None:
        guides = selectors.earning_guide(tenant=actor.tenant, actor=actor, staff=staff)
    programs = {item.rule.program_id for guide in guides for item in guide.rules}
    context = {"staff": staff, "guides": guides, "several_programs": len(programs) > 1}
    return render(request, "portal/points/earn.html", context)


@portal_view(Action.PORTAL_OWN)
def portal_history(request):
    """My ledger entries, newest first, a page at a time; by program when I have several."""
    actor = request.actor
    staff = staff_own_get(tenant=actor.tenant, actor=actor)
    context: dict = {"staff": staff, "programs": [], "program": None, "page": None}
    if staff is not None:
        accounts = selectors.staff_accounts(tenant=actor.tenant, actor=actor, code=staff.code)
        programs = sorted((a.program for a in accounts), key=lambda p: (p.name, p.pk))
        chosen = request.GET.get("program", "")
        program = next((p for p in programs if str(p.pk) == chosen), None)
        entries = selectors.staff_history(
            tenant=actor.tenant, actor=actor, staff=staff, program=program
        )
        context.update(
            programs=programs,
            program=program,
            page=paginate(request, entries),
            show_program=len(programs) > 1 and program is None,
        )
    return render(request, "portal/points/history.html", context)
