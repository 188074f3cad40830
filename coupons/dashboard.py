"""The coupons' panel of the console's home page: the latest issuance jobs and how they went."""

from . import selectors

SHOWN = 5


def recent_jobs(request) -> dict | None:
    actor = request.actor
    jobs = list(selectors.job_list(tenant=actor.tenant, actor=actor).order_by("-id")[:SHOWN])
    return {"jobs": jobs} if jobs else None
