"""Rate limits per API key and per user (SPEC §8: 429 throttled)."""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


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


class LoginThrottle(_SettingsRateThrottle):
    """Password guesses against one account, from however many addresses (POST /auth/token)."""

    scope = "login"

    def get_cache_key(self, request, view):
        username = request.data.get("username") if hasattr(request.data, "get") else None
        if not isinstance(username, str) or not username.strip():
            return None
        return f"throttle:login:{username.strip().lower()}"
