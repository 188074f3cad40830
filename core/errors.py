"""Domain errors. Services raise them; the API turns them into {code, detail, fields}."""

from enum import StrEnum


class CoreErrorCode(StrEnum):
    INVALID_TRANSITION = "invalid_transition"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    IDEMPOTENCY_IN_PROGRESS = "idempotency_in_progress"
    INTERNAL_ERROR = "internal_error"
    REQUEST_TOO_LARGE = "request_too_large"  # 413: the body is over the route's size limit


class DomainError(Exception):
    status = 400
    default_code = "invalid"

    def __init__(self, detail: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(detail)
        self.detail = detail
        self.code = str(code or self.default_code)
        self.fields = fields or {}

    def full_text(self) -> str:
        """The detail followed by every field's messages: one line for a console message."""
        details = " ".join(" ".join(messages) for messages in self.fields.values())
        return f"{self.detail} {details}".strip()


class ValidationFailed(DomainError):
    """Bad input a service found (400)."""

    status = 400
    default_code = "invalid"


class PermissionDeniedError(DomainError):
    status = 403
    default_code = "permission_denied"


class NotFoundError(DomainError):
    """Missing and belonging to another tenant look the same (404)."""

    status = 404
    default_code = "not_found"


class ConflictError(DomainError):
    status = 409
    default_code = "conflict"


class RuleRefusal(DomainError):
    """A business rule says no (422): expired, limit_reached, campaign_check_failed …"""

    status = 422
    default_code = "refused"


def invalid_transition(obj_label: str, current: str, target: str) -> ConflictError:
    return ConflictError(
        f"Cannot move {obj_label} from {current} to {target}.",
        code=CoreErrorCode.INVALID_TRANSITION,
    )


class AuthenticationError(DomainError):
    status = 401
    default_code = "authentication_failed"
