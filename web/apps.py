from django.apps import AppConfig


class WebConfig(AppConfig):
    """The layer above the apps: page and API base views, the console and portal shells, the
    demo and periodic commands. It imports apps; no app's models, services or selectors
    import it."""

    name = "web"
    verbose_name = "Web layer"

    def ready(self):
        from web.api import schema  # noqa: F401  registers the OpenAPI extensions

        _bound_integer_fields()


BIGINT_MAX = 2**63 - 1


def _bound_integer_fields():
    """Every serializer IntegerField without bounds takes at most what a bigint column holds.

    An unbounded one let 2**63 through to PostgreSQL ("bigint out of range": a 500, issue 12).
    A field over a narrower column (an int4 PositiveIntegerField) sets its own max_value.
    """
    from rest_framework import serializers

    if getattr(serializers.IntegerField, "_bounded", False):
        return
    original = serializers.IntegerField.__init__

    def __init__(self, **kwargs):
        # Not a subclass that turns the number into something else (a row by its id): the
        # bounds' validators would compare that row with a number.
        if type(self).to_internal_value is serializers.IntegerField.to_internal_value:
            kwargs.setdefault("max_value", BIGINT_MAX)
            kwargs.setdefault("min_value", -BIGINT_MAX)
        original(self, **kwargs)

    serializers.IntegerField.__init__ = __init__
    serializers.IntegerField._bounded = True
