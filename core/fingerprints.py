"""Personal identifiers kept only as fingerprints (SPEC §10: no raw phone numbers or devices)."""

import hashlib


def fingerprint(value: str) -> str:
    """Phones and devices are kept only as fingerprints: enough to count, not to call."""
    value = (value or "").strip()
    return hashlib.sha256(value.encode()).hexdigest()[:40] if value else ""
