"""Writes every app shares: the audit log and idempotency keys."""

import hashlib
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from .errors import ConflictError, CoreErrorCode
from .models import AuditEntry, IdempotencyKey


def snapshot(obj, *, fields: list[str] | None = None, exclude: tuple[str, ...] = ()) -> dict:
    """A JSON-able picture of a row for the audit log's before/after."""
    data = model_to_dict(obj, fields=fields)
    return {k: v for k, v in data.items() if k not in exclude and k not in ("password",)}


def audit_record(
    *,
    tenant,
    actor,
    action: str,
    obj=None,
    object_type: str = "",
    object_id: str = "",
    before: dict | None = None,
    after: dict | None = None,
    note: str = "",
) -> AuditEntry:
    """Append one entry to the tenant's audit log. Call it inside the service's transaction."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    return AuditEntry.objects.create(
        tenant=tenant,
        actor_user=getattr(actor, "user", None),
        actor_api_key=getattr(actor, "api_key", None),
        actor_label=actor.label,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=str(obj)[:200] if obj is not None else "",
        before=before,
        after=after,
        note=note,
    )


# --- idempotency ------------------------------------------------------------------------------


def request_fingerprint(*, method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


# A claim this old without a response belongs to a request whose process died (a request
# never runs this long: gunicorn's timeout is far shorter), so a retry may take it over.
IDEMPOTENCY_ABANDONED_AFTER = timedelta(minutes=5)


def idempotency_begin(
    *, tenant, principal: str, key: str, request_hash: str
) -> tuple[IdempotencyKey, bool]:
    """Claim an Idempotency-Key. Returns (row, is_new).

    is_new: the caller runs the write and then calls idempotency_finish. Otherwise the row holds
    the first response to replay. The claim commits on its own (outside any request
    transaction), so a concurrent request with the same key sees it at once and waits for the
    first one to finish instead of running the write a second time.
    """
    keys = IdempotencyKey.objects.for_tenant(tenant)
    deadline = time.monotonic() + settings.IDEMPOTENCY_WAIT_SECONDS
    while True:
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(
                    tenant=tenant, principal=principal, key=key, request_hash=request_hash
                )
            return row, True
        except IntegrityError:
            pass
        row = keys.filter(principal=principal, key=key).first()
        if row is None:  # the first request failed with a 5xx and freed the key: claim it
            continue
        if row.request_hash != request_hash:
            raise ConflictError(
                "This Idempotency-Key was already used with a different request.",
                code=CoreErrorCode.IDEMPOTENCY_CONFLICT,
            )
        if row.completed_at is not None:
            return row, False
        now = timezone.now()
        # Conditional UPDATE: of several retries, exactly one takes an abandoned claim over.
        if keys.filter(
            pk=row.pk,
            completed_at__isnull=True,
            updated_at__lt=now - IDEMPOTENCY_ABANDONED_AFTER,
        ).update(updated_at=now):
            return row, True
        if time.monotonic() >= deadline:
            raise ConflictError(
                "A request with this Idempotency-Key is still being processed; retry later.",
                code=CoreErrorCode.IDEMPOTENCY_IN_PROGRESS,
            )
        time.sleep(0.05)


def idempotency_finish(*, row: IdempotencyKey, status: int, body) -> None:
    """Store the response to replay. A server error frees the key so a retry can run again."""
    if status >= 500:
        IdempotencyKey.objects.for_tenant(row.tenant_id).filter(pk=row.pk).delete()
        return
    row.response_status = status
    row.response_body = body
    row.completed_at = timezone.now()
    row.save(update_fields=["response_status", "response_body", "completed_at", "updated_at"])


# Long enough for any client retry; after that a key is only clutter.
IDEMPOTENCY_KEY_RETENTION = timedelta(hours=24)


def idempotency_keys_purge(*, now=None) -> int:
    """Delete every tenant's Idempotency-Key rows older than the retention, in one statement."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_KEY_RETENTION
    deleted, _by_model = IdempotencyKey.objects.unscoped().filter(created_at__lt=cutoff).delete()
    return deleted
