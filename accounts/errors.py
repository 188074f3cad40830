from enum import StrEnum


class AccountsErrorCode(StrEnum):
    TENANT_REQUIRED = "tenant_required"
    INVALID_CREDENTIALS = "invalid_credentials"
    OUT_OF_SCOPE = "out_of_scope"
