"""Console pages of coupons: batches (form with live preview, page with stock and issuing),
issuance jobs with a live progress bar and their error report."""

from types import SimpleNamespace
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.roles import Action
from accounts.selectors import customer_get
from campaigns.selectors import campaign_list
from core.errors import DomainError, NotFoundError, ValidationFailed
from web.pages import LifeCycleActions, console_view, paginate, run_action

from . import forms, selectors, services
from .models import BATCH_MOVES, BatchStatus, EventType, JobStatus

ACTIONS = {
    "activate": (services.batch_activate, BatchStatus.ACTIVE, gettext_lazy("Batch activated.")),
    "pause": (services.batch_pause, BatchStatus.PAUSED, gettext_lazy("Batch paused.")),
    "resume": (services.batch_resume, BatchStatus.ACTIVE, gettext_lazy("Batch active again.")),
    "end": (services.batch_end, BatchStatus.ENDED, gettext_lazy("Batch ended.")),
}


@console_view(Action.CAMPAIGNS_READ)
def batch_list(request):
    actor = request.actor
    qs = selectors.batch_list(tenant=actor.tenant, actor=actor)
    page = paginate(request, qs)
    return render(request, "coupons/batch_list.html", {"page": page})


@console_view(Action.CAMPAIGNS_MANAGE)
def batch_form(request):
    actor = request.actor
    initial = {"campaign": request.GET.get("campaign")} if request.GET.get("campaign") else None
    form = forms.BatchForm(request.POST or None, actor=actor, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            batch = services.batch_create(tenant=actor.tenant, actor=actor, **form.service_kwargs())
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Batch created as a draft."))
            return redirect("coupons:detail", pk=batch.pk)
    return render(request, "coupons/batch_form.html", {"form": form})


@console_view(Action.CAMPAIGNS_READ)
def batch_preview(request):
    """The live preview of the batch form (HTMX): how the coupon reads with what is typed."""
    data = request.POST if request.method == "POST" else request.GET
    form = forms.BatchForm(data, actor=request.actor)
    form.is_valid()  # reads what parses; the service judges the whole on save
    values = {k: v for k, v in form.cleaned_data.items()}
    text = selectors.batch_summary(SimpleNamespace(**values)) or _("Fill in kind and value.")
    return HttpResponse(f'<span id="preview-text">{escape(text)}</span>')


@console_view(Action.CAMPAIGNS_READ)
def batch_detail(request, pk: int):
    actor = request.actor
    batch = selectors.batch_get(tenant=actor.tenant, actor=actor, id=pk)
    moves = [
        verb
        for verb, (_service, target, _done) in ACTIONS.items()
        if target in BATCH_MOVES[batch.status]
        and not (verb == "resume" and batch.status != BatchStatus.PAUSED)
        and not (verb == "activate" and batch.status != BatchStatus.DRAFT)
    ]
    may_issue = actor.can(Action.COUPONS_ISSUE) and batch.status == BatchStatus.ACTIVE
    return render(
        request,
        "coupons/batch_detail.html",
        {
            "batch": batch,
            "summary": selectors.batch_summary(batch),
            "money": selectors.batch_money(tenant=actor.tenant, batch=batch),
            "moves": moves if actor.can(Action.CAMPAIGNS_MANAGE) else [],
            "may_issue": may_issue,
            "segments": selectors.segment_list(tenant=actor.tenant, actor=actor)
            if may_issue
            else [],
            "list_form": forms.IssueListForm(),
            "file_form": forms.IssueFileForm(),
            "generate_form": forms.GenerateForm(),
            "jobs": selectors.job_list(
                tenant=actor.tenant, actor=actor, filters={"batch": batch.pk}
            )[:10],
        },
    )


@require_POST
@console_view(Action.CAMPAIGNS_MANAGE)
def batch_action(request, pk: int, verb: str):
    actor = request.actor
    batch = selectors.batch_get(tenant=actor.tenant, actor=actor, id=pk)
    service, _target, done = ACTIONS[verb]
    run_action(request, service, done, batch=batch, note=request.POST.get("note", ""))
    return redirect("coupons:detail", pk=pk)


@require_POST
@console_view(Action.COUPONS_ISSUE)
def batch_issue(request, pk: int, mode: str):
    """Start a job: mode list, file, segment or generate. Bad input comes back as a message."""
    actor = request.actor
    batch = selectors.batch_get(tenant=actor.tenant, actor=actor, id=pk)
    try:
        if mode == "generate":
            generate = forms.GenerateForm(request.POST)
            if not generate.is_valid():
                raise DomainError(_("Give the number of codes."))
            job = services.generation_job_create(
                tenant=actor.tenant, actor=actor, batch=batch, count=generate.cleaned_data["count"]
            )
        else:
            kwargs: dict[str, Any] = {}  # whom the job issues to: a list, a file or a segment
            if mode == "list":
                listed = forms.IssueListForm(request.POST)
                if not listed.is_valid():
                    raise DomainError(_("Give at least one customer code."))
                kwargs["customers"] = listed.codes()
            elif mode == "file":
                uploaded = forms.IssueFileForm(request.POST, request.FILES)
                if not uploaded.is_valid():
                    raise DomainError(_("Choose a CSV or XLSX file."))
                upload = uploaded.cleaned_data["file"]
                kwargs.update(file_name=upload.name, file_content=upload.read())
            else:
                segment_id = request.POST.get("segment", "")
                kwargs["segment"] = selectors.segment_get(
                    tenant=actor.tenant, actor=actor, id=int(segment_id or 0)
                )
            job = services.issuance_job_create(
                tenant=actor.tenant, actor=actor, batch=batch, **kwargs
            )
    except DomainError as exc:
        messages.error(request, exc.full_text())
        return redirect("coupons:detail", pk=pk)
    messages.success(request, _("Job started."))
    return redirect("coupons:job", pk=job.pk)


@console_view(Action.CAMPAIGNS_READ)
def job_list(request):
    actor = request.actor
    qs = selectors.job_list(tenant=actor.tenant, actor=actor)
    page = paginate(request, qs)
    return render(request, "coupons/job_list.html", {"page": page})


def _job_context(request, pk: int) -> dict:
    actor = request.actor
    job = selectors.job_get(tenant=actor.tenant, actor=actor, id=pk)
    percent = int(job.done * 100 / job.total) if job.total else 100
    return {
        "job": job,
        "percent": percent,
        "finished": job.status in (JobStatus.DONE, JobStatus.FAILED),
        "errors": selectors.job_errors(tenant=actor.tenant, job=job)[:20] if job.failed else [],
    }


@console_view(Action.CAMPAIGNS_READ)
def job_detail(request, pk: int):
    return render(request, "coupons/job_detail.html", _job_context(request, pk))


@console_view(Action.CAMPAIGNS_READ)
def job_progress(request, pk: int):
    """The progress panel alone, polled by HTMX until the job has finished."""
    return render(request, "coupons/_job_progress.html", _job_context(request, pk))


@console_view(Action.COUPONS_ISSUE)
def segment_list(request):
    """Saved customer filters, and a form to save one with a live count of who it matches."""
    actor = request.actor
    form = forms.SegmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.segment_create(
                tenant=actor.tenant,
                actor=actor,
                name=form.cleaned_data["name"],
                filters=form.filters(),
            )
        except DomainError as exc:
            for message in [exc.detail, *(m for ms in exc.fields.values() for m in ms)]:
                form.add_error(None, message)
        else:
            messages.success(request, _("Segment saved."))
            return redirect("coupons:segments")
    segments = [
        (
            segment,
            "; ".join(
                f"{key}: {', '.join(value) if isinstance(value, list) else value}"
                for key, value in segment.filters.items()
            ),
            selectors.segment_preview(tenant=actor.tenant, actor=actor, filters=segment.filters),
        )
        for segment in selectors.segment_list(tenant=actor.tenant, actor=actor)[:50]
    ]
    return render(request, "coupons/segment_list.html", {"form": form, "segments": segments})


@console_view(Action.COUPONS_ISSUE)
def segment_preview(request):
    """The live count of the segment form (HTMX)."""
    form = forms.SegmentForm(request.GET)
    form.is_valid()
    filters = form.filters() if hasattr(form, "cleaned_data") else {}
    try:
        preview = selectors.segment_preview(
            tenant=request.actor.tenant, actor=request.actor, filters=filters
        )
    except (ValueError, DomainError):
        return HttpResponse('<span id="segment-preview">—</span>')
    text = _("%(count)d customers match") % {"count": preview["count"]}
    if preview["sample"]:
        text += ": " + ", ".join(preview["sample"]) + (" …" if preview["count"] > 10 else "")
    return HttpResponse(f'<span id="segment-preview">{escape(text)}</span>')


# --- support: lookup, history, rollback; finance: redemptions ------------------------------------


@console_view(Action.COUPONS_SUPPORT_READ)
def coupon_lookup(request):
    actor = request.actor
    query = request.GET.get("q", "")
    coupons = selectors.coupon_lookup(tenant=actor.tenant, actor=actor, query=query)
    return render(request, "coupons/coupon_lookup.html", {"q": query, "coupons": coupons})


@console_view(Action.COUPONS_SUPPORT_READ)
def coupon_detail(request, pk: int):
    actor = request.actor
    coupon = selectors.coupon_get(tenant=actor.tenant, actor=actor, id=pk)
    # Through the scoped selector: a regional operator's customer may have redeemed at another
    # region's merchant, and that row is not theirs to see (nor to roll back here).
    redemptions = selectors.redemption_list(
        tenant=actor.tenant, actor=actor, filters={"coupon": coupon.pk}
    ).order_by("-redeemed_at", "-id")
    live = [r for r in redemptions if r.rolled_back_at is None]
    if request.method == "POST":
        # The confirmation step: the page shows the redemption; this POST gives it back.
        if not actor.can(Action.COUPONS_SUPPORT) or not live:
            messages.error(request, _("Nothing to roll back."))
        else:
            try:
                services.coupon_rollback(
                    tenant=actor.tenant,
                    actor=actor,
                    code=coupon.code or coupon.batch.shared_code or "",
                    order=live[0].order_ref,
                )
            except DomainError as exc:
                messages.error(request, exc.detail)
            else:
                messages.success(request, _("Coupon rolled back."))
        return redirect("coupons:coupon", pk=pk)
    return render(
        request,
        "coupons/coupon_detail.html",
        {
            "coupon": coupon,
            "redemptions": redemptions,
            "live": live[0] if live else None,
            "confirm": request.GET.get("confirm") == "rollback",
            "may_rollback": actor.can(Action.COUPONS_SUPPORT),
            "history": selectors.coupon_history(tenant=actor.tenant, actor=actor, coupon=coupon),
        },
    )


@console_view(Action.COUPONS_SUPPORT_READ)
def redemption_list(request):
    actor = request.actor
    f = request.GET
    try:
        qs = selectors.redemption_list(tenant=actor.tenant, actor=actor, filters=f)
    except ValidationFailed as exc:  # a batch id or a day that isn't one: say so, list them all
        messages.error(request, exc.full_text())
        qs = selectors.redemption_list(tenant=actor.tenant, actor=actor)
    page = paginate(request, qs)
    filtered = any(f.get(k) for k in ("batch", "merchant", "order", "since", "until"))
    return render(
        request,
        "coupons/redemption_list.html",
        {"page": page, "filters": f, "filtered": filtered},
    )


@console_view(Action.CAMPAIGNS_READ)
def rule_list(request):
    actor = request.actor
    batches = selectors.batch_list(tenant=actor.tenant, actor=actor).filter(
        status=BatchStatus.ACTIVE
    )
    if request.method == "POST" and actor.can(Action.CAMPAIGNS_MANAGE):
        p = request.POST
        try:
            batch_id = p.get("batch", "")
            batch = selectors.batch_get(
                tenant=actor.tenant, actor=actor, id=int(batch_id) if batch_id.isdigit() else 0
            )
            services.issuance_rule_create(
                tenant=actor.tenant,
                actor=actor,
                batch=batch,
                event=p.get("event", ""),
                frequency_cap_count=_number(p.get("cap_count")),
                frequency_cap_days=_number(p.get("cap_days")),
            )
        except DomainError as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, _("Rule added."))
        return redirect("coupons:rules")
    return render(
        request,
        "coupons/rule_list.html",
        {
            "rules": selectors.issuance_rule_list(tenant=actor.tenant, actor=actor),
            "batches": batches,
            "events": EventType.choices,
            "may_manage": actor.can(Action.CAMPAIGNS_MANAGE),
        },
    )


RULE_ACTIONS: LifeCycleActions = {
    "activate": (services.issuance_rule_activate, gettext_lazy("Rule active: events issue again.")),
    "deactivate": (services.issuance_rule_deactivate, gettext_lazy("Rule disabled.")),
}


def _number(value: str) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


@require_POST
@console_view(Action.CAMPAIGNS_MANAGE)
def rule_action(request, pk: int, verb: str):
    """Change a rule's frequency cap (verb `update`), or disable/enable it."""
    actor = request.actor
    if verb != "update" and verb not in RULE_ACTIONS:
        raise NotFoundError(_("Not found."))
    rule = selectors.issuance_rule_get(tenant=actor.tenant, actor=actor, id=pk)
    if verb == "update":
        run_action(
            request, services.issuance_rule_update, gettext_lazy("Rule changed."), rule=rule,
            frequency_cap_count=_number(request.POST.get("cap_count")),
            frequency_cap_days=_number(request.POST.get("cap_days")),
        )  # fmt: skip
    else:
        service, done = RULE_ACTIONS[verb]
        run_action(request, service, done, rule=rule)
    return redirect("coupons:rules")


@require_POST
@console_view(Action.CAMPAIGNS_MANAGE)
def fraud_settings(request):
    """The blocklist page's fraud limits form: the two tenant limits, each campaign limit
    (`limit_<campaign id>`, blank to remove) and one new campaign limit."""
    actor = request.actor
    p = request.POST
    campaigns = {c.pk: c for c in campaign_list(tenant=actor.tenant, actor=actor)}
    limits: dict = {}
    for key, value in p.items():
        if key.startswith("limit_") and key[6:].isdigit() and value.strip():
            limits[campaigns.get(int(key[6:]))] = _number(value) or 0
    new_campaign = _number(p.get("new_campaign"))
    if new_campaign is not None and p.get("new_limit", "").strip():
        limits[campaigns.get(new_campaign)] = _number(p.get("new_limit")) or 0
    try:
        if None in limits:
            raise NotFoundError(_("Unknown campaign."))
        services.fraud_settings_update(
            tenant=actor.tenant,
            actor=actor,
            customer_daily=_number(p.get("customer_daily")) or 0,
            fingerprint_customers=_number(p.get("fingerprint_customers")) or 0,
            campaign_limits=limits,
        )
    except DomainError as exc:
        messages.error(request, exc.full_text())
    else:
        messages.success(request, _("Fraud limits saved."))
    return redirect("coupons:blocklist")


@console_view(Action.COUPONS_SUPPORT_READ)
def blocklist(request):
    actor = request.actor
    if request.method == "POST" and actor.can(Action.COUPONS_SUPPORT):
        code = request.POST.get("customer", "").strip()
        try:
            customer = customer_get(tenant=actor.tenant, actor=actor, code=code)
        except NotFoundError:
            customer = None
        if customer is None:
            messages.error(request, _("Unknown customer."))
        elif request.POST.get("action") == "unblock":
            services.customer_unblock(tenant=actor.tenant, actor=actor, customer=customer)
            messages.success(request, _("Customer removed from the blocklist."))
        else:
            services.customer_block(
                tenant=actor.tenant,
                actor=actor,
                customer=customer,
                reason=request.POST.get("reason", "")[:255],
            )
            messages.success(request, _("Customer blocked."))
        return redirect("coupons:blocklist")
    page = paginate(request, selectors.blocked_customer_list(tenant=actor.tenant, actor=actor))
    may_change_limits = services.fraud_settings_changeable(actor)
    limits = selectors.campaign_limit_list(tenant=actor.tenant, actor=actor)
    return render(
        request,
        "coupons/blocklist.html",
        {
            "page": page,
            "may_manage": actor.can(Action.COUPONS_SUPPORT),
            "fraud": selectors.fraud_settings_get(tenant=actor.tenant, actor=actor),
            "campaign_limits": limits,
            "may_change_limits": may_change_limits,
            "campaigns": campaign_list(tenant=actor.tenant, actor=actor).exclude(
                pk__in=limits.values("campaign_id")
            )
            if may_change_limits
            else [],
        },
    )
