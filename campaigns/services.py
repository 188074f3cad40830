"""Every write of campaigns and channels: create, change, life cycle, the advance task."""

import logging
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Region, Tenant, User
from accounts.permissions import Actor
from accounts.roles import Action
from budgets.models import Budget, BudgetStatus
from core.errors import (
    ConflictError,
    CoreErrorCode,
    PermissionDeniedError,
    ValidationFailed,
    invalid_transition,
)
from core.models import AuditEntry
from core.services import audit_record, snapshot
from core.tenant_setup import tenant_setup_step
from coupons.services import coupons_on_campaign_ended

from .checks import CheckReport, campaign_check_run, check_refusal
from .errors import CampaignErrorCode
from .models import CAMPAIGN_MOVES, DEFAULT_CHANNELS, Campaign, CampaignStatus, Channel
from .scope import campaign_require_change, campaign_require_regions
from .simulation import shadows_drop

logger = logging.getLogger("pointsops.campaigns")

# --- channels -------------------------------------------------------------------------------


@tenant_setup_step
def channels_create_defaults(*, tenant: Tenant) -> None:
    """Give a new tenant the default channel list of SPEC §2.2 (safe to run again)."""
    existing = set(Channel.objects.for_tenant(tenant).values_list("code", flat=True))
    Channel.objects.bulk_create(
        Channel(tenant=tenant, code=code, name=name)
        for code, name in DEFAULT_CHANNELS
        if code not in existing
    )


def _require_channel_admin(actor: Actor) -> None:
    # The channel list is the whole tenant's: only those who operate without a scope edit it.
    actor.require(Action.CAMPAIGNS_MANAGE)
    if actor.region_ids is not None or actor.business_unit_id is not None:
        raise PermissionDeniedError(_("Only tenant-wide operators edit the channel list."))


@transaction.atomic
def channel_create(*, tenant: Tenant, actor: Actor, code: str, name: str) -> Channel:
    _require_channel_admin(actor)
    if Channel.objects.for_tenant(tenant).filter(code=code).exists():
        raise ValidationFailed(
            _("A channel with this code exists."), fields={"code": [_("Taken.")]}
        )
    channel = Channel.objects.create(tenant=tenant, code=code, name=name)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="channel.create",
        obj=channel,
        after=snapshot(channel, fields=["code", "name", "is_active"]),
    )
    return channel


@transaction.atomic
def channel_update(
    *,
    tenant: Tenant,
    actor: Actor,
    channel: Channel,
    name: str | None = None,
    is_active: bool | None = None,
) -> Channel:
    """Rename or retire a channel. A retired one stays on past campaigns, for their reports."""
    _require_channel_admin(actor)
    before = snapshot(channel, fields=["code", "name", "is_active"])
    if name is not None:
        channel.name = name
    if is_active is not None:
        channel.is_active = is_active
    channel.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="channel.update",
        obj=channel,
        before=before,
        after=snapshot(channel, fields=["code", "name", "is_active"]),
    )
    return channel


# --- campaigns --------------------------------------------------------------------------------


def _campaign_snapshot(campaign: Campaign) -> dict:
    data = snapshot(
        campaign,
        fields=["name", "description", "business_unit", "budget", "starts_at", "ends_at", "owner"],
    )
    data["status"] = campaign.status
    data["channels"] = sorted(c.code for c in campaign.channels.all())
    data["regions"] = sorted(r.code for r in campaign.regions.all())
    return data


def _check_budget_choice(actor: Actor, budget: Budget) -> None:
    if actor.business_unit_id is not None and budget.business_unit_id != actor.business_unit_id:
        raise ValidationFailed(
            _("Choose a budget of your business unit."), fields={"budget": [_("Not yours.")]}
        )
    if budget.status in (BudgetStatus.CLOSED, BudgetStatus.REJECTED):
        raise ValidationFailed(
            _("The budget is %s; choose an open one.") % budget.status,
            fields={"budget": [_("Not open.")]},
        )


def _check_fields(*, starts_at: datetime, ends_at: datetime, regions: list[Region]) -> None:
    errors = {}
    if ends_at <= starts_at:
        errors["ends_at"] = [_("Must be after starts_at.")]
    if not regions:
        errors["regions"] = [_("Choose at least one target region.")]
    if errors:
        raise ValidationFailed(_("Check the campaign's fields."), fields=errors)


def _lock(tenant: Tenant, campaign: Campaign) -> Campaign:
    # NO KEY: a plain FOR UPDATE would block the KEY SHARE locks that budget entries naming the
    # campaign take at commit, while ending it goes on to the budget those orders hold.
    return (
        Campaign.objects.for_tenant(tenant)
        .select_for_update(of=("self",), no_key=True)
        .select_related("budget")
        .get(pk=campaign.pk)
    )


@transaction.atomic
def campaign_create(
    *,
    tenant: Tenant,
    actor: Actor,
    name: str,
    budget: Budget,
    starts_at: datetime,
    ends_at: datetime,
    regions: Iterable[Region],
    channels: Iterable[Channel] = (),
    description: str = "",
    owner: User | None = None,
) -> Campaign:
    actor.require(Action.CAMPAIGNS_MANAGE)
    regions, channels = list(regions), list(channels)
    _check_fields(starts_at=starts_at, ends_at=ends_at, regions=regions)
    _check_budget_choice(actor, budget)
    campaign_require_regions(actor=actor, region_ids=(r.pk for r in regions))
    campaign = Campaign.objects.create(
        tenant=tenant,
        name=name,
        description=description,
        business_unit_id=budget.business_unit_id,
        budget=budget,
        starts_at=starts_at,
        ends_at=ends_at,
        owner=owner or actor.user,
    )
    campaign.regions.set(regions)
    campaign.channels.set(channels)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="campaign.create",
        obj=campaign,
        after=_campaign_snapshot(campaign),
    )
    return campaign


CAMPAIGN_EDITABLE = (
    "name",
    "description",
    "budget",
    "starts_at",
    "ends_at",
    "regions",
    "channels",
    "owner",
)


@transaction.atomic
def campaign_update(
    *,
    tenant: Tenant,
    actor: Actor,
    campaign: Campaign,
    **changes,  # a partial update: only the fields sent (of CAMPAIGN_EDITABLE) change
) -> Campaign:
    """Change a campaign that has not ended. Once scheduled, its budget stays, and a change that
    the check refuses (dates outside the budget …) is refused with the check's errors."""
    unknown = set(changes) - set(CAMPAIGN_EDITABLE)
    if unknown:
        raise ValidationFailed(
            _("These fields cannot be changed: %s.") % ", ".join(sorted(unknown))
        )
    campaign_require_change(actor=actor, campaign=campaign)
    campaign = _lock(tenant, campaign)
    if campaign.status == CampaignStatus.ENDED:
        raise ConflictError(
            _("An ended campaign cannot be changed."), code=CoreErrorCode.INVALID_TRANSITION
        )
    before = _campaign_snapshot(campaign)
    if "budget" in changes and changes["budget"].pk != campaign.budget_id:
        if campaign.status != CampaignStatus.DRAFT:
            raise ValidationFailed(
                _("Only a draft campaign moves to another budget."),
                fields={"budget": [_("Fixed once scheduled.")]},
            )
        _check_budget_choice(actor, changes["budget"])
        campaign.budget = changes["budget"]
        campaign.business_unit_id = changes["budget"].business_unit_id
    started = campaign.status in (CampaignStatus.RUNNING, CampaignStatus.PAUSED)
    if started and changes.get("starts_at", campaign.starts_at) != campaign.starts_at:
        raise ValidationFailed(
            _("A campaign that has started keeps its start time."),
            fields={"starts_at": [_("Already started.")]},
        )
    for field in ("name", "description", "starts_at", "ends_at", "owner"):
        if field in changes:
            setattr(campaign, field, changes[field])
    regions = list(changes["regions"]) if "regions" in changes else list(campaign.regions.all())
    _check_fields(starts_at=campaign.starts_at, ends_at=campaign.ends_at, regions=regions)
    if "regions" in changes:
        campaign_require_regions(actor=actor, region_ids=(r.pk for r in regions))
        campaign.regions.set(regions)
    if "channels" in changes:
        campaign.channels.set(changes["channels"])
    campaign.save()
    if campaign.status != CampaignStatus.DRAFT:
        _refuse_on_errors(tenant, campaign)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="campaign.update",
        obj=campaign,
        before=before,
        after=_campaign_snapshot(campaign),
    )
    return campaign


def campaign_check(*, tenant: Tenant, campaign: Campaign, window=None) -> dict:
    """`{errors, warnings, simulation}` (SPEC §8); the simulation replays `window` (from, to),
    by default as long as the campaign and ending where today begins."""
    return campaign_check_run(tenant=tenant, campaign=campaign, window=window).as_dict()


def _refuse_on_errors(
    tenant: Tenant, campaign: Campaign, *, acknowledge_warnings: bool = True
) -> CheckReport:
    report = campaign_check_run(tenant=tenant, campaign=campaign)
    if report.errors:
        raise check_refusal(
            report.errors,
            _("The campaign check found errors."),
            CampaignErrorCode.CAMPAIGN_CHECK_FAILED,
        )
    if report.warnings and not acknowledge_warnings:
        raise check_refusal(
            report.warnings,
            _("The campaign check has warnings; acknowledge them to go on."),
            CampaignErrorCode.WARNINGS_NOT_ACKNOWLEDGED,
        )
    return report


def _transition(
    tenant: Tenant, actor: Actor, campaign: Campaign, target: str, verb: str, note: str = ""
) -> Campaign:
    if target not in CAMPAIGN_MOVES[campaign.status]:
        raise invalid_transition(_("campaign"), campaign.status, target)
    before = _campaign_snapshot(campaign)
    now = timezone.now()
    if campaign.status == CampaignStatus.SCHEDULED:
        shadows_drop(campaign_ids=[campaign.pk])  # from its start its awards are real
    campaign.status = target
    stamp = {"schedule": "scheduled_at", "start": "started_at", "end": "ended_at"}.get(verb)
    if stamp:
        setattr(campaign, stamp, now)
    campaign.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action=f"campaign.{verb}",
        obj=campaign,
        before=before,
        after=_campaign_snapshot(campaign),
        note=note,
    )
    return campaign


@transaction.atomic
def campaign_schedule(
    *, tenant: Tenant, actor: Actor, campaign: Campaign, acknowledge_warnings: bool = False
) -> Campaign:
    """draft → scheduled after the check; at once → running when its start time has come."""
    campaign_require_change(actor=actor, campaign=campaign)
    campaign = _lock(tenant, campaign)
    if CampaignStatus.SCHEDULED not in CAMPAIGN_MOVES[campaign.status]:
        raise invalid_transition(_("campaign"), campaign.status, CampaignStatus.SCHEDULED)
    report = _refuse_on_errors(tenant, campaign, acknowledge_warnings=acknowledge_warnings)
    if report.warnings:
        # Who went on despite which warnings, and when: the audit entry is the record.
        audit_record(
            tenant=tenant,
            actor=actor,
            action="campaign.acknowledge_warnings",
            obj=campaign,
            after={
                "warnings": [{"code": w["code"], "detail": w["detail"]} for w in report.warnings]
            },
        )
    campaign = _transition(tenant, actor, campaign, CampaignStatus.SCHEDULED, "schedule")
    if campaign.starts_at <= timezone.now():
        campaign = _transition(tenant, actor, campaign, CampaignStatus.RUNNING, "start")
    return campaign


@transaction.atomic
def campaign_pause(*, tenant: Tenant, actor: Actor, campaign: Campaign, note: str = "") -> Campaign:
    campaign_require_change(actor=actor, campaign=campaign)
    campaign = _lock(tenant, campaign)
    return _transition(tenant, actor, campaign, CampaignStatus.PAUSED, "pause", note)


@transaction.atomic
def campaign_resume(
    *, tenant: Tenant, actor: Actor, campaign: Campaign, note: str = ""
) -> Campaign:
    """paused → running, unless the check now finds an error (the budget was closed …)."""
    campaign_require_change(actor=actor, campaign=campaign)
    campaign = _lock(tenant, campaign)
    if CampaignStatus.RUNNING not in CAMPAIGN_MOVES[campaign.status] or (
        campaign.status != CampaignStatus.PAUSED
    ):
        raise invalid_transition(_("campaign"), campaign.status, CampaignStatus.RUNNING)
    _refuse_on_errors(tenant, campaign)
    return _transition(tenant, actor, campaign, CampaignStatus.RUNNING, "resume", note)


def _end(tenant: Tenant, actor: Actor, campaign: Campaign, note: str = "") -> Campaign:
    """The one rule of ending, by hand or on time, on a campaign whose row the caller locked:
    its batches end and what they no longer need is released (see coupons_on_campaign_ended)."""
    campaign = _transition(tenant, actor, campaign, CampaignStatus.ENDED, "end", note)
    coupons_on_campaign_ended(tenant=tenant, actor=actor, campaign=campaign)
    return campaign


@transaction.atomic
def campaign_end(*, tenant: Tenant, actor: Actor, campaign: Campaign, note: str = "") -> Campaign:
    """scheduled | running | paused → ended. Its active and paused coupon batches end, giving
    back the stock never issued; coupons of batches without extend_past_campaign expire now."""
    campaign_require_change(actor=actor, campaign=campaign)
    campaign = _lock(tenant, campaign)
    return _end(tenant, actor, campaign, note)


# --- time: the periodic task ------------------------------------------------------------------

ADVANCE_CHUNK = 500


def _advance(condition: Q, *, target: str, verb: str, stamp: str, now: datetime) -> int:
    """Move every campaign matching `condition` to `target`, a chunk per transaction.

    Rows are claimed with SKIP LOCKED and re-filtered by status in the UPDATE, so two runs at
    once (or a run beside a user's click) never move a campaign twice.
    """
    moved = 0
    while True:
        with transaction.atomic():
            rows = list(
                Campaign.objects.unscoped()
                .filter(condition)
                .select_for_update(skip_locked=True)
                .order_by("pk")
                .values_list("pk", "tenant_id", "status", "name")[:ADVANCE_CHUNK]
            )
            if not rows:
                return moved
            updated = (
                Campaign.objects.unscoped()
                .filter(condition, pk__in=[r[0] for r in rows])
                .update(status=target, **{stamp: now}, updated_at=now)
            )
            if updated != len(rows):  # cannot happen while the rows are locked; never loop on it
                raise RuntimeError("Campaigns changed under their row locks.")
            AuditEntry.objects.bulk_create(
                AuditEntry(
                    tenant_id=tenant_id,
                    actor_label="system",
                    action=f"campaign.{verb}",
                    object_type=Campaign._meta.label_lower,
                    object_id=str(pk),
                    object_repr=name[:200],
                    before={"status": status},
                    after={"status": target},
                    note=_("On time (periodic task)."),
                )
                for pk, tenant_id, status, name in rows
            )
            if target == CampaignStatus.RUNNING:
                shadows_drop(campaign_ids=[r[0] for r in rows])
            moved += len(rows)


def _end_due(now: datetime) -> int:
    """End every campaign past its end time through `_end`, one transaction each (ending moves
    its batches, coupons and budget). Claimed with SKIP LOCKED and re-read by status, so two
    runs at once (or a run beside a user's click) end a campaign once; one that fails is logged
    and left for the next run, without holding up the others."""
    due = Q(
        status__in=[CampaignStatus.SCHEDULED, CampaignStatus.RUNNING, CampaignStatus.PAUSED],
        ends_at__lte=now,
    )
    ended, failed = 0, set[int]()
    while True:
        with transaction.atomic():
            campaign = (
                Campaign.objects.unscoped()
                .filter(due)
                .exclude(pk__in=failed)
                .select_for_update(of=("self",), skip_locked=True, no_key=True)
                .select_related("tenant", "budget")
                .order_by("pk")
                .first()
            )
            if campaign is None:
                return ended
            actor = Actor.for_system(campaign.tenant)
            try:
                with transaction.atomic():  # a savepoint: a failure undoes this campaign only
                    _end(campaign.tenant, actor, campaign, _("On time (periodic task)."))
            except Exception:
                logger.exception("Campaign %s could not be ended on time.", campaign.pk)
                failed.add(campaign.pk)
                continue
            ended += 1


def campaigns_advance(*, now: datetime | None = None) -> dict[str, int]:
    """Start scheduled campaigns whose start time has come, end those whose end time has.

    Platform-wide (every tenant); running it twice changes nothing the second time.
    """
    now = now or timezone.now()
    ended = _end_due(now)
    started = _advance(
        Q(status=CampaignStatus.SCHEDULED, starts_at__lte=now, ends_at__gt=now),
        target=CampaignStatus.RUNNING,
        verb="start",
        stamp="started_at",
        now=now,
    )
    return {"started": started, "ended": ended}
