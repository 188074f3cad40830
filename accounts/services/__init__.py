"""Every write of tenants, users, roles, grants, master data and API keys (audited), one module
per sub-noun:

- `tenants`: a new tenant and its first admin;
- `users`: users, memberships, and the region and merchant grants of their role;
- `master_data`: business units, and the upserts of regions, merchants, staff and customers;
- `credentials`: API keys and personal tokens (issued, revoked, ended by a new password).

Nobody grants a role or scope wider than their own (`_common._require_grantable`).

Callers import this package (`from accounts import services`); the names below are what it
offers. A test that replaces a name must patch the submodule that looks it up.
"""

from .credentials import (
    api_key_create,
    api_key_revoke,
    membership_tokens_revoke,
    personal_token_create,
    personal_token_revoke,
    token_issue,
    user_password_changed,
)
from .master_data import (
    business_unit_create,
    customer_upsert,
    merchant_upsert,
    region_upsert,
    staff_upsert,
)
from .tenants import tenant_create
from .users import membership_update, user_create

__all__ = [
    "api_key_create",
    "api_key_revoke",
    "business_unit_create",
    "customer_upsert",
    "membership_tokens_revoke",
    "membership_update",
    "merchant_upsert",
    "personal_token_create",
    "personal_token_revoke",
    "region_upsert",
    "staff_upsert",
    "tenant_create",
    "token_issue",
    "user_create",
    "user_password_changed",
]
