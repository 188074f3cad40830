"""Orders as integrators send them, for every app's tests."""


def order_body(world, external_id="O-1", **overrides) -> dict:
    """The JSON body of POST /orders for the world's merchant, staff and region."""
    body = {
        "external_id": external_id,
        "merchant": world.merchant.code,
        "staff": world.staff.code,
        "region": world.region.code,
        "amount": "120.50",
        "placed_at": "2026-11-11T10:00:00+08:00",
        "channel": "app",
        "device_id": "dev-1",
    }
    body.update(overrides)
    return body
