"""What several budget services share: cents, the audit snapshot, and the maker-checker rule."""

from decimal import Decimal

from django.utils.translation import gettext as _

from accounts.models import Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from core.errors import ValidationFailed
from core.services import audit_record, snapshot

from ..errors import MakerChecker
from ..models import Budget

CENT = Decimal("0.01")
BUDGET_AUDIT_FIELDS = [
    "business_unit",
    "name",
    "purpose",
    "amount",
    "reserved",
    "spent",
    "starts_on",
    "ends_on",
    "status",
]


def _budget_snapshot(budget: Budget) -> dict:
    return snapshot(budget, fields=BUDGET_AUDIT_FIELDS)


def _money(value, *, field: str = "amount", positive: bool = True) -> Decimal:
    value = Decimal(value)
    if value != value.quantize(CENT):
        raise ValidationFailed(
            _("Money has at most two decimal places."), fields={field: [_("Too many decimals.")]}
        )
    if positive and value <= 0:
        raise ValidationFailed(
            _("The amount must be positive."), fields={field: [_("Must be positive.")]}
        )
    return value


def _require_checker(actor: Actor, *made_by_ids) -> None:
    """Maker-checker: whoever made or submitted a request never decides it."""
    actor.require(Action.BUDGETS_APPROVE)
    if actor.user is not None and actor.user.pk in made_by_ids:
        raise MakerChecker()


def _audit_budget(tenant: Tenant, actor, budget: Budget, verb: str, *, before=None, note: str = ""):
    audit_record(
        tenant=tenant,
        actor=actor,
        action=f"budget.{verb}",
        obj=budget,
        before=before,
        after=_budget_snapshot(budget),
        note=note,
    )
