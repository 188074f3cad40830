"""The client's address, one rule for the anonymous rate limit and the login brake (issue 12).

`X-Forwarded-For` is whatever the caller sends, so it is trusted only as far as the deployment's
own proxies go: with REST_FRAMEWORK["NUM_PROXIES"] = N (env TRUSTED_PROXIES, 0 by default) the
address is the one the outermost trusted proxy appended, N entries from the right; with 0 it is
REMOTE_ADDR and X-Forwarded-For is ignored. DRF's own `get_ident` trusts the whole header when
NUM_PROXIES is unset, so a new value on each call was a new client.
"""

import ipaddress

from rest_framework.settings import api_settings


def _valid(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The caller's address, or None when there is none (a Unix socket without a proxy)."""
    meta = request.META
    remote = meta.get("REMOTE_ADDR") or ""
    proxies = api_settings.NUM_PROXIES or 0
    if proxies > 0:
        forwarded = [a for a in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if forwarded:
            # The proxy wrote a real address; junk here means one proxy fewer than configured,
            # so the connection's own address is the safer answer.
            return _valid(forwarded[-min(proxies, len(forwarded))]) or _valid(remote)
    return _valid(remote)
