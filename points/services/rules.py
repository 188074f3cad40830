"""Points rules of campaigns: create, change, switch on and off (SPEC §3.3)."""

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from accounts.models import Region, Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from campaigns.checks import campaigns_kept_sound, live_campaigns
from campaigns.models import Campaign, CampaignStatus
from core.errors import ConflictError, NotFoundError, ValidationFailed
from core.services import audit_record, snapshot

from .. import locks
from ..errors import PointsErrorCode
from ..models import AwardStatus, OrderAward, PointsProgram, PointsRule, RuleKind, RuleRegionCounter
from ._common import invalid, keeps_region_counts, switch_active

RULE_FIELDS = [
    "name",
    "kind",
    "points",
    "per_amount",
    "min_amount",
    "tiers",
    "milestone",
    "cap_total",
    "cap_per_holder_week",
    "cap_per_region",
    "is_active",
]


def _rule_invalid(field_name: str, message: str):
    return invalid(field_name, message, code=PointsErrorCode.INVALID_RULE)


def _clean_rule(kind: str, data: dict, regions) -> None:
    if kind in (RuleKind.PER_ORDER, RuleKind.PER_AMOUNT) and not data.get("points"):
        raise _rule_invalid("points", _("Say how many points an order earns."))
    if kind == RuleKind.PER_AMOUNT and not (data.get("per_amount") or 0) > 0:
        raise _rule_invalid("per_amount", _("Say per how much money the points are earned."))
    if kind == RuleKind.REGION_FIRST_N:
        tiers = data.get("tiers") or []
        if not regions:
            raise _rule_invalid("regions", _("Name the regions whose first orders earn."))
        if not tiers:
            raise _rule_invalid("tiers", _("Give at least one tier."))
        previous_to = 0
        for tier in sorted(tiers, key=lambda t: t["from"]):
            if tier["from"] < 1 or tier["to"] < tier["from"] or tier["points"] < 1:
                raise _rule_invalid("tiers", _("Each tier runs from a rank to a later one."))
            if tier["from"] <= previous_to:
                raise _rule_invalid("tiers", _("Tiers must not overlap."))
            previous_to = tier["to"]
    if kind == RuleKind.MILESTONE:
        milestone = data.get("milestone") or {}
        if not (
            milestone.get("count", 0) >= 1
            and milestone.get("points", 0) >= 1
            and milestone.get("period") in ("week", "month")
        ):
            raise _rule_invalid(
                "milestone", _("A milestone has a count, a period (week, month) and points.")
            )


def _rule_snapshot(rule: PointsRule) -> dict:
    data = snapshot(rule, fields=[*RULE_FIELDS, "campaign", "program"])
    data["regions"] = sorted(rule.regions.values_list("code", flat=True))
    return data


@transaction.atomic
def rule_create(
    *,
    tenant: Tenant,
    actor: Actor,
    campaign: Campaign,
    program: PointsProgram,
    kind: str,
    regions: Iterable[Region] = (),
    name: str = "",
    points: int | None = None,
    per_amount: Decimal | None = None,
    min_amount: Decimal | None = None,
    tiers: Iterable[dict] = (),
    milestone: dict | None = None,
    cap_total: int | None = None,
    cap_per_holder_week: int | None = None,
    cap_per_region: int | None = None,
    is_active: bool = True,
) -> PointsRule:
    """A rule of a campaign; the defaults are the model's."""
    actor.require(Action.CAMPAIGNS_MANAGE)
    regions = list(regions)
    # A regional operator's rule names only their regions: another region is not found.
    if not actor.owns_wholly(region_ids=[r.pk for r in regions]):
        raise NotFoundError(_("Not found."))
    _require_campaign_unit(actor, campaign)
    if campaign.status == CampaignStatus.ENDED:
        raise ConflictError(_("The campaign has ended."), code=PointsErrorCode.INVALID_RULE)
    data: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "points": points,
        "per_amount": per_amount,
        "min_amount": min_amount,
        "tiers": list(tiers),
        "milestone": dict(milestone or {}),
        "cap_total": cap_total,
        "cap_per_holder_week": cap_per_holder_week,
        "cap_per_region": cap_per_region,
        "is_active": is_active,
    }
    _clean_rule(kind, data, regions)
    if kind == RuleKind.REGION_FIRST_N:
        data["tiers"] = sorted(data["tiers"], key=lambda t: t["from"])
    with campaigns_kept_sound(tenant, live_campaigns(tenant, campaign=campaign)):
        rule = PointsRule.objects.create(tenant=tenant, campaign=campaign, program=program, **data)
        rule.regions.set(regions)
    # The counters exist before the first order, so ranking never races to create them.
    RuleRegionCounter.objects.bulk_create(
        [RuleRegionCounter(tenant=tenant, rule=rule, region=region) for region in regions]
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="points_rule.create",
        obj=rule,
        after=_rule_snapshot(rule),
    )
    return rule


RULE_UPDATE_FIELDS = [
    "name",
    "points",
    "per_amount",
    "min_amount",
    "tiers",
    "milestone",
    "cap_total",
    "cap_per_holder_week",
    "cap_per_region",
]


def _require_campaign_unit(actor: Actor, campaign: Campaign) -> None:
    """A business-unit admin's rule sits in a campaign of their unit; another unit's is hidden."""
    if not actor.owns_wholly(business_unit_id=campaign.business_unit_id):
        raise NotFoundError(_("Not found."))


def _require_rule_in_scope(actor: Actor, rule: PointsRule, region_ids: Iterable[int]) -> None:
    """A regional operator changes a rule only when all its regions, before and after, are
    theirs (a rule naming no region runs everywhere); a business-unit admin only their BU's.
    The rule's own regions decide, not its campaign's: a rule for one region of a campaign
    spanning several is that region's operator's to change."""
    actor.require_owns_wholly(
        region_ids=region_ids, message=_("Some of the rule's regions are not yours.")
    )
    _require_campaign_unit(actor, rule.campaign)


def _refuse_if_ended(rule: PointsRule) -> None:
    if rule.campaign.status == CampaignStatus.ENDED:
        raise ConflictError(_("The campaign has ended."), code=PointsErrorCode.INVALID_RULE)


def _recount_rule_awards(
    tenant: Tenant, rule: PointsRule, *, total: bool, per_region: bool
) -> None:
    """Bring a cap's running sum up to date when the cap is set on a rule that had none.

    The sums are kept only while a cap needs them (the rule's `awarded` for cap_total, its
    region counters' `awarded` for cap_per_region or a first-N ranking, see
    `awards._record_earn`), so a new cap starts from the points the rule's awards still hold.
    An order of an uncapped rule takes none of these locks, so one placed in the very instant
    of the change can be left out: the cap is then exceeded by at most that order's points.
    """
    active = OrderAward.objects.for_tenant(tenant).filter(rule=rule, status=AwardStatus.ACTIVE)
    if per_region:
        in_region = (
            active.filter(region_id=OuterRef("region_id"))
            .order_by()
            .values("rule")
            .annotate(s=Sum("points"))
            .values("s")
        )
        RuleRegionCounter.objects.for_tenant(tenant).filter(rule=rule).update(
            awarded=Coalesce(Subquery(in_region), 0)
        )
    if total:
        rule.awarded = active.aggregate(s=Sum("points"))["s"] or 0


@transaction.atomic
def rule_update(
    *,
    tenant: Tenant,
    actor: Actor,
    rule: PointsRule,
    regions: Iterable[Region] | None = None,
    **changes,  # a partial update: only the fields sent (of RULE_UPDATE_FIELDS) change
) -> PointsRule:
    """Change a rule's points, tiers, caps, minimum, regions or milestone; from the next order.

    Awards already made keep their points and ranks. A first-N rule's region counters are never
    reset or removed: a region taken off the rule keeps its count, so should it be named again
    its next order continues the ranking (no order is ever the first twice), and a new tier
    table applies to the ranks still to come: tiers ending below the ranks already given simply
    award nothing more there. The kind, campaign and program cannot change (make a new rule).
    """
    actor.require(Action.CAMPAIGNS_MANAGE)
    unknown = set(changes) - set(RULE_UPDATE_FIELDS)
    if unknown:
        message = _("These fields cannot be changed: %s.") % ", ".join(sorted(unknown))
        raise ValidationFailed(message, fields={name: [message] for name in unknown})
    old_regions = list(rule.regions.values_list("pk", flat=True))
    _require_rule_in_scope(actor, rule, old_regions)
    regions = None if regions is None else list(regions)
    if regions is not None:
        _require_rule_in_scope(actor, rule, [r.pk for r in regions])
    new_cap_per_region = changes.get("cap_per_region", rule.cap_per_region)
    recount_regions = not keeps_region_counts(rule.kind, rule.cap_per_region) and (
        keeps_region_counts(rule.kind, new_cap_per_region)
    )
    if regions is not None:
        # Counters of new regions exist before their first order, as at creation; made before
        # the rule is locked, as counters come before rules in the lock order.
        RuleRegionCounter.objects.bulk_create(
            [RuleRegionCounter(tenant=tenant, rule=rule, region=region) for region in regions],
            ignore_conflicts=True,
        )
    if recount_regions:
        locks.lock_rule_counters(tenant, rule)
    rule = locks.lock_rule(tenant, rule)
    _refuse_if_ended(rule)
    before = _rule_snapshot(rule)
    data = {name: getattr(rule, name) for name in RULE_UPDATE_FIELDS} | changes
    data["milestone"] = data["milestone"] or {}
    data["tiers"] = data["tiers"] or []
    _clean_rule(rule.kind, data, old_regions if regions is None else regions)
    if rule.kind == RuleKind.REGION_FIRST_N:
        data["tiers"] = sorted(data["tiers"], key=lambda t: t["from"])
    _recount_rule_awards(
        tenant,
        rule,
        total=rule.cap_total is None and data["cap_total"] is not None,
        per_region=recount_regions,
    )
    if data["cap_total"] is not None and rule.awarded > data["cap_total"]:
        raise _rule_invalid(
            "cap_total",
            _("The rule has already awarded %(n)d points; its total cap cannot be lower.")
            % {"n": rule.awarded},
        )
    with campaigns_kept_sound(tenant, live_campaigns(tenant, campaign=rule.campaign)):
        for name in RULE_UPDATE_FIELDS:
            setattr(rule, name, data[name])
        rule.save(update_fields=[*RULE_UPDATE_FIELDS, "awarded", "updated_at"])
        if regions is not None:
            rule.regions.set(regions)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="points_rule.update",
        obj=rule,
        before=before,
        after=_rule_snapshot(rule),
    )
    return rule


def _rule_set_active(tenant: Tenant, actor: Actor, rule: PointsRule, is_active: bool, note: str):
    actor.require(Action.CAMPAIGNS_MANAGE)
    _require_rule_in_scope(actor, rule, rule.regions.values_list("pk", flat=True))
    rule = locks.lock_rule(tenant, rule)
    if is_active:
        _refuse_if_ended(rule)
    with campaigns_kept_sound(tenant, live_campaigns(tenant, campaign=rule.campaign)):
        return switch_active(
            tenant, actor, rule, is_active, note, noun="points_rule", label=_("points rule")
        )


@transaction.atomic
def rule_deactivate(
    *, tenant: Tenant, actor: Actor, rule: PointsRule, note: str = ""
) -> PointsRule:
    """The rule awards nothing on later orders (`awards._rules_for` skips it); its awards
    stay, and their pending points still activate or are cancelled with their orders."""
    return _rule_set_active(tenant, actor, rule, False, note)


@transaction.atomic
def rule_activate(*, tenant: Tenant, actor: Actor, rule: PointsRule, note: str = "") -> PointsRule:
    return _rule_set_active(tenant, actor, rule, True, note)
