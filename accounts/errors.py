from enum import StrEnum


class AccountsErrorCode(StrEnum):
    TENANT_REQUIRED = "tenant_required"
    INVALID_CREDENTIALS = "invalid_credentials"
    LOCKED_OUT = "locked_out"  # too many failed logins for a username from one address (429)
    OUT_OF_SCOPE = "out_of_scope"
    ROLE_NOT_GRANTABLE = "role_not_grantable"  # a role or scope wider than the actor's own
