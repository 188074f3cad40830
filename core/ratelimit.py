"""Per-holder rate limits for actions a person repeats by hand (prize redemptions, lottery
draws): the same limit whether the request comes from the portal or the API, so neither a
script with a staff token nor a stuck button can spend a balance in a burst (issue 14).

A fixed window per (tenant, action, holder) in the shared cache: one `add` and one `incr`.
"""

import time

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from .errors import DomainError


class Throttled(DomainError):
    status = 429
    default_code = "throttled"


def _parse(rate: str) -> tuple[int, int]:
    """ "20/min" → (20, 60); the period as DRF reads it, by its first letter (s, m, h, d)."""
    count, _slash, period = rate.partition("/")
    return int(count), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[:1]]


def holder_rate_check(*, tenant_id: int, action: str, holder_id: int) -> None:
    """Count one `action` of the holder; 429 throttled past HOLDER_RATES[action]."""
    rate = settings.HOLDER_RATES.get(action)
    if not rate:
        return
    limit, seconds = _parse(rate)
    window = int(time.time() // seconds)
    key = f"holder-rate:{tenant_id}:{action}:{holder_id}:{window}"
    cache.add(key, 0, timeout=seconds + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # the key was evicted between add and incr: this is its first hit
        cache.set(key, 1, timeout=seconds + 1)
        count = 1
    if count > limit:
        raise Throttled(_("Too many requests; wait a moment and try again."))
