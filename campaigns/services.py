from .models import DEFAULT_CHANNELS, Channel


def channels_create_defaults(*, tenant) -> None:
    """Give a new tenant the default channel list of SPEC §2.2 (safe to run again)."""
    existing = set(Channel.objects.for_tenant(tenant).values_list("code", flat=True))
    Channel.objects.bulk_create(
        Channel(tenant=tenant, code=code, name=name)
        for code, name in DEFAULT_CHANNELS
        if code not in existing
    )
