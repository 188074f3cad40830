"""What several account services share: nobody grants, changes or revokes beyond their own scope."""

from django.utils.translation import gettext as _

from core.errors import PermissionDeniedError

from ..errors import AccountsErrorCode
from ..permissions import Actor


def _require_grantable(actor: Actor, *, role: str, business_unit_id: int | None) -> None:
    """Nobody grants a role or scope wider than their own: a business-unit admin gives only the
    business-unit admin role of their own unit; finance, auditors, operators and the rest reach
    beyond any unit and are given by a tenant admin (issue 12 item 1)."""
    if not actor.may_grant(role, business_unit_id):
        raise PermissionDeniedError(
            _(
                "You may give only roles inside your own business unit: a business-unit admin "
                "of your unit. Other roles reach beyond it; ask a tenant admin."
            ),
            code=AccountsErrorCode.ROLE_NOT_GRANTABLE,
        )
