"""Issuance rules and the events that fire them (SPEC §2.4 Automatic)."""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import scope as data_scope
from accounts.models import Customer, Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from campaigns.scope import campaign_changeable, campaign_require_change
from core.errors import ConflictError, RuleRefusal, ValidationFailed, invalid_transition
from core.services import audit_record, snapshot

from .. import locks
from ..errors import CouponErrorCode, CouponReason
from ..models import BatchStatus, CouponBatch, Event, EventIssue, EventType, IssuanceRule
from .fraud import _fraud_limit_hit, customer_blocked
from .issuing import coupon_issue

RULE_AUDIT_FIELDS = ["batch", "event", "frequency_cap_count", "frequency_cap_days", "active"]


def _rule_cap_errors(count: int | None, days: int | None) -> dict:
    if (count is None) != (days is None) or (
        count is not None and days is not None and (count < 1 or days < 1)
    ):
        return {"frequency_cap": [_("Give count and days, each at least 1.")]}
    return {}


@transaction.atomic
def issuance_rule_create(
    *,
    tenant: Tenant,
    actor: Actor,
    batch: CouponBatch,
    event: str,
    frequency_cap_count: int | None = None,
    frequency_cap_days: int | None = None,
) -> IssuanceRule:
    campaign_require_change(actor=actor, campaign=batch.campaign)
    errors = _rule_cap_errors(frequency_cap_count, frequency_cap_days)
    if event not in EventType.values:
        errors["event"] = [_("Unknown event type.")]
    if errors:
        raise ValidationFailed(_("Check the rule."), fields=errors)
    rule = IssuanceRule.objects.create(
        tenant=tenant,
        batch=batch,
        event=event,
        frequency_cap_count=frequency_cap_count,
        frequency_cap_days=frequency_cap_days,
        created_by=actor.user,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="issuance_rule.create",
        obj=rule,
        after=snapshot(rule, fields=RULE_AUDIT_FIELDS),
    )
    return rule


def _rule_to_change(tenant: Tenant, actor: Actor, rule: IssuanceRule) -> IssuanceRule:
    """The rule, locked, once the actor may change its campaign."""
    campaign_require_change(actor=actor, campaign=rule.batch.campaign)
    return locks.lock_rule(tenant, rule)


def _save_rule(
    tenant: Tenant, actor: Actor, rule: IssuanceRule, before: dict, verb: str, note: str = ""
):
    rule.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action=f"issuance_rule.{verb}",
        obj=rule,
        before=before,
        after=snapshot(rule, fields=RULE_AUDIT_FIELDS),
        note=note,
    )
    return rule


@transaction.atomic
def issuance_rule_update(
    *,
    tenant: Tenant,
    actor: Actor,
    rule: IssuanceRule,
    frequency_cap_count: int | None,
    frequency_cap_days: int | None,
) -> IssuanceRule:
    """Change the rule's frequency cap (None and None: no cap); it counts from the next event."""
    rule = _rule_to_change(tenant, actor, rule)
    errors = _rule_cap_errors(frequency_cap_count, frequency_cap_days)
    if errors:
        raise ValidationFailed(_("Check the rule."), fields=errors)
    before = snapshot(rule, fields=RULE_AUDIT_FIELDS)
    rule.frequency_cap_count, rule.frequency_cap_days = frequency_cap_count, frequency_cap_days
    return _save_rule(tenant, actor, rule, before, "update")


def _set_rule_active(tenant: Tenant, actor: Actor, rule: IssuanceRule, active: bool, note: str):
    rule = _rule_to_change(tenant, actor, rule)
    if rule.active == active:
        states = {True: "active", False: "inactive"}
        raise invalid_transition(_("issuance rule"), states[rule.active], states[active])
    before = snapshot(rule, fields=RULE_AUDIT_FIELDS)
    rule.active = active
    return _save_rule(tenant, actor, rule, before, "activate" if active else "deactivate", note)


@transaction.atomic
def issuance_rule_activate(*, tenant: Tenant, actor: Actor, rule: IssuanceRule, note: str = ""):
    """inactive → active: events issue the rule's batch again."""
    return _set_rule_active(tenant, actor, rule, True, note)


@transaction.atomic
def issuance_rule_deactivate(*, tenant: Tenant, actor: Actor, rule: IssuanceRule, note: str = ""):
    """active → inactive: events no longer issue the rule's batch."""
    return _set_rule_active(tenant, actor, rule, False, note)


def _rule_issue(tenant: Tenant, actor: Actor, event: Event, rule: IssuanceRule, customer: Customer):
    """One rule for one customer of an event: the coupon, or the reason there is none."""
    if customer_blocked(tenant=tenant, customer=customer):
        return None, CouponReason.BLOCKED
    if _fraud_limit_hit(tenant, customer, event.device_fingerprint, event.phone_fingerprint):
        return None, CouponReason.FRAUD_LIMIT
    # The holding row serialises this customer's issuance of the batch, so the rule's cap holds
    # against a concurrent event for the same customer.
    locks.lock_holdings(tenant, rule.batch, {customer.pk})
    if rule.frequency_cap_count:
        assert rule.frequency_cap_days is not None, "a rule's cap has a count and days"
        since = timezone.now() - timedelta(days=rule.frequency_cap_days)
        recent = (
            EventIssue.objects.for_tenant(tenant)
            .filter(rule=rule, customer=customer, coupon__isnull=False, created_at__gte=since)
            .count()
        )
        if recent >= rule.frequency_cap_count:
            return None, CouponErrorCode.LIMIT_REACHED
    try:
        with transaction.atomic():
            coupon = coupon_issue(tenant=tenant, actor=actor, batch=rule.batch, customer=customer)
    except (ConflictError, RuleRefusal) as exc:
        return None, exc.code
    return coupon, "issued"


@transaction.atomic
def event_receive(
    *,
    tenant: Tenant,
    actor: Actor,
    event_id: str,
    type: str,
    customer: Customer,
    inviter: Customer | None = None,
    device_fingerprint: str = "",
    phone_fingerprint: str = "",
) -> tuple[Event, bool]:
    """An event from an integrator: every active rule for its type issues its batch (a referral
    to the invitee and the inviter). The same event id again returns the first event and does
    nothing: (event, created)."""
    actor.require(Action.COUPONS_ISSUE)
    if type == EventType.REFERRAL and inviter is None:
        raise ValidationFailed(
            _("A referral names the inviter."), fields={"inviter": [_("Required.")]}
        )
    data_scope.require_customer(actor, customer)  # a user's event names customers they see
    if inviter is not None:
        data_scope.require_customer(actor, inviter)
    try:
        with transaction.atomic():
            event = Event.objects.create(
                tenant=tenant,
                event_id=event_id,
                type=type,
                customer=customer,
                inviter=inviter if type == EventType.REFERRAL else None,
                device_fingerprint=device_fingerprint,
                phone_fingerprint=phone_fingerprint,
            )
    except IntegrityError:
        # A resend (or the same event racing itself): the first one did the work.
        return Event.objects.for_tenant(tenant).get(event_id=event_id), False
    targets = [customer] + ([event.inviter] if event.inviter else [])
    rules = list(
        IssuanceRule.objects.for_tenant(tenant)
        .filter(event=type, active=True, batch__status=BatchStatus.ACTIVE)
        .select_related("batch", "batch__campaign")
        .order_by("pk")
    )
    if actor.region_ids is not None or actor.business_unit_id is not None:
        # A scoped user's event fires only the rules of campaigns they may issue from: it must
        # not hand out another unit's or region's coupons (SPEC §7). Keys fire every rule.
        rules = [
            rule
            for rule in rules
            if campaign_changeable(
                actor=actor, campaign=rule.batch.campaign, action=Action.COUPONS_ISSUE
            )
        ]
    if rules:
        # Before any check, so racing events count caps and fraud limits one after the other.
        locks.lock_event_parties(
            tenant,
            batches={rule.batch for rule in rules},
            customers=targets,
            fingerprints=(event.device_fingerprint, event.phone_fingerprint),
        )
    issues = []
    for rule in rules:
        for target in targets:
            coupon, outcome = _rule_issue(tenant, actor, event, rule, target)
            issues.append(
                EventIssue(
                    tenant=tenant,
                    event=event,
                    rule=rule,
                    customer=target,
                    coupon=coupon,
                    outcome=outcome,
                )
            )
    EventIssue.objects.bulk_create(issues)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="event.receive",
        obj=event,
        after={"type": type, "issued": sum(1 for i in issues if i.coupon is not None)},
    )
    return event, True
