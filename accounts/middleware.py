from django.utils import timezone

from .authentication import membership_for_session
from .permissions import Actor


class ConsoleTenantMiddleware:
    """For console and portal pages: the membership of the tenant picked after login.

    Sets request.membership and request.actor (None when no tenant is chosen) and activates the
    tenant's time zone so pages show local times. The API resolves its own actor per credential.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = None
        request.actor = None
        if request.user.is_authenticated and not request.path.startswith("/api/"):
            membership = membership_for_session(request, request.user)
            if membership is not None:
                request.membership = membership
                request.actor = Actor(tenant=membership.tenant, membership=membership)
                timezone.activate(membership.tenant.zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
