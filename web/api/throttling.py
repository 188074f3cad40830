"""Rate limits per API key and per user (SPEC §8: 429 throttled)."""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from core.client_ip import client_ip


class _SettingsRateThrottle(SimpleRateThrottle):
    def get_rate(self):
        # Read the rate on each request (not at import) so a deployment's or a test's setting applies.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class ApiKeyThrottle(_SettingsRateThrottle):
    scope = "api_key"

    def get_cache_key(self, request, view):
        api_key = getattr(request.auth, "api_key", None)
        return f"throttle:api_key:{api_key.pk}" if api_key else None


class UserThrottle(_SettingsRateThrottle):
    """Per user for console users; per client address for anonymous callers."""

    scope = "user"

    def allow_request(self, request, view):
        self.scope = "user" if request.user and request.user.is_authenticated else "anon"
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        if getattr(request.auth, "api_key", None):
            return None
        if request.user and request.user.is_authenticated:
            return f"throttle:user:{request.user.pk}"
        return f"throttle:anon:{self.get_ident(request)}"

    def get_ident(self, request):
        # X-Forwarded-For only as far as the trusted proxies go (core/client_ip.py).
        return client_ip(request) or "unknown"
